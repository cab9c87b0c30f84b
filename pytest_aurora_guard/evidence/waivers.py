"""Waivers that expire: a known weakness accepted for a while, written down where it is reviewed.

A team that cannot fix an endpoint today (a legacy client still needs TLS 1.2) lists the failure
in a TOML file of ``[[waiver]]`` tables; each names the check, an endpoint glob, why, the ticket
that tracks the fix and the date it lapses (at most a year ahead, so a waiver is always a
decision someone has to renew). Rules, each fail-closed:

- only a FAILED verdict is ever waived: a pass stays a pass, and an INCONCLUSIVE stays blocking,
  because "no evidence" is not a known risk anyone accepted;
- an expired waiver changes nothing but the message: the item fails and says since when;
- for ``accepted_suites_allowed`` every offending suite must be covered, so a suite the server
  starts accepting after the waiver was written fails the check again;
- a waiver that matches nothing is a warning, not an error (see ``unused_waivers``).

The file is parsed once, before any traffic; a bad file is a usage error naming the table and
what to change. Pure functions over verdicts: nothing here talks to a server or to pytest.
"""

from __future__ import annotations

import datetime
import enum
import fnmatch
import importlib
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional

from ..checks import Outcome, Verdict, WaiverNote, WaiverStatus
from ..errors import ConfigurationError
from ..tls.ciphers import REGISTRY
from ..tls.versions import TlsVersion

# Checks whose failure is per TLS version (the item parameter, or the version a suite was accepted at).
VERSION_CHECKS = ("tls_version_refused", "accepted_suites_allowed")
SUITE_CHECK = "accepted_suites_allowed"
REQUIRED_KEYS = ("check", "endpoint", "reason", "ticket", "expires")
OPTIONAL_KEYS = ("version", "suite")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Waiver:
    """One ``[[waiver]]`` table, validated."""

    index: int  # 1-based position of the table in the file
    source: str  # the file, as given
    check: str
    endpoint: str  # fnmatch glob over the endpoint label
    reason: str
    ticket: str
    expires: datetime.date
    version: Optional[TlsVersion] = None
    suite: Optional[int] = None  # IANA code point

    @property
    def where(self) -> str:
        return f"{self.source} [[waiver]] #{self.index}"

    def expired(self, today: datetime.date) -> bool:
        """Valid through its ``expires`` day."""
        return today > self.expires

    def matches(self, check: str, endpoint: str, parameter: Optional[str]) -> bool:
        """Whether this waiver is about that item; for suites, ``covers`` then says which offenders."""
        if check != self.check or not fnmatch.fnmatchcase(endpoint, self.endpoint):
            return False
        if self.check == "tls_version_refused" and self.version is not None:
            return parameter == self.version.label
        return True

    def covers(self, version_label: str, code: int) -> bool:
        return ((self.version is None or self.version.label == version_label)
                and (self.suite is None or self.suite == code))

    def note(self, status: WaiverStatus) -> WaiverNote:
        return WaiverNote(status, self.where, self.expires.isoformat(), self.reason, self.ticket)


def one_year_after(today: datetime.date) -> datetime.date:
    try:
        return today.replace(year=today.year + 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year + 1, day=28)


def _toml(text: str) -> dict[str, Any]:
    # Imported by name, and only by a run with --aurora-waivers: tomllib exists from Python 3.11
    # while the package supports 3.9, and mypy checks as 3.10.
    try:
        tomllib = importlib.import_module("tomllib")
    except ImportError:
        raise ConfigurationError("waiver files need Python 3.11 or later (tomllib, the standard TOML "
                                 "reader)") from None
    document: dict[str, Any] = tomllib.loads(text)
    return document


def parse_waivers(text: str, source: str, known_checks: Collection[str], today: datetime.date) -> tuple[Waiver, ...]:
    """Every ``[[waiver]]`` table in ``text``; raises ConfigurationError naming ``source``, the table and
    what to change. Dates in the past are accepted (the check then says the waiver expired); dates more
    than a year after ``today`` are not."""
    try:
        document = _toml(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError
        raise ConfigurationError(f"{source}: not valid TOML ({exc}); each waiver is a [[waiver]] table") from None
    unknown = sorted(set(document) - {"waiver"})
    if unknown:
        raise ConfigurationError(f"{source}: unknown top-level key(s) {', '.join(unknown)}; the file holds only "
                                 "[[waiver]] tables")
    tables = document.get("waiver", [])
    if not isinstance(tables, list) or not all(isinstance(table, dict) for table in tables):
        raise ConfigurationError(f"{source}: 'waiver' must be an array of tables: write each one as [[waiver]]")
    return tuple(_waiver(table, index, source, known_checks, today) for index, table in enumerate(tables, 1))


def _waiver(table: Mapping[str, Any], index: int, source: str, known_checks: Collection[str],
            today: datetime.date) -> Waiver:
    where = f"{source} [[waiver]] #{index}"
    unknown = sorted(set(table) - {*REQUIRED_KEYS, *OPTIONAL_KEYS})
    if unknown:
        raise ConfigurationError(f"{where}: unknown key(s) {', '.join(unknown)}; the keys are "
                                 f"{', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)}")
    missing = [key for key in REQUIRED_KEYS if key not in table]
    if missing:
        raise ConfigurationError(f"{where}: missing {', '.join(missing)}; every waiver says which check and "
                                 "endpoint, why (reason), the ticket tracking the fix and when it expires")
    texts = {key: _text(table, key, where) for key in ("check", "endpoint", "reason", "ticket")}
    check = texts["check"]
    if check not in known_checks:
        raise ConfigurationError(f"{where}: check {check!r} is not a check that can be waived; use one of "
                                 f"{', '.join(sorted(known_checks))}")
    expires = _date(table["expires"], where)
    latest = one_year_after(today)
    if expires > latest:
        raise ConfigurationError(f"{where}: expires {expires.isoformat()} is more than one year ahead; set a date "
                                 f"no later than {latest.isoformat()} and renew the waiver then if still needed")
    version = _version(table, check, where)
    suite = _suite(table, check, where)
    return Waiver(index, source, check, texts["endpoint"], texts["reason"], texts["ticket"], expires, version, suite)


def _text(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def _date(value: Any, where: str) -> datetime.date:
    """A TOML local date (``expires = 2027-01-31``) or the same as a string."""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:  # 2027-02-30
            pass
    raise ConfigurationError(f"{where}: expires {value!r} is not a date written YYYY-MM-DD")


def _version(table: Mapping[str, Any], check: str, where: str) -> Optional[TlsVersion]:
    if "version" not in table:
        return None
    if check not in VERSION_CHECKS:
        raise ConfigurationError(f"{where}: version applies only to {' and '.join(VERSION_CHECKS)}; remove it")
    try:
        return TlsVersion.parse(_text(table, "version", where))
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: version: {exc}") from None


def _suite(table: Mapping[str, Any], check: str, where: str) -> Optional[int]:
    if "suite" not in table:
        return None
    if check != SUITE_CHECK:
        raise ConfigurationError(f"{where}: suite applies only to {SUITE_CHECK}; remove it")
    try:
        return REGISTRY.lookup(_text(table, "suite", where)).code
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: suite: {exc}") from None


def load_waivers(path: Path, known_checks: Collection[str], today: datetime.date,
                 source: Optional[str] = None) -> tuple[Waiver, ...]:
    """The waivers in ``path``, named ``source`` (default: the path) in every message and report."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"waiver file {str(path)!r} cannot be read: {exc}") from None
    return parse_waivers(text, source or str(path), known_checks, today)


def _item_of(verdict: Verdict) -> tuple[str, Optional[str]]:
    """``("tls_version_refused", "TLSv1.2")`` from the verdict's item name."""
    name, _, rest = verdict.check.partition("[")
    return name, rest[:-1] if rest.endswith("]") else None


def apply_waivers(verdict: Verdict, waivers: Sequence[Waiver], today: datetime.date) -> Verdict:
    """``verdict`` judged against the waivers: WAIVED when an unexpired one covers the whole failure,
    else unchanged but for the notes saying which waivers matched and why they did not apply."""
    if verdict.outcome is not Outcome.FAILED:
        return verdict  # a pass is never changed, an inconclusive never waived
    check, parameter = _item_of(verdict)
    matching = [w for w in waivers if w.matches(check, verdict.endpoint, parameter)]
    if not matching:
        return verdict
    live = [w for w in matching if not w.expired(today)]
    expired = [w.note(WaiverStatus.EXPIRED) for w in matching if w.expired(today)]
    if check == SUITE_CHECK:
        return _suites_waived(verdict, live, expired)
    if live:  # the first in the file: one reason, one ticket
        return replace(verdict, outcome=Outcome.WAIVED, waivers=(live[0].note(WaiverStatus.APPLIED),))
    return replace(verdict, waivers=tuple(expired))


def _suites_waived(verdict: Verdict, live: list[Waiver], expired: list[WaiverNote]) -> Verdict:
    offenders = verdict.offending_suites
    uncovered = [(version, code) for version, code in offenders if not any(w.covers(version, code) for w in live)]
    used = [w for w in live if any(w.covers(version, code) for version, code in offenders)]
    if offenders and not uncovered:
        return replace(verdict, outcome=Outcome.WAIVED, waivers=tuple(w.note(WaiverStatus.APPLIED) for w in used))
    partial = tuple(w.note(WaiverStatus.INSUFFICIENT) for w in (used or live))
    if not offenders:
        why = "the run contradicts itself, which no waiver can accept"
    else:
        why = "no unexpired waiver covers " + "; ".join(_suite_text(version, code) for version, code in uncovered)
    if not partial:
        return replace(verdict, waivers=tuple(expired))
    return replace(verdict, summary=f"{verdict.summary} ({why})", waivers=(*partial, *expired))


def _suite_text(version: str, code: int) -> str:
    suite = REGISTRY.by_code(code)
    return f"{suite.iana_name if suite else f'0x{code:04X}'} at {version}"


class UnusedReason(enum.Enum):
    NO_ITEM = "it matches no item of this run"
    ONLY_PASSED = "every item it matches passed: the weakness looks fixed, remove the waiver"
    ONLY_INCONCLUSIVE = "it matches only inconclusive items, which a waiver never covers"
    SUPERSEDED = "an earlier waiver in the file already covers what it matches"


@dataclass(frozen=True)
class UnusedWaiver:
    waiver: Waiver
    reason: UnusedReason

    def render(self) -> str:
        return (f"{self.waiver.where} ({self.waiver.check} on {self.waiver.endpoint!r}, until "
                f"{self.waiver.expires.isoformat()}, {self.waiver.ticket}) was not used: {self.reason.value}")

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.waiver.where, "check": self.waiver.check, "endpoint": self.waiver.endpoint,
                "expires": self.waiver.expires.isoformat(), "ticket": self.waiver.ticket,
                "reason": self.reason.name.lower(), "message": self.render()}


def unused_waivers(waivers: Sequence[Waiver], verdicts: Iterable[Verdict]) -> list[UnusedWaiver]:
    """Waivers no judged item was measured against: warnings, not errors.

    A warning because an unused waiver cannot weaken the gate (it waives nothing), and because one
    waiver file serves runs that gate a subset (one endpoint per pipeline stage, ``-k``): an error
    would break those runs, and would block promoting the very fix that made the waiver stale.
    """
    judged = list(verdicts)
    noted = {note.source for verdict in judged for note in verdict.waivers}
    out = []
    for waiver in waivers:
        if waiver.where in noted:
            continue
        matched = [v for v in judged if waiver.matches(_item_of(v)[0], v.endpoint, _item_of(v)[1])]
        if not matched:
            reason = UnusedReason.NO_ITEM
        elif all(v.outcome is Outcome.PASSED for v in matched):
            reason = UnusedReason.ONLY_PASSED
        elif all(v.outcome in (Outcome.PASSED, Outcome.INCONCLUSIVE) for v in matched):
            reason = UnusedReason.ONLY_INCONCLUSIVE
        else:
            reason = UnusedReason.SUPERSEDED
        out.append(UnusedWaiver(waiver, reason))
    return out


@dataclass(frozen=True)
class WaiverBook:
    """The run's waivers and the day they are judged on (UTC, fixed at start-up for the whole run)."""

    waivers: tuple[Waiver, ...]
    today: datetime.date

    def judge(self, verdict: Verdict) -> Verdict:
        return apply_waivers(verdict, self.waivers, self.today)

    def unused(self, verdicts: Iterable[Verdict]) -> list[UnusedWaiver]:
        return unused_waivers(self.waivers, verdicts)
