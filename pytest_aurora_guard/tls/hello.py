"""One TLS ClientHello out, one ServerHello (or HelloRetryRequest, or alert) back.

This is how we learn which protocol versions and cipher suites a server accepts without
completing a handshake: Python's ``ssl`` cannot offer chosen TLS 1.3 suites (``set_ciphers``
leaves them alone) nor TLS 1.0/1.1 at default security levels, and a full handshake per suite
is slow. The server's first flight names its choice (RFC 8446 §4.1.3, RFC 5246 §7.4.1.3), so
we build the ClientHello ourselves and read only as far as that choice.

The hello imitates OpenSSL 3.0's own client (``openssl s_client``), never offering less: the
same extensions in the same order (server_name, ec_point_formats with its three formats,
supported_groups, session_ticket, encrypt_then_mac, extended_master_secret,
signature_algorithms from TLS 1.2, supported_versions, psk_key_exchange_modes and key_share for
TLS 1.3), the renegotiation SCSV, OpenSSL's groups and signature schemes at ``@SECLEVEL=0`` as a
prefix of ours, then every other registered group (``groups.py``) and the brainpool schemes. A
server must never refuse us for something OpenSSL's client would have offered. This was checked
by capturing ``s_client``'s ClientHello at each version and comparing it field by field with
ours (the project's test suite repeats that comparison), and by ``s_server`` configured to
one group, curve or certificate type at a time. A TLS 1.3 HelloRetryRequest is answered on the
same connection, as OpenSSL answers it. Even so, a refusal seen through this codec is one
witness only: the probe confirms it with the system OpenSSL (see ``handshake.TlsContexts``).

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

from ..errors import ConfigurationError, ProbeError
from ..wire.net import Deadline, NetworkError, recv_exact
from .groups import INITIAL_KEY_SHARES, group_name, key_share, offered_groups
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
_EXT_ENCRYPT_THEN_MAC = 22  # RFC 7366
_EXT_EXTENDED_MASTER_SECRET = 23  # RFC 7627
_EXT_SESSION_TICKET = 35  # RFC 5077
_EXT_SUPPORTED_VERSIONS = 43  # RFC 8446 §4.2.1
_EXT_COOKIE = 44  # RFC 8446 §4.2.2
_EXT_PSK_KEY_EXCHANGE_MODES = 45  # RFC 8446 §4.2.9
_EXT_KEY_SHARE = 51  # RFC 8446 §4.2.8

# Every signature scheme a server might need for its certificate, weak ones included: we probe
# what the server accepts, so we must not be the reason a suite is refused. Exactly OpenSSL
# 3.0's client list at @SECLEVEL=0, in its order (as `openssl s_client -tls1_2 -cipher
# ALL:@SECLEVEL=0` sends it; SHA-1 and SHA-224 included, RFC 5246 §7.4.1.4.1), then the
# brainpool TLS 1.3 schemes (RFC 8734) that OpenSSL 3.2 added.
_SIGNATURE_SCHEMES = (
    0x0403, 0x0503, 0x0603,  # ecdsa_secp256r1_sha256, _secp384r1_sha384, _secp521r1_sha512
    0x0807, 0x0808,  # ed25519, ed448
    0x0809, 0x080A, 0x080B,  # rsa_pss_pss_sha256/384/512
    0x0804, 0x0805, 0x0806,  # rsa_pss_rsae_sha256/384/512
    0x0401, 0x0501, 0x0601,  # rsa_pkcs1_sha256/384/512
    0x0303, 0x0203, 0x0301, 0x0201, 0x0302, 0x0202,  # ecdsa, rsa, dsa with sha224 and sha1
    0x0402, 0x0502, 0x0602,  # dsa with sha256/384/512
    0x081A, 0x081B, 0x081C,  # ecdsa_brainpoolP256r1tls13_sha256, P384r1_sha384, P512r1_sha512
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
    """The server answered with a ServerHello (or HelloRetryRequest) for what we offered.

    ``group`` is the TLS 1.3 key exchange group it chose (None before TLS 1.3, where the group
    travels in ServerKeyExchange, after the certificate); ``after_retry`` says the ServerHello
    came after a HelloRetryRequest for that group, answered on the same connection.
    """

    version: TlsVersion
    suite_code: int
    is_hello_retry: bool
    group: Optional[int] = None
    after_retry: bool = False

    def describe(self) -> str:
        kind = "HelloRetryRequest" if self.is_hello_retry else "ServerHello"
        group = f", group {group_name(self.group)}" if self.group is not None else ""
        retry = " (after a HelloRetryRequest)" if self.after_retry else ""
        return f"{kind}: {self.version.label}, cipher suite 0x{self.suite_code:04X}{group}{retry}"


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


@dataclass(frozen=True)
class ClientHello:
    """What stays the same between a ClientHello and its retry (RFC 8446 §4.1.2: the second
    hello repeats the first except for key_share, cookie and padding)."""

    version: TlsVersion
    suites: Tuple[int, ...]  # as sent, the renegotiation SCSV included
    host: Optional[bytes]  # the SNI host name, IDNA-encoded; None for IP literals
    alpn: Tuple[str, ...]
    random: bytes
    session_id: bytes

    @classmethod
    def new(cls, *, version: TlsVersion, suites: Sequence[int], server_name: Optional[str],
            alpn: Sequence[str] = ()) -> ClientHello:
        if not suites:
            raise ValueError("a ClientHello must offer at least one cipher suite")
        offered = list(suites)
        # OpenSSL's client signals secure renegotiation with the SCSV in every initial hello,
        # TLS 1.3 ones included (RFC 5746 §3.4; seen in `openssl s_client -tls1_3` hellos).
        if TLS_EMPTY_RENEGOTIATION_INFO_SCSV not in offered:
            offered.append(TLS_EMPTY_RENEGOTIATION_INFO_SCSV)
        if len(offered) * 2 > 0xFFFE:
            raise ValueError(f"{len(offered)} cipher suites do not fit in one ClientHello")
        host = None
        if server_name and _is_dns_name(server_name):
            try:
                host = server_name.rstrip(".").encode("idna")
            except UnicodeError as exc:
                raise ConfigurationError(
                    f"{server_name!r} cannot be sent as a TLS server name (SNI): {exc}; "
                    "give the endpoint's DNS name or an IP address"
                ) from exc
        # TLS 1.3 "middlebox compatibility mode" sends a 32-byte session id (RFC 8446 §D.4);
        # earlier versions start without one.
        session_id = os.urandom(32) if version is TlsVersion.TLSv1_3 else b""
        return cls(version, tuple(offered), host, tuple(alpn), os.urandom(32), session_id)

    @property
    def groups(self) -> Tuple[int, ...]:
        return offered_groups(self.version is TlsVersion.TLSv1_3)

    def record(self, shares: Sequence[Tuple[int, bytes]] = (), cookie: Optional[bytes] = None,
               retry: bool = False) -> bytes:
        """The complete record (header included). Extensions in the order OpenSSL 3.0's client
        sends them: server_name, ec_point_formats, supported_groups, session_ticket, ALPN,
        encrypt_then_mac, extended_master_secret, signature_algorithms, supported_versions,
        psk_key_exchange_modes, key_share, cookie, padding."""
        version = self.version
        is_tls13 = version is TlsVersion.TLSv1_3
        extensions = b""
        if version >= TlsVersion.TLSv1_0:  # SSLv3 has no extensions (RFC 6101) and chokes on them
            if self.host is not None:
                entry = struct.pack("!B", 0) + _u16_prefixed(self.host)  # name_type host_name
                extensions += _extension(_EXT_SERVER_NAME, _u16_prefixed(entry))
            # uncompressed, ansiX962_compressed_prime, ansiX962_compressed_char2, as OpenSSL sends
            extensions += _extension(_EXT_EC_POINT_FORMATS, _u8_prefixed(b"\x00\x01\x02"))
            extensions += _extension(_EXT_SUPPORTED_GROUPS, _u16_prefixed(_u16_list(self.groups)))
            extensions += _extension(_EXT_SESSION_TICKET, b"")
            if self.alpn:
                names = b"".join(_u8_prefixed(p.encode("ascii")) for p in self.alpn)
                extensions += _extension(_EXT_ALPN, _u16_prefixed(names))
            extensions += _extension(_EXT_ENCRYPT_THEN_MAC, b"")
            # Servers configured to require it may refuse a hello without it (RFC 7627 §5.3).
            extensions += _extension(_EXT_EXTENDED_MASTER_SECRET, b"")
            if version >= TlsVersion.TLSv1_2:
                # Meaningless before TLS 1.2, and RFC 5246 §7.4.1.4.1 says not to send it there.
                extensions += _extension(
                    _EXT_SIGNATURE_ALGORITHMS, _u16_prefixed(_u16_list(_SIGNATURE_SCHEMES))
                )
            if is_tls13:
                extensions += _extension(_EXT_SUPPORTED_VERSIONS, _u8_prefixed(_u16_list([0x0304])))
                extensions += _extension(_EXT_PSK_KEY_EXCHANGE_MODES, _u8_prefixed(b"\x01"))  # psk_dhe_ke
                entries = b"".join(struct.pack("!H", group) + _u16_prefixed(data) for group, data in shares)
                extensions += _extension(_EXT_KEY_SHARE, _u16_prefixed(entries))
                if cookie is not None:
                    extensions += _extension(_EXT_COOKIE, _u16_prefixed(cookie))
        # TLS 1.0-1.2 and SSLv3: client_version is the version itself and there is no
        # supported_versions extension. RFC 8446 §4.2.1 makes a TLS 1.3-capable server without
        # that extension negotiate by legacy_version exactly as RFC 5246 did, and servers that
        # predate TLS 1.3 have been seen to reject unknown version extensions.
        legacy_version = TlsVersion.TLSv1_2 if is_tls13 else version
        body = struct.pack("!H", legacy_version) + self.random + _u8_prefixed(self.session_id)
        body += _u16_prefixed(_u16_list(self.suites)) + _u8_prefixed(b"\x00")  # null compression only
        if extensions:
            # Some TLS terminators hang on ClientHellos of 256-511 bytes; pad them to 512
            # (RFC 7685 §4, the workaround OpenSSL and browsers apply).
            length = 4 + len(body) + 2 + len(extensions)
            if 0x100 <= length < 0x200:
                extensions += _extension(_EXT_PADDING, b"\x00" * max(0x200 - length - 4, 0))
            body += _u16_prefixed(extensions)
        handshake = struct.pack("!B", _CLIENT_HELLO) + struct.pack("!I", len(body))[1:] + body
        # The record layer version of an initial ClientHello: 0x0301 for any TLS version, as
        # RFC 8446 §5.1 allows and real clients send, so that old servers do not reject the
        # record; a retry goes out as 0x0303, as OpenSSL sends it.
        record_version = TlsVersion.TLSv1_2 if retry else min(version, TlsVersion.TLSv1_0)
        return struct.pack("!BHH", _HANDSHAKE, record_version, len(handshake)) + handshake


def build_client_hello(
    *,
    version: TlsVersion,
    suites: Sequence[int],
    server_name: Optional[str],
    alpn: Sequence[str] = (),
) -> bytes:
    """The complete record of a first ClientHello offering exactly ``version``: what OpenSSL's
    client sends, but with every suite, group and signature scheme (see the module doc)."""
    hello = ClientHello.new(version=version, suites=suites, server_name=server_name, alpn=alpn)
    return hello.record(_initial_shares(hello))


def _initial_shares(hello: ClientHello) -> Tuple[Tuple[int, bytes], ...]:
    if hello.version is not TlsVersion.TLSv1_3:
        return ()
    # RFC 8446 §4.2.8: one KeyShareEntry per group. We never finish the handshake, so the
    # private halves are discarded, but the points are real: a server may validate them.
    return tuple((group, key_share(group)) for group in INITIAL_KEY_SHARES)


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

    def extension(self, ext_type: int) -> Optional[bytes]:
        return next((data for kind, data in self.extensions if kind == ext_type), None)

    @property
    def key_share_group(self) -> Optional[int]:
        """The group of the ServerHello's key_share, or the group a HelloRetryRequest asks for
        (RFC 8446 §4.2.8: KeyShareServerHello / KeyShareHelloRetryRequest)."""
        data = self.extension(_EXT_KEY_SHARE)
        if data is None:
            return None
        if len(data) < 2 or (not self.is_hello_retry and len(data) < 4):
            raise HelloParseError(f"key_share in ServerHello is {len(data)} bytes")
        if self.is_hello_retry and len(data) != 2:
            raise HelloParseError(f"key_share in HelloRetryRequest is {len(data)} bytes, not 2")
        return int.from_bytes(data[:2], "big")

    @property
    def cookie(self) -> Optional[bytes]:
        data = self.extension(_EXT_COOKIE)
        if data is None:
            return None
        if len(data) < 3 or int.from_bytes(data[:2], "big") != len(data) - 2:
            raise HelloParseError("malformed cookie in HelloRetryRequest")
        return data[2:]

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
    group = hello.key_share_group if version is TlsVersion.TLSv1_3 else None
    return ServerChose(TlsVersion(chosen), hello.suite_code, retry, group)


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


def _read_server_hello(receiver: _Receiver, *, tolerate_warnings: bool, after_retry: bool = False) -> bytes:
    """The body of the first handshake message, reassembled across records if fragmented."""
    handshake = b""
    warnings = 0
    skipped_ccs = False
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
        if content_type == _CHANGE_CIPHER_SPEC and after_retry and not skipped_ccs and fragment == b"\x01":
            # RFC 8446 §D.4: in compatibility mode the server sends one dummy change_cipher_spec
            # right after its HelloRetryRequest.
            skipped_ccs = True
            continue
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
    """Send a ClientHello on ``sock`` and report the server's answer to it.

    A TLS 1.3 HelloRetryRequest is answered on the same connection as OpenSSL's client answers
    it (a dummy change_cipher_spec, then the same hello with one key share for the group asked
    for, and the cookie echoed), so that the outcome is the server's real ServerHello or refusal
    (RFC 8446 §4.1.4). ``timeout`` bounds the whole exchange (every send and read), not each
    ``recv``. The socket is left open in an unspecified TLS state: close it.
    """
    hello = ClientHello.new(version=version, suites=suites, server_name=server_name, alpn=alpn)
    shares = _initial_shares(hello)
    deadline = Deadline(timeout)
    receiver = _Receiver(sock, deadline)
    previous_timeout = sock.gettimeout()
    try:
        first = _exchange(sock, receiver, deadline, hello.record(shares), version, suites, after_retry=False)
        if not (isinstance(first, _Parsed) and first.chose.is_hello_retry):
            return first.chose if isinstance(first, _Parsed) else first
        retry, parsed = first.chose, first.hello
        group = retry.group
        asked = f"HelloRetryRequest for group {group_name(group)}" if group is not None else ""
        if group is None or group not in hello.groups or any(group == g for g, _ in shares):
            # RFC 8446 §4.1.4: the group must be one we offered and did not already share.
            why = (f"{asked}, which was not offered or already had a key share" if group is not None
                   else "HelloRetryRequest without a key_share group")
            return UnofferedChoice(retry.version, retry.suite_code, True, why)
        try:
            cookie = parsed.cookie
        except HelloParseError as exc:
            return Malformed(str(exc), bytes(receiver.received[:_EVIDENCE_BYTES]))
        second_hello = _CCS_RECORD + hello.record(((group, key_share(group)),), cookie, retry=True)
        second = _exchange(sock, receiver, deadline, second_hello, version, suites, after_retry=True)
        if not isinstance(second, _Parsed):
            return second
        chose = second.chose
        if chose.is_hello_retry:
            return UnofferedChoice(chose.version, chose.suite_code, True, "a second HelloRetryRequest")
        if chose.suite_code != retry.suite_code or chose.group != group:
            return UnofferedChoice(chose.version, chose.suite_code, False,
                                   f"the ServerHello after a {asked} and suite 0x{retry.suite_code:04X} "
                                   f"chose suite 0x{chose.suite_code:04X}, group "
                                   f"{group_name(chose.group) if chose.group is not None else 'none'}")
        return ServerChose(chose.version, chose.suite_code, False, group, after_retry=True)
    finally:
        with contextlib.suppress(OSError):  # an unusable socket has nothing to restore
            sock.settimeout(previous_timeout)


# A change_cipher_spec record (RFC 8446 §D.4), sent before a retried ClientHello as OpenSSL does.
_CCS_RECORD = struct.pack("!BHHB", _CHANGE_CIPHER_SPEC, TlsVersion.TLSv1_2, 1, 1)


@dataclass(frozen=True)
class _Parsed:
    chose: ServerChose
    hello: ParsedServerHello


def _exchange(sock: socket.socket, receiver: _Receiver, deadline: Deadline, data: bytes, version: TlsVersion,
              suites: Sequence[int], *, after_retry: bool) -> Union[_Parsed, HelloOutcome]:
    """Send ``data``, read the ServerHello that answers it; any other outcome as it is."""
    try:
        sock.settimeout(max(deadline.remaining(), 0.001))
        sock.sendall(data)
    except (socket.timeout, NetworkError):
        return Timeout(deadline.seconds, len(receiver.received))
    except OSError:
        return ConnectionClosed(len(receiver.received), reset=True)
    try:
        body = _read_server_hello(receiver, tolerate_warnings=version is not TlsVersion.TLSv1_3,
                                  after_retry=after_retry)
        parsed = parse_server_hello(body)
        judged = judge_server_hello(parsed, version=version, suites=suites)
    except _Stop as stop:
        return stop.outcome
    except HelloParseError as exc:
        return Malformed(str(exc), bytes(receiver.received[:_EVIDENCE_BYTES]))
    return _Parsed(judged, parsed) if isinstance(judged, ServerChose) else judged
