"""The few MySQL client/server protocol packets a credential-free transport probe needs.

Layouts from the MySQL source documentation (Protocol::HandshakeV10, Protocol::SSLRequest,
Protocol::HandshakeResponse41, ERR_Packet) and MariaDB's variant (https://mariadb.com/kb/en/connection/).
Building and parsing are pure functions on bytes; the two reads take a socket and a total
deadline. No driver, no pytest.

The probe never sends a password: its HandshakeResponse41 carries an empty auth response.
"""

from __future__ import annotations

import enum
import re
import socket
import struct
from dataclasses import dataclass
from typing import Optional

from .. import __version__
from ..errors import ProbeError, WrongEngineError
from .net import Deadline, NetworkError, available, recv_exact

# Capability flags (include/mysql_com.h; facts §6.2).
CLIENT_LONG_PASSWORD = 0x00000001  # MariaDB reads this bit as CLIENT_MYSQL ("not a MariaDB client")
CLIENT_PROTOCOL_41 = 0x00000200
CLIENT_SSL = 0x00000800
CLIENT_SECURE_CONNECTION = 0x00008000
CLIENT_PLUGIN_AUTH = 0x00080000
CLIENT_CONNECT_ATTRS = 0x00100000

# What the probe asks for; each is dropped if the server does not offer it, except PROTOCOL_41.
_PROBE_CAPABILITIES = (
    CLIENT_LONG_PASSWORD
    | CLIENT_PROTOCOL_41
    | CLIENT_SECURE_CONNECTION
    | CLIENT_PLUGIN_AUTH
    | CLIENT_CONNECT_ATTRS
)

PROTOCOL_VERSION_10 = 10
MARIADB_VERSION_PREFIX = "5.5.5-"  # MariaDB ≤10.x prefixes its version so old clients see ≥5.5
CHARSET_UTF8MB4_GENERAL_CI = 45  # known to every server since MySQL 5.5 and to all MariaDB
CHARSET_UTF8MB4_0900_AI_CI = 255  # MySQL 8's default; MariaDB has no collation 255
MAX_CLIENT_PACKET = 16 * 1024 * 1024
# A handshake packet (greeting, ERR, auth switch) is a few hundred bytes; a length header
# beyond this is a hostile server or not the MySQL protocol at all (e.g. "HTTP" read as a length).
MAX_HANDSHAKE_PAYLOAD = 64 * 1024

# MySQL-compatible servers greet first; after this long in silence, the peer is probably not one.
GREETING_WAIT = 2.0

PROBE_USER = "pytest_aurora_guard_probe"
PROBE_AUTH_PLUGIN = "mysql_native_password"
PROGRAM_NAME = "pytest-aurora-guard"

ER_ACCESS_DENIED_ERROR = 1045
ER_SECURE_TRANSPORT_REQUIRED = 3159
# MySQL 8 / Aurora MySQL send 3159 with HY000; MariaDB since MDEV-30178 sends it with 08004
# (facts §3.2, §3.3). Another SQLSTATE with 3159 is not a server we know: no conclusion.
_SECURE_TRANSPORT_SQLSTATES = {
    "HY000": "MySQL 8 / Aurora MySQL",
    "08004": "MariaDB with MDEV-30178",
}

COM_QUIT = b"\x01\x00\x00\x00\x01"  # length 1, sequence 0, command 0x01: a polite goodbye

_VERSION_NUMBERS = re.compile(r"^(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class MySqlPacket:
    sequence_id: int
    payload: bytes


@dataclass(frozen=True)
class MySqlGreeting:
    """Protocol::HandshakeV10, the packet a MySQL-compatible server sends first."""

    protocol_version: int
    server_version: str  # with MariaDB's "5.5.5-" prefix removed
    mariadb_version_prefix: bool  # the prefix was there
    thread_id: int
    capabilities: int  # lower and upper halves joined
    charset: int
    status_flags: int
    mariadb_capabilities: int  # MariaDB's extended flags (reserved bytes), 0 for MySQL
    auth_plugin_name: str  # "" when the server does not speak CLIENT_PLUGIN_AUTH
    scramble: bytes  # auth-plugin-data part 1 + part 2 (20 bytes for the usual plugins)

    @property
    def offers_tls(self) -> bool:
        """The server advertises CLIENT_SSL: it will accept an SSLRequest and start TLS."""
        return bool(self.capabilities & CLIENT_SSL)

    @property
    def is_mariadb(self) -> bool:
        # MariaDB 11 dropped the prefix but still names itself in the version string.
        return self.mariadb_version_prefix or "mariadb" in self.server_version.lower()

    @property
    def version_numbers(self) -> tuple[int, int, int]:
        """``(major, minor, patch)`` from the version string; ``(0, 0, 0)`` if it has none."""
        match = _VERSION_NUMBERS.match(self.server_version)
        if match is None:
            return (0, 0, 0)
        return (int(match.group(1)), int(match.group(2)), int(match.group(3)))

    def render(self) -> str:
        tls = "offers TLS (CLIENT_SSL)" if self.offers_tls else "does not offer TLS (no CLIENT_SSL)"
        plugin = self.auth_plugin_name or "(none)"
        return f"server {self.server_version!r}, {tls}, auth plugin {plugin}"


@dataclass(frozen=True)
class MySqlError:
    """An ERR_Packet; ``sqlstate`` is None when the server sent none (before the greeting)."""

    code: int
    sqlstate: Optional[str]
    message: str

    def render(self) -> str:
        state = f" ({self.sqlstate})" if self.sqlstate is not None else ""
        return f"ERROR {self.code}{state}: {self.message}"


class LoginAnswerKind(enum.Enum):
    OK = "ok"  # a session was established
    ERROR = "error"
    AUTH_SWITCH = "auth_switch"  # the server wants another auth plugin (and then a password)
    AUTH_MORE_DATA = "auth_more_data"  # the plugin continues (e.g. caching_sha2_password)


@dataclass(frozen=True)
class MySqlLoginAnswer:
    """The server's first packet after a HandshakeResponse41."""

    kind: LoginAnswerKind
    error: Optional[MySqlError] = None
    auth_plugin: Optional[str] = None  # the plugin an AuthSwitchRequest names

    def render(self) -> str:
        if self.error is not None:
            return self.error.render()
        if self.kind is LoginAnswerKind.AUTH_SWITCH:
            return f"AuthSwitchRequest to {self.auth_plugin or '(unnamed plugin)'}"
        if self.kind is LoginAnswerKind.AUTH_MORE_DATA:
            return "AuthMoreData (the auth plugin continues)"
        return "OK: a plaintext session was established"


class PlaintextOutcome(enum.Enum):
    REFUSED = "refused"  # the server refused the session because the transport is not secure
    ACCEPTED = "accepted"  # a plaintext session was established
    INCONCLUSIVE = "inconclusive"  # the answer does not say whether plaintext is allowed


@dataclass(frozen=True)
class PlaintextLoginClassification:
    outcome: PlaintextOutcome
    reason: str
    answer: MySqlLoginAnswer


# ---------------------------------------------------------------------------------------------
# Reading


def read_packet(sock: socket.socket, deadline: Deadline, what: str) -> MySqlPacket:
    """Read one packet (3-byte LE payload length, 1-byte sequence id, payload) before ``deadline``.

    Fails closed: truncation, timeout and a length beyond ``MAX_HANDSHAKE_PAYLOAD`` all raise.
    """
    header = recv_exact(sock, 4, deadline, what)
    return _read_payload(sock, header, deadline, what)


def _read_payload(sock: socket.socket, header: bytes, deadline: Deadline, what: str) -> MySqlPacket:
    length = int.from_bytes(header[:3], "little")
    if length > MAX_HANDSHAKE_PAYLOAD:
        raise WrongEngineError(
            f"{what} from {_peer(sock)} is not a MySQL packet: its length header says "
            f"{length} bytes (limit {MAX_HANDSHAKE_PAYLOAD}); first bytes "
            f"{header + available(sock, 64)!r}. "
            "Check that the endpoint is a MySQL-compatible server."
        )
    payload = recv_exact(sock, length, deadline, what) if length else b""
    return MySqlPacket(sequence_id=header[3], payload=payload)


def read_greeting(sock: socket.socket, deadline: Deadline) -> MySqlGreeting:
    """Read and parse the server's first packet: a greeting, or raise saying what came instead."""
    what = "the MySQL server greeting"
    try:
        first = recv_exact(sock, 1, deadline, what)
    except NetworkError as exc:
        if exc.kind != "timeout":
            raise
        raise WrongEngineError(
            f"connected to {_peer(sock)}, but it sent nothing within {deadline.seconds:g} s. "
            "A MySQL / Aurora MySQL server greets first; a PostgreSQL server or a TLS terminator "
            "waits silently for the client. Check that the endpoint is MySQL-compatible, or raise "
            "the timeout if the server is overloaded."
        ) from None
    header = first + recv_exact(sock, 3, deadline, what)
    packet = _read_payload(sock, header, deadline, what)
    return parse_greeting(packet.payload)


def read_login_answer(sock: socket.socket, deadline: Deadline) -> MySqlLoginAnswer:
    """Read the server's answer to a HandshakeResponse41 (see ``probe_login_packet``)."""
    packet = read_packet(sock, deadline, "the answer to the login packet")
    return parse_login_answer(packet.payload)


def _peer(sock: socket.socket) -> str:
    try:
        host, port = sock.getpeername()[:2]
    except (OSError, ValueError):
        return "the server"
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


# ---------------------------------------------------------------------------------------------
# Parsing


class _Cursor:
    """Bounds-checked reads over one payload; running off the end is a malformed packet."""

    def __init__(self, payload: bytes, what: str) -> None:
        self._data = payload
        self._pos = 0
        self._what = what

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def take(self, size: int, field_name: str) -> bytes:
        if size > self.remaining:
            raise ProbeError(
                f"malformed {self._what}: it ends after {len(self._data)} bytes, inside "
                f"{field_name}; first bytes {self._data[:48]!r}"
            )
        chunk = self._data[self._pos:self._pos + size]
        self._pos += size
        return chunk

    def uint(self, size: int, field_name: str) -> int:
        return int.from_bytes(self.take(size, field_name), "little")

    def nul_string(self, field_name: str, *, terminator_optional: bool = False) -> bytes:
        end = self._data.find(b"\0", self._pos)
        if end < 0:
            if not terminator_optional:
                raise ProbeError(
                    f"malformed {self._what}: {field_name} has no NUL terminator; "
                    f"first bytes {self._data[:48]!r}"
                )
            end = len(self._data)
        text = self._data[self._pos:end]
        self._pos = min(end + 1, len(self._data))
        return text

    def rest(self) -> bytes:
        chunk = self._data[self._pos:]
        self._pos = len(self._data)
        return chunk


def parse_greeting(payload: bytes) -> MySqlGreeting:
    """Parse Protocol::HandshakeV10; an ERR packet or foreign bytes raise with the evidence."""
    if not payload:
        raise WrongEngineError("the server sent an empty packet instead of a MySQL greeting")
    if payload[0] == 0xFF:
        error = parse_err_packet(payload)
        raise ProbeError(
            f"the server refused the connection before greeting: {error.render()}"
            f"{_PRE_GREETING_HINTS.get(error.code, '')}"
        )
    if payload[0] != PROTOCOL_VERSION_10:
        raise WrongEngineError(
            "the server's first packet is not a MySQL HandshakeV10 greeting; "
            f"first bytes {payload[:48]!r}"
        )
    cursor = _Cursor(payload, "MySQL greeting")
    protocol_version = cursor.uint(1, "protocol version")
    version = cursor.nul_string("server version").decode("utf-8", "replace")
    thread_id = cursor.uint(4, "thread id")
    scramble = cursor.take(8, "auth-plugin-data part 1")
    cursor.take(1, "filler")
    capabilities = cursor.uint(2, "capability flags (lower half)")
    charset = status_flags = mariadb_capabilities = 0
    plugin = b""
    if cursor.remaining:  # MySQL documents everything after the lower flags as optional
        charset = cursor.uint(1, "character set")
        status_flags = cursor.uint(2, "status flags")
        capabilities |= cursor.uint(2, "capability flags (upper half)") << 16
        auth_data_length = cursor.uint(1, "auth-plugin-data length")
        cursor.take(6, "reserved bytes")
        mariadb_capabilities = cursor.uint(4, "reserved bytes / MariaDB capabilities")
        if capabilities & CLIENT_LONG_PASSWORD:
            mariadb_capabilities = 0  # CLIENT_MYSQL set: the four bytes are plain filler
        if capabilities & CLIENT_SECURE_CONNECTION:
            part2 = cursor.take(max(13, auth_data_length - 8), "auth-plugin-data part 2")
            scramble += part2[:-1] if part2.endswith(b"\0") else part2
        if capabilities & CLIENT_PLUGIN_AUTH:
            # Some MySQL 5.5 releases omitted the final NUL.
            plugin = cursor.nul_string("auth plugin name", terminator_optional=True)
    prefixed = version.startswith(MARIADB_VERSION_PREFIX)
    return MySqlGreeting(
        protocol_version=protocol_version,
        server_version=version[len(MARIADB_VERSION_PREFIX):] if prefixed else version,
        mariadb_version_prefix=prefixed,
        thread_id=thread_id,
        capabilities=capabilities,
        charset=charset,
        status_flags=status_flags,
        mariadb_capabilities=mariadb_capabilities,
        auth_plugin_name=plugin.decode("ascii", "replace"),
        scramble=scramble,
    )


_PRE_GREETING_HINTS = {
    1040: "; the server is at max_connections: retry later or raise max_connections",
    1129: "; the server blocked this client host after too many failed connections: "
    "run FLUSH HOSTS (mariadb-admin flush-hosts) or raise max_connect_errors",
    1130: "; the server does not allow connections from this client host",
}


def parse_err_packet(payload: bytes) -> MySqlError:
    """ERR_Packet: 0xFF, error code (LE), then ``#`` + 5-char SQLSTATE if present, then the message.

    Before the greeting the server does not know the client speaks protocol 4.1 and sends no
    SQLSTATE; afterwards it always does.
    """
    cursor = _Cursor(payload, "MySQL ERR packet")
    if cursor.uint(1, "header") != 0xFF:
        raise ProbeError(f"not a MySQL ERR packet: first bytes {payload[:48]!r}")
    code = cursor.uint(2, "error code")
    sqlstate: Optional[str] = None
    if payload[3:4] == b"#":
        cursor.take(1, "SQLSTATE marker")
        sqlstate = cursor.take(5, "SQLSTATE").decode("ascii", "replace")
    message = cursor.rest().decode("utf-8", "replace")
    return MySqlError(code=code, sqlstate=sqlstate, message=message)


def parse_login_answer(payload: bytes) -> MySqlLoginAnswer:
    if not payload:
        raise ProbeError("the server answered the login packet with an empty packet")
    header = payload[0]
    if header == 0x00 and len(payload) >= 7:
        return MySqlLoginAnswer(LoginAnswerKind.OK)
    if header == 0xFF:
        return MySqlLoginAnswer(LoginAnswerKind.ERROR, error=parse_err_packet(payload))
    if header == 0xFE:
        if len(payload) == 1:
            # The pre-4.1 "old auth switch": the server wants the mysql_old_password scramble.
            return MySqlLoginAnswer(LoginAnswerKind.AUTH_SWITCH, auth_plugin="mysql_old_password")
        name = _Cursor(payload[1:], "AuthSwitchRequest").nul_string(
            "plugin name", terminator_optional=True
        )
        plugin = name.decode("ascii", "replace")
        return MySqlLoginAnswer(LoginAnswerKind.AUTH_SWITCH, auth_plugin=plugin)
    if header == 0x01:
        return MySqlLoginAnswer(LoginAnswerKind.AUTH_MORE_DATA)
    raise ProbeError(
        f"the server answered the login packet with an unknown packet; first bytes {payload[:48]!r}"
    )


# ---------------------------------------------------------------------------------------------
# Building


def frame(payload: bytes, sequence_id: int) -> bytes:
    """One packet: the payload behind its 3-byte little-endian length and sequence id."""
    if len(payload) >= 0xFFFFFF:
        raise ValueError("a payload of 16 MiB or more needs several packets; none of ours does")
    return len(payload).to_bytes(3, "little") + bytes([sequence_id]) + payload


def client_charset(greeting: MySqlGreeting) -> int:
    """utf8mb4 in the collation the server knows: 255 on MySQL 8+, 45 elsewhere."""
    if not greeting.is_mariadb and greeting.version_numbers >= (8, 0, 0):
        return CHARSET_UTF8MB4_0900_AI_CI
    return CHARSET_UTF8MB4_GENERAL_CI


def _client_flags(greeting: MySqlGreeting) -> int:
    if not greeting.capabilities & CLIENT_PROTOCOL_41:
        raise ProbeError(
            f"the server ({greeting.server_version!r}) does not speak protocol 4.1 "
            "(CLIENT_PROTOCOL_41); MySQL older than 4.1 cannot be probed"
        )
    return _PROBE_CAPABILITIES & greeting.capabilities


def _fixed_prefix(flags: int, greeting: MySqlGreeting) -> bytes:
    """client_flag, max_packet_size, charset and 23 zero bytes: the start of both client packets."""
    return struct.pack("<IIB", flags, MAX_CLIENT_PACKET, client_charset(greeting)) + bytes(23)


def ssl_request_packet(greeting: MySqlGreeting) -> bytes:
    """Protocol::SSLRequest (32-byte payload, sequence id 1): the client's STARTTLS.

    After sending it, the client starts a TLS handshake on the same socket.
    """
    if not greeting.offers_tls:
        raise ProbeError(
            f"the server ({greeting.server_version!r}) does not advertise CLIENT_SSL, so an "
            "SSLRequest cannot start TLS: the server does not offer TLS at all"
        )
    payload = _fixed_prefix(_client_flags(greeting) | CLIENT_SSL, greeting)
    return frame(payload, 1)


def probe_login_packet(greeting: MySqlGreeting, user: str = PROBE_USER) -> bytes:
    """A plaintext HandshakeResponse41 with an empty auth response: it carries no password.

    The server's answer says whether it even considers a session over plaintext; see
    ``classify_plaintext_login``.
    """
    flags = _client_flags(greeting)
    payload = _fixed_prefix(flags, greeting) + user.encode("utf-8") + b"\0"
    # Empty auth response: a zero length byte (CLIENT_SECURE_CONNECTION) or an empty
    # NUL-terminated string (without it); both are the single byte 0x00.
    payload += b"\0"
    if flags & CLIENT_PLUGIN_AUTH:
        payload += PROBE_AUTH_PLUGIN.encode("ascii") + b"\0"
    if flags & CLIENT_CONNECT_ATTRS:
        attributes = b"".join(
            _lenenc_string(key) + _lenenc_string(value)
            for key, value in (
                ("_client_name", PROGRAM_NAME),
                ("_client_version", __version__),
                ("program_name", PROGRAM_NAME),
            )
        )
        payload += _lenenc_int(len(attributes)) + attributes
    return frame(payload, 1)


def _lenenc_int(value: int) -> bytes:
    if value < 0xFB:
        return bytes([value])
    if value < 1 << 16:
        return b"\xfc" + value.to_bytes(2, "little")
    if value < 1 << 24:
        return b"\xfd" + value.to_bytes(3, "little")
    return b"\xfe" + value.to_bytes(8, "little")


def _lenenc_string(text: str) -> bytes:
    data = text.encode("utf-8")
    return _lenenc_int(len(data)) + data


# ---------------------------------------------------------------------------------------------
# Classifying


def classify_plaintext_login(answer: MySqlLoginAnswer) -> PlaintextLoginClassification:
    """What a credential-free plaintext login proves about ``require_secure_transport``.

    Only error 3159 proves a refusal. MariaDB before MDEV-30178 (10.11 included) and MySQL 5.7
    check the password before the transport, and MySQL 8 / Aurora MySQL most likely do too, so
    their "access denied" says nothing about it (facts §3.2, §3.3, §9).
    """
    kind = answer.kind
    if kind is LoginAnswerKind.OK:
        return PlaintextLoginClassification(
            PlaintextOutcome.ACCEPTED,
            "the server established a session over plaintext for a login without a password",
            answer,
        )
    if kind is LoginAnswerKind.AUTH_SWITCH or kind is LoginAnswerKind.AUTH_MORE_DATA:
        return PlaintextLoginClassification(
            PlaintextOutcome.INCONCLUSIVE,
            f"the server went on with authentication over plaintext ({answer.render()}); servers "
            "that check the transport after the password (MySQL, Aurora MySQL, MariaDB before "
            "MDEV-30178) do this whether or not they require secure transport",
            answer,
        )
    error = answer.error
    if error is None:  # an ERROR answer always carries its packet; fail closed if not
        return PlaintextLoginClassification(
            PlaintextOutcome.INCONCLUSIVE, "the server's error packet could not be read", answer
        )
    if error.code == ER_SECURE_TRANSPORT_REQUIRED:
        server = _SECURE_TRANSPORT_SQLSTATES.get(error.sqlstate or "")
        if server is not None:
            return PlaintextLoginClassification(
                PlaintextOutcome.REFUSED,
                f"the server refused plaintext: {error.render()} (as {server} does with "
                "require_secure_transport=ON)",
                answer,
            )
        return PlaintextLoginClassification(
            PlaintextOutcome.INCONCLUSIVE,
            f"error 3159 with SQLSTATE {error.sqlstate!r}, which no known server sends with it: "
            f"{error.render()}",
            answer,
        )
    if error.code == ER_ACCESS_DENIED_ERROR:
        return PlaintextLoginClassification(
            PlaintextOutcome.INCONCLUSIVE,
            f"{error.render()}: servers that check the password before require_secure_transport "
            "(MariaDB 10.11, MySQL 5.7, most likely MySQL 8 / Aurora MySQL) send this same error "
            "whether or not they allow plaintext",
            answer,
        )
    return PlaintextLoginClassification(
        PlaintextOutcome.INCONCLUSIVE,
        f"the server refused the login for a reason that is not the transport: {error.render()}",
        answer,
    )
