"""One ClientHello, one answer: against real TLS servers, and against peers that misbehave."""

from __future__ import annotations

import socket
import ssl
import struct
import time
from typing import Callable, Optional

import pytest

from pytest_aurora_guard.errors import ConfigurationError
from pytest_aurora_guard.tls.hello import (
    HELLO_RETRY_REQUEST_RANDOM,
    TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
    ConnectionClosed,
    HelloOutcome,
    Malformed,
    NotTls,
    ServerAlert,
    ServerChose,
    Timeout,
    UnofferedChoice,
    send_client_hello,
)
from pytest_aurora_guard.tls.versions import TlsVersion
from tests.support.pki import TestPki, make_pki
from tests.tls_peers import (
    OpenSslServer,
    Peer,
    PythonTlsServer,
    alert,
    connect,
    parse_client_hello,
    read_record,
    record,
    server_context,
    server_hello_body,
    supported_versions_extension,
)

ALL_TLS13 = [0x1301, 0x1302, 0x1303, 0x1304, 0x1305]
ECDHE_RSA_AES128_SHA = 0xC013
ECDHE_RSA_AES256_SHA = 0xC014
ECDHE_RSA_AES128_GCM_SHA256 = 0xC02F
ECDHE_RSA_AES256_GCM_SHA384 = 0xC030
RSA_AES256_SHA = 0x0035




@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def hello(
    address: tuple[str, int],
    *,
    version: TlsVersion,
    suites: list[int],
    server_name: Optional[str] = "localhost",
    timeout: float = 5.0,
    alpn: tuple[str, ...] = (),
) -> HelloOutcome:
    with connect(address) as sock:
        return send_client_hello(
            sock, version=version, suites=suites, server_name=server_name, timeout=timeout,
            alpn=alpn,
        )


# --- Real servers -------------------------------------------------------------------------------


def test_a_tls13_server_names_the_one_suite_it_allows(pki: TestPki) -> None:
    with OpenSslServer(pki, min_protocol="TLSv1.3", ciphersuites="TLS_AES_256_GCM_SHA384") as srv:
        outcome = hello(srv.address, version=TlsVersion.TLSv1_3, suites=ALL_TLS13)
    assert outcome == ServerChose(TlsVersion.TLSv1_3, 0x1302, is_hello_retry=False, group=0x001D)


def test_a_p256_only_server_like_postgresql_takes_our_p256_key_share_without_retry(
    pki: TestPki,
) -> None:
    with OpenSslServer(pki, min_protocol="TLSv1.3", groups="P-256") as srv:
        outcome = hello(srv.address, version=TlsVersion.TLSv1_3, suites=[0x1301])
    assert outcome == ServerChose(TlsVersion.TLSv1_3, 0x1301, is_hello_retry=False, group=0x0017)


def test_a_server_wanting_another_group_gets_its_key_share_in_a_second_hello_on_the_same_connection(
    pki: TestPki,
) -> None:
    with OpenSslServer(
        pki, min_protocol="TLSv1.3", groups="P-384", ciphersuites="TLS_CHACHA20_POLY1305_SHA256"
    ) as srv:
        outcome = hello(srv.address, version=TlsVersion.TLSv1_3, suites=ALL_TLS13)
    assert outcome == ServerChose(TlsVersion.TLSv1_3, 0x1303, False, group=0x0018, after_retry=True)


@pytest.mark.parametrize(
    "version", [TlsVersion.TLSv1_0, TlsVersion.TLSv1_1, TlsVersion.TLSv1_2], ids=lambda v: v.label
)
def test_a_server_allowing_tls10_to_12_answers_each_version_in_that_version(
    pki: TestPki, version: TlsVersion
) -> None:
    with OpenSslServer(pki, max_protocol="TLSv1.2") as srv:
        outcome = hello(srv.address, version=version, suites=[RSA_AES256_SHA, ECDHE_RSA_AES256_SHA])
    assert isinstance(outcome, ServerChose)
    assert outcome.version is version
    assert outcome.suite_code in (RSA_AES256_SHA, ECDHE_RSA_AES256_SHA)


def test_a_server_below_its_minimum_version_refuses_with_protocol_version_alert(
    pki: TestPki,
) -> None:
    with OpenSslServer(pki, min_protocol="TLSv1.2") as srv:
        outcome = hello(srv.address, version=TlsVersion.TLSv1_0, suites=[ECDHE_RSA_AES128_SHA])
    assert outcome == ServerAlert(2, 70, "protocol_version")


def test_a_server_without_sslv3_refuses_an_sslv3_hello_with_an_alert(pki: TestPki) -> None:
    with OpenSslServer(pki) as srv:
        outcome = hello(srv.address, version=TlsVersion.SSLv3, suites=[RSA_AES256_SHA])
    # OpenSSL 3.0 answers handshake_failure here, others protocol_version: both are refusals.
    assert isinstance(outcome, ServerAlert)
    assert outcome.description_name in ("protocol_version", "handshake_failure")


def test_a_server_sharing_no_suite_with_us_refuses_with_handshake_failure(pki: TestPki) -> None:
    with OpenSslServer(pki, cipher="ECDHE-RSA-AES128-GCM-SHA256") as srv:
        outcome = hello(srv.address, version=TlsVersion.TLSv1_2, suites=[RSA_AES256_SHA])
    assert outcome == ServerAlert(2, 40, "handshake_failure")


def test_a_python_ssl_tls12_server_chooses_the_one_suite_it_allows(pki: TestPki) -> None:
    context = server_context(
        pki,
        minimum=ssl.TLSVersion.TLSv1_2,
        maximum=ssl.TLSVersion.TLSv1_2,
        ciphers="ECDHE-RSA-AES256-GCM-SHA384",
    )
    with PythonTlsServer(context) as srv:
        outcome = hello(
            srv.address,
            version=TlsVersion.TLSv1_2,
            suites=[ECDHE_RSA_AES128_GCM_SHA256, ECDHE_RSA_AES256_GCM_SHA384],
        )
    assert outcome == ServerChose(TlsVersion.TLSv1_2, ECDHE_RSA_AES256_GCM_SHA384, False)


def test_a_python_ssl_tls13_only_server_chooses_a_tls13_suite(pki: TestPki) -> None:
    context = server_context(
        pki, minimum=ssl.TLSVersion.TLSv1_3, maximum=ssl.TLSVersion.TLSv1_3
    )
    with PythonTlsServer(context) as srv:
        outcome = hello(srv.address, version=TlsVersion.TLSv1_3, suites=[0x1303])
    assert outcome == ServerChose(TlsVersion.TLSv1_3, 0x1303, False, group=0x001D)


def test_a_tls13_hello_to_a_tls12_only_server_is_refused_not_downgraded(pki: TestPki) -> None:
    with OpenSslServer(pki, max_protocol="TLSv1.2") as srv:
        outcome = hello(srv.address, version=TlsVersion.TLSv1_3, suites=ALL_TLS13)
    # OpenSSL 3.0 says protocol_version; a server that ignores supported_versions would find
    # no TLS 1.2 suite among ours and say handshake_failure. Never a TLS 1.2 ServerHello.
    assert isinstance(outcome, ServerAlert)
    assert outcome.description_name in ("protocol_version", "handshake_failure")


def test_the_server_sees_our_dns_server_name_and_well_formed_key_shares(pki: TestPki) -> None:
    with OpenSslServer(pki, min_protocol="TLSv1.3", extra=["-trace"]) as srv:
        hello(srv.address, version=TlsVersion.TLSv1_3, suites=[0x1301], server_name="localhost")
        time.sleep(0.1)
        trace = srv.log()
    assert "extension_type=server_name(0)" in trace
    assert ".localhost" in trace
    assert "NamedGroup: ecdh_x25519 (29)\n            key_exchange:  (len=32)" in trace
    assert "NamedGroup: secp256r1 (P-256) (23)\n            key_exchange:  (len=65): 04" in trace


def test_the_server_sees_the_alpn_protocol_we_ask_for(pki: TestPki) -> None:
    with OpenSslServer(pki, extra=["-alpn", "postgresql", "-trace"]) as srv:
        hello(srv.address, version=TlsVersion.TLSv1_3, suites=[0x1301], alpn=("postgresql",))
        time.sleep(0.1)
        trace = srv.log()
    assert "extension_type=application_layer_protocol_negotiation(16), length=13\n" in trace
    assert "          postgresql\n" in trace


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "[::1]"])
def test_an_ip_literal_is_never_sent_as_server_name(
    raw_peer: Peer, address: str
) -> None:
    seen: list[bytes] = []
    peer = raw_peer(lambda conn: seen.append(read_record(conn)))
    hello(peer.address, version=TlsVersion.TLSv1_2, suites=[0xC030], server_name=address,
          timeout=0.5)
    assert 0 not in parse_client_hello(seen[0]).extensions


def test_a_server_name_that_is_no_dns_name_is_a_configuration_error(raw_peer: Peer) -> None:
    peer = raw_peer(lambda conn: None)
    with pytest.raises(ConfigurationError, match="cannot be sent as a TLS server name"):
        hello(peer.address, version=TlsVersion.TLSv1_2, suites=[0xC030], server_name="a..b")


# --- What we put on the wire, seen by a peer that only reads it --------------------------------


def capture_hello(
    raw_peer: Peer, version: TlsVersion
) -> bytes:
    seen: list[bytes] = []
    peer = raw_peer(lambda conn: seen.append(read_record(conn)))
    hello(peer.address, version=version, suites=[RSA_AES256_SHA], timeout=0.5)
    return seen[0]


def test_a_tls13_hello_offers_only_tls13_in_supported_versions_and_the_scsv_as_openssl_does(
    raw_peer: Peer,
) -> None:
    view = parse_client_hello(capture_hello(raw_peer, TlsVersion.TLSv1_3))
    assert view.legacy_version == 0x0303
    assert view.extensions[43] == b"\x02\x03\x04"
    assert view.suites == (RSA_AES256_SHA, TLS_EMPTY_RENEGOTIATION_INFO_SCSV)


@pytest.mark.parametrize(
    "version", [TlsVersion.TLSv1_0, TlsVersion.TLSv1_1, TlsVersion.TLSv1_2], ids=lambda v: v.label
)
def test_a_tls12_or_older_hello_names_its_version_adds_the_scsv_and_no_supported_versions(
    raw_peer: Peer, version: TlsVersion
) -> None:
    view = parse_client_hello(capture_hello(raw_peer, version))
    assert view.legacy_version == version
    assert view.record_version == 0x0301
    assert view.suites == (RSA_AES256_SHA, TLS_EMPTY_RENEGOTIATION_INFO_SCSV)
    assert 43 not in view.extensions
    assert 51 not in view.extensions


def test_an_sslv3_hello_carries_no_extensions(
    raw_peer: Peer,
) -> None:
    view = parse_client_hello(capture_hello(raw_peer, TlsVersion.SSLv3))
    assert (view.record_version, view.legacy_version) == (0x0300, 0x0300)
    assert view.extensions == {}
    assert TLS_EMPTY_RENEGOTIATION_INFO_SCSV in view.suites


# --- Peers that do not answer with a ServerHello -----------------------------------------------


def test_a_peer_that_closes_without_answering_is_a_closed_connection(raw_peer: Peer) -> None:
    peer = raw_peer(lambda conn: read_record(conn))
    outcome = hello(peer.address, version=TlsVersion.TLSv1_2, suites=[0xC030], timeout=2)
    assert outcome == ConnectionClosed(after_bytes=0)


def test_a_peer_that_resets_is_a_closed_connection(raw_peer: Peer) -> None:
    def reset(conn: socket.socket) -> None:
        read_record(conn)
        # SO_LINGER on, zero seconds: close() sends RST instead of FIN.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    peer = raw_peer(reset)
    outcome = hello(peer.address, version=TlsVersion.TLSv1_2, suites=[0xC030], timeout=2)
    assert isinstance(outcome, ConnectionClosed)


def test_a_peer_that_sends_garbage_is_not_tls(raw_peer: Peer) -> None:
    def garbage(conn: socket.socket) -> None:
        read_record(conn)
        conn.sendall(b"\x99\x12\x00garbage that is no TLS record")

    peer = raw_peer(garbage)
    outcome = hello(peer.address, version=TlsVersion.TLSv1_2, suites=[0xC030], timeout=2)
    assert isinstance(outcome, NotTls)
    assert outcome.first_bytes.startswith(b"\x99\x12\x00garbage")


def test_a_peer_that_answers_http_is_not_tls_and_the_answer_is_kept(raw_peer: Peer) -> None:
    def http(conn: socket.socket) -> None:
        read_record(conn)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    peer = raw_peer(http)
    outcome = hello(peer.address, version=TlsVersion.TLSv1_2, suites=[0xC030], timeout=2)
    assert isinstance(outcome, NotTls)
    assert outcome.first_bytes.startswith(b"HTTP/1.1 400 Bad Request")


def test_a_postgresql_error_instead_of_tls_is_not_tls(raw_peer: Peer) -> None:
    def postgres_error(conn: socket.socket) -> None:
        read_record(conn)
        fields = b"SFATAL\x00C08P01\x00Minvalid length of startup packet\x00\x00"
        conn.sendall(b"E" + (len(fields) + 4).to_bytes(4, "big") + fields)

    peer = raw_peer(postgres_error)
    outcome = hello(peer.address, version=TlsVersion.TLSv1_2, suites=[0xC030], timeout=2)
    assert isinstance(outcome, NotTls)
    assert outcome.first_bytes.startswith(b"E")


def test_a_peer_that_never_answers_times_out_within_the_bound(raw_peer: Peer) -> None:
    peer = raw_peer(lambda conn: peer.stop_event.wait(10))
    started = time.monotonic()
    outcome = hello(peer.address, version=TlsVersion.TLSv1_2, suites=[0xC030], timeout=0.5)
    elapsed = time.monotonic() - started
    assert outcome == Timeout(0.5, after_bytes=0)
    assert 0.5 <= elapsed < 1.5


def test_a_peer_that_trickles_bytes_still_times_out_at_the_total_deadline(raw_peer: Peer) -> None:
    def trickle(conn: socket.socket) -> None:
        read_record(conn)
        for byte in record(22, b"\x02" + b"\x00" * 100):
            if peer.stop_event.wait(0.1):
                return
            conn.sendall(bytes([byte]))

    peer = raw_peer(trickle)
    started = time.monotonic()
    outcome = hello(peer.address, version=TlsVersion.TLSv1_2, suites=[0xC030], timeout=0.6)
    elapsed = time.monotonic() - started
    assert isinstance(outcome, Timeout)
    assert outcome.after_bytes > 0
    # A per-recv timeout would wait ~10 s here: a byte arrives every 0.1 s.
    assert elapsed < 1.5


def test_a_record_cut_short_by_a_close_is_a_closed_connection_not_a_hello(raw_peer: Peer) -> None:
    def truncated(conn: socket.socket) -> None:
        read_record(conn)
        conn.sendall(record(22, b"\x02\x00\x00\x46" + b"\x03\x03" + b"\x00" * 74)[:20])

    peer = raw_peer(truncated)
    outcome = hello(peer.address, version=TlsVersion.TLSv1_2, suites=[0xC030], timeout=2)
    assert outcome == ConnectionClosed(after_bytes=20)


# --- Peers that answer with TLS we must not believe --------------------------------------------


def tls12_hello(*, session_id: bytes = b"", extensions: Optional[bytes] = None) -> bytes:
    return server_hello_body(
        version=0x0303, suite=0xC030, session_id=session_id, extensions=extensions
    )


def answering(data: bytes) -> Callable[[socket.socket], None]:
    def behaviour(conn: socket.socket) -> None:
        read_record(conn)
        conn.sendall(data)

    return behaviour


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            record(22, tls12_hello(session_id=b"x" * 33)),
            "session id is 33 bytes",
        ),
        (
            record(22, tls12_hello(extensions=b"")[:-2] + b"\x00\x09"),
            "truncated in extensions",
        ),
        (
            record(22, tls12_hello(extensions=b"\x00\x17\x00\x09")),
            "truncated in extension 23",
        ),
        (
            record(22, tls12_hello(extensions=b"\x00\x17\x00\x00" * 2)),
            "repeats extension 23",
        ),
        (b"\x16\x03\x03\x00\x00", "record length 0"),
        (b"\x16\x03\x03\x50\x00", "record length 20480"),
        (record(21, b"\x02\x28\x00"), "alert record of 3 bytes"),
        (record(20, b"\x01"), "change_cipher_spec record before any ServerHello"),
        (record(22, b"\x0b\x00\x00\x03abc"), "type 11, not ServerHello"),
        (record(22, b"\x02\xff\xff\xff"), "ServerHello claims 16777215 bytes"),
    ],
    ids=[
        "long-session-id", "extensions-length-overrun", "extension-body-overrun",
        "duplicate-extension", "empty-record", "oversized-record", "long-alert", "early-ccs",
        "certificate-first", "giant-hello",
    ],
)
def test_a_malformed_answer_is_reported_with_its_reason_never_parsed_by_guess(
    raw_peer: Peer, answer: bytes, reason: str
) -> None:
    peer = raw_peer(answering(answer))
    outcome = hello(peer.address, version=TlsVersion.TLSv1_2, suites=[0xC030], timeout=2)
    assert isinstance(outcome, Malformed), outcome
    assert reason in outcome.reason
    assert outcome.received.startswith(answer[:5])


def test_a_serverhello_fragmented_across_two_records_is_reassembled(raw_peer: Peer) -> None:
    body = server_hello_body(version=0x0303, suite=0xC030, extensions=b"")
    peer = raw_peer(answering(record(22, body[:10]) + record(22, body[10:])))
    outcome = hello(peer.address, version=TlsVersion.TLSv1_2, suites=[0xC030], timeout=2)
    assert outcome == ServerChose(TlsVersion.TLSv1_2, 0xC030, False)


def test_an_alert_with_an_unknown_description_keeps_its_number(raw_peer: Peer) -> None:
    peer = raw_peer(answering(alert(2, 200)))
    outcome = hello(peer.address, version=TlsVersion.TLSv1_2, suites=[0xC030], timeout=2)
    assert outcome == ServerAlert(2, 200, "unknown(200)")


def test_a_warning_alert_before_a_tls12_serverhello_is_skipped(raw_peer: Peer) -> None:
    peer = raw_peer(answering(alert(1, 112) + record(22, tls12_hello(extensions=b""))))
    outcome = hello(peer.address, version=TlsVersion.TLSv1_2, suites=[0xC030], timeout=2)
    assert outcome == ServerChose(TlsVersion.TLSv1_2, 0xC030, False)


def test_a_warning_alert_in_tls13_is_a_refusal(raw_peer: Peer) -> None:
    peer = raw_peer(answering(alert(1, 40)))
    outcome = hello(peer.address, version=TlsVersion.TLSv1_3, suites=[0x1301], timeout=2)
    assert outcome == ServerAlert(1, 40, "handshake_failure")


def test_a_suite_we_did_not_offer_is_a_violation_not_an_acceptance(raw_peer: Peer) -> None:
    peer = raw_peer(answering(record(22, server_hello_body(version=0x0303, suite=0x0005))))
    outcome = hello(peer.address, version=TlsVersion.TLSv1_2, suites=[0xC030], timeout=2)
    assert isinstance(outcome, UnofferedChoice)
    assert outcome.suite_code == 0x0005
    assert "0x0005, which was not offered" in outcome.reason


def test_a_version_above_the_one_offered_is_a_violation(raw_peer: Peer) -> None:
    peer = raw_peer(answering(record(22, server_hello_body(version=0x0303, suite=0xC014))))
    outcome = hello(peer.address, version=TlsVersion.TLSv1_1, suites=[0xC014], timeout=2)
    assert isinstance(outcome, UnofferedChoice)
    assert outcome.version == 0x0303
    assert "selected TLSv1.2 although only TLSv1.1 was offered" in outcome.reason


def test_a_tls12_answer_to_a_tls13_only_hello_is_a_violation(raw_peer: Peer) -> None:
    peer = raw_peer(answering(record(22, server_hello_body(version=0x0303, suite=0x1301))))
    outcome = hello(peer.address, version=TlsVersion.TLSv1_3, suites=[0x1301], timeout=2)
    assert isinstance(outcome, UnofferedChoice)
    assert outcome.version == 0x0303


def test_a_tls13_answer_to_a_tls12_hello_is_a_violation(raw_peer: Peer) -> None:
    body = server_hello_body(
        version=0x0303, suite=0xC030, extensions=supported_versions_extension(0x0304)
    )
    peer = raw_peer(answering(record(22, body)))
    outcome = hello(peer.address, version=TlsVersion.TLSv1_2, suites=[0xC030], timeout=2)
    assert isinstance(outcome, UnofferedChoice)
    assert outcome.version == 0x0304


def test_a_hello_retry_request_for_an_unoffered_suite_is_a_violation(raw_peer: Peer) -> None:
    body = server_hello_body(
        version=0x0303,
        suite=0x1302,
        random=HELLO_RETRY_REQUEST_RANDOM,
        extensions=supported_versions_extension(0x0304),
    )
    peer = raw_peer(answering(record(22, body)))
    outcome = hello(peer.address, version=TlsVersion.TLSv1_3, suites=[0x1301], timeout=2)
    assert isinstance(outcome, UnofferedChoice)
    assert outcome.is_hello_retry
