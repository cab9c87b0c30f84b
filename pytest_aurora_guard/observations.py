"""What the verdict rules read: one endpoint's observations, as a Protocol.

The judges in :mod:`.checks` see an endpoint only through this interface. The real
implementation is :class:`.probe.EndpointProbe`, which makes each connection once per run and
shares it across checks; the specifications implement it with recorded, frozen findings, so
every branch of every rule runs on evidence built in the test, without a socket.
"""

from __future__ import annotations

from typing import Optional, Protocol

from .engines.remedies import Remedies
from .findings import DriverAttempt, HandshakeSeen, ModernHandshake, PlaintextFinding, SecondWitness, VersionHandshake
from .settings.config import GuardSettings
from .settings.endpoints import Endpoint, Engine
from .tls.certificates import TrustStore, WitnessOutcome
from .tls.surface import VersionSurface
from .tls.versions import TlsVersion


class Observations(Protocol):
    """Everything a judge may look at for one endpoint; each call may raise ProbeError (no evidence)."""

    @property
    def settings(self) -> GuardSettings: ...

    @property
    def configured(self) -> Endpoint: ...

    def engine(self) -> Engine: ...

    def remedies(self) -> Remedies: ...

    def plaintext(self) -> tuple[PlaintextFinding, ...]: ...

    def plaintext_on_databases(self, databases: tuple[str, ...]) -> tuple[PlaintextFinding, ...]: ...

    def modern(self) -> ModernHandshake: ...

    def at_floor(self) -> VersionHandshake: ...

    def surface_at(self, version: TlsVersion) -> VersionSurface: ...

    def witness_at(self, version: TlsVersion) -> SecondWitness: ...

    def without_sni(self, version: TlsVersion) -> Optional[tuple[VersionSurface, SecondWitness]]: ...

    def handshakes_seen(self) -> list[HandshakeSeen]: ...

    def driver_plaintext(self) -> DriverAttempt: ...

    def driver_capped(self, version: TlsVersion) -> DriverAttempt: ...

    def driver_verified(self) -> DriverAttempt: ...

    def certificate_host(self) -> str: ...

    def trust_store(self) -> Optional[TrustStore]: ...

    def certificate_witness(self) -> WitnessOutcome: ...
