"""Rendering verdicts for people: the failure text in a CI log and the closing summary grid."""

from __future__ import annotations

import itertools
import re
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Optional

from .checks import Outcome, Verdict, WaiverStatus
from .evidence.records import ItemKind, ItemRecord
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


# One word per cell, no glyph and no colour needed: CI logs are not always UTF-8, and NO_COLOR
# readers see no red. "error" is what pytest calls an inconclusive item.
STATE_WORDS = {Outcome.PASSED: "passed", Outcome.FAILED: "FAILED", Outcome.INCONCLUSIVE: "error",
               Outcome.WAIVED: "WAIVED"}
NOT_APPLICABLE = "-"  # the check does not apply to that endpoint (another engine, no credentials)
GRID_WIDTH = 80  # the grid fits the narrowest CI log; wider, its rows would wrap and no column lines up
_GAP = "  "
_CELL = max(len(word) for word in STATE_WORDS.values())


def summary_lines(records: Sequence[ItemRecord]) -> list[str]:
    """The run at a glance, in the Markdown report's names and order: a grid of endpoint controls
    (rows) by endpoints (columns), a line per engine-default baseline, a grid of cluster controls by
    clusters; each grid followed by the first problem of every column that has one (the grid says
    which control, the problem says why). Empty when nothing was judged."""
    numbers = itertools.count(1)  # one numbering for every legend of the run: [3] means one thing
    lines = _grid("control", [r for r in records if r.kind is ItemKind.ENDPOINT_CHECK], numbers)
    baselines = [r for r in records if r.kind is ItemKind.ENGINE_DEFAULTS]
    left = max((len(r.verdict.endpoint) for r in baselines), default=0)
    for record in baselines:  # one baseline, one line: its state, and why when it blocks
        cells = (record.verdict.endpoint.ljust(left), STATE_WORDS[record.verdict.outcome].ljust(_CELL),
                 record.verdict.summary if record.blocking else "")
        lines.append(_clipped(_GAP.join(cells).rstrip()))
    lines += _grid("cluster control", [r for r in records if r.kind is ItemKind.CLUSTER_CHECK], numbers)
    return lines


def _grid(corner: str, records: Sequence[ItemRecord], numbers: Iterator[int]) -> list[str]:
    """Rows are controls, columns their endpoints (or clusters). Columns are headed by their label
    when the grid then fits GRID_WIDTH, else by a number with a legend above; a grid with more
    columns than fit is cut into blocks of columns, each repeating the control names."""
    if not records:
        return []
    columns = list(dict.fromkeys(r.verdict.endpoint for r in records))
    controls = list(dict.fromkeys(r.control for r in records))
    state = {(r.control, r.verdict.endpoint): STATE_WORDS[r.verdict.outcome] for r in records}
    left = max(len(corner), *(len(control) for control in controls))
    if left + sum(len(_GAP) + max(len(label), _CELL) for label in columns) <= GRID_WIDTH:
        heads, lines = columns, []
    else:
        heads = [f"[{next(numbers)}]" for _ in columns]
        lines = [f"{head} {label}" for head, label in zip(heads, columns)]
    widths = [max(len(head), _CELL) for head in heads]
    blocks: list[list[int]] = [[]]
    used = left
    for column, width in enumerate(widths):
        if blocks[-1] and used + len(_GAP) + width > GRID_WIDTH:
            blocks.append([])
            used = left
        blocks[-1].append(column)
        used += len(_GAP) + width
    for block in blocks:
        rows = [(corner, *(heads[i] for i in block))]
        rows += [(control, *(state.get((control, columns[i]), NOT_APPLICABLE) for i in block)) for control in controls]
        lines += [_GAP.join([row[0].ljust(left), *(cell.ljust(widths[i]) for i, cell in zip(block, row[1:]))]).rstrip()
                  for row in rows]
    problems: dict[str, list[str]] = {}  # the same first problem of several columns is said once
    for head, label in zip(heads, columns):
        first = next((r for r in records if r.verdict.endpoint == label and r.blocking), None)
        if first is not None:
            problems.setdefault(f"{first.control}: {first.verdict.summary}", []).append(head)
    lines += [_clipped(f"first problem of {', '.join(where)}: {problem}") for problem, where in problems.items()]
    return lines


def _clipped(line: str) -> str:
    """One line of at most WIDTH: the whole text is in the verdict's own section above."""
    return line if len(line) <= WIDTH else line[:WIDTH - 3] + "..."
