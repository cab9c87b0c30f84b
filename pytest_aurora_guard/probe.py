"""Probe each endpoint once per run: observations are memoised futures shared by every check.

Network work is only ever submitted from the caller's thread (pytest's main thread), after the
endpoint's engine is known, so no pool worker ever waits on another one: no deadlock however
many endpoints share the pool.
"""

from __future__ import annotations

import functools
import socket
import threading
import time
from collections.abc import Hashable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Callable, Optional, Protocol, TypeVar, cast

from .engines.remedies import Remedies
from .errors import AuroraGuardError, EndpointBudgetExceeded, ProbeError, TlsNotOffered, WrongEngineError
from .findings import (
    DriverAttempt,
    DriverKind,
    HandshakeSeen,
    IdentityOverTls,
    ModernHandshake,
    PlaintextFinding,
    PlaintextIdentity,
    SecondWitness,
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
from .tls.ciphers import REGISTRY
from .tls.handshake import HandshakeCompleted, HandshakeInconclusive, HandshakeNotOffered, TlsContexts, handshake
from .tls.hello import UnofferedChoice
from .tls.surface import ConnectFailed, TlsSurface, VersionSurface, enumerate_surface
from .tls.versions import TlsVersion
from .wire.mysql import GREETING_WAIT
from .wire.net import Deadline, NetworkError, close_quietly, connect
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


class EndpointBudget:
    """One overall time budget per endpoint, started by its first observation.

    Each network step is already bounded by --aurora-timeout; the budget bounds their sum, so a
    server that trickles bytes just inside the step timeout on every connection ends as an
    error naming the budget instead of holding the pipeline for minutes.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._started: Optional[float] = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._started is None:
                self._started = time.monotonic()

    def remaining(self) -> float:
        with self._lock:
            started = self._started if self._started is not None else time.monotonic()
        return self.seconds - (time.monotonic() - started)

    def spent(self) -> bool:
        return self.remaining() <= 0

    def step(self, timeout: float) -> float:
        """The time one network step may take: the step timeout, or what is left of the budget."""
        left = self.remaining()
        if left <= 0:
            raise self.exceeded()
        return min(timeout, left)

    def exceeded(self) -> EndpointBudgetExceeded:
        return EndpointBudgetExceeded(
            f"the endpoint budget of {self.seconds:g} s (--aurora-endpoint-budget) ran out before this "
            "evidence was complete: the server answered too slowly over the run's connections (a server or "
            "proxy trickling bytes?); find out why, or raise --aurora-endpoint-budget")


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
        self.budget = EndpointBudget(settings.endpoint_budget)

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
        self.budget.start()
        self.budget.step(self.settings.timeout)  # nothing starts once the budget is spent
        self._note_connections(connections)
        result = work()
        if self.budget.spent():
            # Whatever the last step saw, it was cut short by the budget, not by the server.
            raise self.budget.exceeded()
        return result

    def _deadline(self) -> Deadline:
        return Deadline(self.budget.step(self.settings.timeout))

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


    def remedies(self) -> Remedies:
        return self.adapter().remedies

    def start(self, key: Hashable) -> None:
        """Begin an observation in the background; ``key`` as in :func:`observation_keys`."""
        adapter, endpoint = self.adapter(), self.endpoint()
        if key == "plaintext":
            self._start_plaintext(())
        elif key == "modern":
            self._submit(key, lambda: self._modern(adapter, endpoint))
        elif isinstance(key, tuple) and key[0] == "surface":
            offered = cast(TlsVersion, key[1])
            self._submit(key, lambda: self._surface_at(adapter, endpoint, offered, endpoint.server_name),
                         connections=0)
        elif isinstance(key, tuple) and key[0] == "surface_without_sni":
            unnamed = cast(TlsVersion, key[1])
            if self.sends_sni_at(unnamed):  # otherwise the "surface" observation already is this one
                self._submit(key, lambda: self._surface_at(adapter, endpoint, unnamed, None), connections=0)
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

    def unreachable(self) -> Optional[str]:
        """Why no TCP connection to the endpoint opens (DNS, refused, timeout), or None when one does.

        Asked only once a check is already inconclusive, so a healthy run pays nothing: it lets the
        report say "unreachable" once instead of in every check of the endpoint.
        """
        return self._submit("reach", self._reach).result()

    def _reach(self) -> Optional[str]:
        endpoint = self.configured
        try:
            port = endpoint.dial_port or self.endpoint().dial_port
            connect(endpoint.dial_host, cast(int, port), self.settings.timeout).close()
        except (NetworkError, WrongEngineError) as exc:
            return str(exc) if isinstance(exc, NetworkError) else None
        return None

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

        Crafted hellos do not depend on what the local OpenSSL can offer, so they reach SSLv3
        and suites the local library lacks; their refusals are confirmed by :meth:`witness_at`.
        """
        return cast("tuple[VersionSurface, Optional[SecondWitness]]", self._get(("surface", version)))[0]

    def witness_at(self, version: TlsVersion) -> SecondWitness:
        """The system OpenSSL's own attempt at ``version``: the second witness of every refusal.

        Up to TLS 1.2 it runs right after the crafted enumeration of that version, on a fresh
        connection, offering every local suite the enumeration did not already see accepted.
        Python's ``ssl`` cannot choose TLS 1.3 suites, so at TLS 1.3 the witness is the modern
        handshake when it completed (it offers TLS 1.3 with OpenSSL's suites and groups), else a
        handshake capped at TLS 1.3.
        """
        if version is TlsVersion.TLSv1_3:
            modern = self.modern()
            if isinstance(modern.outcome, HandshakeCompleted):
                return SecondWitness(modern.attempted, version, (), modern.outcome)
            seen = self.at_version(version)
            return SecondWitness(seen.attempted, version, (), seen.outcome)
        witness = cast("tuple[VersionSurface, Optional[SecondWitness]]", self._get(("surface", version)))[1]
        assert witness is not None
        return witness

    def sends_sni_at(self, version: TlsVersion) -> bool:
        """True when the hellos at ``version`` name the server (SNI): a DNS-named endpoint, and a
        version with extensions (SSLv3 hellos carry none, and IP literals are never sent)."""
        return self.configured.server_name is not None and version is not TlsVersion.SSLv3

    def without_sni(self, version: TlsVersion) -> Optional[tuple[VersionSurface, SecondWitness]]:
        """The crafted enumeration and OpenSSL's witness at ``version`` once more, sending no server
        name; None where the run's hellos send none anyway (IP literals, SSLv3) or at the floor and above.

        A front that routes by SNI (a load balancer's default backend for clients without SNI)
        can make one name two servers; every client that connects by address, or passes
        ``-noservername``, meets the second one. A below-floor version is refused only when it is
        refused both ways, each way by both witnesses.
        """
        if not self.sends_sni_at(version) or version >= self.settings.min_tls:
            return None
        key = ("surface_without_sni", version)
        surface, witness = cast("tuple[VersionSurface, Optional[SecondWitness]]", self._get(key))
        assert witness is not None  # below the floor is below TLS 1.3
        return surface, witness

    def handshakes_seen(self) -> list[HandshakeSeen]:
        """Every TLS session the run's observations of this endpoint set up, besides the crafted
        enumeration's own choices: one body of evidence to hold the verdicts against.

        Waits for every observation already started (the plugin starts all the run needs at
        once), so every check sees the same body of evidence whatever order it runs in.
        """
        with self._lock:
            started = dict(self._futures)
        seen: list[HandshakeSeen] = []
        for key, future in started.items():
            if future.exception() is not None:
                continue  # reported by the checks that need it
            seen.extend(_sessions_in(key, future.result()))
        return seen

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
        return adapter.plaintext_attempt(endpoint, self.settings, identity, self._deadline())

    def _modern(self, adapter: EngineAdapter, endpoint: Endpoint) -> ModernHandshake:
        attempted = (f"STARTTLS ({adapter.engine.display_name}) then a handshake as a modern default "
                     "client offers it (TLS 1.2-1.3, default suites)")
        deadline = self._deadline()
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

    def _surface_at(self, adapter: EngineAdapter, endpoint: Endpoint, version: TlsVersion,
                    server_name: Optional[str]) -> tuple[VersionSurface, Optional[SecondWitness]]:
        not_offered: list[TlsNotOffered] = []

        def open_tls_ready() -> socket.socket:
            self._note_connections(1)
            try:
                return adapter.open_tls_ready(endpoint, self._deadline()).sock
            except TlsNotOffered as exc:
                not_offered.append(exc)
                raise

        # Where OpenSSL will witness the refusal below, its fresh connection is the confirmation;
        # elsewhere (SSLv3, TLS 1.3 suites) the crafted refusal is re-offered once more.
        witnessed = version is not TlsVersion.TLSv1_3 and self._contexts.can_offer(version)
        surface = enumerate_surface(open_tls_ready, versions=[version], server_name=server_name,
                                    timeout=lambda: self.budget.step(self.settings.timeout),
                                    confirm_final_refusal=not witnessed).versions[0]
        if not_offered:
            raise not_offered[0]  # no TLS at all: positive evidence that every TLS check fails
        if version is TlsVersion.TLSv1_3:
            return surface, None
        return surface, self._witness(adapter, endpoint, surface, server_name)

    def _witness(self, adapter: EngineAdapter, endpoint: Endpoint, surface: VersionSurface,
                 server_name: Optional[str]) -> SecondWitness:
        version = surface.version
        excluded = tuple(s.openssl_name for s in surface.accepted_cipher_suites() if s.openssl_name)
        but = f" except the {len(excluded)} the crafted enumeration saw accepted" if excluded else ""
        unnamed = ", sending no server name (SNI)" if server_name is None and endpoint.server_name else ""
        attempted = (f"STARTTLS ({adapter.engine.display_name}) then a full handshake by the system OpenSSL "
                     f"(Python's ssl) offering only {version.label}, every local suite{but}, at @SECLEVEL=0 "
                     f"with OpenSSL's client groups{unnamed}")
        if not self._contexts.can_offer(version):
            context = self._contexts.capped(version)
            assert isinstance(context, HandshakeNotOffered)
            return SecondWitness(attempted, version, excluded, context)
        last = surface.attempts[-1].outcome if surface.attempts else None
        if isinstance(last, ConnectFailed):
            # The endpoint could not even be brought to TLS: a second attempt would only wait again.
            return SecondWitness(attempted, version, excluded,
                                 HandshakeInconclusive("not attempted", f"not attempted: {last.describe()}"))
        self._note_connections(1)
        deadline = self._deadline()
        sock = adapter.open_tls_ready(endpoint, deadline).sock
        outcome = self._contexts.witness(sock, version, excluding=excluded, server_name=server_name,
                                         deadline=deadline)
        return SecondWitness(attempted, version, excluded, outcome)

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
        deadline = self._deadline()
        sock = adapter.open_tls_ready(endpoint, deadline).sock
        try:
            outcome, tls = handshake(sock, context, server_name=endpoint.server_name, deadline=deadline)
            if tls is not None:
                close_quietly(tls)
            return VersionHandshake(attempted, version, outcome)
        finally:
            close_quietly(sock)


def _sessions_in(key: Hashable, result: Any) -> list[HandshakeSeen]:
    """The TLS sessions one observation's result shows the server set up."""
    if isinstance(result, ModernHandshake) and isinstance(result.outcome, HandshakeCompleted):
        return [_completed("the modern handshake (Python's ssl, default client)", result.outcome)]
    if isinstance(result, VersionHandshake) and isinstance(result.outcome, HandshakeCompleted):
        return [_completed(f"the handshake capped at {result.version.label} (Python's ssl)", result.outcome)]
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], VersionSurface):
        surface, witness = result
        unnamed = " sent without SNI" if isinstance(key, tuple) and key[0] == "surface_without_sni" else ""
        seen = [_completed(f"OpenSSL's second witness at {witness.version.label}{unnamed}", witness.outcome)
                for witness in [witness] if witness is not None and isinstance(witness.outcome, HandshakeCompleted)]
        for attempt in surface.attempts:
            chose = attempt.outcome
            if isinstance(chose, UnofferedChoice) and not chose.is_hello_retry and chose.version < surface.version:
                # RFC 8446 §4.2.1: a TLS 1.3 offer answered in TLS 1.2 is TLS 1.2 accepted.
                older = TlsVersion(chose.version) if chose.version in set(TlsVersion) else None
                suite = REGISTRY.by_code(chose.suite_code)
                if older is not None:
                    seen.append(HandshakeSeen(
                        f"a crafted {surface.version.label} ClientHello{unnamed} answered with a {older.label} "
                        "ServerHello",
                        (older,), suite.openssl_name or suite.iana_name if suite else f"0x{chose.suite_code:04X}"))
        return seen
    if isinstance(result, DriverAttempt):
        if key == "driver_verified" and result.session is not None and result.session.encrypted \
                and result.session.version is not None:
            return [HandshakeSeen("the verified driver session (the server's own view)",
                                  (result.session.version,), result.session.cipher_name)]
        if isinstance(key, tuple) and key[0] == "driver_capped" and result.kind in (
                DriverKind.REACHED_AUTHENTICATION, DriverKind.CONNECTED):
            capped = cast(TlsVersion, key[1])
            return [HandshakeSeen(f"the driver connection capped at {capped.label}",
                                  tuple(v for v in TlsVersion if TlsVersion.TLSv1_0 <= v <= capped), None)]
    return []


def _completed(source: str, outcome: HandshakeCompleted) -> HandshakeSeen:
    return HandshakeSeen(source, (outcome.version,), outcome.cipher_name)


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
