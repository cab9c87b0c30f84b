"""Enumerating a server's versions and suites by iterative removal, held to ground truth."""

from __future__ import annotations

import socket
import ssl
import struct
import time
from typing import Callable, Dict, FrozenSet, Iterator, List, Tuple

import pytest

from pytest_aurora_guard.tls.ciphers import REGISTRY
from pytest_aurora_guard.tls.hello import TLS_EMPTY_RENEGOTIATION_INFO_SCSV, ServerAlert, ServerChose
from pytest_aurora_guard.tls.surface import (
    CONFIRM_SUITES_PER_HELLO,
    MAX_SUITES_PER_HELLO,
    ConnectFailed,
    TlsSurface,
    VersionStatus,
    enumerate_surface,
)
from pytest_aurora_guard.tls.versions import TlsVersion
from tests.s_client import ALL_VERSIONS, s_client_ground_truth
from tests.support.pki import TestPki, make_pki
from tests.tls_peers import (
    OpenSslServer,
    Peer,
    PythonTlsServer,
    RawPeer,
    alert,
    parse_client_hello,
    read_record,
    record,
    server_context,
    server_hello_body,
)


class Connector:
    """An ``open_tls_ready`` for a plain TLS server: just TCP connect, and count the calls."""

    def __init__(self, address: Tuple[str, int]) -> None:
        self.address = address
        self.calls = 0

    def __call__(self) -> socket.socket:
        self.calls += 1
        return socket.create_connection(self.address, timeout=5)


def enumerate_all(address: Tuple[str, int], timeout: float = 5.0) -> Tuple[TlsSurface, int]:
    connector = Connector(address)
    surface = enumerate_surface(
        connector, versions=ALL_VERSIONS, server_name="localhost", timeout=timeout
    )
    return surface, connector.calls


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def permissive_server(pki: TestPki) -> Iterator[OpenSslServer]:
    """TLS 1.0-1.3 with ALL:@SECLEVEL=0: the widest surface this OpenSSL can show."""
    with OpenSslServer(pki, min_protocol="TLSv1", max_protocol="TLSv1.3") as server:
        yield server


@pytest.fixture(scope="module")
def permissive_surface(permissive_server: OpenSslServer) -> Tuple[TlsSurface, int]:
    return enumerate_all(permissive_server.address)


@pytest.fixture(scope="module")
def ground_truth(permissive_server: OpenSslServer) -> Dict[TlsVersion, FrozenSet[int]]:
    return s_client_ground_truth(permissive_server.address)


# --- Ground truth --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=lambda v: v.label)
def test_the_enumerated_suites_are_exactly_those_s_client_finds_one_per_handshake(
    permissive_surface: Tuple[TlsSurface, int],
    ground_truth: Dict[TlsVersion, FrozenSet[int]],
    version: TlsVersion,
) -> None:
    surface = permissive_surface[0].for_version(version)
    assert surface.status is VersionStatus.ACCEPTED
    assert surface.complete, surface.reason
    assert len(set(surface.accepted_suites)) == len(surface.accepted_suites)
    assert ground_truth[version], "s_client found nothing: the ground truth itself is broken"
    assert frozenset(surface.accepted_suites) == ground_truth[version]


def test_every_suite_refused_in_a_big_hello_is_refused_again_in_a_short_one(
    permissive_surface: Tuple[TlsSurface, int],
) -> None:
    surface, calls = permissive_surface
    assert calls == surface.connections
    for version_surface in surface.versions:
        first_pass = [a for a in version_surface.attempts if not a.confirmation]
        again = [a for a in version_surface.attempts if a.confirmation]
        refused_big = {code for a in first_pass if len(a.offered) > CONFIRM_SUITES_PER_HELLO
                       and not isinstance(a.outcome, ServerChose) for code in a.offered}
        assert refused_big - set(version_surface.accepted_suites) <= {code for a in again for code in a.offered}
        assert again, "every version ends in a refusal from a short hello"
        assert all(len(a.offered) <= CONFIRM_SUITES_PER_HELLO for a in again)
        assert version_surface.attempts[-1].confirmation


def test_a_tls13_only_server_costs_thirty_two_connections_for_the_full_surface(
    pki: TestPki,
) -> None:
    context = server_context(pki, minimum=ssl.TLSVersion.TLSv1_3, maximum=ssl.TLSVersion.TLSv1_3)
    with PythonTlsServer(context) as server:
        surface, calls = enumerate_all(server.address)
        accepted_by_server = server.accepted
    assert calls == accepted_by_server == surface.connections
    # TLS 1.0 and 1.1 (172 suites): one big hello and 6 short ones each; TLS 1.2 (355): one and 12;
    # TLS 1.3: the three suites the server accepts, its refused rest and that refusal confirmed.
    assert calls == 7 + 7 + 13 + 5
    assert [v.status for v in surface.versions] == [
        VersionStatus.REFUSED, VersionStatus.REFUSED, VersionStatus.REFUSED, VersionStatus.ACCEPTED
    ]
    assert set(surface.for_version(TlsVersion.TLSv1_3).accepted_suites) == {0x1301, 0x1302, 0x1303}


def test_accepted_suites_come_in_the_servers_preference_order_when_it_has_one(
    pki: TestPki,
) -> None:
    preference = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:AES128-SHA"
    with OpenSslServer(
        pki, min_protocol="TLSv1.2", max_protocol="TLSv1.2", cipher=preference,
        extra=["-serverpref"],
    ) as server:
        surface = enumerate_surface(
            Connector(server.address), versions=[TlsVersion.TLSv1_2], server_name=None, timeout=5
        )
    tls12 = surface.for_version(TlsVersion.TLSv1_2)
    assert tls12.accepted_suites == (0xC02F, 0xC030, 0x002F)
    assert tls12.choice_order_complete


# --- Refusals need positive evidence -------------------------------------------------------------


def test_a_version_below_the_servers_minimum_is_refused_with_its_alert_as_evidence(
    pki: TestPki,
) -> None:
    with OpenSslServer(pki, min_protocol="TLSv1.2") as server:
        surface = enumerate_surface(
            Connector(server.address), versions=[TlsVersion.TLSv1_0], server_name="localhost",
            timeout=5,
        )
    tls10 = surface.for_version(TlsVersion.TLSv1_0)
    assert tls10.status is VersionStatus.REFUSED
    assert tls10.connections == 7  # the refusal of a big hello, then every suite again 32 at a time
    assert [a.outcome for a in tls10.attempts] == [ServerAlert(2, 70, "protocol_version")] * 7
    assert "protocol_version" in tls10.reason




def test_every_hello_offers_at_most_128_suites_and_together_all_the_registry_knows(
    raw_peer: Peer,
) -> None:
    offered: List[Tuple[int, ...]] = []

    def refuse_all(conn: socket.socket) -> None:
        offered.append(parse_client_hello(read_record(conn)).suites)
        conn.sendall(alert(2, 40))

    peer = raw_peer(refuse_all)
    surface = enumerate_surface(
        Connector(peer.address), versions=[TlsVersion.TLSv1_2], server_name=None, timeout=2
    )
    tls12 = surface.for_version(TlsVersion.TLSv1_2)
    suites = [[c for c in hello if c != TLS_EMPTY_RENEGOTIATION_INFO_SCSV] for hello in offered]
    every = sorted(s.code for s in REGISTRY.for_version(TlsVersion.TLSv1_2))
    assert all(len(hello) <= MAX_SUITES_PER_HELLO for hello in suites)
    assert sorted(c for hello in suites[:3] for c in hello) == every
    assert all(len(hello) <= CONFIRM_SUITES_PER_HELLO for hello in suites[3:])
    assert sorted(c for hello in suites[3:] for c in hello) == every, "each refusal believed from a short hello"
    assert tls12.status is VersionStatus.REFUSED
    assert tls12.reason == (
        f"none of the {len(every)} TLSv1.2 suites accepted, offered in 3 ClientHellos, each answered with fatal "
        f"alert 40 (handshake_failure); re-offered 32 at a time in {len(offered) - 3} ClientHellos, each answered "
        "with fatal alert 40 (handshake_failure)"
    )


def _silent(peer: List[RawPeer]) -> Callable[[socket.socket], object]:
    return lambda conn: peer[0].stop_event.wait(10)


def _garbage(conn: socket.socket) -> None:
    read_record(conn)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")


def _reset(conn: socket.socket) -> None:
    read_record(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _unrelated_alert(conn: socket.socket) -> None:
    read_record(conn)
    conn.sendall(alert(2, 112))  # unrecognized_name: about SNI, not about suites


@pytest.mark.parametrize(
    ("behaviour", "evidence"),
    [
        ("silent", "no complete answer within 0.3 s"),
        ("garbage", "answer is not TLS"),
        ("reset", "connection reset"),
        ("unrelated-alert", "fatal alert 112 (unrecognized_name)"),
    ],
)
def test_a_peer_that_gives_no_positive_evidence_leaves_the_version_inconclusive(
    raw_peer: Peer, behaviour: str, evidence: str
) -> None:
    holder: List[RawPeer] = []
    behaviours: Dict[str, Callable[[socket.socket], object]] = {
        "silent": _silent(holder), "garbage": _garbage, "reset": _reset,
        "unrelated-alert": _unrelated_alert,
    }
    holder.append(raw_peer(behaviours[behaviour]))
    started = time.monotonic()
    surface = enumerate_surface(
        Connector(holder[0].address), versions=[TlsVersion.TLSv1_2, TlsVersion.TLSv1_3],
        server_name="localhost", timeout=0.3,
    )
    assert time.monotonic() - started < 2
    for version_surface in surface.versions:
        assert version_surface.status is VersionStatus.INCONCLUSIVE
        assert not version_surface.complete
        assert version_surface.accepted_suites == ()
        assert evidence in version_surface.reason
        assert version_surface.connections == 1


def test_a_connection_lost_midway_keeps_what_was_accepted_but_marks_the_list_incomplete(
    raw_peer: Peer,
) -> None:
    chosen: List[int] = []

    def accept_first_then_vanish(conn: socket.socket) -> None:
        hello = parse_client_hello(read_record(conn))
        if not chosen:
            chosen.append(hello.suites[0])
            body = server_hello_body(version=0x0303, suite=chosen[0], extensions=b"")
            conn.sendall(record(22, body))

    peer = raw_peer(accept_first_then_vanish)
    surface = enumerate_surface(
        Connector(peer.address), versions=[TlsVersion.TLSv1_2], server_name=None, timeout=2
    )
    tls12 = surface.for_version(TlsVersion.TLSv1_2)
    assert tls12.status is VersionStatus.ACCEPTED
    assert tls12.accepted_suites == tuple(chosen)
    assert not tls12.complete
    assert "left unresolved" in tls12.reason
    assert "closed by the server" in tls12.reason


def test_a_server_that_accepts_every_suite_offered_is_complete_without_a_refusal(
    raw_peer: Peer,
) -> None:
    def accept_anything(conn: socket.socket) -> None:
        hello = parse_client_hello(read_record(conn))
        body = server_hello_body(version=0x0302, suite=hello.suites[0], extensions=b"")
        conn.sendall(record(22, body))

    peer = raw_peer(accept_anything)
    surface = enumerate_surface(
        Connector(peer.address), versions=[TlsVersion.TLSv1_1], server_name=None, timeout=10
    )
    tls11 = surface.for_version(TlsVersion.TLSv1_1)
    candidates = len(REGISTRY.for_version(TlsVersion.TLSv1_1))
    assert tls11.status is VersionStatus.ACCEPTED
    assert tls11.complete
    assert len(tls11.accepted_suites) == tls11.connections == candidates


def test_an_unreachable_server_is_inconclusive_with_the_connection_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        address = placeholder.getsockname()[:2]
    surface = enumerate_surface(
        Connector(address), versions=[TlsVersion.TLSv1_2], server_name=None, timeout=1
    )
    tls12 = surface.for_version(TlsVersion.TLSv1_2)
    assert tls12.status is VersionStatus.INCONCLUSIVE
    assert isinstance(tls12.attempts[0].outcome, ConnectFailed)
    assert "ConnectionRefusedError" in tls12.reason



# --- Iterative removal stays honest --------------------------------------------------------------


def test_one_backend_saying_protocol_version_does_not_close_a_version_another_backend_speaks(
    pki: TestPki,
) -> None:
    from tests.hostile_peers import PROTOCOL_VERSION, tls_front

    with OpenSslServer(pki, min_protocol="TLSv1.2", max_protocol="TLSv1.2",
                       cipher="ECDHE-RSA-AES128-GCM-SHA256") as server, \
            tls_front(server.address, lambda number, _: PROTOCOL_VERSION if number == 0 else None,
                      postgres=False) as port:
        surface = enumerate_surface(Connector(("127.0.0.1", port)), versions=[TlsVersion.TLSv1_2],
                                    server_name=None, timeout=5)
    tls12 = surface.for_version(TlsVersion.TLSv1_2)
    assert tls12.status is VersionStatus.ACCEPTED
    assert tls12.accepted_suites == (0xC02F,)
    assert tls12.attempts[0].outcome == ServerAlert(2, 70, "protocol_version")
    assert tls12.attempts[1].confirmation


def test_a_tls12_serverhello_to_a_tls13_offer_refuses_tls13_and_is_kept_as_tls12_evidence(
    raw_peer: Peer,
) -> None:
    def answer_in_tls12(conn: socket.socket) -> None:
        hello = parse_client_hello(read_record(conn))
        conn.sendall(record(22, server_hello_body(version=0x0303, suite=hello.suites[0], extensions=b"")))

    peer = raw_peer(answer_in_tls12)
    surface = enumerate_surface(Connector(peer.address), versions=[TlsVersion.TLSv1_3], server_name=None,
                                timeout=2)
    tls13 = surface.for_version(TlsVersion.TLSv1_3)
    assert tls13.status is VersionStatus.REFUSED
    assert "server answered in TLSv1.2, its highest version" in tls13.reason
    assert tls13.connections == 2  # the answer, confirmed once on a fresh connection
