"""TLS handshakes over a socket that a database protocol has brought to STARTTLS.

Shared by both engines: PostgreSQL (after SSLRequest → 'S') and MySQL (after the SSLRequest
packet). Each outcome is data carrying the evidence: which version and suite were
negotiated, or which alert the server sent, or why there is no evidence either way.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Optional, Union

from ..wire.net import Deadline, NetworkError, close_quietly
from .hello import REFUSAL_ALERTS
from .versions import TlsVersion

# The same alerts count as refusals here as in crafted-hello probing (see tls.hello).
_REFUSAL_ALERT_NAMES = frozenset(REFUSAL_ALERTS.values())

_ALERT_REASON = re.compile(r"^(?:SSLV3|TLSV1|TLSV13)_ALERT_(?P<name>[A-Z_]+)$")


@dataclass(frozen=True)
class HandshakeCompleted:
    """The server completed a handshake: the strongest evidence that it accepts this."""

    version: TlsVersion
    cipher_name: str  # as OpenSSL names it (TLS 1.3 suites carry their IANA name)

    def render(self) -> str:
        return f"handshake completed: {self.version.label} with {self.cipher_name}"


@dataclass(frozen=True)
class HandshakeRefused:
    """The server sent a TLS alert (or chose an older version than every one we offered)."""

    alert: str  # e.g. "protocol_version", "handshake_failure", "older_version_chosen"
    detail: str

    def render(self) -> str:
        return f"server refused: {self.detail}"


@dataclass(frozen=True)
class HandshakeNotOffered:
    """The local TLS library cannot offer this version at all: no evidence, say so plainly."""

    version: TlsVersion
    detail: str

    def render(self) -> str:
        return f"the local TLS library cannot offer {self.version.label}: {self.detail}"


@dataclass(frozen=True)
class HandshakeInconclusive:
    """Timeout, reset, EOF without alert, garbage, STARTTLS refused: no evidence either way."""

    kind: str
    detail: str

    def render(self) -> str:
        return self.detail


HandshakeOutcome = Union[HandshakeCompleted, HandshakeRefused, HandshakeNotOffered, HandshakeInconclusive]


# Everything the local OpenSSL has, the NULL-encryption suites included (COMPLEMENTOFALL), at
# security level 0 so that short keys, SHA-1 signatures and TLS 1.0/1.1 are allowed: a second
# witness of "refused" must not be refused for its own scruples (OpenSSL ciphers(1)).
EVERY_LOCAL_SUITE = "ALL:COMPLEMENTOFALL:@SECLEVEL=0"


class TlsContexts:
    """Client contexts built once per run.

    Built up front, in the main thread, because lowering the version below TLS 1.2 emits a
    DeprecationWarning that we silence with ``warnings.catch_warnings``, which is not thread-safe.
    None of these contexts verify certificates: the probes send no credentials; the driver
    checks that do send credentials verify (see ``engines.postgresql`` / ``engines.mysql``).

    The capped contexts are the independent second witness of every refusal: the system
    OpenSSL through Python's ``ssl``, offering exactly one version, every local suite, and
    OpenSSL's own default client groups (x25519, secp256r1, x448, secp521r1, secp384r1,
    ffdhe2048-8192 in OpenSSL 3.0; Python has no API to change them, and we want them as
    OpenSSL's client sends them).
    """

    def __init__(self) -> None:
        self._capped: dict[TlsVersion, Union[ssl.SSLContext, HandshakeNotOffered]] = {}
        # One more context per version whose cipher list is set per handshake (under the lock):
        # "every local suite except those already seen accepted", known only after enumeration.
        self._excluding: dict[TlsVersion, Union[ssl.SSLContext, HandshakeNotOffered]] = {}
        self._lock = threading.Lock()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            for version in TlsVersion:
                self._capped[version] = _capped_context(version)
                self._excluding[version] = _capped_context(version)
            self.modern = _unverified(ssl.create_default_context())

    def capped(self, version: TlsVersion) -> Union[ssl.SSLContext, HandshakeNotOffered]:
        """A context offering exactly ``version`` with every suite the local library has."""
        return self._capped[version]

    def can_offer(self, version: TlsVersion) -> bool:
        return not isinstance(self._capped[version], HandshakeNotOffered)

    def witness(
        self,
        sock: socket.socket,
        version: TlsVersion,
        *,
        excluding: Iterable[str],
        server_name: Optional[str],
        deadline: Deadline,
    ) -> HandshakeOutcome:
        """A full handshake at exactly ``version`` offering every local suite but ``excluding``
        (OpenSSL names); the socket is closed afterwards. TLS 1.3 suites cannot be excluded:
        Python's ``ssl`` has no API for them (``set_ciphers`` covers TLS 1.2 and older)."""
        context = self._excluding[version]
        if isinstance(context, HandshakeNotOffered):
            close_quietly(sock)
            return context
        names = sorted(set(excluding))
        spec = ":".join([EVERY_LOCAL_SUITE, *(f"!{name}" for name in names)])
        try:
            with self._lock:
                # SSL_new copies the context's cipher list, so once wrapped the socket keeps its
                # own list while the next witness sets another.
                try:
                    context.set_ciphers(spec)
                except ssl.SSLError:
                    close_quietly(sock)
                    return HandshakeNotOffered(
                        version, f"the local TLS library has no {version.label} suite besides the "
                                 f"{len(names)} already seen accepted")
                tls = _wrap(sock, context, server_name, deadline)
        except NetworkError as exc:
            close_quietly(sock)
            return HandshakeInconclusive("timeout", f"TLS handshake not started: {exc}")
        outcome, session = _complete(tls, context, deadline)
        if session is not None:
            close_quietly(session)
        return outcome


def _unverified(context: ssl.SSLContext) -> ssl.SSLContext:
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _capped_context(version: TlsVersion) -> Union[ssl.SSLContext, HandshakeNotOffered]:
    if version is TlsVersion.SSLv3:
        return HandshakeNotOffered(version, "Python's ssl module and OpenSSL 3 have no SSLv3")
    context = _unverified(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    try:
        context.minimum_version = version.ssl_module_version
        context.maximum_version = version.ssl_module_version
        # Offer everything the library has, including suites a modern client would not, so that
        # "refused" means the server refuses the version, not our suite list. The security level
        # applies to TLS 1.3 too (certificate key sizes), so it is lowered for every version.
        context.set_ciphers(EVERY_LOCAL_SUITE)
    except (ValueError, ssl.SSLError) as exc:
        return HandshakeNotOffered(version, str(exc))
    return context


def handshake(
    sock: socket.socket,
    context: ssl.SSLContext,
    *,
    server_name: Optional[str],
    deadline: Deadline,
) -> tuple[HandshakeOutcome, Optional[ssl.SSLSocket]]:
    """Run a TLS handshake on ``sock``; on success also return the TLS socket to keep talking.

    The caller owns both sockets and must close them.
    """
    try:
        tls = _wrap(sock, context, server_name, deadline)
    except NetworkError as exc:
        return HandshakeInconclusive("timeout", f"TLS handshake not started: {exc}"), None
    return _complete(tls, context, deadline)


def _wrap(sock: socket.socket, context: ssl.SSLContext, server_name: Optional[str],
          deadline: Deadline) -> ssl.SSLSocket:
    sock.settimeout(deadline.remaining())
    return context.wrap_socket(sock, server_hostname=server_name, do_handshake_on_connect=False)


def _complete(tls: ssl.SSLSocket, context: ssl.SSLContext,
              deadline: Deadline) -> tuple[HandshakeOutcome, Optional[ssl.SSLSocket]]:
    # wrap_socket took over the file descriptor: on every failure path the TLS socket is closed.
    failure: Optional[HandshakeOutcome] = None
    try:
        tls.do_handshake()
    except OSError as exc:
        failure = classify_handshake_failure(exc, context, deadline.seconds)
    if failure is not None:
        tls.close()
        return failure, None
    negotiated = tls.version()
    cipher = tls.cipher()
    if negotiated is None or cipher is None:
        tls.close()
        return HandshakeInconclusive("garbage", "TLS handshake returned no version or cipher"), None
    outcome = HandshakeCompleted(version=TlsVersion.from_ssl_module(negotiated), cipher_name=cipher[0])
    return outcome, tls


def classify_handshake_failure(exc: OSError, context: Optional[ssl.SSLContext], seconds: float) -> HandshakeOutcome:
    """What a failed ``do_handshake`` says: a TLS error is read by :func:`classify_ssl_error`; a
    timeout, a reset or any other socket error is no evidence either way."""
    if isinstance(exc, ssl.SSLError):
        return classify_ssl_error(exc, context)
    if isinstance(exc, socket.timeout):
        return HandshakeInconclusive("timeout", f"TLS handshake got no answer within {seconds:g} s")
    if isinstance(exc, ConnectionResetError):
        return HandshakeInconclusive("reset", "the server reset the connection during the TLS handshake")
    return HandshakeInconclusive("reset", f"TLS handshake failed at the socket level: {exc}")


def classify_ssl_error(exc: ssl.SSLError, context: Optional[ssl.SSLContext] = None) -> HandshakeOutcome:
    """Classify a failed handshake; ``context`` names the version offered when it could not be."""
    offered = int(context.maximum_version) if context is not None else None
    version = TlsVersion(offered) if offered in {int(v) for v in TlsVersion} else None
    reason = getattr(exc, "reason", None) or ""
    if isinstance(exc, ssl.SSLEOFError):
        reason = "UNEXPECTED_EOF_WHILE_READING"
    return _classify_reason(reason, str(exc), version)


# OpenSSL's reason strings as libraries that only pass on text print them (libpq: "SSL error:
# tlsv1 alert protocol version"): the reason code in lower case with spaces.
_REASON_TEXT = re.compile(
    r"\b((?:sslv3|tlsv1|tlsv13) alert [a-z ]+?|unsupported protocol|wrong ssl version|no protocols available|"
    r"no ciphers available|no suitable signature algorithm|unexpected eof while reading|wrong version number|"
    r"packet length too long|record layer failure|http request)(?=$|[^a-z ]|\s*$)",
    re.I,
)


def classify_tls_failure_text(text: str, offered: Optional[TlsVersion]) -> Optional[HandshakeOutcome]:
    """The same classification for a failure known only by its text; None if it names no TLS reason."""
    match = _REASON_TEXT.search(text)
    if match is None:
        return None
    reason = match.group(1).strip().upper().replace(" ", "_")
    return _classify_reason(reason, text, offered)


def _classify_reason(reason: str, text: str, offered: Optional[TlsVersion]) -> HandshakeOutcome:
    match = _ALERT_REASON.match(reason)
    if match:
        alert = match.group("name").lower()
        if alert in _REFUSAL_ALERT_NAMES:
            return HandshakeRefused(alert, f"TLS alert {alert} ({text})")
        return HandshakeInconclusive("alert", f"TLS alert {alert}, which does not say the offer was refused ({text})")
    if reason in ("UNSUPPORTED_PROTOCOL", "WRONG_SSL_VERSION"):
        # The server answered with a version outside what we offered: it did not accept ours.
        return HandshakeRefused("older_version_chosen", f"the server chose a version we did not offer ({text})")
    if reason in ("NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE", "NO_SUITABLE_SIGNATURE_ALGORITHM"):
        if offered is not None:
            return HandshakeNotOffered(offered, text)
        return HandshakeInconclusive("local", f"the local TLS library could not make the offer: {text}")
    if reason == "UNEXPECTED_EOF_WHILE_READING":
        return HandshakeInconclusive(
            "eof", "the server closed the connection during the TLS handshake without a TLS alert"
        )
    if reason in ("WRONG_VERSION_NUMBER", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE", "HTTP_REQUEST"):
        return HandshakeInconclusive("garbage", f"the server's answer is not TLS ({text})")
    return HandshakeInconclusive("unclassified", f"TLS handshake failed in a way we cannot classify: {text}")
