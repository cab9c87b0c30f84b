"""The few PostgreSQL frontend/backend protocol messages a probe needs.

Layouts from the PostgreSQL protocol documentation (``protocol-message-formats``) and
``src/include/libpq/pqcomm.h``.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from dataclasses import dataclass, field
from typing import Optional, Union

from ..errors import ProbeError, WrongEngineError
from .net import Deadline, available, recv_exact, send_all

PROTOCOL_3_0 = 196608  # PG_PROTOCOL(3, 0)
SSL_REQUEST_CODE = 80877103  # PG_PROTOCOL(1234, 5679)
SSL_REQUEST = struct.pack("!II", 8, SSL_REQUEST_CODE)
APPLICATION_NAME = "pytest-aurora-guard"

# A backend message is rarely large before authentication; anything bigger is hostile or not PG.
_MAX_PREAUTH_MESSAGE = 64 * 1024

AUTH_METHOD_NAMES = {
    0: "AuthenticationOk",
    2: "AuthenticationKerberosV5",
    3: "AuthenticationCleartextPassword",
    5: "AuthenticationMD5Password",
    7: "AuthenticationGSS",
    9: "AuthenticationSSPI",
    10: "AuthenticationSASL",
}


@dataclass(frozen=True)
class PgErrorResponse:
    """An ErrorResponse, with the fields a verdict reads (S/V severity, C SQLSTATE, M message)."""

    severity: str
    sqlstate: str
    message: str
    detail: Optional[str] = None
    hint: Optional[str] = None

    def render(self) -> str:
        text = f"{self.severity}: {self.message} (SQLSTATE {self.sqlstate})"
        if self.detail:
            text += f"; DETAIL: {self.detail}"
        return text


@dataclass(frozen=True)
class PgAuthenticationRequest:
    """The server moved on to authentication (or, with code 0, let us in without any)."""

    code: int
    mechanisms: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        return AUTH_METHOD_NAMES.get(self.code, f"Authentication request {self.code}")

    def render(self) -> str:
        if self.mechanisms:
            return f"{self.name} ({', '.join(self.mechanisms)})"
        return self.name


StartupAnswer = Union[PgErrorResponse, PgAuthenticationRequest]


def startup_message(user: str, database: str, application_name: str = APPLICATION_NAME) -> bytes:
    """A protocol 3.0 StartupMessage; it carries no password (that comes only if asked)."""
    params = {"user": user, "database": database, "application_name": application_name}
    body = struct.pack("!I", PROTOCOL_3_0)
    for key, value in params.items():
        body += key.encode() + b"\0" + value.encode() + b"\0"
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


_MYSQL_HINT = "; it is a MySQL-compatible server: configure it as mysql://HOST:PORT"


def _is_mysql_greeting(first: bytes) -> bool:
    return len(first) >= 5 and first[3] == 0 and first[4] == 0x0A


def describe_foreign_bytes(first: bytes) -> str:
    """Say what a non-PostgreSQL answer looks like, so the user learns what is really listening."""
    if _is_mysql_greeting(first):
        version = first[5:].split(b"\0", 1)[0].decode("ascii", "replace")
        return f"a MySQL-protocol server greeting (server version {version!r})"
    if first.startswith(b"HTTP/") or first[:4] in (b"GET ", b"<htm", b"<!DO"):
        return f"an HTTP server ({first[:40]!r})"
    if first[:1] == b"\x15" or first[:1] == b"\x16":
        return f"a TLS record ({first[:8].hex(' ')}): a TLS terminator or proxy, not PostgreSQL"
    return f"bytes that are not the PostgreSQL protocol ({first[:24]!r})"


def request_tls(sock: socket.socket, deadline: Deadline) -> bool:
    """Send SSLRequest; True if the server answers 'S' (go ahead with TLS), False on 'N'."""
    send_all(sock, SSL_REQUEST, deadline, "SSLRequest")
    answer = _recv_some(sock, deadline, "the answer to SSLRequest")
    if answer[:1] == b"S" and len(answer) == 1:
        return True
    if answer[:1] == b"N" and len(answer) == 1:
        return False
    if answer[:1] == b"E":
        # Only pre-7.x servers answered SSLRequest with an error; today it means "not this protocol".
        raise WrongEngineError(
            f"the server answered SSLRequest with an error instead of 'S' or 'N' ({answer[:60]!r})"
        )
    hint = _MYSQL_HINT if _is_mysql_greeting(answer) else ""
    raise WrongEngineError(
        f"the server answered SSLRequest with {describe_foreign_bytes(answer)}, not PostgreSQL's 'S' or 'N'{hint}"
    )


def _recv_some(sock: socket.socket, deadline: Deadline, what: str) -> bytes:
    return recv_exact(sock, 1, deadline, what) + available(sock)


def read_startup_answer(sock: socket.socket, deadline: Deadline) -> StartupAnswer:
    """Read the first backend message after a StartupMessage: an error or an auth request."""
    header = recv_exact(sock, 5, deadline, "the answer to the StartupMessage")
    kind, length = header[:1], struct.unpack("!I", header[1:5])[0]
    if kind not in (b"E", b"R") or not 4 <= length <= _MAX_PREAUTH_MESSAGE:
        seen = header + available(sock, 64)
        hint = _MYSQL_HINT if _is_mysql_greeting(seen) else ""
        raise WrongEngineError(f"the server answered the StartupMessage with {describe_foreign_bytes(seen)}{hint}")
    body = recv_exact(sock, length - 4, deadline, "the rest of the server's answer")
    if kind == b"E":
        return parse_error_response(body)
    return _parse_authentication(body)


def parse_error_response(body: bytes) -> PgErrorResponse:
    fields: dict[str, str] = {}
    for part in body.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode("utf-8", "replace")
    if "C" not in fields or "M" not in fields:
        raise ProbeError(f"malformed PostgreSQL ErrorResponse (fields {sorted(fields)}): {body[:80]!r}")
    return PgErrorResponse(
        severity=fields.get("V", fields.get("S", "")),
        sqlstate=fields["C"],
        message=fields["M"],
        detail=fields.get("D"),
        hint=fields.get("H"),
    )


def _parse_authentication(body: bytes) -> PgAuthenticationRequest:
    if len(body) < 4:
        raise ProbeError(f"truncated PostgreSQL authentication request: {body!r}")
    code = struct.unpack("!I", body[:4])[0]
    mechanisms: tuple[str, ...] = ()
    if code == 10:
        mechanisms = tuple(m.decode("ascii", "replace") for m in body[4:].split(b"\0") if m)
    return PgAuthenticationRequest(code=code, mechanisms=mechanisms)


def terminate(sock: socket.socket) -> None:
    """Say goodbye politely so the server logs a clean disconnect, not an EOF."""
    with contextlib.suppress(OSError):
        sock.sendall(b"X" + struct.pack("!I", 4))
