"""The run's evidence as one versioned JSON document, and the promotion decision.

The document's shape is published as a JSON Schema in this package (``schema/report-v1.json``);
``SCHEMA_VERSION`` changes with any incompatible change to it. Nothing secret is ever put in:
settings are listed by value only where they are not credentials, and a password or token is
at most said to be present.
"""

from __future__ import annotations

import enum
import importlib.metadata
import json
import os
import platform
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..checks import Outcome, Verdict
from ..settings.config import GuardSettings
from .facts import suite_fact
from .records import ItemRecord
from .waivers import UnusedWaiver

SCHEMA_VERSION = "1.1"  # 1.1: the "waived" outcome, item "waiver", top-level "waivers"
SCHEMA_PATH = Path(__file__).parent / "schema" / "report-v1.json"
DEPENDENCIES = ("pytest", "boto3", "botocore", "psycopg", "PyMySQL", "deepdiff", "cryptography", "pytest-xdist")
# Each CI's own names for the repository, the commit and the run.
CI_IDENTITY = {
    "github_actions": ("GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_RUN_ID"),
    "aws_codebuild": ("CODEBUILD_BUILD_ID", "CODEBUILD_RESOLVED_SOURCE_VERSION"),
    "gitlab_ci": ("CI_PIPELINE_ID", "CI_COMMIT_SHA", "CI_PROJECT_PATH"),
}


class Promotion(enum.Enum):
    ALLOWED = "allowed"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class Decision:
    promotion: Promotion
    passed: int
    failed: int
    inconclusive: int
    reason: str = ""
    waived: int = 0

    def line(self) -> str:
        """``aurora-guard: promotion BLOCKED (3 failed, 1 inconclusive)``."""
        counts = [f"{n} {label}" for n, label in ((self.failed, "failed"), (self.inconclusive, "inconclusive"),
                                                   (self.passed, "passed"), (self.waived, "waived")) if n]
        detail = "; ".join(part for part in (", ".join(counts), self.reason) if part) or "nothing judged"
        return f"aurora-guard: promotion {self.promotion.name} ({detail})"


def decide(records: Sequence[ItemRecord], unjudged: int = 0) -> Decision:
    """Allowed only on positive evidence: at least one judged item passed, none failed or inconclusive,
    and nothing required left unjudged. A waived failure does not block, and is no evidence either."""
    failed = sum(r.verdict.outcome is Outcome.FAILED for r in records)
    inconclusive = sum(r.verdict.outcome is Outcome.INCONCLUSIVE for r in records)
    waived = sum(r.verdict.outcome is Outcome.WAIVED for r in records)
    passed = len(records) - failed - inconclusive - waived
    reason = f"{unjudged} required item(s) not judged" if unjudged else ""
    if not records and not reason:
        reason = "no gate item was judged"
    allowed = passed > 0 and not failed and not inconclusive and not unjudged
    return Decision(Promotion.ALLOWED if allowed else Promotion.BLOCKED, passed, failed, inconclusive, reason, waived)


def _version_of(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def tool_versions() -> dict[str, Any]:
    return {
        "pytest-aurora-guard": __version__,
        "python": platform.python_version(),
        "openssl": ssl.OPENSSL_VERSION,
        "dependencies": {name: _version_of(name) for name in DEPENDENCIES},
    }


def ci_identity(environ: Mapping[str, str]) -> dict[str, Any]:
    for system, names in CI_IDENTITY.items():
        if names[0] in environ:
            return {"system": system, **{name: environ.get(name) for name in names}}
    return {"system": "ci" if environ.get("CI") else "local"}


def settings_facts(settings: GuardSettings) -> dict[str, Any]:
    """The settings in effect, never a secret: a password is only said to be configured."""
    return {
        "tls_floor": settings.min_tls.label,
        "cipher_allowlist": {"source": settings.allowlist.source,
                             "suites": [suite_fact(suite.code) for suite in settings.allowlist.suites]},
        "timeout_seconds": settings.timeout,
        "endpoint_budget_seconds": settings.endpoint_budget,
        "endpoints": [endpoint.label for endpoint in settings.endpoints],
        "clusters": list(settings.clusters),
        "credentials": {"user": settings.user, "source": settings.credentials_source,
                        "password_configured": settings.password is not None, "iam_auth": settings.iam_auth},
        "ca_bundle": str(settings.ca_bundle) if settings.ca_bundle else None,
    }


def item_document(record: ItemRecord) -> dict[str, Any]:
    verdict = record.verdict
    return {
        "nodeid": record.nodeid, "kind": record.kind.value, "check": verdict.check.split("[", 1)[0],
        "parameter": record.parameter, "endpoint": verdict.endpoint, "outcome": verdict.outcome.value,
        "summary": verdict.summary, "attempted": list(verdict.attempted), "answered": list(verdict.answered),
        "remedy": verdict.remedy, "hipaa_controls": list(verdict.controls), "facts": dict(record.facts),
        "waiver": waiver_document(verdict),
    }


def waiver_document(verdict: Verdict) -> dict[str, Any] | None:
    """The waivers an item was judged against; ``until`` only when they waive it."""
    if not verdict.waivers:
        return None
    waived = verdict.outcome is Outcome.WAIVED
    line = verdict.waived_line() if waived else "; ".join(note.render() for note in verdict.waivers)
    return {"waived": waived, "line": line,
            "until": min(n.expires for n in verdict.waivers) if waived else None,
            "waivers": [note.to_dict() for note in verdict.waivers]}


def build_report(records: Sequence[ItemRecord], settings: GuardSettings, *, started: datetime,
                 finished: datetime, environ: Mapping[str, str], decision: Decision,
                 unused_waivers: Sequence[UnusedWaiver] = ()) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": tool_versions(),
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "ran_in": ci_identity(environ),
        "settings": settings_facts(settings),
        "items": [item_document(record) for record in records],
        "waivers": {"file": str(settings.waivers_path) if settings.waivers_path else None,
                    "warnings": [unused.to_dict() for unused in unused_waivers]},
        "decision": {"promotion": decision.promotion.value, "passed": decision.passed, "failed": decision.failed,
                     "inconclusive": decision.inconclusive, "waived": decision.waived, "line": decision.line()},
    }


def write_atomically(path: Path, text: str) -> None:
    """Readers (an artifact upload, a PR bot) never see half a report."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def dump(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"
