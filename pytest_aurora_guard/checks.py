"""The built-in checks: verdict rules over the evidence an :class:`Observations` gathered.

A check passes only on positive evidence. Anything that is not evidence either way (timeout,
reset, a foreign protocol, an answer we cannot classify) is INCONCLUSIVE, which the plugin
reports as an error: never a pass, never a skip.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

from .catalog import ENDPOINT_CHECKS
from .engines.remedies import Remedies
from .errors import ProbeError, TlsNotOffered
from .findings import DriverAttempt, DriverKind, HandshakeSeen, PlaintextFinding, PlaintextKind, TransportSetting
from .observations import Observations
from .settings.config import GuardSettings
from .settings.credentials import scrub
from .settings.endpoints import Engine
from .tls.certificates import (
    RDS_BUNDLE_HELP,
    CertificateAccepted,
    CertificateRejected,
    ProblemKind,
    assess_chain,
    host_kind,
)
from .tls.ciphers import REGISTRY, UnknownCipherSuite
from .tls.handshake import HandshakeCompleted, HandshakeNotOffered, HandshakeRefused
from .tls.surface import CONFIRM_SUITES_PER_HELLO, VersionStatus, VersionSurface
from .tls.versions import TlsVersion

TRANSMISSION_SECURITY = ("HIPAA 45 CFR 164.312(e)(1) transmission security",
                         "HIPAA 45 CFR 164.312(e)(2)(ii) encryption")
INTEGRITY = ("HIPAA 45 CFR 164.312(e)(2)(i) integrity controls",)


class Outcome(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"
    WAIVED = "waived"  # a failure an unexpired waiver covers (evidence/waivers.py): not blocking, still reported


class WaiverStatus(enum.Enum):
    APPLIED = "applied"  # it waives this failure
    EXPIRED = "expired"  # it matched, but its date has passed: the failure stands
    INSUFFICIENT = "insufficient"  # it matched, but does not cover the whole failure (a new offender)


@dataclass(frozen=True)
class WaiverNote:
    """A waiver a failed verdict was judged against, as it is reported (never changes a pass)."""

    status: WaiverStatus
    source: str  # "waivers.toml [[waiver]] #2": where to edit it
    expires: str  # YYYY-MM-DD
    reason: str
    ticket: str

    def render(self) -> str:
        said = f"{self.reason} ({self.ticket}) [{self.source}]"
        if self.status is WaiverStatus.APPLIED:
            return f"WAIVED until {self.expires}: {said}"
        if self.status is WaiverStatus.EXPIRED:
            return f"the waiver expired on {self.expires}, so this fails again: {said}"
        return f"a waiver until {self.expires} matches but does not cover all of this failure: {said}"

    def to_dict(self) -> dict[str, str]:
        return {"status": self.status.value, "source": self.source, "expires": self.expires,
                "reason": self.reason, "ticket": self.ticket}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> WaiverNote:
        return cls(WaiverStatus(data["status"]), data["source"], data["expires"], data["reason"], data["ticket"])


@dataclass(frozen=True)
class Verdict:
    check: str
    endpoint: str
    outcome: Outcome
    summary: str
    attempted: tuple[str, ...] = ()
    answered: tuple[str, ...] = ()
    remedy: Optional[str] = None
    controls: tuple[str, ...] = field(default=TRANSMISSION_SECURITY)
    # accepted_suites_allowed: (version label, IANA code point) of each accepted suite outside the
    # allowlist, set only when those suites alone make the failure, so a waiver can check it covers each.
    offending_suites: tuple[tuple[str, int], ...] = ()
    waivers: tuple[WaiverNote, ...] = ()

    def waived_line(self) -> str:
        """``WAIVED until DATE: reason (ticket)``; with several waivers (one per suite), the first date
        they lapse, since the check fails again then."""
        applied = [note for note in self.waivers if note.status is WaiverStatus.APPLIED]
        if len(applied) == 1:
            return applied[0].render()
        dated = len({note.expires for note in applied}) > 1
        said: dict[tuple[str, str], list[str]] = {}
        for note in applied:  # one suite per waiver: the same reason and ticket, said once
            said.setdefault((note.reason, note.ticket), []).append(
                note.source + (f" until {note.expires}" if dated else ""))
        return f"WAIVED until {min(note.expires for note in applied)}: " + "; ".join(
            f"{reason} ({ticket}) [{', '.join(sources)}]" for (reason, ticket), sources in said.items())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcome"] = self.outcome.value
        data["waivers"] = [note.to_dict() for note in self.waivers]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        return cls(
            check=data["check"], endpoint=data["endpoint"], outcome=Outcome(data["outcome"]),
            summary=data["summary"], attempted=tuple(data["attempted"]), answered=tuple(data["answered"]),
            remedy=data["remedy"], controls=tuple(data["controls"]),
            offending_suites=tuple((str(version), int(code)) for version, code in data.get("offending_suites", ())),
            waivers=tuple(WaiverNote.from_dict(note) for note in data.get("waivers", ())),
        )


@dataclass(frozen=True)
class CheckSpec:
    name: str  # a key of catalog.ENDPOINT_CHECKS, where its description lives
    needs_credentials: bool
    per_version: bool
    rule: Callable[[Observations, Optional[TlsVersion]], Verdict]
    observations: Callable[[GuardSettings, Optional[TlsVersion]], list[Hashable]]

    def judge(self, probe: Observations, version: Optional[TlsVersion]) -> Verdict:
        """Apply the rule; 'no evidence' exceptions become INCONCLUSIVE, absent TLS a failure."""
        make = _Verdicts(probe, self.item_name(version))
        tried = (f"to show that {self.description}" + (f" ({version.label})" if version else ""),)
        try:
            return self.rule(probe, version)
        except TlsNotOffered as exc:
            return make.failed("the server does not offer TLS", tried, (str(exc),), _remedies(probe).plaintext)
        except ProbeError as exc:
            return make.inconclusive("no evidence either way: the probe could not complete", tried,
                                     (_masked(str(exc), probe.settings),), _NETWORK_REMEDY)
        except Exception as exc:
            return make.inconclusive(
                "no evidence either way: the probe failed unexpectedly", tried,
                (_masked(f"{type(exc).__name__}: {exc}", probe.settings),),
                "this is a defect in pytest-aurora-guard or an answer it cannot handle; report it with this "
                "message (it never contains the password)")

    @property
    def description(self) -> str:
        return ENDPOINT_CHECKS[self.name]

    @property
    def marker(self) -> str:
        return f"aurora_{self.name}"

    def item_name(self, version: Optional[TlsVersion]) -> str:
        return f"{self.name}[{version.label}]" if version is not None else self.name


def _masked(text: str, settings: GuardSettings) -> str:
    """``text`` with the password masked in every form a driver or server may quote it (as text,
    as a repr, as bytes) and any conninfo ``password=`` field: exception texts come from them."""
    return scrub(text, [settings.password])


class _Verdicts:
    """Builds verdicts for one check on one endpoint, so judges read as rules."""

    def __init__(self, probe: Observations, check: str) -> None:
        self.check, self.endpoint = check, probe.configured.label

    def passed(self, summary: str, attempted: tuple[str, ...], answered: tuple[str, ...]) -> Verdict:
        return Verdict(self.check, self.endpoint, Outcome.PASSED, summary, attempted, answered)

    def failed(self, summary: str, attempted: tuple[str, ...], answered: tuple[str, ...], remedy: str,
               offending_suites: tuple[tuple[str, int], ...] = ()) -> Verdict:
        return Verdict(self.check, self.endpoint, Outcome.FAILED, summary, attempted, answered, remedy,
                       offending_suites=offending_suites)

    def inconclusive(self, summary: str, attempted: tuple[str, ...], answered: tuple[str, ...],
                     remedy: str) -> Verdict:
        return Verdict(self.check, self.endpoint, Outcome.INCONCLUSIVE, summary, attempted, answered, remedy)


_NETWORK_REMEDY = ("check that the endpoint, port and engine are right and that this runner can reach it "
                   "(security group, VPC route, DNS); raise --aurora-timeout if the network is slow")


def _remedies(probe: Observations) -> Remedies:
    return probe.remedies()


def _floor_remedy(probe: Observations) -> str:
    return _remedies(probe).floor.format(floor=probe.settings.min_tls.server_setting)


def _enable_floor_remedy(probe: Observations) -> str:
    floor = probe.settings.min_tls
    return (f"enable {floor.label} on the server (Aurora: an engine version with {floor.label} support, and "
            "the TLS version parameters allowing it), with at least one allowlisted suite")


def _suite_remedy(probe: Observations, versions: Sequence[TlsVersion]) -> str:
    """Restrict the suites where the offending versions take them from; raise the floor only if
    an offender was seen below it (a refused TLS 1.0-1.2 needs no floor advice)."""
    remedy = _remedies(probe).ciphers_at(versions)
    if any(version < probe.settings.min_tls for version in versions):
        remedy += f"; {_floor_remedy(probe)}"
    return remedy


# Sessions the enumeration did not list: two observations of one endpoint disagree.
_CONTRADICTION_REMEDY = ("look for servers behind this endpoint configured differently (a load balancer, a "
                         "failover in progress, a proxy that changes its answers) and make them agree; rerun")


# -- plaintext_refused ------------------------------------------------------------------------

_ACCEPTED_PLAINTEXT = (PlaintextKind.REACHED_AUTHENTICATION, PlaintextKind.SESSION_ESTABLISHED)


class _Evidence:
    """What one verdict tried and what came back, in the order it was gathered."""

    def __init__(self) -> None:
        self.attempted: list[str] = []
        self.answered: list[str] = []

    def add(self, attempted: str, answered: str) -> None:
        self.attempted.append(attempted)
        self.answered.append(answered)

    def add_all(self, findings: Iterable[PlaintextFinding]) -> None:
        for finding in findings:
            self.add(finding.attempted, finding.answered)

    @property
    def pair(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return tuple(self.attempted), tuple(self.answered)


def judge_plaintext_refused(probe: Observations, _: Optional[TlsVersion]) -> Verdict:
    make = _Verdicts(probe, "plaintext_refused")
    remedy = _remedies(probe).plaintext
    evidence = _Evidence()
    findings = probe.plaintext()
    evidence.add_all(findings)
    accepted = [f for f in findings if f.kind in _ACCEPTED_PLAINTEXT]
    if accepted:
        return make.failed(_accepted_summary(accepted), *evidence.pair, remedy)
    if not all(f.kind is PlaintextKind.REFUSED_FOR_TRANSPORT for f in findings):
        if probe.engine() is Engine.MYSQL:
            return _mysql_plaintext_by_server_rule(probe, make, evidence, None)
        return make.inconclusive("not every unencrypted attempt was refused for being unencrypted, and none was "
                                 "accepted", *evidence.pair, _NETWORK_REMEDY)
    # Refused with an "unencrypted" reason: confirm over TLS that the identity itself may connect,
    # so that the refusal is about the transport and not about the user or database.
    try:
        modern = probe.modern()
    except ProbeError as exc:
        evidence.add("the same identity over TLS", str(exc))
        return make.inconclusive(
            "plaintext was refused, but the same identity could not be tried over TLS to confirm why",
            *evidence.pair, _NETWORK_REMEDY)
    identity = modern.identity
    if identity is None or not identity.reached_authentication:
        evidence.add(identity.attempted if identity else modern.attempted,
                     identity.answered if identity else modern.outcome.render())
        return make.inconclusive(
            "plaintext was refused, but the same identity is refused over TLS as well, so the refusal "
            "may be about the user or database rather than the transport", *evidence.pair,
            "pass --aurora-user/--aurora-dbname naming a role and database that may connect over TLS",
        )
    evidence.add(identity.attempted, identity.answered)
    notes: list[str] = []
    if probe.settings.has_credentials:
        verified = probe.driver_verified()
        evidence.add(verified.attempted, verified.answered)
        if verified.kind is not DriverKind.CONNECTED:
            return make.inconclusive(
                f"plaintext was refused for {_scope(findings)}, but the verified session that lists every "
                f"connectable database and reads the server's transport rule failed: {verified.kind.value}",
                *evidence.pair, "check --aurora-user, AURORA_GUARD_PASSWORD and --aurora-ca-bundle")
        if verified.transport is not None and verified.transport.enforced is False:
            return make.failed(f"plaintext attempts were refused, but the server's own {verified.transport.render()} "
                               "allows unencrypted connections", *evidence.pair, remedy)
        if verified.databases:
            more = probe.plaintext_on_databases(verified.databases)
            evidence.add_all(more)
            accepted = [f for f in more if f.kind in _ACCEPTED_PLAINTEXT]
            if accepted:
                return make.failed(_accepted_summary(accepted) + "; the refusal seen elsewhere is a per-database "
                                   "rule, not a global one", *evidence.pair, remedy)
            if not all(f.kind is PlaintextKind.REFUSED_FOR_TRANSPORT for f in more):
                return make.inconclusive("not every connectable database refused the unencrypted attempt for "
                                         "being unencrypted", *evidence.pair, _NETWORK_REMEDY)
            findings = (*findings, *more)
        notes.append(_transport_note(verified.transport))
    summary = f"plaintext refused for being unencrypted, for {_scope(findings)}"
    return make.passed("; ".join([summary, "the configured identity reaches authentication over TLS", *notes]),
                       *evidence.pair)


def _accepted_summary(accepted: list[PlaintextFinding]) -> str:
    first = accepted[0]
    who = f" for {first.identity.render()}" if first.identity is not None else ""
    more = f" (and {len(accepted) - 1} more attempt(s))" if len(accepted) > 1 else ""
    return f"plaintext accepted{who}: {first.kind.value}{more}"


def _scope(findings: tuple[PlaintextFinding, ...]) -> str:
    identities = {(f.identity.user, f.identity.database) for f in findings if f.identity is not None}
    databases = {database for _, database in identities if database is not None}
    attempts = len(findings)
    where = f" across {len(databases)} database(s)" if databases else ""
    return f"{len(identities)} identit{'y' if len(identities) == 1 else 'ies'}{where} ({attempts} attempts)"


def _transport_note(transport: Optional[TransportSetting]) -> str:
    if transport is None:
        return "the server's transport parameter could not be read"
    if transport.value is None:
        return (f"{transport.name} does not exist on this server (self-managed, not Aurora): the live "
                "refusals are the evidence")
    return f"{transport.render()} (read over the verified session)"


def _mysql_plaintext_by_server_rule(probe: Observations, make: _Verdicts, evidence: _Evidence,
                                    driver: Optional[DriverAttempt]) -> Verdict:
    """MySQL's ambiguous plaintext answer (1045), settled only by evidence that covers every account.

    In order of strength: error 3159 (already ruled out when we get here); the server's global
    require_secure_transport read over a verified TLS session; a plaintext login with the public
    canary account refused with 3159. A 1045 contrasted with a working TLS login is never
    evidence: a per-account REQUIRE SSL produces it while the server accepts plaintext for others.
    """
    remedy = _remedies(probe).plaintext
    settings = probe.settings
    refused_by: Optional[str] = None
    if settings.canary_user:
        canary = driver
        if canary is None:  # the plaintext check's rule: the canary's attempt is not cited yet
            canary = probe.driver_plaintext()
            evidence.add(canary.attempted, canary.answered)
        if canary.kind in (DriverKind.CONNECTED, DriverKind.REACHED_AUTHENTICATION):
            return make.failed("the canary account logged in without TLS", *evidence.pair, remedy)
        if canary.kind is DriverKind.REFUSED_FOR_TRANSPORT:
            refused_by = "the canary account's plaintext login got error 3159"
    if settings.has_credentials:
        verified = probe.driver_verified()
        evidence.add(verified.attempted, verified.answered)
        transport = verified.transport
        if verified.kind is DriverKind.CONNECTED and transport is not None:
            if transport.enforced is False:
                return make.failed(f"the server's global {transport.render()}: plaintext is allowed for every "
                                   "account without REQUIRE SSL (a 1045 for one account proves nothing)",
                                   *evidence.pair, remedy)
            if transport.enforced is True:
                refused_by = (f"the server's global {transport.render()}, read over a verified TLS session, "
                              "refuses plaintext for every account")
    if refused_by is not None:
        return make.passed(f"plaintext refused: {refused_by}", *evidence.pair)
    return make.inconclusive(
        "the server's answer to an unencrypted login does not say whether it refuses plaintext "
        "(MySQL and MariaDB 10.11 check the password first), and no evidence covering every account was "
        "available", *evidence.pair,
        "give a probe account with --aurora-user and the AURORA_GUARD_PASSWORD environment variable "
        "(and --aurora-ca-bundle), so the server's global require_secure_transport can be read over verified "
        "TLS; or a canary account with --aurora-plaintext-canary-user/--aurora-plaintext-canary-password",
    )


# -- tls_version_refused[v] and accepted_suites_allowed: two witnesses for every refusal ---------

_CRAFTED = ("crafted ClientHellos (our codec, offering what OpenSSL's client offers: every named group, "
            "every signature scheme)")


def _crafted_attempt(probe: Observations, what: str) -> str:
    return f"STARTTLS ({probe.engine().display_name}) then {_CRAFTED} {what}"


def _suite_of(outcome: HandshakeCompleted) -> str:
    return _suite_text(outcome.cipher_name)


def _sessions_at(probe: Observations, version: TlsVersion) -> list[HandshakeSeen]:
    """Sessions other probes of the run set up that can only have been at ``version``... or any
    version of a range that includes it, when every other version of that range is refused."""
    return [seen for seen in probe.handshakes_seen() if version in seen.versions]


def judge_version_refused(probe: Observations, version: Optional[TlsVersion]) -> Verdict:
    assert version is not None
    make = _Verdicts(probe, f"tls_version_refused[{version.label}]")
    crafted = probe.surface_at(version)
    witness = probe.witness_at(version)
    # A DNS-named endpoint is asked both ways, with and without SNI (see Observations.without_sni).
    unnamed = probe.without_sni(version)
    attempted: tuple[str, ...] = (
        _crafted_attempt(probe, f"offering only {version.label}, every suite the registry knows for it "
                                "in bundles of at most 128"), witness.attempted)
    answered: tuple[str, ...] = (f"crafted: {crafted.reason}", f"OpenSSL: {witness.outcome.render()}")
    ways = [("", crafted, witness)]
    if unnamed is not None:
        attempted += (_crafted_attempt(probe, "as above, sending no server name (SNI)"), unnamed[1].attempted)
        answered += (f"crafted without SNI: {unnamed[0].reason}",
                     f"OpenSSL without SNI: {unnamed[1].outcome.render()}")
        ways.append((" without SNI", *unnamed))
    for how, surface, _ in ways:
        if surface.status is VersionStatus.ACCEPTED:
            suites = surface.accepted_cipher_suites()
            shown = ", ".join(suite.describe() for suite in suites[:3])
            more = f" and {len(suites) - 3} more" if len(suites) > 3 else ""
            return make.failed(f"{version.label} accepted{how}: the server chose {shown}{more} (crafted "
                               f"ClientHello{how})", attempted, answered, _floor_remedy(probe))
    for how, surface, seen_by in ways:
        outcome = seen_by.outcome
        if isinstance(outcome, HandshakeCompleted):
            disagree = (f"; the crafted ClientHellos{how} were refused ({surface.reason}): the witnesses disagree"
                        if surface.status is VersionStatus.REFUSED else "")
            return make.failed(f"{version.label} accepted{how}: the system OpenSSL (Python's ssl) completed a "
                               f"handshake at {outcome.version.label} with {_suite_of(outcome)}{disagree}",
                               attempted, answered, _floor_remedy(probe))
    elsewhere = [seen for seen in _sessions_at(probe, version)
                 if all(probe.surface_at(v).status is VersionStatus.REFUSED for v in seen.versions if v != version)]
    if elsewhere:
        return make.failed(f"{version.label} accepted: the run itself set up a session there, which contradicts "
                           f"the refusal: {'; '.join(seen.render() for seen in elsewhere)}",
                           attempted, (*answered, *(seen.render() for seen in elsewhere)), _floor_remedy(probe))
    both = " with and without SNI" if unnamed is not None else ""
    if any(surface.status is not VersionStatus.REFUSED for _, surface, _ in ways):
        return make.inconclusive(f"no evidence whether {version.label} is refused"
                                 + ("" if crafted.status is not VersionStatus.REFUSED else " without SNI"),
                                 attempted, answered, _NETWORK_REMEDY)
    outcomes = [seen_by.outcome for _, _, seen_by in ways]
    if all(isinstance(outcome, HandshakeRefused) for outcome in outcomes):
        return make.passed(f"{version.label} refused{both}, by two witnesses: the crafted ClientHellos and the "
                           "system OpenSSL", attempted, answered)
    outcome = next(o for o in outcomes if not isinstance(o, HandshakeRefused))
    if isinstance(outcome, HandshakeNotOffered) and version is TlsVersion.SSLv3:
        return make.passed("SSLv3 refused, on one witness only: the crafted ClientHellos, every suite refused again "
                           f"on fresh connections in hellos of at most {CONFIRM_SUITES_PER_HELLO} suites; no second "
                           f"witness is available ({outcome.detail})", attempted, answered)
    if isinstance(outcome, HandshakeNotOffered):
        return make.inconclusive(
            f"the crafted ClientHellos were refused, but only one witness was available: the local OpenSSL cannot "
            f"offer {version.label} ({outcome.detail}), and a refusal needs two", attempted, answered,
            f"run the gate where Python's ssl can offer {version.label} (OpenSSL 3 at @SECLEVEL=0 can)")
    how = next(how for how, _, seen_by in ways if seen_by.outcome is outcome)
    return make.inconclusive(f"the crafted ClientHellos were refused{both}, but the system OpenSSL's attempt at "
                             f"{version.label}{how} proves nothing either way", attempted, answered, _NETWORK_REMEDY)


def _contradictions(probe: Observations, seen: list[HandshakeSeen]) -> list[str]:
    """Sessions the run set up that the crafted enumeration did not list: self-contradiction."""
    found: list[str] = []
    for session in seen:
        surfaces = [probe.surface_at(v) for v in session.versions]
        if session.cipher_name is None:
            if all(s.status is VersionStatus.REFUSED for s in surfaces):
                found.append(f"{session.render()}, yet the enumeration found "
                             f"{', '.join(s.version.label for s in surfaces)} refused")
            continue
        suite = _lookup(session.cipher_name)
        for surface in surfaces:
            if suite is None or suite.code not in surface.accepted_suites:
                listed = "refused" if surface.status is VersionStatus.REFUSED else (
                    f"{len(surface.accepted_suites)} accepted suites without it")
                found.append(f"{session.render()}, which the enumeration of {surface.version.label} did not list "
                             f"({listed}: {surface.reason})")
    return found


def _unconfirmed_refusal(probe: Observations, surface: VersionSurface) -> Optional[str]:
    """Why the refusals in ``surface`` (the version, or the suites left after removal) lack their
    second witness, or None when they have it (or may stand alone, as SSLv3 may)."""
    if surface.version is TlsVersion.SSLv3:
        return None
    witness = probe.witness_at(surface.version)
    outcome = witness.outcome
    if surface.version is TlsVersion.TLSv1_3:
        # Python's ssl cannot offer chosen TLS 1.3 suites: its handshake confirms the accepted set
        # (checked as a contradiction) and, when it lands lower, that TLS 1.3 is refused.
        if surface.status is VersionStatus.ACCEPTED or isinstance(outcome, HandshakeRefused):
            return None
        if isinstance(outcome, HandshakeCompleted) and outcome.version < TlsVersion.TLSv1_3:
            return None
        return f"TLSv1.3: the system OpenSSL's attempt proves nothing either way ({outcome.render()})"
    if isinstance(outcome, (HandshakeRefused, HandshakeCompleted)):
        return None  # a completed witness is a contradiction or an offender, reported as such
    if isinstance(outcome, HandshakeNotOffered) and surface.status is VersionStatus.ACCEPTED:
        return None  # the local library has nothing the crafted hellos did not already see accepted
    return f"{surface.version.label}: no second witness for the refusal ({outcome.render()})"


def judge_accepted_suites(probe: Observations, _: Optional[TlsVersion]) -> Verdict:
    make = _Verdicts(probe, "accepted_suites_allowed")
    allowlist = probe.settings.allowlist
    surfaces = [probe.surface_at(version) for version in TlsVersion]
    witnesses = [probe.witness_at(version) for version in TlsVersion]
    attempted = (_crafted_attempt(probe, "per version (SSLv3 to TLS 1.3), removing each suite the server chose "
                                         "until it refused the rest"),
                 "per version, the system OpenSSL (Python's ssl) offering the suites not seen accepted")
    answered = (*(f"{s.version.label}: {s.status.value}; {s.reason}" for s in surfaces),
                *(f"OpenSSL at {w.version.label}: {w.outcome.render()}" for w in witnesses))
    # Below the floor, a DNS-named endpoint is enumerated without SNI too (Observations.without_sni).
    unnamed = [pair for pair in (probe.without_sni(v) for v in TlsVersion) if pair is not None]
    answered += (*(f"{s.version.label} without SNI: {s.status.value}; {s.reason}" for s, _ in unnamed),
                 *(f"OpenSSL at {w.version.label} without SNI: {w.outcome.render()}" for _, w in unnamed))
    seen = probe.handshakes_seen()
    offending = [(surface.version, f"{suite.describe()} at {surface.version.label}{how}", suite.code)
                 for how, group in (("", surfaces), (" without SNI", [s for s, _ in unnamed]))
                 for surface in group for suite in surface.accepted_cipher_suites()
                 if suite.code not in allowlist]
    contradictions = _contradictions(probe, seen)
    if offending or contradictions:
        parts = []
        if offending:
            parts.append(f"the server accepts {len(offending)} suite(s) outside the allowlist "
                         f"({allowlist.source}): {'; '.join(text for _, text, _ in offending)}")
        if contradictions:
            parts.append(f"the run contradicts itself: {'; '.join(contradictions)}")
        # A self-contradicting run is not a known weakness a waiver could accept: no offenders given.
        waivable = () if contradictions else tuple(dict.fromkeys((v.label, code) for v, _, code in offending))
        return make.failed("; ".join(parts), attempted, (*answered, *(s.render() for s in seen)),
                           _suite_remedy(probe, [version for version, _, _ in offending])
                           if offending else _CONTRADICTION_REMEDY, waivable)
    unresolved = [(s, "") for s in surfaces if s.status is VersionStatus.INCONCLUSIVE or not s.complete]
    unresolved += [(s, " without SNI") for s, _ in unnamed if s.status is VersionStatus.INCONCLUSIVE or not s.complete]
    if unresolved:
        return make.inconclusive(
            "every suite seen so far is allowlisted, but not every version could be enumerated: "
            + "; ".join(f"{s.version.label}{how}: {s.reason}" for s, how in unresolved),
            attempted, answered, _NETWORK_REMEDY)
    unconfirmed = [why for why in (_unconfirmed_refusal(probe, s) for s in surfaces) if why]
    unconfirmed += [f"{w.version.label} without SNI: no second witness for the refusal ({w.outcome.render()})"
                    for s, w in unnamed if s.status is VersionStatus.REFUSED
                    and not isinstance(w.outcome, (HandshakeRefused, HandshakeCompleted))]
    if unconfirmed:
        return make.inconclusive("every suite seen is allowlisted, but a refusal needs two witnesses: "
                                 + "; ".join(unconfirmed), attempted, answered, _NETWORK_REMEDY)
    accepted = sum(len(s.accepted_suites) for s in surfaces)
    return make.passed(f"all {accepted} accepted suites are allowlisted; every refusal was confirmed by the "
                       "system OpenSSL, SSLv3's by a second crafted connection", attempted, answered)


# -- tls_floor_accepted ------------------------------------------------------------------------

def judge_floor_accepted(probe: Observations, _: Optional[TlsVersion]) -> Verdict:
    floor = probe.settings.min_tls
    make = _Verdicts(probe, "tls_floor_accepted")
    seen = probe.at_floor()
    outcome = seen.outcome
    attempted = (seen.attempted,)
    if isinstance(outcome, HandshakeCompleted) and outcome.version >= floor:
        return make.passed(f"{floor.label} accepted ({_suite_text(outcome.cipher_name)})", attempted,
                           (outcome.render(),))
    if isinstance(outcome, (HandshakeRefused, HandshakeCompleted)):
        return make.failed(f"a handshake at the floor {floor.label} did not succeed", attempted,
                           (outcome.render(),),
                           _enable_floor_remedy(probe))
    return make.inconclusive(f"no evidence whether {floor.label} is accepted", attempted,
                             (outcome.render(),), _NETWORK_REMEDY)


# -- negotiated_cipher_allowed -------------------------------------------------------------------

def judge_negotiated_cipher(probe: Observations, _: Optional[TlsVersion]) -> Verdict:
    make = _Verdicts(probe, "negotiated_cipher_allowed")
    modern = probe.modern()
    outcome = modern.outcome
    attempted = (modern.attempted,)
    if not isinstance(outcome, HandshakeCompleted):
        if isinstance(outcome, HandshakeRefused):
            return make.failed("a modern default client cannot connect over TLS", attempted,
                               (outcome.render(),), _enable_floor_remedy(probe))
        return make.inconclusive("no TLS session to read a cipher suite from", attempted,
                                 (outcome.render(),), _NETWORK_REMEDY)
    suite = _lookup(outcome.cipher_name)
    answered = (outcome.render(),)
    if suite is not None and suite.code in probe.settings.allowlist:
        return make.passed(f"negotiated {suite.iana_name}, which is allowlisted", attempted, answered)
    shown = suite.describe() if suite is not None else f"{outcome.cipher_name} (unknown to the registry)"
    return make.failed(f"negotiated {shown}, which is not in the allowlist "
                       f"({probe.settings.allowlist.source})", attempted, answered,
                       f"{_suite_remedy(probe, (outcome.version,))}, or add the suite to --aurora-cipher-allowlist "
                       "after review")


# -- driver-level checks (psycopg / PyMySQL), with --aurora-user -----------------------------------

def judge_driver_plaintext(probe: Observations, _: Optional[TlsVersion]) -> Verdict:
    """The driver's unencrypted attempt (never with the real password)."""
    make = _Verdicts(probe, "driver_plaintext_refused")
    attempt = probe.driver_plaintext()
    evidence = _Evidence()
    evidence.add(attempt.attempted, attempt.answered)
    if attempt.kind is DriverKind.REFUSED_FOR_TRANSPORT:
        return make.passed("the driver's unencrypted connection was refused for being unencrypted", *evidence.pair)
    if attempt.kind in (DriverKind.REACHED_AUTHENTICATION, DriverKind.CONNECTED):
        return make.failed(f"unencrypted driver connection: {attempt.kind.value}", *evidence.pair,
                           _remedies(probe).plaintext)
    if attempt.kind is DriverKind.CREDENTIALS_REJECTED and probe.engine() is Engine.MYSQL:
        # MariaDB 10.11 / MySQL answer 1045 before looking at the transport.
        return _mysql_plaintext_by_server_rule(probe, make, evidence, attempt)
    return make.inconclusive(f"the driver's unencrypted attempt ended unclassified: {attempt.kind.value}",
                             *evidence.pair, _NETWORK_REMEDY)


def judge_driver_below_floor(probe: Observations, _: Optional[TlsVersion]) -> Verdict:
    make = _Verdicts(probe, "driver_below_floor_refused")
    below = probe.settings.below_floor()
    if not below:
        return make.inconclusive("there is no TLS version below the floor to try", (), (),
                                 "raise --aurora-min-tls")
    capped = below[-1]
    attempt = probe.driver_capped(capped)
    evidence = _Evidence()
    evidence.add(attempt.attempted, attempt.answered)
    if attempt.kind is DriverKind.REFUSED_TLS:
        return make.passed(f"a driver connection capped at {capped.label} was refused with a TLS alert",
                           *evidence.pair)
    if attempt.kind in (DriverKind.REACHED_AUTHENTICATION, DriverKind.CONNECTED):
        return make.failed(f"a driver connection capped at {capped.label} got a TLS session", *evidence.pair,
                           _floor_remedy(probe))
    if attempt.kind is DriverKind.TLS_NOT_OFFERED:
        return make.failed("the server does not offer TLS", *evidence.pair, _remedies(probe).plaintext)
    if attempt.kind is DriverKind.LOCAL_LIMIT:
        # The local driver cannot offer the version (OpenSSL's security level, libpq's build): its
        # failure says nothing about the server, so the crafted-ClientHello surface decides.
        surface = probe.surface_at(capped)
        evidence.add(f"crafted ClientHellos offering only {capped.label} (independent of the local driver)",
                     surface.reason)
        could_not = f"the local driver could not offer {capped.label} at all (no evidence from it)"
        if surface.status is VersionStatus.ACCEPTED:
            return make.failed(f"{could_not}, but crafted ClientHellos show the server accepts {capped.label}",
                               *evidence.pair, _floor_remedy(probe))
        if surface.status is VersionStatus.REFUSED:
            return make.passed(f"{could_not}; crafted ClientHellos show the server refuses {capped.label}",
                               *evidence.pair)
        return make.inconclusive(f"{could_not}, and the crafted ClientHellos were not conclusive either",
                                 *evidence.pair, _NETWORK_REMEDY)
    return make.inconclusive(f"the capped driver attempt ended unclassified: {attempt.kind.value}",
                             *evidence.pair, _NETWORK_REMEDY)


_UNNAMED_CIPHER_REMEDY = ("query the session's suite as the probe account (PostgreSQL: SELECT cipher FROM "
                          "pg_stat_ssl WHERE pid = pg_backend_pid(); MySQL: SHOW SESSION STATUS LIKE 'Ssl_cipher'); "
                          "a proxy between the guard and the server may not report it: point the guard at the "
                          "cluster endpoint")


def judge_driver_verified(probe: Observations, _: Optional[TlsVersion]) -> Verdict:
    make = _Verdicts(probe, "driver_verified_session")
    attempt = probe.driver_verified()
    attempted, answered = (attempt.attempted,), (attempt.answered,)
    floor, allowlist = probe.settings.min_tls, probe.settings.allowlist
    if attempt.kind is DriverKind.CERTIFICATE_REJECTED:
        return make.failed("the server certificate did not verify", attempted, answered,
                           "give the CA bundle that signs the endpoint's certificate with --aurora-ca-bundle "
                           "(for RDS: global-bundle.pem) and connect by the name on the certificate")
    if attempt.kind is DriverKind.REFUSED_TLS:
        return make.failed("a verified TLS connection was refused", attempted, answered, _enable_floor_remedy(probe))
    if attempt.kind is DriverKind.TLS_NOT_OFFERED:
        return make.failed("the server does not offer TLS: no verified session is possible", attempted, answered,
                           _remedies(probe).plaintext)
    if attempt.kind is not DriverKind.CONNECTED or attempt.session is None:
        hint = ("check --aurora-user and AURORA_GUARD_PASSWORD"
                if attempt.kind is DriverKind.CREDENTIALS_REJECTED else _NETWORK_REMEDY)
        return make.inconclusive(f"no verified session: {attempt.kind.value}", attempted, answered, hint)
    session = attempt.session
    if not session.encrypted or session.version is None:
        return make.failed("the server reports this session as unencrypted", attempted, answered,
                           _remedies(probe).plaintext)
    if session.version < floor:
        return make.failed(f"the server reports {session.version.label}, below the floor {floor.label}",
                           attempted, answered, _floor_remedy(probe))
    if not session.cipher_name:
        # Absence of a name is not a disallowed suite, and not an allowed one either.
        return make.inconclusive(f"the server reports a {session.version.label} session but names no cipher suite, "
                                 "so the allowlist cannot be checked", attempted, answered, _UNNAMED_CIPHER_REMEDY)
    suite = _lookup(session.cipher_name)
    if suite is None or suite.code not in allowlist:
        return make.failed(f"the server reports cipher {session.cipher_name}, not in the allowlist",
                           attempted, answered, _suite_remedy(probe, (session.version,)))
    return make.passed(f"verified session at {session.version.label} with {suite.iana_name}",
                       attempted, answered)


# -- certificate_trusted ------------------------------------------------------------------------

def judge_certificate_trusted(probe: Observations, _: Optional[TlsVersion]) -> Verdict:
    make = _Verdicts(probe, "certificate_trusted")
    host = probe.certificate_host()
    kind = host_kind(host)
    modern = probe.modern()  # first: a server without TLS fails this check whatever the bundle
    store = probe.trust_store()
    if store is None:
        return make.inconclusive("no CA bundle to verify the certificate chain against, so its trust cannot be "
                                 "shown", (f"{modern.attempted}, reading the certificate chain {host} sends",),
                                 ("--aurora-ca-bundle is not set",), RDS_BUNDLE_HELP)
    attempted: tuple[str, ...] = (f"{modern.attempted}, reading the certificate chain the server sent "
                 f"(checked against {store.source}, for the name {host!r}, {kind.value})",)
    chain = modern.chain
    if not isinstance(modern.outcome, HandshakeCompleted) or chain is None or not chain.certificates:
        return make.inconclusive("no certificate to judge: the TLS handshake did not complete", attempted,
                                 (modern.outcome.render(),), _NETWORK_REMEDY)
    assessment = assess_chain(chain, store, host, kind, probe.settings.cert_min_days)
    evidence = tuple(facts.render() for facts in assessment.path)
    if assessment.unused:
        evidence += (f"sent but not on the path: {'; '.join(assessment.unused)}",)
    problems = assessment.problems
    if problems and not chain.complete and any(p.kind is ProblemKind.UNTRUSTED for p in problems):
        return make.inconclusive("this Python shows only the leaf certificate (no get_unverified_chain before "
                                 "3.10), and the trust store does not hold its issuer", attempted, evidence,
                                 "run the gate on Python 3.10 or later, or add the intermediate to the bundle")
    if problems:
        return make.failed(f"{len(problems)} problem(s) with the certificate chain: "
                           + "; ".join(p.render() for p in problems), attempted, evidence,
                           "; ".join(dict.fromkeys(p.remedy for p in problems)))
    witness = probe.certificate_witness()
    attempted += (f"a second handshake in which the system OpenSSL verifies chain and name against {store.source}",)
    evidence += (witness.render(),)
    if isinstance(witness, CertificateRejected):
        return make.failed("self-contradicting evidence: every rule of ours holds, but OpenSSL rejects the "
                           f"certificate ({witness.reason})", attempted, evidence,
                           "inspect the chain with openssl s_client -showcerts; " + RDS_BUNDLE_HELP)
    if not isinstance(witness, CertificateAccepted):
        return make.inconclusive("the chain looks sound, but OpenSSL's own verification could not be completed",
                                 attempted, evidence, _NETWORK_REMEDY)
    first = assessment.first_expiry()
    left = (first.not_after - datetime.datetime.now(datetime.timezone.utc)).days
    rds = f"; issued under {assessment.rds_ca}" if assessment.rds_ca else ""
    return make.passed(f"the chain verifies to {assessment.anchor} ({store.source}) and names {host!r}; "
                       f"{left} days until the first expiry ({first.label}); keys and signatures are strong{rds}; "
                       "OpenSSL's own verification agrees", attempted, evidence)


def _lookup(name: str) -> Any:
    try:
        return REGISTRY.lookup(name)
    except UnknownCipherSuite:  # reported as unknown by the caller
        return None


def _suite_text(openssl_name: str) -> str:
    suite = _lookup(openssl_name)
    return suite.describe() if suite is not None else openssl_name


def _plaintext_needs(settings: GuardSettings, _: Optional[TlsVersion]) -> list[Hashable]:
    # With credentials, the verified session lists the databases and reads the server's transport rule.
    extra: list[Hashable] = ["driver_verified"] if settings.has_credentials else []
    if settings.canary_user:
        extra.append("driver_plaintext")
    return ["plaintext", "modern", *extra]


def _needs_modern(_: GuardSettings, __: Optional[TlsVersion]) -> list[Hashable]:
    return ["modern"]


def _floor_needs(settings: GuardSettings, _: Optional[TlsVersion]) -> list[Hashable]:
    # A modern client lands on TLS 1.3 where it can; a lower floor needs its own handshake.
    return ["modern"] if settings.min_tls is TlsVersion.TLSv1_3 else ["modern", ("version", settings.min_tls)]


def _below_floor_driver_needs(settings: GuardSettings, _: Optional[TlsVersion]) -> list[Hashable]:
    # The surface at the same version is shared with tls_version_refused; it decides when the
    # local driver cannot offer the version at all.
    below = settings.below_floor()
    return [("driver_capped", below[-1]), ("surface", below[-1])] if below else []


def _certificate_needs(_: GuardSettings, __: Optional[TlsVersion]) -> list[Hashable]:
    # The witness handshake is started with the chain's: on a sound chain it is always wanted.
    return ["modern", "certificate_witness"]


CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec("plaintext_refused", needs_credentials=False, per_version=False, rule=judge_plaintext_refused,
              observations=_plaintext_needs),
    CheckSpec("tls_version_refused", needs_credentials=False, per_version=True, rule=judge_version_refused,
              observations=lambda s, v: [("surface", v), ("surface_without_sni", v)]),
    CheckSpec("tls_floor_accepted", needs_credentials=False, per_version=False, rule=judge_floor_accepted,
              observations=_floor_needs),
    CheckSpec("negotiated_cipher_allowed", needs_credentials=False, per_version=False, rule=judge_negotiated_cipher,
              observations=_needs_modern),
    CheckSpec("accepted_suites_allowed", needs_credentials=False, per_version=False, rule=judge_accepted_suites,
              observations=lambda s, v: ["modern", *(("surface", version) for version in TlsVersion),
                                         *(("surface_without_sni", version) for version in s.below_floor())]),
    CheckSpec("certificate_trusted", needs_credentials=False, per_version=False, rule=judge_certificate_trusted,
              observations=_certificate_needs),
    CheckSpec("driver_plaintext_refused", needs_credentials=True, per_version=False, rule=judge_driver_plaintext,
              observations=lambda s, v: ["driver_plaintext", "driver_verified"]),
    CheckSpec("driver_below_floor_refused", needs_credentials=True, per_version=False, rule=judge_driver_below_floor,
              observations=_below_floor_driver_needs),
    CheckSpec("driver_verified_session", needs_credentials=True, per_version=False, rule=judge_driver_verified,
              observations=lambda s, v: ["driver_verified"]),
)


def planned_checks(settings: GuardSettings) -> list[tuple[CheckSpec, Optional[TlsVersion]]]:
    """The checks to run for each endpoint, in the order they are reported."""
    plan: list[tuple[CheckSpec, Optional[TlsVersion]]] = []
    for spec in (check for check in CHECKS if settings.has_credentials or not check.needs_credentials):
        if spec.per_version:
            plan.extend((spec, version) for version in settings.below_floor())
        else:
            plan.append((spec, None))
    return plan
