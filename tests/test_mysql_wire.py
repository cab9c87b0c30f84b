"""The MySQL wire codec: packets built byte by byte from the documented layouts, then the same
code against real MariaDB 10.11 servers (facts §6.2, §3.2, §3.3, §9)."""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from pytest_aurora_guard.errors import ProbeError, WrongEngineError
from pytest_aurora_guard.wire import mysql as wire
from pytest_aurora_guard.wire.mysql import (
    CLIENT_CONNECT_ATTRS,
    CLIENT_PLUGIN_AUTH,
    CLIENT_PROTOCOL_41,
    CLIENT_SECURE_CONNECTION,
    CLIENT_SSL,
    LoginAnswerKind,
    MySqlError,
    MySqlGreeting,
    MySqlLoginAnswer,
    PlaintextOutcome,
)
from pytest_aurora_guard.wire.net import Deadline, NetworkError, close_quietly, connect, send_all
from tests.support.mariadb import RunningMariaDb

# Capabilities a MySQL 8.0 server advertises (0xffff lower, 0xdfff upper: everything but the
# deprecated CLIENT_SSL_VERIFY_SERVER_CERT bit 30).
MYSQL8_CAPABILITIES = 0xDFFFFFFF
SCRAMBLE = bytes(range(0x41, 0x41 + 20))  # "ABCDEFGHIJKLMNOPQRST"


def greeting_payload(
    version: bytes = b"8.0.32",
    capabilities: int = MYSQL8_CAPABILITIES,
    plugin: bytes = b"caching_sha2_password",
    thread_id: int = 42,
    charset: int = 255,
    status: int = 0x0002,
    mariadb_capabilities: int = 0,
) -> bytes:
    """Protocol::HandshakeV10, field by field as the MySQL documentation lists them."""
    return (
        b"\x0a"  # protocol version 10
        + version + b"\0"  # server version, NUL-terminated
        + struct.pack("<I", thread_id)  # connection id
        + SCRAMBLE[:8]  # auth-plugin-data part 1
        + b"\0"  # filler
        + struct.pack("<H", capabilities & 0xFFFF)  # capability flags, lower half
        + bytes([charset])
        + struct.pack("<H", status)
        + struct.pack("<H", capabilities >> 16)  # capability flags, upper half
        + bytes([21])  # length of auth-plugin-data: 20 + NUL
        + bytes(6)  # reserved
        + struct.pack("<I", mariadb_capabilities)  # reserved (MySQL) / extended flags (MariaDB)
        + SCRAMBLE[8:] + b"\0"  # auth-plugin-data part 2: max(13, 21 - 8) bytes
        + plugin + b"\0"
    )


def err_payload(code: int, sqlstate: str, message: str) -> bytes:
    """ERR_Packet after the greeting: 0xFF, code (LE), '#', SQLSTATE, message."""
    return b"\xff" + struct.pack("<H", code) + b"#" + sqlstate.encode() + message.encode()


def packet(payload: bytes, sequence_id: int) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([sequence_id]) + payload


MARIADB_GREETING = greeting_payload(
    version=b"5.5.5-10.11.19-MariaDB-0+deb12u1",
    capabilities=0x81FFFFFE,  # as MariaDB 10.11 with a certificate sends it: CLIENT_MYSQL clear
    plugin=b"mysql_native_password",
    charset=8,
    mariadb_capabilities=0x1D,
)

ACCESS_DENIED = err_payload(
    1045, "28000", "Access denied for user 'guard'@'127.0.0.1' (using password: YES)"
)


def parse_client_packet(data: bytes) -> dict[str, object]:
    """Read a HandshakeResponse41 back, field by field, to check what the probe sends."""
    length, sequence_id = int.from_bytes(data[:3], "little"), data[3]
    payload = data[4:]
    assert len(payload) == length
    flags, max_packet, charset = struct.unpack("<IIB", payload[:9])
    fields: dict[str, object] = {
        "sequence_id": sequence_id, "flags": flags, "max_packet": max_packet,
        "charset": charset, "filler": payload[9:32],
    }
    rest = payload[32:]
    if not rest:
        return fields
    user, rest = rest.split(b"\0", 1)
    auth_length, rest = rest[0], rest[1:]
    fields["user"], fields["auth_response"] = user.decode(), rest[:auth_length]
    rest = rest[auth_length:]
    if flags & CLIENT_PLUGIN_AUTH:
        plugin, rest = rest.split(b"\0", 1)
        fields["plugin"] = plugin.decode()
    if flags & CLIENT_CONNECT_ATTRS:
        total, rest = rest[0], rest[1:]
        assert total == len(rest)
        attributes = {}
        while rest:
            key_length = rest[0]
            key, rest = rest[1:1 + key_length].decode(), rest[1 + key_length:]
            value_length = rest[0]
            attributes[key], rest = rest[1:1 + value_length].decode(), rest[1 + value_length:]
        fields["attributes"] = attributes
    return fields


@pytest.fixture
def mysql8_greeting() -> MySqlGreeting:
    return wire.parse_greeting(greeting_payload())


@pytest.fixture
def mariadb_greeting() -> MySqlGreeting:
    return wire.parse_greeting(MARIADB_GREETING)


# --- the greeting -------------------------------------------------------------------------------


def test_a_mysql_8_greeting_yields_version_thread_flags_and_plugin(
    mysql8_greeting: MySqlGreeting,
) -> None:
    assert mysql8_greeting.protocol_version == 10
    assert mysql8_greeting.server_version == "8.0.32"
    assert not mysql8_greeting.is_mariadb
    assert mysql8_greeting.thread_id == 42
    assert mysql8_greeting.capabilities == MYSQL8_CAPABILITIES
    assert mysql8_greeting.charset == 255
    assert mysql8_greeting.status_flags == 0x0002
    assert mysql8_greeting.auth_plugin_name == "caching_sha2_password"
    assert mysql8_greeting.version_numbers == (8, 0, 32)


def test_the_scramble_is_both_parts_without_the_trailing_nul(
    mysql8_greeting: MySqlGreeting,
) -> None:
    assert mysql8_greeting.scramble == SCRAMBLE


def test_mariadb_version_prefix_is_stripped_and_flagged(mariadb_greeting: MySqlGreeting) -> None:
    assert mariadb_greeting.server_version == "10.11.19-MariaDB-0+deb12u1"
    assert mariadb_greeting.mariadb_version_prefix
    assert mariadb_greeting.is_mariadb
    assert mariadb_greeting.version_numbers == (10, 11, 19)


def test_mariadb_extended_capabilities_are_read_only_when_client_mysql_is_clear(
    mariadb_greeting: MySqlGreeting,
) -> None:
    with_client_mysql = wire.parse_greeting(greeting_payload(mariadb_capabilities=0x1D))
    assert mariadb_greeting.mariadb_capabilities == 0x1D
    assert with_client_mysql.mariadb_capabilities == 0


def test_client_ssl_in_the_capabilities_means_the_server_offers_tls() -> None:
    offering = wire.parse_greeting(greeting_payload(capabilities=MYSQL8_CAPABILITIES))
    not_offering = wire.parse_greeting(
        greeting_payload(capabilities=MYSQL8_CAPABILITIES & ~CLIENT_SSL)
    )
    assert offering.offers_tls
    assert not not_offering.offers_tls


def test_mariadb_11_without_the_prefix_is_still_recognised() -> None:
    greeting = wire.parse_greeting(greeting_payload(version=b"11.4.2-MariaDB"))
    assert greeting.is_mariadb
    assert not greeting.mariadb_version_prefix


def test_too_many_connections_before_the_greeting_is_a_probe_error_with_code_and_hint() -> None:
    # Before the greeting the server sends no SQLSTATE: it does not know the client is 4.1+.
    payload = b"\xff" + struct.pack("<H", 1040) + b"Too many connections"
    expected = r"ERROR 1040: Too many connections.*max_connections"
    with pytest.raises(ProbeError, match=expected) as info:
        wire.parse_greeting(payload)
    assert not isinstance(info.value, WrongEngineError)


def test_a_blocked_host_is_reported_with_how_to_unblock_it() -> None:
    payload = (
        b"\xff" + struct.pack("<H", 1129)
        + b"Host '10.0.0.7' is blocked because of many connection errors; "
        b"unblock with 'mariadb-admin flush-hosts'"
    )
    with pytest.raises(ProbeError, match=r"ERROR 1129: Host '10\.0\.0\.7' is blocked.*FLUSH HOSTS"):
        wire.parse_greeting(payload)


def test_a_first_packet_that_is_not_handshake_v10_is_the_wrong_engine_and_shows_its_bytes() -> None:
    with pytest.raises(WrongEngineError, match=r"not a MySQL HandshakeV10.*b'N\\x00\\x00\\x00"):
        wire.parse_greeting(b"N\0\0\0 some other protocol")


def test_a_truncated_greeting_is_malformed_not_the_wrong_engine() -> None:
    expected = "malformed MySQL greeting: it ends after 30 bytes"
    with pytest.raises(ProbeError, match=expected) as info:
        wire.parse_greeting(greeting_payload()[:30])
    assert not isinstance(info.value, WrongEngineError)


def test_a_server_version_without_terminator_is_malformed() -> None:
    with pytest.raises(ProbeError, match="server version has no NUL terminator"):
        wire.parse_greeting(b"\x0a8.0.32")


# --- ERR packets --------------------------------------------------------------------------------


def test_err_packet_documented_example_parses() -> None:
    # The MySQL documentation's example: ff 48 04 23 48 59 30 30 30 "No tables used".
    error = wire.parse_err_packet(bytes.fromhex("ff48042348593030304e6f207461626c65732075736564"))
    assert error == MySqlError(code=1096, sqlstate="HY000", message="No tables used")


def test_err_packet_renders_like_the_mysql_client() -> None:
    error = wire.parse_err_packet(ACCESS_DENIED)
    assert error.render() == (
        "ERROR 1045 (28000): Access denied for user 'guard'@'127.0.0.1' (using password: YES)"
    )


def test_err_packet_without_sqlstate_marker_keeps_the_whole_message() -> None:
    error = wire.parse_err_packet(b"\xff" + struct.pack("<H", 1040) + b"Too many connections")
    assert error == MySqlError(code=1040, sqlstate=None, message="Too many connections")


# --- what the client sends ----------------------------------------------------------------------


def test_ssl_request_is_32_bytes_with_sequence_id_1(mariadb_greeting: MySqlGreeting) -> None:
    data = wire.ssl_request_packet(mariadb_greeting)
    assert len(data) == 36
    assert data[:4] == b"\x20\x00\x00\x01"


def test_ssl_request_asks_for_tls_and_protocol_41(mariadb_greeting: MySqlGreeting) -> None:
    fields = parse_client_packet(wire.ssl_request_packet(mariadb_greeting))
    required = CLIENT_SSL | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH
    assert isinstance(fields["flags"], int)
    assert fields["flags"] & required == required
    assert fields["filler"] == bytes(23)
    assert fields["max_packet"] == 16 * 1024 * 1024


def test_ssl_request_uses_the_utf8mb4_collation_each_server_knows(
    mariadb_greeting: MySqlGreeting, mysql8_greeting: MySqlGreeting
) -> None:
    assert parse_client_packet(wire.ssl_request_packet(mariadb_greeting))["charset"] == 45
    assert parse_client_packet(wire.ssl_request_packet(mysql8_greeting))["charset"] == 255


def test_ssl_request_to_a_server_without_client_ssl_is_refused() -> None:
    greeting = wire.parse_greeting(greeting_payload(capabilities=MYSQL8_CAPABILITIES & ~CLIENT_SSL))
    with pytest.raises(ProbeError, match="does not advertise CLIENT_SSL"):
        wire.ssl_request_packet(greeting)


def test_probe_login_names_the_probe_user_and_sends_an_empty_auth_response(
    mysql8_greeting: MySqlGreeting,
) -> None:
    fields = parse_client_packet(wire.probe_login_packet(mysql8_greeting))
    assert fields["sequence_id"] == 1
    assert fields["user"] == "pytest_aurora_guard_probe"
    assert fields["auth_response"] == b""
    assert fields["plugin"] == "mysql_native_password"


def test_probe_login_identifies_the_program_in_connection_attributes(
    mysql8_greeting: MySqlGreeting,
) -> None:
    fields = parse_client_packet(wire.probe_login_packet(mysql8_greeting))
    assert isinstance(fields["attributes"], dict)
    assert fields["attributes"]["program_name"] == "pytest-aurora-guard"
    assert fields["attributes"]["_client_name"] == "pytest-aurora-guard"


def test_probe_login_is_plaintext(mysql8_greeting: MySqlGreeting) -> None:
    fields = parse_client_packet(wire.probe_login_packet(mysql8_greeting))
    assert isinstance(fields["flags"], int)
    assert not fields["flags"] & CLIENT_SSL


def test_probe_login_asks_only_for_capabilities_the_server_offers() -> None:
    greeting = wire.parse_greeting(
        greeting_payload(capabilities=MYSQL8_CAPABILITIES & ~CLIENT_CONNECT_ATTRS)
    )
    fields = parse_client_packet(wire.probe_login_packet(greeting))
    assert isinstance(fields["flags"], int)
    assert not fields["flags"] & CLIENT_CONNECT_ATTRS
    assert "attributes" not in fields


def test_a_server_older_than_protocol_41_cannot_be_probed() -> None:
    greeting = wire.parse_greeting(
        greeting_payload(capabilities=MYSQL8_CAPABILITIES & ~CLIENT_PROTOCOL_41)
    )
    with pytest.raises(ProbeError, match="CLIENT_PROTOCOL_41"):
        wire.probe_login_packet(greeting)


# --- the server's answer to the login, and what it proves ----------------------------------------


def test_ok_packet_is_an_established_session() -> None:
    assert wire.parse_login_answer(b"\x00\x00\x00\x02\x00\x00\x00").kind is LoginAnswerKind.OK


def test_err_packet_answer_carries_the_error() -> None:
    answer = wire.parse_login_answer(ACCESS_DENIED)
    assert answer.kind is LoginAnswerKind.ERROR
    assert answer.error == MySqlError(
        1045, "28000", "Access denied for user 'guard'@'127.0.0.1' (using password: YES)"
    )


def test_auth_switch_request_names_the_new_plugin() -> None:
    answer = wire.parse_login_answer(b"\xfecaching_sha2_password\0" + SCRAMBLE + b"\0")
    assert answer.kind is LoginAnswerKind.AUTH_SWITCH
    assert answer.auth_plugin == "caching_sha2_password"


def test_a_lone_0xfe_is_the_old_password_switch() -> None:
    answer = wire.parse_login_answer(b"\xfe")
    assert answer == MySqlLoginAnswer(LoginAnswerKind.AUTH_SWITCH, auth_plugin="mysql_old_password")


def test_auth_more_data_is_recognised() -> None:
    assert wire.parse_login_answer(b"\x01\x04").kind is LoginAnswerKind.AUTH_MORE_DATA


def test_an_unknown_answer_is_a_probe_error_showing_its_bytes() -> None:
    with pytest.raises(ProbeError, match=r"unknown packet; first bytes b'\\x7fxyz'"):
        wire.parse_login_answer(b"\x7fxyz")


# --- reading from a socket: deadlines, truncation, foreign protocols -----------------------------


@pytest.fixture
def peer() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(probe side, server side) of a connected pair."""
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


def test_a_greeting_arriving_in_pieces_is_reassembled(
    peer: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = peer
    data = packet(MARIADB_GREETING, 0)

    def trickle() -> None:
        for start in range(0, len(data), 7):
            theirs.sendall(data[start:start + 7])
            time.sleep(0.002)

    sender = threading.Thread(target=trickle)
    sender.start()
    greeting = wire.read_greeting(ours, Deadline(5))
    sender.join()
    assert greeting.server_version == "10.11.19-MariaDB-0+deb12u1"


def test_a_silent_server_is_reported_as_possibly_not_mysql_within_the_deadline(
    peer: tuple[socket.socket, socket.socket],
) -> None:
    ours, _ = peer
    started = time.monotonic()
    with pytest.raises(WrongEngineError, match=r"sent nothing within 0\.3 s.*PostgreSQL server"):
        wire.read_greeting(ours, Deadline(0.3))
    assert time.monotonic() - started < 1.0


def test_the_deadline_bounds_the_whole_read_not_each_recv(
    peer: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = peer
    stop = threading.Event()

    def drip() -> None:  # one byte every 50 ms would reset a per-recv timeout forever
        theirs.sendall(packet(MARIADB_GREETING, 0)[:4])
        while not stop.wait(0.05):
            theirs.sendall(b"x")

    sender = threading.Thread(target=drip)
    sender.start()
    started = time.monotonic()
    try:
        with pytest.raises(NetworkError, match=r"no answer within 0\.5 s"):
            wire.read_greeting(ours, Deadline(0.5))
    finally:
        stop.set()
        sender.join()
    assert time.monotonic() - started < 1.5


def test_a_connection_closed_mid_packet_is_a_truncation(
    peer: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = peer
    theirs.sendall(packet(MARIADB_GREETING, 0)[:20])
    theirs.close()
    with pytest.raises(NetworkError, match="closed the connection after 16 bytes"):
        wire.read_greeting(ours, Deadline(2))


@pytest.mark.parametrize(
    "banner",
    [
        pytest.param(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", id="http"),
        pytest.param(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", id="ssh"),
    ],
)
def test_a_foreign_banner_is_the_wrong_engine_and_shows_its_first_bytes(
    peer: tuple[socket.socket, socket.socket], banner: bytes
) -> None:
    ours, theirs = peer
    theirs.sendall(banner)
    with pytest.raises(WrongEngineError, match="is not a MySQL packet") as info:
        wire.read_greeting(ours, Deadline(2))
    assert repr(banner[:12])[2:-1] in str(info.value)


def test_an_oversized_login_answer_is_refused_before_reading_it(
    peer: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = peer
    theirs.sendall((1 << 20).to_bytes(3, "little") + b"\x02")
    with pytest.raises(ProbeError, match=r"says 1048576 bytes \(limit 65536\)"):
        wire.read_login_answer(ours, Deadline(2))


# --- against real MariaDB 10.11 -----------------------------------------------------------------


def greet(server: RunningMariaDb) -> tuple[socket.socket, MySqlGreeting, Deadline]:
    sock = connect(server.host, server.port, 5)
    deadline = Deadline(5)
    return sock, wire.read_greeting(sock, deadline), deadline


def probe_plaintext_login(server: RunningMariaDb, user: str = wire.PROBE_USER) -> MySqlLoginAnswer:
    sock, greeting, deadline = greet(server)
    try:
        send_all(sock, wire.probe_login_packet(greeting, user), deadline, "the probe login")
        answer = wire.read_login_answer(sock, deadline)
        if answer.kind is LoginAnswerKind.OK:
            send_all(sock, wire.COM_QUIT, deadline, "COM_QUIT")
        return answer
    finally:
        close_quietly(sock)


def test_a_real_mariadb_greeting_parses(mariadb_hardened: RunningMariaDb) -> None:
    sock, greeting, _ = greet(mariadb_hardened)
    close_quietly(sock)
    assert greeting.is_mariadb
    assert greeting.mariadb_version_prefix
    assert greeting.server_version == mariadb_hardened.server_version
    assert greeting.auth_plugin_name == "mysql_native_password"
    assert len(greeting.scramble) == 20


def test_a_mariadb_with_a_certificate_advertises_client_ssl(
    mariadb_hardened: RunningMariaDb,
) -> None:
    sock, greeting, _ = greet(mariadb_hardened)
    close_quietly(sock)
    assert greeting.offers_tls


def test_a_mariadb_without_a_certificate_does_not_advertise_client_ssl(
    mariadb_no_tls: RunningMariaDb,
) -> None:
    sock, greeting, _ = greet(mariadb_no_tls)
    close_quietly(sock)
    assert not greeting.offers_tls


def test_hardened_mariadb_answers_the_credential_free_probe_with_access_denied(
    mariadb_hardened: RunningMariaDb,
) -> None:
    # MariaDB 10.11 predates MDEV-30178: no 3159, the password is checked first (facts §9).
    answer = probe_plaintext_login(mariadb_hardened)
    assert answer.error == MySqlError(
        1045,
        "28000",
        "Access denied for user 'pytest_aurora_guard_probe'@'127.0.0.1' (using password: NO)",
    )
    assert wire.classify_plaintext_login(answer).outcome is PlaintextOutcome.INCONCLUSIVE


def test_weak_mariadb_answers_the_credential_free_probe_exactly_as_hardened_does(
    mariadb_hardened: RunningMariaDb, mariadb_weak: RunningMariaDb
) -> None:
    assert probe_plaintext_login(mariadb_weak) == probe_plaintext_login(mariadb_hardened)


def test_an_existing_user_without_its_password_is_denied_over_plaintext_even_when_allowed(
    mariadb_weak: RunningMariaDb,
) -> None:
    answer = probe_plaintext_login(mariadb_weak, user=mariadb_weak.user)
    assert answer.error == MySqlError(
        1045, "28000", "Access denied for user 'guard'@'127.0.0.1' (using password: NO)"
    )


def test_ssl_request_starts_a_tls_13_handshake_on_hardened_mariadb(
    mariadb_hardened: RunningMariaDb,
) -> None:
    sock, greeting, deadline = greet(mariadb_hardened)
    try:
        send_all(sock, wire.ssl_request_packet(greeting), deadline, "SSLRequest")
        context = ssl.create_default_context(cafile=str(mariadb_hardened.ca_cert))
        sock.settimeout(deadline.remaining())
        with context.wrap_socket(sock, server_hostname=mariadb_hardened.host) as tls:
            assert tls.version() == "TLSv1.3"
    finally:
        close_quietly(sock)
