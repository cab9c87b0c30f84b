"""Rendering verdicts for people: the failure text in a CI log and the per-endpoint summary."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Optional

from .checks import Outcome, Verdict, WaiverStatus
from .settings.config import GuardSettings
from .settings.options import OPTION_SPECS, REQUIRE

WIDTH = 120  # the project's line length: CI logs are read in a browser, not a pager

# Weak suite classes called out by name in a failure, so a reader sees "3DES" before reading 40 suites.
# Matched on IANA names (RFC 8447 registry spellings); order is the order they are listed in.
WEAK_CLASSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("anonymous (no authentication)", re.compile(r"_anon_")),
    ("NULL (no encryption)", re.compile(r"_WITH_NULL_|^TLS_NULL_")),
    ("EXPORT", re.compile(r"EXPORT")),
    ("RC4", re.compile(r"_RC4_")),
    ("3DES", re.compile(r"3DES")),
    ("static RSA (no forward secrecy)", re.compile(r"^TLS_RSA_")),
    ("CBC with SHA-1", re.compile(r"_CBC_SHA$")),
)
_IANA_NAME = re.compile(r"\b(?:TLS|SSL)_[A-Za-z0-9_]+")


def render_verdict(verdict: Verdict) -> str:
    """Multi-line text: the verdict first (pytest's one-line summary shows it), then what was tried,
    what the server answered, what to change."""
    head = {
        Outcome.PASSED: "PASSED",
        Outcome.FAILED: "FAILED",
        Outcome.INCONCLUSIVE: "INCONCLUSIVE (no evidence either way: not a pass)",
        Outcome.WAIVED: "WAIVED (a failure accepted until the waiver's date: not blocking)",
    }[verdict.outcome]
    first, listed = _split_summary(verdict.summary)
    expired = [note.expires for note in verdict.waivers if note.status is WaiverStatus.EXPIRED]
    if expired and verdict.outcome is Outcome.FAILED:  # pytest's one-line summary shows why it fails again
        first += f" (waiver expired on {max(expired)})"
    lines = [first, f"aurora-guard {verdict.check} {head} for {verdict.endpoint}"]
    lines += _labelled("waiver", [note.render() for note in verdict.waivers])
    lines += _labelled("listed", listed, wrap=True)
    lines += _labelled("tried", verdict.attempted)
    lines += _labelled("answered", verdict.answered)
    if verdict.outcome is Outcome.FAILED:
        lines += _labelled("weak", weak_suite_classes([verdict.summary, *verdict.answered]), wrap=True)
    if verdict.remedy and verdict.outcome is not Outcome.PASSED:
        lines.append(f"  change:   {verdict.remedy}")
    if verdict.controls:
        lines.append(f"  control:  {'; '.join(verdict.controls)}")
    return "\n".join(lines)


LIST_AFTER = 4  # suites named in the verdict's own line before the rest move to a grouped list
_AT_VERSION = re.compile(r"^(?P<item>.*) at (?P<version>SSLv3|TLSv1(?:\.[0-3])?)$")


def _split_summary(summary: str) -> tuple[str, list[str]]:
    """A summary too long for one line ("...: suite at V; suite at V; ...") becomes a first line that
    still starts with the verdict, and the list, grouped by version, one group per wrapped line."""
    head, sep, rest = summary.partition(": ")
    items = rest.split("; ") if sep else []
    # Only lists of suites at versions, and only long ones: a short list reads best in its sentence.
    if len(summary) <= WIDTH or len(items) <= LIST_AFTER or not all(_AT_VERSION.match(i) for i in items):
        return summary, []
    groups: dict[str, list[str]] = {}
    for item in items:
        match = _AT_VERSION.match(item)
        assert match is not None
        groups.setdefault(match.group("version"), []).append(match.group("item"))
    first = f"{head}: {items[0]}; ... ({len(items)} in all, listed below)"
    return first, [f"{version}: {', '.join(texts)}" for version, texts in groups.items()]


def weak_suite_classes(texts: Iterable[str]) -> list[str]:
    """``3DES: TLS_RSA_WITH_3DES_EDE_CBC_SHA, ...`` for each weak class among the suites named."""
    names = list(dict.fromkeys(name for text in texts for name in _IANA_NAME.findall(text)))
    out = []
    for label, pattern in WEAK_CLASSES:
        members = [name for name in names if pattern.search(name)]
        if members:
            out.append(f"{label}: {', '.join(members)}")
    return out


# What an unreachable endpoint needs, whatever the engine and the check.
UNREACHABLE_FIX = ("check that the endpoint, port and engine are right and that this runner can reach it "
                   "(security group, VPC route, DNS); raise --aurora-timeout if the network is slow")


def render_unreachable(endpoint: str, reason: str, others: int, first: str) -> str:
    """The one block an unreachable endpoint gets; its other checks say one line each."""
    lines = [
        f"endpoint unreachable: {reason}",
        f"aurora-guard {first} INCONCLUSIVE (no evidence either way: not a pass) for {endpoint}",
        f"  tried:    the check's own connection, then one plain TCP connection to {endpoint}",
        f"  answered: {reason}",
        f"  change:   {UNREACHABLE_FIX}",
    ]
    if others:
        lines.append(f"  affects:  the {others} other check(s) of this endpoint, each reported as "
                     f"'not run: endpoint unreachable, see {first}'")
    return "\n".join(lines)


def _labelled(label: str, values: Sequence[str], *, wrap: bool = False) -> list[str]:
    """``  label:   value`` lines; with ``wrap``, each value wrapped at list separators to the line width
    (suite lists; the other lines stay whole so a log search finds a message in one line)."""
    out = []
    for index, value in enumerate(values):
        prefix = f"  {label}:".ljust(12) if index == 0 else " " * 12
        wrapped = (textwrap.wrap(value, width=WIDTH - 12, break_long_words=False, break_on_hyphens=False)
                   if wrap else []) or [value]
        out.append(f"{prefix}{wrapped[0]}")
        out.extend(" " * 14 + line for line in wrapped[1:])
    return out


def header_lines(settings: GuardSettings) -> list[str]:
    """For ``pytest_report_header``: targets and policy, never a secret."""
    endpoints = ", ".join(e.label for e in settings.endpoints)
    lines = [f"aurora-guard: endpoints {endpoints}"] if endpoints else []
    if settings.cluster_gate:
        named = ", ".join(settings.clusters) or "discovered: every cluster" + "".join(
            f" with {f.raw}" for f in settings.discover_filters)
        lines.append(f"aurora-guard: clusters {named} (endpoints listed by the RDS API at collection)")
    lines += [
        f"aurora-guard: TLS floor {settings.min_tls.label}; cipher allowlist {settings.allowlist.describe()}",
    ]
    password = f"from {settings.credentials_source}" if settings.credentials_source else (
        "set" if settings.password else "not set")
    credentials = (f"driver checks as {settings.user!r} (password {password})"
                   if settings.user else "no --aurora-user: credential-free checks only")
    ca = (f"CA bundle {settings.ca_bundle}" if settings.ca_bundle
          else "no CA bundle (certificate_trusted cannot pass without one)")
    if settings.proxy_ca_bundle:
        ca += f"; RDS Proxy CA bundle {settings.proxy_ca_bundle}"
    lines.append(f"aurora-guard: {credentials}; {ca}; timeout {settings.timeout:g} s")
    return lines


def nothing_to_gate(inipath: Optional[Path]) -> str:
    """Required mode's usage error: which settings were looked at, and where the ini file is."""
    looked_at = "; ".join(spec.spellings for spec in OPTION_SPECS if spec.activates)
    ini = f"ini file {inipath}" if inipath is not None else "no ini file found"
    return (f"{REQUIRE.flag} is set, but no endpoint and no engine family is configured, so nothing would be "
            f"gated. Looked at: {looked_at} ({ini}). Set one of them, or check it is spelt and exported "
            "where pytest runs.")


def summary_table(verdicts: Iterable[Verdict], baselines: Iterable[tuple[str, str, str]] = ()) -> list[str]:
    """One row per endpoint (counts per outcome, first problem) and one per engine-default baseline.

    ``baselines`` holds (``region/family``, ``passed``/``failed``/``error``, first problem line).
    A ``waived`` column appears only when a waiver applied, so the usual table keeps its shape.
    """
    rows: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        rows.setdefault(verdict.endpoint, []).append(verdict)
    outcomes = [Outcome.PASSED, Outcome.FAILED, Outcome.INCONCLUSIVE]
    if any(v.outcome is Outcome.WAIVED for items in rows.values() for v in items):
        outcomes.append(Outcome.WAIVED)
    table = [("endpoint", *(o.value for o in outcomes), "first problem")]
    for endpoint, items in rows.items():
        problems = [v for v in items if v.outcome in (Outcome.FAILED, Outcome.INCONCLUSIVE)]
        first = f"{problems[0].check}: {problems[0].summary}" if problems else "-"
        table.append((endpoint, *(str(sum(v.outcome is o for v in items)) for o in outcomes), first))
    for label, outcome, first in baselines:
        counts = {Outcome.PASSED: outcome == "passed", Outcome.FAILED: outcome == "failed",
                  Outcome.INCONCLUSIVE: outcome == "error"}
        table.append((f"engine defaults {label}", *(str(int(counts.get(o, False))) for o in outcomes), first))
    if len(table) == 1:
        return []
    last = len(table[0]) - 1
    table = [(*row[:last], row[last] if len(row[last]) <= 90 else row[last][:87] + "...") for row in table]
    widths = [max(len(row[i]) for row in table) for i in range(last)]
    return ["  ".join(cell.ljust(widths[i]) if i < last else cell for i, cell in enumerate(row)).rstrip()
            for row in table]
