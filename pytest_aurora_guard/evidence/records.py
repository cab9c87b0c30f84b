"""One record per judged item, rebuilt from the test reports alone.

Verdicts and facts travel as user properties on pytest's reports, so the xdist controller, which
runs no check itself, sees exactly what every worker judged and can write the report once.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import pytest

from ..checks import TRANSMISSION_SECURITY, Outcome, Verdict

VERDICT_PROPERTY = "aurora_guard_verdict"
FACTS_PROPERTY = "aurora_guard_facts"
DRIFT_CHECK = "engine_defaults_match_baseline"
WAIVED_PROPERTY = "aurora_guard_waived"  # "WAIVED until DATE: reason (ticket)", on a waived item's junit testcase


class ItemKind(enum.Enum):
    ENDPOINT_CHECK = "endpoint_check"
    CLUSTER_CHECK = "cluster_check"
    ENGINE_DEFAULTS = "engine_defaults"


@dataclass(frozen=True)
class ItemRecord:
    nodeid: str
    kind: ItemKind
    verdict: Verdict
    facts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def parameter(self) -> Optional[str]:
        """``TLSv1.2`` for ``tls_version_refused[TLSv1.2]``; None for unparametrised checks."""
        name = self.nodeid.rsplit("::", 1)[-1]
        return name[name.index("[") + 1:-1] if name.endswith("]") and "[" in name else None

    @property
    def control(self) -> str:
        """The control as every report names it (the Markdown table's row, the terminal grid's):
        ``tls_version_refused[TLSv1.2]``, ``parameters_enforce_tls[rds.force_ssl]``."""
        check = self.verdict.check.split("[", 1)[0]
        return f"{check}[{self.parameter}]" if self.parameter else check

    @property
    def blocking(self) -> bool:
        """Failed or inconclusive: a waived failure is reported but does not block."""
        return self.verdict.outcome in (Outcome.FAILED, Outcome.INCONCLUSIVE)


def record_from_report(report: pytest.TestReport, drift_collector: str) -> Optional[ItemRecord]:
    """The record a report carries, or None for reports that are not the gate's (the user's own tests)."""
    properties = dict(report.user_properties)
    if VERDICT_PROPERTY in properties:
        verdict = Verdict.from_dict(json.loads(str(properties[VERDICT_PROPERTY])))
        facts = json.loads(str(properties[FACTS_PROPERTY])) if FACTS_PROPERTY in properties else {}
        kind = ItemKind.ENDPOINT_CHECK if facts.get("kind", "endpoint") == "endpoint" else ItemKind.CLUSTER_CHECK
        return ItemRecord(report.nodeid, kind, verdict, facts.get("facts", {}))
    if report.nodeid.startswith(f"{drift_collector}::") and (report.when == "call" or report.failed):
        label = report.nodeid.split("::", 1)[1]
        if report.passed:
            outcome, summary = Outcome.PASSED, "the engine defaults match the committed baseline"
        else:
            outcome = Outcome.FAILED if report.when == "call" else Outcome.INCONCLUSIVE
            text = str(report.longrepr).strip() if report.longrepr else ""
            summary = text.splitlines()[0] if text else "failed"
        verdict = Verdict(check=DRIFT_CHECK, endpoint=f"engine defaults {label}",
                          outcome=outcome, summary=summary, controls=TRANSMISSION_SECURITY)
        return ItemRecord(report.nodeid, ItemKind.ENGINE_DEFAULTS, verdict, {"baseline": label})
    return None


class RecordBook:
    """The latest record per node id; an item's call report supersedes its setup report."""

    def __init__(self, drift_collector: str) -> None:
        self.drift_collector = drift_collector
        self._records: dict[str, ItemRecord] = {}

    def add(self, report: pytest.TestReport) -> None:
        if report.when == "teardown" and report.passed:
            return
        record = record_from_report(report, self.drift_collector)
        if record is not None:
            self._records[report.nodeid] = record

    @property
    def records(self) -> Sequence[ItemRecord]:
        return tuple(self._records.values())
