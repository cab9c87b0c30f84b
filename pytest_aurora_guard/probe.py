"""Probe each endpoint once per run: observations are memoised futures shared by every check.

Network work is only ever submitted from the caller's thread (pytest's main thread), after the
endpoint's engine is known, so no pool worker ever waits on another one: no deadlock however
many endpoints share the pool.
"""

from __future__ import annotations

import functools
import socket
import threading
from collections.abc import Hashable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Callable, Optional, Protocol, TypeVar, cast

from .engines.remedies import Remedies
from .errors import AuroraGuardError, ProbeError, TlsNotOffered, WrongEngineError
from .findings import (
    DriverAttempt,
    IdentityOverTls,
    ModernHandshake,
    PlaintextFinding,
    PlaintextIdentity,
    StartTls,
    VersionHandshake,
)
from .settings.config import GuardSettings
from .settings.credentials import Secret
from .settings.endpoints import Endpoint, Engine
from .tls.certificates import (
    HostKind,
    TrustStore,
    WitnessOutcome,
    host_kind,
    load_trust_store,
    peer_chain,
    system_trust_store,
    verified_handshake,
)
from .tls.handshake import HandshakeCompleted, HandshakeNotOffered, TlsContexts, handshake
from .tls.surface import TlsSurface, VersionSurface, enumerate_surface
from .tls.versions import TlsVersion
from .wire.mysql import GREETING_WAIT
from .wire.net import Deadline, close_quietly, connect
from .wire.pg import describe_foreign_bytes, request_tls

T = TypeVar("T")
# An IAM database-authentication token for (endpoint, database user), made by the aws layer.
TokenSource = Callable[[Endpoint, str], Secret]


class EngineAdapter(Protocol):
    engine: Engine
    remedies: Remedies

    def open_tls_ready(self, endpoint: Endpoint, deadline: Deadline) -> StartTls: ...

    def plaintext_identities(self, settings: GuardSettings,
                             databases: tuple[str, ...] = ()) -> tuple[PlaintextIdentity, ...]: ...

    def plaintext_attempt(self, endpoint: Endpoint, settings: GuardSettings, identity: PlaintextIdentity,
                          deadline: Deadline) -> PlaintextFinding: ...

    def identity_over_tls(self, tls: Any, ready: StartTls, endpoint: Endpoint, settings: GuardSettings,
                          deadline: Deadline) -> Optional[IdentityOverTls]: ...

    def driver_plaintext(self, endpoint: Endpoint, settings: GuardSettings) -> DriverAttempt: ...

    def driver_capped(self, endpoint: Endpoint, settings: GuardSettings, version: TlsVersion,
                      contexts: TlsContexts) -> DriverAttempt: ...

    def driver_verified(self, endpoint: Endpoint, settings: GuardSettings) -> DriverAttempt: ...

    def connect(self, endpoint: Endpoint, settings: GuardSettings, **overrides: Any) -> Any: ...


def adapter_for(engine: Engine) -> EngineAdapter:
    if engine is Engine.POSTGRESQL:
        from .engines.postgresql import PostgresAdapter

        return PostgresAdapter()
    from .engines.mysql import MySqlAdapter

    return MySqlAdapter()


def detect_engine(endpoint: Endpoint, timeout: float) -> Engine:
    """Tell MySQL from PostgreSQL on one connection: MySQL greets first, PostgreSQL answers SSLRequest."""
    assert endpoint.dial_port is not None
    deadline = Deadline(timeout)
    sock = connect(endpoint.dial_host, endpoint.dial_port, deadline.remaining())
    try:
        # MySQL speaks first; PostgreSQL waits for the client to speak.
        sock.settimeout(min(GREETING_WAIT, deadline.remaining()))
        try:
            first: Optional[bytes] = sock.recv(256)
        except socket.timeout:
            first = None
        if first == b"":
            raise ProbeError("the server closed the connection before saying anything (not MySQL, "
                             "and PostgreSQL would have waited for us)")
        if first is not None:
            if len(first) >= 5 and first[3] == 0 and first[4] in (0x0A, 0xFF):
                return Engine.MYSQL
            raise WrongEngineError(f"the server greeted with {describe_foreign_bytes(first)}; "
                                   "it is neither PostgreSQL nor MySQL")
        request_tls(sock, deadline)  # 'S' or 'N' means PostgreSQL; anything else raises
        return Engine.POSTGRESQL
    finally:
        close_quietly(sock)


class EndpointProbe:
    """Everything the checks (and users' own tests) may ask of one endpoint, asked once."""

    def __init__(self, endpoint: Endpoint, settings: GuardSettings, contexts: TlsContexts,
                 pool: ThreadPoolExecutor, tokens: Optional[TokenSource] = None) -> None:
        self.configured = endpoint
        self.settings = settings
        self._tokens = tokens
        self._contexts = contexts
        self._pool = pool
        self._lock = threading.Lock()
        self._futures: dict[Hashable, Future[Any]] = {}
        self._identities: dict[tuple[str, ...], tuple[PlaintextIdentity, ...]] = {}
        self.connections = 0

    # -- memoisation -----------------------------------------------------------------------

    def _submit(self, key: Hashable, work: Callable[[], T], connections: int = 1) -> Future[T]:
        """Run ``work`` once in the pool; ``connections`` it opens (0: it counts them itself)."""
        with self._lock:
            future = self._futures.get(key)
            if future is None:
                future = self._pool.submit(self._counted, work, connections)
                self._futures[key] = future
        return cast("Future[T]", future)

    def _counted(self, work: Callable[[], T], connections: int) -> T:
        self._note_connections(connections)
        return work()

    def _note_connections(self, count: int) -> None:
        with self._lock:
            self.connections += count

    # -- what the endpoint is ----------------------------------------------------------------

    def start_engine_detection(self) -> None:
        if self.configured.engine is None:
            self._submit("engine", lambda: detect_engine(self.configured, self.settings.timeout))

    def engine(self) -> Engine:
        if self.configured.engine is not None:
            return self.configured.engine
        self.start_engine_detection()
        return cast(Engine, self._futures["engine"].result())

    def endpoint(self) -> Endpoint:
        return self.configured.with_engine(self.engine())

    def adapter(self) -> EngineAdapter:
        return adapter_for(self.engine())

    # -- observations (each one connection) ----------------------------------------------

    def start(self, key: Hashable) -> None:
        """Begin an observation in the background; ``key`` as in :func:`observation_keys`."""
        adapter, endpoint = self.adapter(), self.endpoint()
        if key == "plaintext":
            self._start_plaintext(())
        elif key == "modern":
            self._submit(key, lambda: self._modern(adapter, endpoint))
        elif isinstance(key, tuple) and key[0] == "surface":
            offered = cast(TlsVersion, key[1])
            self._submit(key, lambda: self._surface_at(adapter, endpoint, offered), connections=0)
        elif isinstance(key, tuple) and key[0] == "version":
            version = cast(TlsVersion, key[1])
            self._submit(key, lambda: self._at_version(adapter, endpoint, version))
        elif key == "driver_plaintext":
            self._submit(key, lambda: adapter.driver_plaintext(endpoint, self.unverified_settings()))
        elif isinstance(key, tuple) and key[0] == "driver_capped":
            capped = cast(TlsVersion, key[1])
            self._submit(key, lambda: adapter.driver_capped(endpoint, self.unverified_settings(), capped,
                                                            self._contexts))
        elif key == "driver_verified":
            self._submit(key, lambda: adapter.driver_verified(endpoint, self.verified_settings()))
        elif key == "certificate_witness":
            self._submit(key, lambda: self._certificate_witness(adapter, endpoint), connections=0)
        else:
            raise ValueError(f"unknown observation {key!r}")

    def _get(self, key: Hashable) -> Any:
        self.start(key)
        return self._futures[key].result()

    def plaintext(self) -> tuple[PlaintextFinding, ...]:
        """Credential-free logins without TLS, as the configured and as random identities, each
        at least twice (PostgreSQL); MySQL: one, since only error 3159 could say anything."""
        return self._plaintext(())

    def plaintext_on_databases(self, databases: tuple[str, ...]) -> tuple[PlaintextFinding, ...]:
        """The same, as the configured user on each of ``databases`` (each at least twice)."""
        return self._plaintext(tuple(databases))

    def _plaintext(self, databases: tuple[str, ...]) -> tuple[PlaintextFinding, ...]:
        keys = self._start_plaintext(databases)
        return tuple(cast(PlaintextFinding, self._futures[key].result()) for key in keys)

    def _start_plaintext(self, databases: tuple[str, ...]) -> list[Hashable]:
        adapter, endpoint, settings = self.adapter(), self.endpoint(), self.settings
        with self._lock:
            identities = self._identities.get(databases)
            if identities is None:  # random identities are drawn once per run, then shared
                identities = self._identities[databases] = adapter.plaintext_identities(settings, databases)
        keys: list[Hashable] = []
        for index, identity in enumerate(identities):
            key = ("plaintext", databases, index)
            keys.append(key)
            self._submit(key, functools.partial(self._plaintext_attempt, adapter, endpoint, identity))
        return keys

    def modern(self) -> ModernHandshake:
        """A handshake as a modern default client makes it, then the identity contrast over it."""
        return cast(ModernHandshake, self._get("modern"))

    def at_version(self, version: TlsVersion) -> VersionHandshake:
        """A handshake offering exactly ``version`` and every suite the local library has."""
        return cast(VersionHandshake, self._get(("version", version)))

    def surface_at(self, version: TlsVersion) -> VersionSurface:
        """Which suites the server accepts at ``version``, found with crafted ClientHellos.

        Crafted hellos do not depend on what the local OpenSSL can offer, so SSLv3 and TLS 1.0/1.1
        refusals are proven even where Python's ssl module cannot speak them.
        """
        return cast(VersionSurface, self._get(("surface", version)))

    def surface(self) -> TlsSurface:
        """Every version and suite the endpoint accepts (all versions probed concurrently)."""
        for version in TlsVersion:
            self.start(("surface", version))
        return TlsSurface(self.endpoint().server_name, tuple(self.surface_at(v) for v in TlsVersion))

    def at_floor(self) -> VersionHandshake:
        """The floor version accepted? Reuse the modern handshake when it already landed there."""
        floor = self.settings.min_tls
        modern = self.modern()
        if isinstance(modern.outcome, HandshakeCompleted) and modern.outcome.version is floor:
            return VersionHandshake(modern.attempted, floor, modern.outcome)
        return self.at_version(floor)

    def driver_plaintext(self) -> DriverAttempt:
        return cast(DriverAttempt, self._get("driver_plaintext"))

    def driver_capped(self, version: TlsVersion) -> DriverAttempt:
        return cast(DriverAttempt, self._get(("driver_capped", version)))

    def driver_verified(self) -> DriverAttempt:
        return cast(DriverAttempt, self._get("driver_verified"))

    def verified_settings(self) -> GuardSettings:
        """Settings for a connection that verifies certificate and hostname before authenticating:
        with --aurora-iam-auth, a fresh IAM token for this endpoint's own name, port and user as password."""
        if not self.settings.iam_auth:
            return self.settings
        if self._tokens is None or self.settings.user is None:
            raise ProbeError("--aurora-iam-auth is set but no IAM token source is configured")
        endpoint = self.endpoint()
        try:
            token = self._tokens(endpoint, self.settings.user)
        except AuroraGuardError as exc:  # no credentials, no region: no evidence, said as such
            raise ProbeError(f"no IAM database-authentication token: {exc}") from None
        return replace(self.settings, password=token)

    def unverified_settings(self) -> GuardSettings:
        """Settings for attempts that must never carry the secret: an IAM token is never offered to them
        (not even hashed: MySQL's plaintext attempt would send a scramble of it)."""
        return replace(self.settings, password=None) if self.settings.iam_auth else self.settings

    def certificate_host(self) -> str:
        """The name the certificate must carry: the DNS name connected to, or the address itself."""
        return self.configured.server_name or self.configured.host

    def trust_store(self) -> Optional[TrustStore]:
        """The anchors for this endpoint: RDS Proxy names chain to Amazon Trust Services, others to
        --aurora-ca-bundle; ``None`` when nothing usable is configured."""
        settings = self.settings
        if host_kind(self.certificate_host()) is HostKind.RDS_PROXY:
            if settings.proxy_ca_bundle is not None:
                return load_trust_store(settings.proxy_ca_bundle, "--aurora-proxy-ca-bundle")
            return system_trust_store()
        if settings.ca_bundle is None:
            return None
        return load_trust_store(settings.ca_bundle, "--aurora-ca-bundle")

    def certificate_witness(self) -> WitnessOutcome:
        """The system OpenSSL verifying chain and hostname against the same anchors, on its own connection."""
        return cast(WitnessOutcome, self._get("certificate_witness"))

    # -- the work itself ------------------------------------------------------------------

    def _plaintext_attempt(self, adapter: EngineAdapter, endpoint: Endpoint,
                           identity: PlaintextIdentity) -> PlaintextFinding:
        return adapter.plaintext_attempt(endpoint, self.settings, identity, Deadline(self.settings.timeout))

    def _modern(self, adapter: EngineAdapter, endpoint: Endpoint) -> ModernHandshake:
        attempted = (f"STARTTLS ({adapter.engine.display_name}) then a handshake as a modern default "
                     "client offers it (TLS 1.2-1.3, default suites)")
        deadline = Deadline(self.settings.timeout)
        ready = adapter.open_tls_ready(endpoint, deadline)
        sock = ready.sock
        try:
            outcome, tls = handshake(sock, self._contexts.modern, server_name=endpoint.server_name,
                                     deadline=deadline)
            identity = None
            chain = peer_chain(tls) if tls is not None else None
            if tls is not None:
                try:
                    identity = adapter.identity_over_tls(tls, ready, endpoint, self.settings, deadline)
                except ProbeError as exc:
                    identity = IdentityOverTls("the same identity over TLS", f"no answer: {exc}", None)
                finally:
                    close_quietly(tls)
            return ModernHandshake(attempted, outcome, identity, chain)
        finally:
            close_quietly(sock)

    def _surface_at(self, adapter: EngineAdapter, endpoint: Endpoint, version: TlsVersion) -> VersionSurface:
        not_offered: list[TlsNotOffered] = []

        def open_tls_ready() -> socket.socket:
            self._note_connections(1)
            try:
                return adapter.open_tls_ready(endpoint, Deadline(self.settings.timeout)).sock
            except TlsNotOffered as exc:
                not_offered.append(exc)
                raise

        surface = enumerate_surface(open_tls_ready, versions=[version], server_name=endpoint.server_name,
                                    timeout=self.settings.timeout)
        if not_offered:
            raise not_offered[0]  # no TLS at all: positive evidence that every TLS check fails
        return surface.versions[0]

    def _certificate_witness(self, adapter: EngineAdapter, endpoint: Endpoint) -> WitnessOutcome:
        store = self.trust_store()
        if store is None:
            raise ProbeError("no CA bundle is configured, so there is nothing to verify the chain against")
        context = store.context()
        deadline = Deadline(self.settings.timeout)
        self._note_connections(1)
        sock = adapter.open_tls_ready(endpoint, deadline).sock
        return verified_handshake(sock, context, self.certificate_host(), deadline)

    def _at_version(self, adapter: EngineAdapter, endpoint: Endpoint, version: TlsVersion) -> VersionHandshake:
        attempted = (f"STARTTLS ({adapter.engine.display_name}) then a TLS handshake offering only "
                     f"{version.label} with every suite the local TLS library has")
        context = self._contexts.capped(version)
        if isinstance(context, HandshakeNotOffered):
            return VersionHandshake(attempted, version, context)
        deadline = Deadline(self.settings.timeout)
        sock = adapter.open_tls_ready(endpoint, deadline).sock
        try:
            outcome, tls = handshake(sock, context, server_name=endpoint.server_name, deadline=deadline)
            if tls is not None:
                close_quietly(tls)
            return VersionHandshake(attempted, version, outcome)
        finally:
            close_quietly(sock)


class ProbeRun:
    """All endpoints of one pytest run, probed concurrently on one pool."""

    def __init__(self, settings: GuardSettings, endpoints: Optional[Iterable[Endpoint]] = None,
                 max_workers: Optional[int] = None, tokens: Optional[TokenSource] = None) -> None:
        self.settings = settings
        self._tokens = tokens
        self.contexts = TlsContexts()
        targets = list(settings.endpoints if endpoints is None else endpoints)
        workers = max_workers or min(32, max(4, 8 * len(targets)))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="aurora-guard")
        self._lock = threading.Lock()
        self.probes = {e: EndpointProbe(e, settings, self.contexts, self._pool, tokens) for e in targets}

    def probe(self, endpoint: Endpoint) -> EndpointProbe:
        """The endpoint's probe; one made on first use for an endpoint not planned (users' fixtures)."""
        with self._lock:
            if endpoint not in self.probes:
                self.probes[endpoint] = EndpointProbe(endpoint, self.settings, self.contexts, self._pool,
                                                        self._tokens)
            return self.probes[endpoint]

    def prefetch(self, wanted: Mapping[Endpoint, Iterable[Hashable]]) -> None:
        """Start every wanted observation at once: engines first (all in parallel), then the rest."""
        for endpoint in wanted:
            self.probe(endpoint).start_engine_detection()
        for endpoint, keys in wanted.items():
            probe = self.probe(endpoint)
            try:
                probe.engine()
            except ProbeError:
                continue  # each check will report the detection failure itself
            for key in keys:
                probe.start(key)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
