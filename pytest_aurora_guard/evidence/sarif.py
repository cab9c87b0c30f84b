"""The run's failures as SARIF 2.1.0, for GitHub code scanning and any other SARIF reader.

One rule per check (``ruleId`` is the check's name), one result per failed (``error``) or
inconclusive (``warning``) item; a passed item gives no result. A waived failure stays in the log,
as a ``note`` with an accepted external suppression whose justification is the waiver (SARIF's own
word for an accepted risk); GitHub does not act on suppressions, so it shows an open note that does
not fail a pull request's code-scanning check. A result's message is the verdict's summary, which
the checks have already scrubbed of secrets.

GitHub needs every result to point at a file of the repository and a line (its SARIF
reference marks ``artifactLocation.uri`` and ``region.startLine`` as required, and a result
without a location is not displayed). A transport finding has no source line, so it points at
what a person changes to address it in the repository: the committed baseline for an
engine-default drift item, otherwise the pytest configuration file that configures the gate,
at its first ``aurora_`` line. The path is relative to the repository root (``%SRCROOT%``),
never a URL. When no such file exists (everything given on the command line, no pytest
configuration file, no ``pyproject.toml``) the result keeps only a logical location naming the
endpoint; GitHub then accepts the upload but has nothing to annotate.

``partialFingerprints`` identify an item across runs by the check, the endpoint as configured
and the parameter (the item's node id), never by time, message text or engine version. We
supply ``primaryLocationLineHash`` ourselves: upload-sarif only computes it when it is absent
(github/codeql-action src/fingerprints.ts), and its hash of the configuration line would merge
different endpoints' alerts that point at the same line, and reopen every alert when that line
is edited.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any, Optional
from urllib.parse import quote

from .. import __version__
from ..checks import CHECKS, Outcome
from ..settings.config import GuardSettings
from .document import Decision
from .records import ItemKind, ItemRecord

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "auroraGuardItem/v1"
TOOL_URI = "https://pypi.org/project/pytest-aurora-guard/"
LEVELS = {Outcome.FAILED: "error", Outcome.INCONCLUSIVE: "warning", Outcome.WAIVED: "note"}
# pytest configuration files in the order pytest itself looks for them (the fallback when pytest
# found none: a pyproject.toml configures the project even without a [tool.pytest] table).
CONFIG_FALLBACKS = ("pyproject.toml",)
_OUR_SETTING = re.compile(r"^\s*aurora_\w+\s*[=:]")


@dataclass(frozen=True)
class Anchor:
    """A file in the repository and a line in it, as GitHub needs a result's location."""

    uri: str  # relative to the repository root, '/'-separated, percent-encoded
    line: int = 1


@dataclass(frozen=True)
class SarifSources:
    """What results can point at: the gate's configuration file and each drift item's baseline."""

    config: Optional[Anchor] = None
    baselines: Mapping[str, Anchor] = field(default_factory=dict)  # drift label region/family -> its file


def _relative_uri(path: Path, root: Path) -> Optional[str]:
    """``path`` as a URI reference relative to ``root``, or None when it lies outside the repository."""
    try:
        relative = path.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    return quote(PurePath(relative).as_posix())


def _first_setting_line(path: Path) -> int:
    """The line of the file's first ``aurora_*`` setting: where a person configures the gate."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return 1
    return next((number for number, line in enumerate(lines, 1) if _OUR_SETTING.match(line)), 1)


def locate_sources(rootdir: Path, inipath: Optional[Path], baseline_files: Mapping[str, Path]) -> SarifSources:
    """Anchors for the results: ``inipath`` (pytest's configuration file) if it is in the repository,
    else a ``pyproject.toml`` at ``rootdir``; each drift label's baseline file if it is committed there."""
    candidates = [inipath] if inipath is not None else [rootdir / name for name in CONFIG_FALLBACKS]
    config = None
    for candidate in candidates:
        uri = _relative_uri(candidate, rootdir) if candidate.is_file() else None
        if uri is not None:
            config = Anchor(uri, _first_setting_line(candidate))
            break
    baselines = {}
    for label, path in baseline_files.items():
        uri = _relative_uri(path, rootdir) if path.is_file() else None
        if uri is not None:
            baselines[label] = Anchor(uri)
    return SarifSources(config, baselines)


def rule_id(record: ItemRecord) -> str:
    return record.verdict.check.split("[", 1)[0]


def fingerprint(record: ItemRecord) -> str:
    """Stable identity of an item: its check, endpoint as configured and parameter, all in the node id
    (``aurora-guard[db.example.com:5432]::tls_version_refused[TLSv1.2]``)."""
    identity = "\0".join((rule_id(record), record.nodeid, record.parameter or ""))
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]


def _reported(record: ItemRecord) -> bool:
    """Everything but a pass is a result: a failure, an item without evidence, a waived failure."""
    return record.verdict.outcome in LEVELS


def _anchor(record: ItemRecord, sources: SarifSources) -> Optional[Anchor]:
    if record.kind is ItemKind.ENGINE_DEFAULTS:
        baseline = sources.baselines.get(str(record.facts.get("baseline", "")))
        if baseline is not None:
            return baseline  # a missing baseline is not in the repository yet: the configuration is
    return sources.config


def _result(record: ItemRecord, rule_index: int, sources: SarifSources) -> dict[str, Any]:
    verdict = record.verdict
    identity = fingerprint(record)
    location: dict[str, Any] = {"logicalLocations": [{"name": verdict.endpoint, "fullyQualifiedName": record.nodeid,
                                                      "kind": "resource"}]}
    anchor = _anchor(record, sources)
    if anchor is not None:
        location["physicalLocation"] = {"artifactLocation": {"uri": anchor.uri, "uriBaseId": SRCROOT},
                                        "region": {"startLine": anchor.line}}
    result: dict[str, Any] = {
        "ruleId": rule_id(record),
        "ruleIndex": rule_index,
        "level": LEVELS[verdict.outcome],
        "message": {"text": verdict.summary},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: identity, "primaryLocationLineHash": identity},
        "properties": {"endpoint": verdict.endpoint, "parameter": record.parameter, "nodeid": record.nodeid,
                       "outcome": verdict.outcome.value, "remedy": verdict.remedy},
    }
    if verdict.outcome is Outcome.WAIVED:
        result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": verdict.waived_line()}]
    return result


def _rule(check: str, records: Sequence[ItemRecord], description: str) -> dict[str, Any]:
    controls = list(dict.fromkeys(control for record in records for control in record.verdict.controls))
    remedies = list(dict.fromkeys(r.verdict.remedy for r in records if _reported(r) and r.verdict.remedy))
    fixes = [f"- {remedy}" for remedy in remedies] or ["- nothing: every item of this check passed in this run"]
    help_text = "\n".join([f"{description}.", "", "What to change:", *fixes, "", "Supports:",
                           *(f"- {control}" for control in controls)])
    return {
        "id": check,
        "name": check,
        "shortDescription": {"text": f"{check}: {description}"},
        "fullDescription": {"text": f"{description} (supports {'; '.join(controls)})"},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["security", *controls]},
    }


def _invocation(decision: Decision, started: datetime, finished: datetime) -> dict[str, Any]:
    """How the run went. A run that left configured items unjudged (``-k``, ``--lf``, required mode)
    or judged nothing is not a successful execution: a reader that closes the alerts a log does not
    repeat (GitHub does) must not take the missing items for fixed ones, so the log says so."""
    invocation: dict[str, Any] = {"executionSuccessful": not decision.reason,
                                  "startTimeUtc": started.isoformat(timespec="seconds").replace("+00:00", "Z"),
                                  "endTimeUtc": finished.isoformat(timespec="seconds").replace("+00:00", "Z")}
    if decision.reason:
        invocation["toolExecutionNotifications"] = [{"level": "error", "message": {"text": (
            f"{decision.reason}: this log does not cover every configured item, so an item missing from it "
            "is not evidence that its finding was fixed")}}]
    return invocation


def build_sarif(records: Sequence[ItemRecord], settings: GuardSettings, *, started: datetime, finished: datetime,
                sources: SarifSources, descriptions: Mapping[str, str], decision: Decision) -> dict[str, Any]:
    """The SARIF log of one run. ``descriptions`` adds the checks of layers above this one (cluster
    and drift checks); the endpoint checks' own descriptions come from ``CHECKS``."""
    known = {spec.name: spec.description for spec in CHECKS} | dict(descriptions)
    by_check: dict[str, list[ItemRecord]] = {}
    for record in records:
        by_check.setdefault(rule_id(record), []).append(record)
    checks = list(by_check)
    rules = [_rule(check, by_check[check], known.get(check, f"the aurora-guard check {check}")) for check in checks]
    results = [_result(record, checks.index(rule_id(record)), sources) for record in records if _reported(record)]
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {"name": "pytest-aurora-guard", "version": __version__, "semanticVersion": __version__,
                                "informationUri": TOOL_URI, "rules": rules}},
            "invocations": [_invocation(decision, started, finished)],
            "results": results,
            "properties": {"promotion": decision.promotion.value, "decision": decision.line(),
                           "tls_floor": settings.min_tls.label, "cipher_allowlist": settings.allowlist.names()},
        }],
    }
