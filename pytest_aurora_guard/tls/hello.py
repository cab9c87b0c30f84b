"""One TLS ClientHello out, one ServerHello (or HelloRetryRequest, or alert) back.

This is how we learn which protocol versions and cipher suites a server accepts without
completing a handshake: Python's ``ssl`` cannot offer chosen TLS 1.3 suites (``set_ciphers``
leaves them alone) nor TLS 1.0/1.1 at default security levels, and a full handshake per suite
is slow. The server's first flight names its choice (RFC 8446 §4.1.3, RFC 5246 §7.4.1.3), so
we build the ClientHello ourselves and read only as far as that choice.

It runs over any connected socket a caller has already brought to the point where a ClientHello
is expected: straight after TCP connect, after a PostgreSQL SSLRequest answered ``S``, after a
MySQL SSLRequest packet. Everything the server sends is checked; anything we cannot account for
is reported as what it is (closed, timed out, not TLS, malformed, an unoffered choice), never
guessed into "accepted" or "refused".
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from ..errors import ConfigurationError, ProbeError
from ..wire.net import Deadline, NetworkError, recv_exact
from .versions import TlsVersion

# Record content types (RFC 8446 §5.1, RFC 5246 §6.2.1).
_CHANGE_CIPHER_SPEC = 20
_ALERT = 21
_HANDSHAKE = 22
_APPLICATION_DATA = 23
_HEARTBEAT = 24  # RFC 6520; listed so that a heartbeat reads as TLS, not as a foreign protocol
_CONTENT_TYPES = {
    _CHANGE_CIPHER_SPEC: "change_cipher_spec",
    _ALERT: "alert",
    _HANDSHAKE: "handshake",
    _APPLICATION_DATA: "application_data",
    _HEARTBEAT: "heartbeat",
}

_CLIENT_HELLO = 1
_SERVER_HELLO = 2

# A record's plaintext is at most 2^14 bytes (RFC 8446 §5.1, RFC 5246 §6.2.1); longer is garbage.
_MAX_RECORD = 2**14
# A ServerHello carries a few extensions; anything near this size is not one.
_MAX_SERVER_HELLO = 2**16

# The random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
HELLO_RETRY_REQUEST_RANDOM = bytes.fromhex(
    "CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C"
)

# Signalling cipher suite value: "I support secure renegotiation", the way to say so in an
# SSLv3 hello, which carries no extensions (RFC 5746 §3.3). Servers tolerate it everywhere.
TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00FF

# Extension types (IANA TLS ExtensionType registry).
_EXT_SERVER_NAME = 0  # RFC 6066 §3
_EXT_SUPPORTED_GROUPS = 10  # RFC 8422 §5.1.1, RFC 8446 §4.2.7
_EXT_EC_POINT_FORMATS = 11  # RFC 8422 §5.1.2
_EXT_SIGNATURE_ALGORITHMS = 13  # RFC 5246 §7.4.1.4.1, RFC 8446 §4.2.3
_EXT_ALPN = 16  # RFC 7301
_EXT_PADDING = 21  # RFC 7685
_EXT_EXTENDED_MASTER_SECRET = 23  # RFC 7627
_EXT_SUPPORTED_VERSIONS = 43  # RFC 8446 §4.2.1
_EXT_KEY_SHARE = 51  # RFC 8446 §4.2.8

# Named groups (RFC 8446 §4.2.7, RFC 7919). x25519 is what most servers prefer; secp256r1 is the
# only group PostgreSQL offers by default (ssl_ecdh_curve = prime256v1); secp384r1 is common on
# hardened servers; ffdhe2048 lets an RFC 7919 server pick a DHE suite for us in TLS 1.2.
GROUP_X25519 = 0x001D
GROUP_SECP256R1 = 0x0017
GROUP_SECP384R1 = 0x0018
GROUP_FFDHE2048 = 0x0100
_SUPPORTED_GROUPS = (GROUP_X25519, GROUP_SECP256R1, GROUP_SECP384R1, GROUP_FFDHE2048)

# Every signature scheme a server might need for its certificate, weak ones included: we probe
# what the server accepts, so we must not be the reason a suite is refused (RFC 8446 §4.2.3,
# RFC 5246 §7.4.1.4.1 for the SHA-1/SHA-224 and DSA codes).
_SIGNATURE_SCHEMES = (
    0x0403, 0x0503, 0x0603,  # ecdsa_secp256r1_sha256, _secp384r1_sha384, _secp521r1_sha512
    0x0807, 0x0808,  # ed25519, ed448
    0x0804, 0x0805, 0x0806,  # rsa_pss_rsae_sha256/384/512
    0x0809, 0x080A, 0x080B,  # rsa_pss_pss_sha256/384/512
    0x0401, 0x0501, 0x0601,  # rsa_pkcs1_sha256/384/512
    0x0303, 0x0301, 0x0302,  # sha224 with ecdsa, rsa, dsa
    0x0203, 0x0201, 0x0202,  # sha1 with ecdsa, rsa, dsa
    0x0402, 0x0502, 0x0602,  # dsa with sha256/384/512
)

# Alerts that mean "not with what you offered": handshake_failure (no common suite, RFC 5246
# §7.4.1.3), protocol_version (version not spoken, RFC 8446 §4.2.1, RFC 5246 §E.1) and
# insufficient_security (RFC 5246 §7.2.2). Any other alert is about something else (SNI, ALPN,
# a parse error on the server's side) and proves nothing about suites or versions.
REFUSAL_ALERTS: Dict[int, str] = {40: "handshake_failure", 70: "protocol_version", 71: "insufficient_security"}
PROTOCOL_VERSION_ALERT = 70

# Alert descriptions (RFC 8446 §6, plus the ones RFC 5246 §7.2 defined and 8446 retired).
ALERT_DESCRIPTIONS: Dict[int, str] = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    21: "decryption_failed",
    22: "record_overflow",
    30: "decompression_failure",
    40: "handshake_failure",
    41: "no_certificate",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    60: "export_restriction",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    100: "no_renegotiation",
    109: "missing_extension",
    110: "unsupported_extension",
    111: "certificate_unobtainable",
    112: "unrecognized_name",
    113: "bad_certificate_status_response",
    114: "bad_certificate_hash_value",
    115: "unknown_psk_identity",
    116: "certificate_required",
    120: "no_application_protocol",
}

# Warning alerts we skip before a ServerHello; a peer sending more is not negotiating.
_MAX_WARNING_ALERTS = 4

# How much of a foreign or malformed answer we keep as evidence.
_EVIDENCE_BYTES = 256


def version_name(wire_version: int) -> str:
    """``TLSv1.2`` for a known wire value, ``0x7F1C`` for anything else (drafts, garbage)."""
    try:
        return TlsVersion(wire_version).label
    except ValueError:
        return f"0x{wire_version:04X}"


# ---------------------------------------------------------------------------------------------
# Outcomes: exactly one per ClientHello sent.


@dataclass(frozen=True)
class ServerChose:
    """The server answered with a ServerHello (or HelloRetryRequest) for what we offered."""

    version: TlsVersion
    suite_code: int
    is_hello_retry: bool

    def describe(self) -> str:
        kind = "HelloRetryRequest" if self.is_hello_retry else "ServerHello"
        return f"{kind}: {self.version.label}, cipher suite 0x{self.suite_code:04X}"


@dataclass(frozen=True)
class ServerAlert:
    """The server refused with a TLS alert instead of a ServerHello."""

    level: int  # 1 warning, 2 fatal (RFC 5246 §7.2; TLS 1.3 treats all as fatal)
    description: int
    description_name: str

    def describe(self) -> str:
        level = {1: "warning", 2: "fatal"}.get(self.level, f"level {self.level}")
        return f"{level} alert {self.description} ({self.description_name})"


@dataclass(frozen=True)
class UnofferedChoice:
    """A well-formed ServerHello choosing something we did not offer: a protocol violation,
    or a server that speaks an older version than we asked for. Never an acceptance."""

    version: int  # the wire version the server selected
    suite_code: int
    is_hello_retry: bool
    reason: str

    def describe(self) -> str:
        return f"ServerHello outside our offer: {self.reason}"


@dataclass(frozen=True)
class ConnectionClosed:
    """EOF or reset before a complete answer, without an alert."""

    after_bytes: int
    reset: bool = False

    def describe(self) -> str:
        how = "reset" if self.reset else "closed"
        return f"connection {how} by the server after {self.after_bytes} bytes, without an alert"


@dataclass(frozen=True)
class Timeout:
    """No complete answer within the deadline."""

    seconds: float
    after_bytes: int = 0

    def describe(self) -> str:
        return f"no complete answer within {self.seconds:g} s ({self.after_bytes} bytes received)"


@dataclass(frozen=True)
class NotTls:
    """The server answered something that is not a TLS record (a PostgreSQL error, HTTP, ...)."""

    first_bytes: bytes

    def describe(self) -> str:
        return f"answer is not TLS: {self.first_bytes[:64]!r}"


@dataclass(frozen=True)
class Malformed:
    """TLS-looking data that does not parse: truncated, oversized, inconsistent lengths."""

    reason: str
    received: bytes

    def describe(self) -> str:
        return f"malformed TLS answer: {self.reason}"


HelloOutcome = Union[
    ServerChose, ServerAlert, UnofferedChoice, ConnectionClosed, Timeout, NotTls, Malformed
]


class HelloParseError(ProbeError):
    """Bytes that claim to be a ServerHello but are not one (raised by the pure parsers)."""


# ---------------------------------------------------------------------------------------------
# Building the ClientHello.


def _u8_prefixed(data: bytes) -> bytes:
    return struct.pack("!B", len(data)) + data


def _u16_prefixed(data: bytes) -> bytes:
    return struct.pack("!H", len(data)) + data


def _u16_list(values: Sequence[int]) -> bytes:
    return b"".join(struct.pack("!H", v) for v in values)


def _extension(ext_type: int, data: bytes) -> bytes:
    return struct.pack("!HH", ext_type, len(data)) + data


def _is_dns_name(server_name: str) -> bool:
    # RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted in HostName".
    try:
        ipaddress.ip_address(server_name.strip("[]"))
    except ValueError:
        return True
    return False


def _key_shares() -> bytes:
    # RFC 8446 §4.2.8: one KeyShareEntry per group. We never finish the handshake, so the
    # private halves are discarded, but the points are real: a server may validate them.
    x25519_public = x25519.X25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )  # 32 bytes (RFC 8446 §4.2.8.2)
    p256_public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )  # 65 bytes: 0x04 || X || Y (RFC 8446 §4.2.8.2)
    entries = struct.pack("!H", GROUP_X25519) + _u16_prefixed(x25519_public)
    entries += struct.pack("!H", GROUP_SECP256R1) + _u16_prefixed(p256_public)
    return _u16_prefixed(entries)


def build_client_hello(
    *,
    version: TlsVersion,
    suites: Sequence[int],
    server_name: Optional[str],
    alpn: Sequence[str] = (),
) -> bytes:
    """The complete record (header included) of a ClientHello offering exactly ``version``.

    TLS 1.3: legacy_version 0x0303 and supported_versions listing only 0x0304 (RFC 8446 §4.1.2,
    §4.2.1), key shares for x25519 and secp256r1, no renegotiation SCSV.

    TLS 1.0-1.2 and SSLv3: client_version is the version itself and there is **no**
    supported_versions extension. RFC 8446 §4.2.1 makes a TLS 1.3-capable server without that
    extension negotiate by legacy_version exactly as RFC 5246 did, and servers that predate
    TLS 1.3 have been seen to reject unknown or oddly-valued version extensions, so leaving it
    out is what every server understands; listing only the one version would tell a 1.3 server
    nothing more. The renegotiation SCSV is added (RFC 5746 §3.4), as real clients send it.
    SSLv3 hellos carry no extensions at all: RFC 6101 has none and SSLv3 servers choke on them.
    """
    if not suites:
        raise ValueError("a ClientHello must offer at least one cipher suite")
    offered = list(suites)
    if version < TlsVersion.TLSv1_3 and TLS_EMPTY_RENEGOTIATION_INFO_SCSV not in offered:
        offered.append(TLS_EMPTY_RENEGOTIATION_INFO_SCSV)
    if len(offered) * 2 > 0xFFFE:
        raise ValueError(f"{len(offered)} cipher suites do not fit in one ClientHello")

    is_tls13 = version is TlsVersion.TLSv1_3
    legacy_version = TlsVersion.TLSv1_2 if is_tls13 else version
    # TLS 1.3 "middlebox compatibility mode" sends a 32-byte session id (RFC 8446 §D.4);
    # earlier versions start without one.
    session_id = os.urandom(32) if is_tls13 else b""

    extensions = b""
    if version >= TlsVersion.TLSv1_0:
        if server_name and _is_dns_name(server_name):
            try:
                host = server_name.rstrip(".").encode("idna")
            except UnicodeError as exc:
                raise ConfigurationError(
                    f"{server_name!r} cannot be sent as a TLS server name (SNI): {exc}; "
                    "give the endpoint's DNS name or an IP address"
                ) from exc
            entry = struct.pack("!B", 0) + _u16_prefixed(host)  # name_type host_name
            extensions += _extension(_EXT_SERVER_NAME, _u16_prefixed(entry))
        extensions += _extension(_EXT_SUPPORTED_GROUPS, _u16_prefixed(_u16_list(_SUPPORTED_GROUPS)))
        extensions += _extension(_EXT_EC_POINT_FORMATS, _u8_prefixed(b"\x00"))  # uncompressed
        if version >= TlsVersion.TLSv1_2:
            # Meaningless before TLS 1.2, and RFC 5246 §7.4.1.4.1 says not to send it there.
            extensions += _extension(
                _EXT_SIGNATURE_ALGORITHMS, _u16_prefixed(_u16_list(_SIGNATURE_SCHEMES))
            )
        if alpn:
            names = b"".join(_u8_prefixed(p.encode("ascii")) for p in alpn)
            extensions += _extension(_EXT_ALPN, _u16_prefixed(names))
        if is_tls13:
            extensions += _extension(_EXT_SUPPORTED_VERSIONS, _u8_prefixed(_u16_list([0x0304])))
            extensions += _extension(_EXT_KEY_SHARE, _key_shares())
        else:
            # Servers configured to require it may refuse a hello without it (RFC 7627 §5.3).
            extensions += _extension(_EXT_EXTENDED_MASTER_SECRET, b"")

    body = struct.pack("!H", legacy_version) + os.urandom(32) + _u8_prefixed(session_id)
    body += _u16_prefixed(_u16_list(offered)) + _u8_prefixed(b"\x00")  # null compression only
    if extensions:
        # Some TLS terminators hang on ClientHellos of 256-511 bytes; pad them to 512
        # (RFC 7685 §4, the workaround OpenSSL and browsers apply).
        length = 4 + len(body) + 2 + len(extensions)
        if 0x100 <= length < 0x200:
            extensions += _extension(_EXT_PADDING, b"\x00" * max(0x200 - length - 4, 0))
        body += _u16_prefixed(extensions)
    handshake = struct.pack("!B", _CLIENT_HELLO) + struct.pack("!I", len(body))[1:] + body
    # The record layer version of an initial ClientHello: 0x0301 for any TLS version, as
    # RFC 8446 §5.1 allows and real clients send, so that old servers do not reject the record.
    record_version = min(version, TlsVersion.TLSv1_0)
    return struct.pack("!BHH", _HANDSHAKE, record_version, len(handshake)) + handshake


# ---------------------------------------------------------------------------------------------
# Parsing the ServerHello.


@dataclass(frozen=True)
class ParsedServerHello:
    legacy_version: int
    random: bytes
    suite_code: int
    compression_method: int
    extensions: Tuple[Tuple[int, bytes], ...]

    @property
    def is_hello_retry(self) -> bool:
        return self.random == HELLO_RETRY_REQUEST_RANDOM

    @property
    def selected_version(self) -> int:
        """supported_versions if the server sent it (TLS 1.3, RFC 8446 §4.2.1), else legacy."""
        for ext_type, data in self.extensions:
            if ext_type == _EXT_SUPPORTED_VERSIONS:
                if len(data) != 2:
                    raise HelloParseError(
                        f"supported_versions in ServerHello is {len(data)} bytes, not 2"
                    )
                return int.from_bytes(data, "big")
        return self.legacy_version


class _Reader:
    """Bounds-checked reads over a byte string; every overrun is a HelloParseError."""

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._offset = 0
        self._what = what

    def take(self, count: int, field: str) -> bytes:
        end = self._offset + count
        if end > len(self._data):
            raise HelloParseError(
                f"{self._what} truncated in {field}: needs {count} bytes at offset "
                f"{self._offset}, {len(self._data) - self._offset} left"
            )
        chunk = self._data[self._offset:end]
        self._offset = end
        return chunk

    def u8(self, field: str) -> int:
        return self.take(1, field)[0]

    def u16(self, field: str) -> int:
        return int.from_bytes(self.take(2, field), "big")

    @property
    def remaining(self) -> int:
        return len(self._data) - self._offset


def parse_server_hello(body: bytes) -> ParsedServerHello:
    """Parse a ServerHello handshake body (after the 4-byte handshake header)."""
    reader = _Reader(body, "ServerHello")
    legacy_version = reader.u16("legacy_version")
    random = reader.take(32, "random")
    session_id_length = reader.u8("legacy_session_id length")
    if session_id_length > 32:  # RFC 8446 §4.1.3, RFC 5246 §7.4.1.2
        raise HelloParseError(f"ServerHello session id is {session_id_length} bytes, max 32")
    reader.take(session_id_length, "legacy_session_id")
    suite_code = reader.u16("cipher_suite")
    compression_method = reader.u8("compression_method")
    extensions: List[Tuple[int, bytes]] = []
    if reader.remaining:  # extensions are optional before TLS 1.3 (RFC 5246 §7.4.1.3)
        block = _Reader(reader.take(reader.u16("extensions length"), "extensions"), "extensions")
        seen = set()
        while block.remaining:
            ext_type = block.u16("extension type")
            data = block.take(block.u16("extension length"), f"extension {ext_type}")
            if ext_type in seen:  # RFC 8446 §4.2: at most one extension of each type
                raise HelloParseError(f"ServerHello repeats extension {ext_type}")
            seen.add(ext_type)
            extensions.append((ext_type, data))
    if reader.remaining:
        raise HelloParseError(f"{reader.remaining} bytes after the ServerHello extensions")
    return ParsedServerHello(
        legacy_version, random, suite_code, compression_method, tuple(extensions)
    )


def judge_server_hello(
    hello: ParsedServerHello, *, version: TlsVersion, suites: Sequence[int]
) -> Union[ServerChose, UnofferedChoice]:
    """Hold a parsed ServerHello against what we offered."""
    chosen = hello.selected_version
    retry = hello.is_hello_retry
    offered_suites = set(suites)
    if version is TlsVersion.TLSv1_3 and hello.legacy_version != 0x0303 and chosen == 0x0304:
        # RFC 8446 §4.1.3: a TLS 1.3 ServerHello keeps legacy_version 0x0303.
        return UnofferedChoice(
            chosen, hello.suite_code, retry,
            f"TLS 1.3 ServerHello with legacy_version {version_name(hello.legacy_version)}",
        )
    if chosen != version:
        return UnofferedChoice(
            chosen, hello.suite_code, retry,
            f"server selected {version_name(chosen)} although only {version.label} was offered",
        )
    if retry and version is not TlsVersion.TLSv1_3:
        return UnofferedChoice(
            chosen, hello.suite_code, retry, "HelloRetryRequest outside TLS 1.3"
        )
    if hello.suite_code not in offered_suites:
        return UnofferedChoice(
            chosen, hello.suite_code, retry,
            f"server selected cipher suite 0x{hello.suite_code:04X}, which was not offered",
        )
    if hello.compression_method != 0:
        return UnofferedChoice(
            chosen, hello.suite_code, retry,
            f"server selected compression method {hello.compression_method}; only null "
            "was offered",
        )
    return ServerChose(TlsVersion(chosen), hello.suite_code, retry)


# ---------------------------------------------------------------------------------------------
# The exchange.


class _Stop(Exception):
    """Carries the outcome out of the read loop."""

    def __init__(self, outcome: HelloOutcome) -> None:
        super().__init__(outcome)
        self.outcome = outcome


class _Receiver:
    """Reads exact byte counts from the socket against one total deadline, keeping what arrived."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self._sock = sock
        self._deadline = deadline
        self.received = bytearray()

    def exactly(self, count: int) -> bytes:
        try:
            return recv_exact(self._sock, count, self._deadline, "the server's answer to our ClientHello",
                              evidence=self.received)
        except NetworkError as exc:
            if exc.kind == "timeout":
                raise _Stop(Timeout(self._deadline.seconds, len(self.received))) from None
            raise _Stop(ConnectionClosed(len(self.received), reset=exc.kind == "reset")) from None

    def evidence(self, wait: float) -> bytes:
        """Whatever else arrives within ``wait`` seconds, for the report; never blocks longer."""
        # A timeout or reset here only means the evidence we have is all there is.
        with contextlib.suppress(OSError, NetworkError):
            remaining = min(wait, self._deadline.remaining())
            if len(self.received) < _EVIDENCE_BYTES:
                self._sock.settimeout(remaining)
                self.received += self._sock.recv(_EVIDENCE_BYTES - len(self.received))
        return bytes(self.received[:_EVIDENCE_BYTES])


def _read_server_hello(receiver: _Receiver, *, tolerate_warnings: bool) -> bytes:
    """The body of the first handshake message, reassembled across records if fragmented."""
    handshake = b""
    warnings = 0
    while True:
        first = receiver.exactly(1)
        if first[0] not in _CONTENT_TYPES:
            raise _Stop(NotTls(receiver.evidence(0.2)))
        header = first + receiver.exactly(4)
        content_type, major, length = header[0], header[1], int.from_bytes(header[3:5], "big")
        if major != 3:
            # SSLv3 and every TLS version use major version 3 (RFC 6101 §5.2.1).
            raise _Stop(NotTls(receiver.evidence(0.2)))
        if length == 0 or length > _MAX_RECORD:
            raise _Stop(Malformed(f"record length {length} out of range", bytes(receiver.received)))
        fragment = receiver.exactly(length)
        if content_type == _ALERT:
            if handshake:
                raise _Stop(
                    Malformed("alert inside a fragmented ServerHello", bytes(receiver.received))
                )
            if length != 2:  # alerts are never fragmented or coalesced (RFC 8446 §5.1)
                raise _Stop(Malformed(f"alert record of {length} bytes", bytes(receiver.received)))
            level, description = fragment[0], fragment[1]
            if tolerate_warnings and level == 1 and description not in (0, 90):
                # Before TLS 1.3 a warning (e.g. unrecognized_name, RFC 6066 §3) may precede
                # the ServerHello and the handshake goes on (RFC 5246 §7.2.2). TLS 1.3 treats
                # every alert but close_notify/user_canceled as fatal (RFC 8446 §6).
                warnings += 1
                if warnings > _MAX_WARNING_ALERTS:
                    raise _Stop(
                        Malformed(f"{warnings} warning alerts and no ServerHello",
                                  bytes(receiver.received))
                    )
                continue
            name = ALERT_DESCRIPTIONS.get(description, f"unknown({description})")
            raise _Stop(ServerAlert(level, description, name))
        if content_type != _HANDSHAKE:
            raise _Stop(
                Malformed(
                    f"{_CONTENT_TYPES[content_type]} record before any ServerHello",
                    bytes(receiver.received),
                )
            )
        handshake += fragment
        if len(handshake) >= 4:
            if handshake[0] != _SERVER_HELLO:
                raise _Stop(
                    Malformed(
                        f"first handshake message has type {handshake[0]}, not ServerHello",
                        bytes(receiver.received),
                    )
                )
            body_length = int.from_bytes(handshake[1:4], "big")
            if body_length > _MAX_SERVER_HELLO:
                raise _Stop(
                    Malformed(f"ServerHello claims {body_length} bytes", bytes(receiver.received))
                )
            if len(handshake) >= 4 + body_length:
                # Anything after the ServerHello (certificate, ...) is not ours to read.
                return handshake[4 : 4 + body_length]


def send_client_hello(
    sock: socket.socket,
    *,
    version: TlsVersion,
    suites: Sequence[int],
    server_name: Optional[str],
    timeout: float,
    alpn: Sequence[str] = (),
) -> HelloOutcome:
    """Send one ClientHello on ``sock`` and report the server's first answer to it.

    ``timeout`` bounds the whole exchange (send and every read), not each ``recv``. The socket
    is left open and in an unspecified TLS state: close it, it cannot carry anything else.
    """
    hello = build_client_hello(version=version, suites=suites, server_name=server_name, alpn=alpn)
    deadline = Deadline(timeout)
    receiver = _Receiver(sock, deadline)
    previous_timeout = sock.gettimeout()
    try:
        try:
            sock.settimeout(max(deadline.remaining(), 0.001))
            sock.sendall(hello)
        except socket.timeout:
            return Timeout(timeout, 0)
        except OSError:
            return ConnectionClosed(0, reset=True)
        try:
            body = _read_server_hello(
                receiver, tolerate_warnings=version is not TlsVersion.TLSv1_3
            )
            parsed = parse_server_hello(body)
            return judge_server_hello(parsed, version=version, suites=suites)
        except _Stop as stop:
            return stop.outcome
        except HelloParseError as exc:
            return Malformed(str(exc), bytes(receiver.received[:_EVIDENCE_BYTES]))
    finally:
        with contextlib.suppress(OSError):  # an unusable socket has nothing to restore
            sock.settimeout(previous_timeout)
