"""The second witness of every refusal, run for real: full handshakes through the system OpenSSL
(Python's ``ssl``) against a Python ``ssl`` server on the far end of a local socket pair.

No network: the peer is a thread on ``socket.socketpair()``, its certificate from a throwaway CA
the client does not trust (the witness contexts verify nothing: the probes send no credentials).
Each spec pins what the witness offers (exactly one version; every local suite but the excluded
ones) by what the server lands on or refuses, and that the socket it was given is closed on
every path. What the server saw (version, suite, server name) is recorded by the server itself.
"""

from __future__ import annotations

import gc
import re
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar, Optional

import pytest

from pytest_aurora_guard.tls.handshake import (
    EVERY_LOCAL_SUITE,
    HandshakeCompleted,
    HandshakeInconclusive,
    HandshakeNotOffered,
    HandshakeRefused,
    TlsContexts,
    handshake,
)
from pytest_aurora_guard.tls.versions import TlsVersion as V
from pytest_aurora_guard.wire.net import Deadline
from tests.support.pki import TestPki, make_pki

SERVER_NAME = "db.aurora-guard.test"
# A TLS 1.0-1.2 suite with an RSA certificate: the one suite a pinned server allows.
PINNED_SUITE = "ECDHE-RSA-AES256-SHA"
OTHER_SUITE = "ECDHE-RSA-AES128-GCM-SHA256"
OFFERABLE = [V.TLSv1_0, V.TLSv1_1, V.TLSv1_2, V.TLSv1_3]


def openssl_error(reason: str, text: str) -> str:
    """How str(ssl.SSLError) reads, up to the source line OpenSSL's build reports."""
    return rf"\[SSL: {reason}\] {text} \(_ssl\.c:\d+\)"


def local_suites() -> list[dict[str, str]]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.set_ciphers(EVERY_LOCAL_SUITE)
    return context.get_ciphers()  # type: ignore[return-value]


def suites_below_tls13() -> list[str]:
    return [suite["name"] for suite in local_suites() if suite["protocol"] != "TLSv1.3"]


@dataclass
class ServerSaw:
    """What the server end of the pair observed, in its own words."""

    version: Optional[str] = None
    cipher: Optional[str] = None
    server_name: Optional[str] = None
    error: Optional[BaseException] = None


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return make_pki(tmp_path_factory.mktemp("witness-pki"))


@pytest.fixture
def contexts() -> TlsContexts:
    # Built per test, not per module: each spec then also covers building them.
    return TlsContexts()


def server_context(pki: TestPki, lowest: V, highest: V, suite: str = "ALL") -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1 are deprecated in Python
        context.minimum_version = lowest.ssl_module_version
        context.maximum_version = highest.ssl_module_version
    context.set_ciphers(f"{suite}:@SECLEVEL=0")
    return context


@contextmanager
def serving(context: ssl.SSLContext) -> Iterator[tuple[socket.socket, ServerSaw]]:
    """Our end of a socket pair whose other end is a TLS server that answers one message upper-cased."""
    ours, theirs = socket.socketpair()
    saw = ServerSaw()

    def note_name(_tls: ssl.SSLObject, name: Optional[str], _context: ssl.SSLContext) -> None:
        saw.server_name = name

    context.sni_callback = note_name  # type: ignore[assignment]

    def serve() -> None:
        theirs.settimeout(5)
        try:
            with context.wrap_socket(theirs, server_side=True) as tls:
                saw.version = tls.version()
                cipher = tls.cipher()
                saw.cipher = cipher[0] if cipher else None
                data = tls.recv(64)
                if data:
                    tls.sendall(data.upper())
        except OSError as exc:  # ssl.SSLError included: the client refused or went away
            saw.error = exc

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        yield ours, saw
    finally:
        server.join(5)
        ours.close()


@contextmanager
def silent_peer(gives_up_after: float = 1.5) -> Iterator[socket.socket]:
    """Our end of a pair whose other end never answers, then hangs up after ``gives_up_after`` s
    (so a handshake that waits without a deadline ends in EOF instead of hanging the suite)."""
    ours, theirs = socket.socketpair()
    hang_up = threading.Timer(gives_up_after, theirs.close)
    hang_up.start()
    try:
        yield ours
    finally:
        hang_up.cancel()
        theirs.close()
        ours.close()


@contextmanager
def no_socket_left_open() -> Iterator[None]:
    """Fails if a socket made inside is left for the garbage collector to close."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def witness(contexts: TlsContexts, sock: socket.socket, version: V, excluding: tuple[str, ...] = (),
            seconds: float = 5.0) -> object:
    return contexts.witness(sock, version, excluding=excluding, server_name=SERVER_NAME,
                            deadline=Deadline(seconds))


class TestWhatTheWitnessCanOffer:
    def test_it_can_offer_every_tls_version_but_not_sslv3(self, contexts: TlsContexts):
        assert {v: contexts.can_offer(v) for v in V} == {
            V.SSLv3: False, V.TLSv1_0: True, V.TLSv1_1: True, V.TLSv1_2: True, V.TLSv1_3: True}

    def test_sslv3_is_not_offered_and_says_why(self, contexts: TlsContexts):
        assert contexts.capped(V.SSLv3) == HandshakeNotOffered(
            V.SSLv3, "Python's ssl module and OpenSSL 3 have no SSLv3")

    @pytest.mark.parametrize("version", OFFERABLE, ids=lambda v: v.label)
    def test_a_capped_context_is_a_client_allowing_exactly_one_version(self, contexts: TlsContexts, version: V):
        context = contexts.capped(version)
        assert isinstance(context, ssl.SSLContext)
        assert context.protocol is ssl.PROTOCOL_TLS_CLIENT
        assert (context.minimum_version, context.maximum_version) == (version.ssl_module_version,) * 2

    @pytest.mark.parametrize("version", OFFERABLE, ids=lambda v: v.label)
    def test_a_capped_context_does_not_verify_the_server(self, contexts: TlsContexts, version: V):
        context = contexts.capped(version)
        assert isinstance(context, ssl.SSLContext)
        assert (context.verify_mode, context.check_hostname) == (ssl.CERT_NONE, False)

    def test_the_modern_context_does_not_verify_the_server(self, contexts: TlsContexts):
        assert (contexts.modern.verify_mode, contexts.modern.check_hostname) == (ssl.CERT_NONE, False)


class TestWitnessAtOneVersion:
    @pytest.mark.parametrize("version", [V.TLSv1_0, V.TLSv1_1, V.TLSv1_2], ids=lambda v: v.label)
    def test_completes_at_exactly_that_version_on_a_server_allowing_every_version(
            self, pki: TestPki, contexts: TlsContexts, version: V):
        with serving(server_context(pki, V.TLSv1_0, V.TLSv1_3, PINNED_SUITE)) as (sock, saw), \
                no_socket_left_open():
            outcome = witness(contexts, sock, version)
        assert outcome == HandshakeCompleted(version, PINNED_SUITE)
        assert (saw.version, saw.cipher) == (version.ssl_module_version.name.replace("_", "."), PINNED_SUITE)

    def test_completes_at_tls13_with_the_suite_the_server_chose(self, pki: TestPki, contexts: TlsContexts):
        with serving(server_context(pki, V.TLSv1_0, V.TLSv1_3)) as (sock, saw), no_socket_left_open():
            outcome = witness(contexts, sock, V.TLSv1_3)
        assert saw.version == "TLSv1.3"
        assert saw.cipher is not None
        assert saw.cipher.startswith("TLS_")
        assert outcome == HandshakeCompleted(V.TLSv1_3, saw.cipher)

    def test_names_the_server_it_was_told(self, pki: TestPki, contexts: TlsContexts):
        with serving(server_context(pki, V.TLSv1_2, V.TLSv1_3)) as (sock, saw):
            witness(contexts, sock, V.TLSv1_2)
        assert saw.server_name == SERVER_NAME

    def test_closes_the_tls_session_it_completed(self, pki: TestPki, contexts: TlsContexts):
        with serving(server_context(pki, V.TLSv1_2, V.TLSv1_3)) as (sock, saw), no_socket_left_open():
            witness(contexts, sock, V.TLSv1_3)
        assert saw.version == "TLSv1.3"


class TestWitnessRefused:
    @pytest.mark.parametrize(("version", "lowest", "highest"), [
        (V.TLSv1_0, V.TLSv1_1, V.TLSv1_3),
        (V.TLSv1_1, V.TLSv1_2, V.TLSv1_3),
        (V.TLSv1_2, V.TLSv1_3, V.TLSv1_3),
        (V.TLSv1_3, V.TLSv1_0, V.TLSv1_2),
    ], ids=lambda v: v.label)
    def test_is_refused_with_protocol_version_by_a_server_without_that_version(
            self, pki: TestPki, contexts: TlsContexts, version: V, lowest: V, highest: V):
        with serving(server_context(pki, lowest, highest)) as (sock, saw), no_socket_left_open():
            outcome = witness(contexts, sock, version)
        assert isinstance(outcome, HandshakeRefused)
        assert outcome.alert == "protocol_version"
        assert re.fullmatch(r"TLS alert protocol_version \("
                            + openssl_error("TLSV1_ALERT_PROTOCOL_VERSION", "tlsv1 alert protocol version")
                            + r"\)", outcome.detail)
        assert saw.version is None

    def test_is_refused_when_the_server_lands_below_the_one_version_offered(self, pki: TestPki,
                                                                            contexts: TlsContexts):
        # A TLS 1.0-only server answers a TLS 1.1 offer with a TLS 1.0 ServerHello.
        with serving(server_context(pki, V.TLSv1_0, V.TLSv1_0)) as (sock, _saw):
            outcome = witness(contexts, sock, V.TLSv1_1)
        assert isinstance(outcome, HandshakeRefused)
        assert outcome.alert == "older_version_chosen"
        assert re.fullmatch(r"the server chose a version we did not offer \("
                            + openssl_error("UNSUPPORTED_PROTOCOL", "unsupported protocol") + r"\)",
                            outcome.detail)


class TestWitnessExcludingSuites:
    def test_is_refused_when_it_excludes_the_only_suite_the_server_allows(self, pki: TestPki,
                                                                          contexts: TlsContexts):
        with serving(server_context(pki, V.TLSv1_2, V.TLSv1_2, PINNED_SUITE)) as (sock, _saw), \
                no_socket_left_open():
            outcome = witness(contexts, sock, V.TLSv1_2, excluding=(OTHER_SUITE, PINNED_SUITE))
        assert isinstance(outcome, HandshakeRefused)
        assert outcome.alert == "handshake_failure"
        assert re.fullmatch(r"TLS alert handshake_failure \("
                            + openssl_error("SSLV3_ALERT_HANDSHAKE_FAILURE", "sslv3 alert handshake failure")
                            + r"\)", outcome.detail)

    def test_completes_with_the_server_suite_when_it_excludes_another(self, pki: TestPki, contexts: TlsContexts):
        with serving(server_context(pki, V.TLSv1_2, V.TLSv1_2, PINNED_SUITE)) as (sock, saw):
            outcome = witness(contexts, sock, V.TLSv1_2, excluding=(OTHER_SUITE, OTHER_SUITE))
        assert outcome == HandshakeCompleted(V.TLSv1_2, PINNED_SUITE)
        assert saw.cipher == PINNED_SUITE

    def test_the_exclusions_may_come_in_any_order_and_from_a_one_shot_iterable(self, pki: TestPki,
                                                                               contexts: TlsContexts):
        names = (PINNED_SUITE, OTHER_SUITE, PINNED_SUITE)
        with serving(server_context(pki, V.TLSv1_2, V.TLSv1_2, PINNED_SUITE)) as (sock, _saw):
            outcome = contexts.witness(sock, V.TLSv1_2, excluding=iter(reversed(names)), server_name=None,
                                       deadline=Deadline(5))
        assert isinstance(outcome, HandshakeRefused)
        assert outcome.alert == "handshake_failure"

    @pytest.mark.parametrize("version", [V.TLSv1_2, V.TLSv1_3], ids=lambda v: v.label)
    def test_is_not_offered_when_every_local_suite_below_tls13_is_excluded(self, contexts: TlsContexts,
                                                                           version: V):
        every = suites_below_tls13()
        ours, theirs = socket.socketpair()
        with theirs, no_socket_left_open():
            outcome = witness(contexts, ours, version, excluding=(*every, *every[:5]))
            assert ours.fileno() == -1
        assert outcome == HandshakeNotOffered(
            version, f"the local TLS library has no {version.label} suite besides the {len(every)} "
                     "already seen accepted")

    def test_is_not_offered_when_every_remaining_suite_needs_a_newer_version(self, contexts: TlsContexts):
        # Only TLS 1.2 suites are left for a TLS 1.0 offer: OpenSSL cannot build that ClientHello.
        older = [suite["name"] for suite in local_suites() if suite["protocol"] in ("SSLv3", "TLSv1.0")]
        ours, theirs = socket.socketpair()
        with theirs, no_socket_left_open():
            outcome = witness(contexts, ours, V.TLSv1_0, excluding=tuple(older))
        assert isinstance(outcome, HandshakeNotOffered)
        assert outcome.version is V.TLSv1_0
        assert re.fullmatch(openssl_error("NO_CIPHERS_AVAILABLE", "no ciphers available"), outcome.detail)


class TestWitnessWithoutEvidence:
    def test_sslv3_is_not_offered_and_the_socket_is_closed(self, contexts: TlsContexts):
        ours, theirs = socket.socketpair()
        with theirs:
            outcome = witness(contexts, ours, V.SSLv3)
            assert ours.fileno() == -1
        assert outcome == HandshakeNotOffered(V.SSLv3, "Python's ssl module and OpenSSL 3 have no SSLv3")

    def test_is_inconclusive_when_the_peer_never_answers_before_the_deadline(self, contexts: TlsContexts):
        with silent_peer() as sock, no_socket_left_open():
            outcome = witness(contexts, sock, V.TLSv1_2, seconds=0.3)
        assert outcome == HandshakeInconclusive("timeout", "TLS handshake got no answer within 0.3 s")

    def test_is_inconclusive_without_starting_when_the_deadline_has_passed(self, contexts: TlsContexts):
        with silent_peer() as ours:
            outcome = witness(contexts, ours, V.TLSv1_2, seconds=0)
            assert ours.fileno() == -1
        assert outcome == HandshakeInconclusive("timeout", "TLS handshake not started: no answer within 0 s")


class UnnamedSession(ssl.SSLSocket):
    """A TLS socket that reports no version after its handshake, as a broken TLS library might."""

    made: ClassVar[list[ssl.SSLSocket]] = []

    def version(self) -> Optional[str]:
        UnnamedSession.made.append(self)
        return None


class CipherlessSession(ssl.SSLSocket):
    """A TLS socket that reports its version but no cipher after its handshake."""

    made: ClassVar[list[ssl.SSLSocket]] = []

    def cipher(self) -> Optional[tuple[str, str, int]]:
        CipherlessSession.made.append(self)
        return None


def unverified_client() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class TestHandshake:
    def test_completes_with_the_modern_context_and_hands_back_a_session_that_talks(
            self, pki: TestPki, contexts: TlsContexts):
        with serving(server_context(pki, V.TLSv1_2, V.TLSv1_3)) as (sock, saw):
            outcome, tls = handshake(sock, contexts.modern, server_name=SERVER_NAME, deadline=Deadline(5))
            assert tls is not None
            with tls:
                tls.sendall(b"ping")
                answer = tls.recv(4)
        assert outcome == HandshakeCompleted(V.TLSv1_3, str(saw.cipher))
        assert (answer, saw.version, saw.server_name) == (b"PING", "TLSv1.3", SERVER_NAME)

    def test_a_context_that_can_make_no_offer_is_not_offered_at_its_highest_version(self):
        context = unverified_client()
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        ours, theirs = socket.socketpair()
        with ours, theirs:
            outcome, tls = handshake(ours, context, server_name=None, deadline=Deadline(5))
        assert tls is None
        assert isinstance(outcome, HandshakeNotOffered)
        assert outcome.version is V.TLSv1_2
        assert re.fullmatch(openssl_error("NO_PROTOCOLS_AVAILABLE", "no protocols available"), outcome.detail)

    def test_is_inconclusive_without_starting_when_the_deadline_has_passed_and_leaves_the_socket_open(self):
        with silent_peer() as ours:
            outcome = handshake(ours, unverified_client(), server_name=None, deadline=Deadline(0))
            assert ours.fileno() != -1
        assert outcome == (HandshakeInconclusive("timeout", "TLS handshake not started: no answer within 0 s"), None)

    def test_is_inconclusive_when_the_peer_never_answers_before_the_deadline(self):
        with silent_peer() as sock:
            outcome = handshake(sock, unverified_client(), server_name=None, deadline=Deadline(0.3))
        assert outcome == (HandshakeInconclusive("timeout", "TLS handshake got no answer within 0.3 s"), None)

    @pytest.mark.parametrize("session", [UnnamedSession, CipherlessSession], ids=["no version", "no cipher"])
    def test_is_inconclusive_and_closes_the_session_when_it_names_no_version_or_cipher(
            self, pki: TestPki, session: type[ssl.SSLSocket]):
        context = unverified_client()
        context.sslsocket_class = session
        session.made.clear()  # type: ignore[attr-defined]
        with serving(server_context(pki, V.TLSv1_2, V.TLSv1_3)) as (sock, _saw):
            outcome = handshake(sock, context, server_name=None, deadline=Deadline(5))
        assert outcome == (HandshakeInconclusive("garbage", "TLS handshake returned no version or cipher"), None)
        assert [tls.fileno() for tls in session.made] == [-1]  # type: ignore[attr-defined]
