"""Rendering verdicts for people: the failure text in a CI log and the per-endpoint summary."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Optional

from .checks import Outcome, Verdict
from .settings.config import OPTION_SPECS, REQUIRE, GuardSettings


def render_verdict(verdict: Verdict) -> str:
    """Multi-line text: what was tried, what the server answered, what to change."""
    head = {
        Outcome.PASSED: "PASSED",
        Outcome.FAILED: "FAILED",
        Outcome.INCONCLUSIVE: "INCONCLUSIVE (no evidence either way: not a pass)",
    }[verdict.outcome]
    lines = [f"aurora-guard {verdict.check} {head} for {verdict.endpoint}", f"  verdict:  {verdict.summary}"]
    lines += _labelled("tried", verdict.attempted)
    lines += _labelled("answered", verdict.answered)
    if verdict.remedy and verdict.outcome is not Outcome.PASSED:
        lines.append(f"  change:   {verdict.remedy}")
    if verdict.controls:
        lines.append(f"  control:  {'; '.join(verdict.controls)}")
    return "\n".join(lines)


def _labelled(label: str, values: Sequence[str]) -> list[str]:
    out = []
    for index, value in enumerate(values):
        prefix = f"  {label}:".ljust(12) if index == 0 else " " * 12
        out.append(f"{prefix}{value}")
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
    """
    rows: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        rows.setdefault(verdict.endpoint, []).append(verdict)
    table = [("endpoint", "passed", "failed", "inconclusive", "first problem")]
    for endpoint, items in rows.items():
        problems = [v for v in items if v.outcome is not Outcome.PASSED]
        first = f"{problems[0].check}: {problems[0].summary}" if problems else "-"
        table.append((
            endpoint,
            str(sum(v.outcome is Outcome.PASSED for v in items)),
            str(sum(v.outcome is Outcome.FAILED for v in items)),
            str(sum(v.outcome is Outcome.INCONCLUSIVE for v in items)),
            first,
        ))
    for label, outcome, first in baselines:
        table.append((f"engine defaults {label}", str(int(outcome == "passed")), str(int(outcome == "failed")),
                      str(int(outcome == "error")), first))
    if len(table) == 1:
        return []
    table = [(*row[:4], row[4] if len(row[4]) <= 90 else row[4][:87] + "...") for row in table]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    return ["  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)).rstrip()
            for row in table]
