"""Recorded observations: the judges' ``Observations`` built from frozen findings in a test.

A judge that reads something the recording does not hold fails the test (``NotRecorded``): a
specification says exactly which evidence a rule needs. An observation recorded as an exception
instance is raised when read, as the real probe raises ``ProbeError`` when it has no evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional, Union

from pytest_aurora_guard.engines.mysql import REMEDIES as MYSQL_REMEDIES
from pytest_aurora_guard.engines.postgresql import REMEDIES as POSTGRES_REMEDIES
from pytest_aurora_guard.engines.remedies import Remedies
from pytest_aurora_guard.findings import (
    DriverAttempt,
    DriverKind,
    HandshakeSeen,
    IdentityOverTls,
    ModernHandshake,
    PlaintextFinding,
    PlaintextIdentity,
    PlaintextKind,
    SecondWitness,
    SessionTls,
    TransportSetting,
    VersionHandshake,
)
from pytest_aurora_guard.settings.config import GuardSettings
from pytest_aurora_guard.settings.credentials import Secret
from pytest_aurora_guard.settings.endpoints import Endpoint, Engine, parse_endpoint
from pytest_aurora_guard.tls.certificates import TrustStore, WitnessOutcome
from pytest_aurora_guard.tls.ciphers import REGISTRY
from pytest_aurora_guard.tls.handshake import (
    HandshakeCompleted,
    HandshakeInconclusive,
    HandshakeNotOffered,
    HandshakeOutcome,
    HandshakeRefused,
)
from pytest_aurora_guard.tls.surface import VersionStatus, VersionSurface
from pytest_aurora_guard.tls.versions import TlsVersion

PG = parse_endpoint("postgresql://db.example.test:5432")
MYSQL = parse_endpoint("mysql://db.example.test:3306")


class NotRecorded(AssertionError):
    """The judge read an observation the specification did not record."""


def _given(value: object, what: str) -> object:
    if value is None:
        raise NotRecorded(f"the judge read {what}, which this recording does not hold")
    if isinstance(value, BaseException):
        raise value
    return value


@dataclass(frozen=True)
class Recorded:
    """One endpoint's observations, as a specification states them."""

    configured: Endpoint = PG
    settings: GuardSettings = field(default_factory=GuardSettings)
    plaintext_findings: Optional[tuple[PlaintextFinding, ...]] = None
    per_database: Optional[tuple[PlaintextFinding, ...]] = None
    modern_handshake: Union[ModernHandshake, BaseException, None] = None
    floor_handshake: Optional[VersionHandshake] = None
    surfaces: Mapping[TlsVersion, VersionSurface] = field(default_factory=dict)
    witnesses: Mapping[TlsVersion, SecondWitness] = field(default_factory=dict)
    unnamed: Mapping[TlsVersion, tuple[VersionSurface, SecondWitness]] = field(default_factory=dict)
    sessions: tuple[HandshakeSeen, ...] = ()
    plaintext_driver: Optional[DriverAttempt] = None
    capped_driver: Mapping[TlsVersion, DriverAttempt] = field(default_factory=dict)
    verified_driver: Optional[DriverAttempt] = None
    store: Optional[TrustStore] = None
    openssl_verdict: Optional[WitnessOutcome] = None
    asked_databases: list[tuple[str, ...]] = field(default_factory=list)  # what the judge asked for

    def engine(self) -> Engine:
        assert self.configured.engine is not None
        return self.configured.engine

    def remedies(self) -> Remedies:
        return MYSQL_REMEDIES if self.engine() is Engine.MYSQL else POSTGRES_REMEDIES

    def plaintext(self) -> tuple[PlaintextFinding, ...]:
        return _given(self.plaintext_findings, "the plaintext attempts")  # type: ignore[return-value]

    def plaintext_on_databases(self, databases: tuple[str, ...]) -> tuple[PlaintextFinding, ...]:
        self.asked_databases.append(databases)
        return _given(self.per_database, "the plaintext attempts per database")  # type: ignore[return-value]

    def modern(self) -> ModernHandshake:
        return _given(self.modern_handshake, "the modern handshake")  # type: ignore[return-value]

    def at_floor(self) -> VersionHandshake:
        return _given(self.floor_handshake, "the handshake at the floor")  # type: ignore[return-value]

    def surface_at(self, version: TlsVersion) -> VersionSurface:
        return _given(self.surfaces.get(version), f"the crafted surface at {version.label}")  # type: ignore[return-value]

    def witness_at(self, version: TlsVersion) -> SecondWitness:
        return _given(self.witnesses.get(version), f"the OpenSSL witness at {version.label}")  # type: ignore[return-value]

    def without_sni(self, version: TlsVersion) -> Optional[tuple[VersionSurface, SecondWitness]]:
        return self.unnamed.get(version)

    def handshakes_seen(self) -> list[HandshakeSeen]:
        return list(self.sessions)

    def driver_plaintext(self) -> DriverAttempt:
        return _given(self.plaintext_driver, "the driver's plaintext attempt")  # type: ignore[return-value]

    def driver_capped(self, version: TlsVersion) -> DriverAttempt:
        return _given(self.capped_driver.get(version), f"the driver capped at {version.label}")  # type: ignore[return-value]

    def driver_verified(self) -> DriverAttempt:
        return _given(self.verified_driver, "the verified driver session")  # type: ignore[return-value]

    def certificate_host(self) -> str:
        return self.configured.server_name or self.configured.host

    def trust_store(self) -> Optional[TrustStore]:
        return self.store

    def certificate_witness(self) -> WitnessOutcome:
        return _given(self.openssl_verdict, "OpenSSL's certificate verification")  # type: ignore[return-value]


# -- evidence builders ----------------------------------------------------------------------------

def code(name: str) -> int:
    return REGISTRY.lookup(name).code


def surface(version: TlsVersion, status: VersionStatus, *accepted: str, complete: bool = True,
            reason: str = "recorded") -> VersionSurface:
    return VersionSurface(version, status, tuple(code(name) for name in accepted), complete, reason, (), True)


def refused_surface(version: TlsVersion) -> VersionSurface:
    return surface(version, VersionStatus.REFUSED, reason=f"every bundle at {version.label} got alert 70 "
                                                           "(protocol_version)")


def witness(version: TlsVersion, outcome: HandshakeOutcome) -> SecondWitness:
    return SecondWitness(f"OpenSSL capped at {version.label}", version, (), outcome)


def refused(alert: str = "protocol_version") -> HandshakeRefused:
    return HandshakeRefused(alert, f"the server sent alert {alert}")


def completed(version: TlsVersion, cipher: str) -> HandshakeCompleted:
    return HandshakeCompleted(version, cipher)


def unclear() -> HandshakeInconclusive:
    return HandshakeInconclusive("timeout", "no answer within 3 s")


def not_offered(version: TlsVersion) -> HandshakeNotOffered:
    return HandshakeNotOffered(version, f"the local OpenSSL cannot offer {version.label}")


def identity(user: str = "probe", database: Optional[str] = "postgres", random: bool = False,
             application_name: str = "pytest-aurora-guard-1") -> PlaintextIdentity:
    return PlaintextIdentity(user, database, application_name, random)


def plaintext(kind: PlaintextKind, who: Optional[PlaintextIdentity] = None,
              answered: str = "FATAL 28000: no pg_hba.conf entry, no encryption") -> PlaintextFinding:
    who = who or identity()
    return PlaintextFinding(f"StartupMessage without SSLRequest ({who.render()})", answered, kind, who)


def contrast(reached: Optional[bool]) -> ModernHandshake:
    over_tls = IdentityOverTls("the same StartupMessage over TLS", "AuthenticationSASL (SCRAM-SHA-256)"
                               if reached else "FATAL 28000: no pg_hba.conf entry", reached)
    return ModernHandshake("a modern default client", completed(TlsVersion.TLSv1_3, "TLS_AES_256_GCM_SHA384"),
                           over_tls)


def driver(kind: DriverKind, session: Optional[SessionTls] = None, transport: Optional[TransportSetting] = None,
           databases: tuple[str, ...] = (), answered: str = "recorded driver answer") -> DriverAttempt:
    return DriverAttempt(f"driver attempt ({kind.name})", answered, kind, session, transport, databases)


def with_credentials(**extra: object) -> GuardSettings:
    return GuardSettings(user="probe", password=Secret("m4rker-Pa55word"), **extra)  # type: ignore[arg-type]
