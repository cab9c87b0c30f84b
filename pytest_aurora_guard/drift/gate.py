"""The engine-default drift gate: fetch once, compare with the committed baseline, explain.

AWS changes engine defaults without notice (Aurora PostgreSQL 11's ``ssl_ciphers``
AllowedValues lost 3DES and anonymous suites in 2023; Aurora MySQL 2.11 / 3.04 dropped DHE).
The gate fails on any change so a person reviews the new list and, if they accept it,
records it with ``pytest --update-cipher-baseline``. Nothing here knows about pytest.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Optional, Protocol

from ..aws.engine_defaults import EngineDefaultsReader
from ..errors import AuroraGuardError, BaselineError, MissingBaselineError
from ..settings.spelling import did_you_mean
from ..tls.ciphers import REGISTRY, CipherSuite, UnknownCipherSuite
from .baselines import (
    DEFAULT_TRACKED_PARAMETERS,
    FamilyDefaults,
    WriteOutcome,
    baseline_path,
    load_baseline,
    tracked_parameters_for,
    write_baseline,
)

# Parameters whose values and AllowedValues are cipher-suite lists (aurora-tls-facts.md §2).
CIPHER_PARAMETERS = frozenset({"ssl_ciphers", "ssl_cipher", "tls_ciphersuites"})

# How a reader of the RDS console / CLI output knows each compared field.
_FIELD_LABELS: Mapping[str, str] = {
    "value": "default value (ParameterValue)",
    "allowed_values": "AllowedValues",
    "source": "Source",
    "apply_type": "ApplyType",
    "data_type": "DataType",
    "is_modifiable": "IsModifiable",
    "apply_method": "ApplyMethod",
    "minimum_engine_version": "MinimumEngineVersion",
}


class AllowlistLike(Protocol):
    """What the gate needs of ``pytest_aurora_guard.tls.allowlist.CipherAllowlist``."""

    @property
    def source(self) -> str: ...

    def __contains__(self, code: int) -> bool: ...


@dataclass(frozen=True)
class Target:
    """One baseline: a DB parameter group family in one region."""

    region: str
    family: str

    @property
    def label(self) -> str:
        return f"{self.region}/{self.family}"


# -- comparing -----------------------------------------------------------------------------------


class ChangeKind(Enum):
    ALLOWED_ADDED = "allowed values added"
    ALLOWED_REMOVED = "allowed values removed"
    FIELD_CHANGED = "field changed"
    APPEARED = "parameter appeared"
    DISAPPEARED = "parameter disappeared"
    NEWLY_TRACKED = "tracked but not in the baseline"
    NO_LONGER_TRACKED = "in the baseline but no longer tracked"
    OTHER = "other difference"


@dataclass(frozen=True)
class Change:
    parameter: str
    kind: ChangeKind
    field: Optional[str] = None
    old: Any = None
    new: Any = None
    values: tuple[str, ...] = ()  # the entries added to / removed from AllowedValues


@dataclass(frozen=True)
class DriftReport:
    target: Target
    changes: tuple[Change, ...]

    @property
    def drifted(self) -> bool:
        return bool(self.changes)


# The parameter name of a change no single parameter explains.
WHOLE_FILE = "(file)"


def compare(baseline: FamilyDefaults, current: FamilyDefaults) -> DriftReport:
    """Every difference between the committed baseline and what AWS serves now."""
    old, new = baseline.parameters_json(), current.parameters_json()
    target = Target(current.region, current.family)
    if old == new:
        return DriftReport(target, ())
    from deepdiff import DeepDiff  # only a drifted family pays for it

    changes: list[Change] = []
    added: dict[str, set[str]] = {}
    removed: dict[str, set[str]] = {}
    # ignore_order: AllowedValues is a set in meaning; a replaced entry comes back as
    # values_changed at a list index, an extra one as iterable_item_added/removed.
    for report_type, levels in DeepDiff(old, new, ignore_order=True, view="tree").items():
        for level in levels:
            path = level.path(output_format="list")
            name = str(path[0])
            if len(path) == 3 and path[1] == "allowed_values":
                if report_type in ("iterable_item_added", "values_changed"):
                    added.setdefault(name, set()).add(str(level.t2))
                if report_type in ("iterable_item_removed", "values_changed"):
                    removed.setdefault(name, set()).add(str(level.t1))
            elif len(path) == 2:
                changes.append(Change(name, ChangeKind.FIELD_CHANGED, str(path[1]), level.t1, level.t2))
            elif len(path) == 1 and report_type == "dictionary_item_added":
                changes.append(Change(name, ChangeKind.NEWLY_TRACKED, new=level.t2))
            elif len(path) == 1 and report_type == "dictionary_item_removed":
                changes.append(Change(name, ChangeKind.NO_LONGER_TRACKED, old=level.t1))
            elif len(path) == 1 and level.t1 is None:
                changes.append(Change(name, ChangeKind.APPEARED, new=level.t2))
            elif len(path) == 1 and level.t2 is None:
                changes.append(Change(name, ChangeKind.DISAPPEARED, old=level.t1))
            else:
                changes.append(Change(name, ChangeKind.OTHER, str(path), level.t1, level.t2))
    for name, values in added.items():
        changes.append(Change(name, ChangeKind.ALLOWED_ADDED, values=tuple(sorted(values))))
    for name, values in removed.items():
        changes.append(Change(name, ChangeKind.ALLOWED_REMOVED, values=tuple(sorted(values))))
    if not changes:  # e.g. only a repeated entry changed: still not equal, so still drift
        changes.append(Change(WHOLE_FILE, ChangeKind.OTHER, None, old, new))
    order = list(ChangeKind)
    changes.sort(key=lambda c: (c.parameter, order.index(c.kind), c.field or ""))
    return DriftReport(target, tuple(changes))


# -- explaining ----------------------------------------------------------------------------------


def update_command(target: Target, extra_options: Sequence[str] = ()) -> str:
    """The exact command that records AWS's current defaults for ``target``."""
    words = [
        "pytest",
        "--update-cipher-baseline",
        "--aws-region",
        target.region,
        "--aurora-engine-family",
        target.family,
        *extra_options,
    ]
    return " ".join(shlex.quote(word) for word in words)


def render_drift(report: DriftReport, *, baseline_file: Path, allowlist: AllowlistLike, command: str) -> str:
    target = report.target
    lines = [
        f"AWS changed the engine defaults of {target.family} in {target.region}; they no longer "
        f"match the baseline {baseline_file}:"
    ]
    outside: list[str] = []
    for change in report.changes:
        lines.extend(_render_change(change, allowlist, outside))
    if outside:
        outside = list(dict.fromkeys(outside))  # a suite can arrive in AllowedValues and the value
        lines.append("")
        lines.append(
            f"Not in the cipher allowlist ({allowlist.source}): {', '.join(outside)}. Decide "
            "whether your policy accepts them before anything else."
        )
    lines.append("")
    lines.append(
        "A person must review these changes (and the cipher allowlist). Once accepted, "
        "record the new defaults and commit the baseline diff:"
    )
    lines.append(f"  {command}")
    return "\n".join(lines)


def review_lines(previous: Optional[FamilyDefaults], current: FamilyDefaults,
                 allowlist: Optional[AllowlistLike]) -> tuple[str, ...]:
    """The changes an update records, and the suites it lets in that the cipher allowlist does not name.

    For a new baseline: the cipher suites its default values enable that are outside the allowlist
    (AllowedValues lists what may be configured, so it is not flagged wholesale).
    """
    outside: list[str] = []
    lines: list[str] = []
    checker = allowlist if allowlist is not None else _EVERYTHING_ALLOWED
    if previous is None:
        for name, parameter in sorted(current.parameters_json().items()):
            if name in CIPHER_PARAMETERS and parameter is not None:
                for entry in _split(parameter.get("value")):
                    _describe_entry(entry, True, checker, outside)
    else:
        report = compare(previous, current)
        for change in report.changes:
            lines.extend(_render_change(change, checker, outside))
    if outside and allowlist is not None:
        lines.append(f"  not in the cipher allowlist ({allowlist.source}): {', '.join(dict.fromkeys(outside))}")
    return tuple(lines)


class _AllowAll:
    source = "none"

    def __contains__(self, code: int) -> bool:
        return True


_EVERYTHING_ALLOWED = _AllowAll()


def render_missing(target: Target, baseline_file: Path, command: str) -> str:
    return (
        f"No baseline for {target.family} in {target.region}: {baseline_file} does not exist. "
        "The drift gate never creates one on its own. Review AWS's current defaults, record "
        f"them and commit the file:\n  {command}"
    )


def _render_change(change: Change, allowlist: AllowlistLike, outside: list[str]) -> list[str]:
    name, kind = change.parameter, change.kind
    is_cipher_list = name in CIPHER_PARAMETERS
    if kind in (ChangeKind.ALLOWED_ADDED, ChangeKind.ALLOWED_REMOVED):
        gained = kind is ChangeKind.ALLOWED_ADDED
        noun = "cipher suite" if is_cipher_list else "value"
        count = len(change.values)
        head = f"  {name}: AllowedValues {'gained' if gained else 'lost'} {count} {noun}{'' if count == 1 else 's'}:"
        sign = "+" if gained else "-"
        collect = outside if gained else None
        body = [f"    {sign} {_describe_entry(v, is_cipher_list, allowlist, collect)}" for v in change.values]
        return [head, *body]
    if kind is ChangeKind.FIELD_CHANGED:
        field = change.field or "?"
        label = _FIELD_LABELS.get(field, field)
        lines = [f"  {name}: {label} changed: {_show(change.old)} → {_show(change.new)}"]
        if change.field == "value" and is_cipher_list:
            old_suites = set(_split(change.old))
            new_suites = set(_split(change.new))
            lines += [f"    + {_describe_entry(v, True, allowlist, outside)}" for v in sorted(new_suites - old_suites)]
            lines += [f"    - {_describe_entry(v, True, allowlist, None)}" for v in sorted(old_suites - new_suites)]
        return lines
    if kind is ChangeKind.APPEARED:
        lines = [f"  {name}: parameter appeared (AWS now returns it): {_summary(change.new)}"]
        if is_cipher_list and isinstance(change.new, dict):
            entries = sorted(set(change.new.get("allowed_values") or []))
            entries += sorted(set(_split(change.new.get("value"))) - set(entries))
            lines += [f"    + {_describe_entry(v, True, allowlist, outside)}" for v in entries]
        return lines
    if kind is ChangeKind.DISAPPEARED:
        return [f"  {name}: parameter disappeared (AWS no longer returns it); it was {_summary(change.old)}"]
    if kind is ChangeKind.NEWLY_TRACKED:
        return [f"  {name}: tracked now, but the baseline does not record it"]
    if kind is ChangeKind.NO_LONGER_TRACKED:
        return [f"  {name}: recorded in the baseline, but no longer tracked"]
    if name == WHOLE_FILE:
        return ["  the file as a whole: an AllowedValues entry is listed more than once on one side (the same "
                "values either way); the update rewrites the lists as AWS serves them"]
    return [f"  {name}: {change.field} differs: {_show(change.old)} → {_show(change.new)}"]


def _describe_entry(entry: str, is_cipher: bool, allowlist: AllowlistLike, outside: Optional[list[str]]) -> str:
    """A suite with both names and its code point; flags (and collects) allowlist outsiders."""
    if not is_cipher:
        return repr(entry)
    try:
        suite = REGISTRY.lookup(entry)
    except UnknownCipherSuite:
        if outside is not None:
            outside.append(entry)
        return (
            f"{entry} (not a suite name this plugin knows, e.g. an OpenSSL keyword such as HIGH; "
            "it cannot be checked against the allowlist: review it by hand)"
        )
    text = _suite_names(suite)
    if outside is not None and suite.code not in allowlist:
        outside.append(suite.iana_name)
        return f"{text}  NOT IN THE CIPHER ALLOWLIST"
    return text


def _suite_names(suite: CipherSuite) -> str:
    code = f"0x{suite.code >> 8:02X},0x{suite.code & 0xFF:02X}"
    if suite.openssl_name and suite.openssl_name != suite.iana_name:
        return f"{suite.iana_name} (OpenSSL {suite.openssl_name}, {code})"
    return f"{suite.iana_name} ({code})"


def _split(value: Any) -> list[str]:
    if not isinstance(value, str):
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def _show(value: Any) -> str:
    if value is None:
        return "(no value)"
    if isinstance(value, list):
        return "[" + ", ".join(value) + "]" if value else "[] (empty)"
    return repr(value)


def _summary(parameter: Any) -> str:
    if not isinstance(parameter, dict):
        return _show(parameter)
    return ", ".join(f"{_FIELD_LABELS.get(key, key)} {_show(value)}" for key, value in sorted(parameter.items()))


# -- one run of the gate -------------------------------------------------------------------------


@dataclass(frozen=True)
class GateSettings:
    targets: tuple[Target, ...]
    baseline_dir: Path
    update: bool
    tracked: Mapping[str, tuple[str, ...]]
    command_options: tuple[str, ...] = ()  # added to the update command, e.g. the baseline dir
    ci_markers: tuple[str, ...] = ()  # an update allowed in CI: the CI variables seen (changes must fail)

    def baseline_file(self, target: Target) -> Path:
        return baseline_path(self.baseline_dir, target.region, target.family)

    def update_command(self, target: Target) -> str:
        return update_command(target, self.command_options)

    def needs_fetch(self, target: Target) -> bool:
        """A check without a baseline has nothing to compare: it fails without calling AWS."""
        return self.update or self.baseline_file(target).exists()


@dataclass(frozen=True)
class FetchOutcome:
    """AWS's current tracked defaults for a target, or why they could not be read."""

    target: Target
    defaults: Optional[FamilyDefaults] = None
    pages: int = 0
    error: Optional[str] = None
    unreturned: tuple[str, ...] = ()  # tracked parameters AWS did not return, each with a did-you-mean

    def to_wire(self) -> dict[str, Any]:
        return {
            "region": self.target.region,
            "family": self.target.family,
            "defaults": None if self.defaults is None else self.defaults.to_json(),
            "pages": self.pages,
            "error": self.error,
            "unreturned": list(self.unreturned),
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> FetchOutcome:
        target = Target(data["region"], data["family"])
        raw = data["defaults"]
        defaults = None if raw is None else FamilyDefaults.from_json(raw, target.label)
        return cls(target, defaults, int(data["pages"]), data["error"], tuple(data["unreturned"]))


@dataclass(frozen=True)
class UpdateRecord:
    """What ``--update-cipher-baseline`` did to one baseline file."""

    target: Target
    path: Path
    outcome: Optional[WriteOutcome] = None
    error: Optional[str] = None
    review: tuple[str, ...] = ()  # what changed against the previous file, with allowlist warnings

    @property
    def changed(self) -> bool:
        return self.outcome in (WriteOutcome.CREATED, WriteOutcome.UPDATED)

    def to_wire(self) -> dict[str, Any]:
        return {
            "region": self.target.region,
            "family": self.target.family,
            "path": str(self.path),
            "outcome": None if self.outcome is None else self.outcome.value,
            "error": self.error,
            "review": list(self.review),
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> UpdateRecord:
        outcome = None if data["outcome"] is None else WriteOutcome(data["outcome"])
        return cls(Target(data["region"], data["family"]), Path(data["path"]), outcome, data["error"],
                   tuple(data["review"]))


@dataclass
class DriftGate:
    """Per-run state: each target fetched at most once, each baseline written at most once.

    In a single process the gate fetches and writes on first use. Under pytest-xdist the
    controller runs :meth:`fetch_all` (and :meth:`update_all`) before distributing, ships
    :meth:`to_wire` to the workers, and the workers' gates (``reader=None``) only replay it.
    """

    settings: GateSettings
    reader: Optional[EngineDefaultsReader]
    allowlist: Optional[AllowlistLike] = None  # for the review of updated baselines (controller only)
    fetched: dict[Target, FetchOutcome] = field(default_factory=dict)
    updates: dict[Target, UpdateRecord] = field(default_factory=dict)

    def fetch(self, target: Target) -> FetchOutcome:
        if target not in self.fetched:
            self.fetched[target] = self._fetch_now(target)
        return self.fetched[target]

    def fetch_all(self) -> None:
        for target in self.settings.targets:
            if self.settings.needs_fetch(target):
                self.fetch(target)

    def update(self, target: Target) -> UpdateRecord:
        if target not in self.updates:
            self.updates[target] = self._update_now(target)
        return self.updates[target]

    def update_all(self) -> None:
        for target in self.settings.targets:
            self.update(target)

    def to_wire(self) -> dict[str, Any]:
        return {
            "fetched": [outcome.to_wire() for outcome in self.fetched.values()],
            "updates": [record.to_wire() for record in self.updates.values()],
        }

    @classmethod
    def replica(cls, settings: GateSettings, wire: Mapping[str, Any]) -> DriftGate:
        gate = cls(settings, reader=None)
        for item in wire["fetched"]:
            outcome = FetchOutcome.from_wire(item)
            gate.fetched[outcome.target] = outcome
        for item in wire["updates"]:
            record = UpdateRecord.from_wire(item)
            gate.updates[record.target] = record
        return gate

    def _fetch_now(self, target: Target) -> FetchOutcome:
        if self.reader is None:
            return FetchOutcome(target, error=_not_shipped(target))
        try:
            tracked = tracked_parameters_for(target.family, self.settings.tracked)
            fetched = self.reader.fetch(target.region, target.family)
            defaults = FamilyDefaults.from_engine_parameters(target.region, target.family, fetched.parameters, tracked)
        except AuroraGuardError as exc:
            return FetchOutcome(target, error=str(exc))
        returned = {parameter.name for parameter in fetched.parameters}
        unreturned = tuple(f"{name}{did_you_mean(name, returned, list_known=False)}"
                           for name in sorted(set(tracked) - returned))
        return FetchOutcome(target, defaults, fetched.pages, unreturned=unreturned)

    def _update_now(self, target: Target) -> UpdateRecord:
        path = self.settings.baseline_file(target)
        if self.reader is None:
            return UpdateRecord(target, path, error=_not_shipped(target))
        outcome = self.fetch(target)
        if outcome.defaults is None:
            return UpdateRecord(target, path, error=f"nothing written: {outcome.error}")
        chosen = tracked_parameters_for(target.family, self.settings.tracked)
        default = DEFAULT_TRACKED_PARAMETERS.get(_prefix(target.family, self.settings.tracked))
        if outcome.unreturned and chosen != default:
            # A name the user listed that AWS does not know would be recorded as null and pass for ever.
            return UpdateRecord(target, path, error=(
                f"ini key aurora_tracked_parameters tracks {', '.join(outcome.unreturned)} for {target.family}, "
                f"but AWS did not return {'it' if len(outcome.unreturned) == 1 else 'them'} in {target.region}; "
                "nothing written: correct the name or remove it from the list"))
        review = self._review(path, outcome.defaults)
        review += tuple(f"  {name}: tracked, but AWS did not return it for {target.family} (recorded as null)"
                        for name in outcome.unreturned)
        try:
            return UpdateRecord(target, path, write_baseline(path, outcome.defaults), review=review)
        except OSError as exc:
            return UpdateRecord(target, path, error=f"could not write {path}: {exc}; the old file is intact")

    def _review(self, path: Path, current: FamilyDefaults) -> tuple[str, ...]:
        """What the update changes, in the drift report's words, read before the file is replaced."""
        try:
            previous: Optional[FamilyDefaults] = load_baseline(path, current.region, current.family)
        except MissingBaselineError:
            previous = None
        except BaselineError as exc:
            return (f"  the previous file could not be read ({exc}); review the whole new file",)
        return review_lines(previous, current, self.allowlist)


def _prefix(family: str, table: Mapping[str, tuple[str, ...]]) -> str:
    return max((prefix for prefix in table if family.startswith(prefix)), key=len, default="")


def _not_shipped(target: Target) -> str:
    return (
        f"the pytest-xdist controller sent no engine defaults for {target.label}; this worker "
        "does not call AWS itself. Run without -n, or report this as a bug."
    )


def targets_for(
    families: Iterable[str], regions: Iterable[str], present: Iterable[tuple[str, str]]
) -> tuple[Target, ...]:
    """Configured families in every configured region, plus every baseline file present."""
    wanted = {Target(region, family) for family in families for region in regions}
    wanted.update(Target(region, family) for region, family in present)
    return tuple(sorted(wanted, key=lambda t: (t.region, t.family)))
