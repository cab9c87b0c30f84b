"""MySQL / Aurora MySQL (and MariaDB): STARTTLS, the plaintext probe and the PyMySQL driver checks.

Harder than PostgreSQL: MySQL and Aurora MySQL check ``require_secure_transport`` after the
password, and MariaDB 10.11 answers a plaintext login with the right password with 1045, like a
wrong one (MySQL worklog 7709; seen on Debian 12's MariaDB 10.11). Only error 3159, or a 1045
in plaintext contrasted with the same credentials logging in over verified TLS, proves refusal.
"""

from __future__ import annotations

import contextlib
import math
import socket
import ssl
from typing import Any, Optional

from ..errors import ProbeError, TlsNotOffered, WrongEngineError
from ..findings import (
    DriverAttempt,
    DriverKind,
    DriverMode,
    IdentityOverTls,
    PlaintextFinding,
    PlaintextKind,
    SessionTls,
    StartTls,
)
from ..settings.config import GuardSettings
from ..settings.credentials import decoy_password
from ..settings.endpoints import Endpoint, Engine
from ..tls.handshake import HandshakeNotOffered, HandshakeRefused, TlsContexts, classify_ssl_error
from ..tls.versions import TlsVersion
from ..wire import mysql as mysql_wire
from ..wire.mysql import (
    CLIENT_SSL,
    COM_QUIT,
    ER_ACCESS_DENIED_ERROR,
    ER_SECURE_TRANSPORT_REQUIRED,
    GREETING_WAIT,
    PROGRAM_NAME,
    LoginAnswerKind,
    PlaintextOutcome,
    classify_plaintext_login,
    frame,
    probe_login_packet,
    read_greeting,
    read_login_answer,
    ssl_request_packet,
)
from ..wire.net import Deadline, close_quietly, connect, send_all
from ..wire.pg import request_tls
from .remedies import Remedies

REMEDIES = Remedies(
    plaintext="set require_secure_transport=ON in the DB cluster parameter group",
    floor="set tls_version={floor} in the DB cluster parameter group (Aurora MySQL 3.04.0 or later for "
          "TLSv1.3; it needs a reboot: ApplyMethod pending-reboot)",
    ciphers="restrict ssl_cipher (TLS 1.2) and tls_ciphersuites (TLS 1.3) in the DB cluster parameter "
            "group to the allowlisted suites",
)

_PLAINTEXT_KINDS = {
    PlaintextOutcome.REFUSED: PlaintextKind.REFUSED_FOR_TRANSPORT,
    PlaintextOutcome.ACCEPTED: PlaintextKind.SESSION_ESTABLISHED,
    PlaintextOutcome.INCONCLUSIVE: PlaintextKind.NOT_CONCLUSIVE,
}


class CleartextPasswordRefused(Exception):
    """The server asked for the password in clear text over a connection we keep unencrypted."""


class _RefuseCleartext:
    """PyMySQL auth-plugin handler for plugins that would send the password (or IAM token) in clear."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def authenticate(self, packet: Any) -> Any:
        raise CleartextPasswordRefused()

    def prompt(self, echo: bool, prompt: bytes) -> bytes:
        raise CleartextPasswordRefused()


# Consulted by PyMySQL before its built-in handlers, so these can never send a secret unencrypted.
_NO_CLEARTEXT_PLUGINS = {"mysql_clear_password": _RefuseCleartext, "dialog": _RefuseCleartext}


class _VerifiedCleartext:
    """mysql_clear_password (how Aurora MySQL takes IAM tokens), only on a verified TLS socket.

    Checked on the connection's socket itself when the server asks, not on what we configured:
    the secret goes out only if that socket is TLS whose peer certificate was verified.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def authenticate(self, packet: Any) -> Any:
        sock = getattr(self.connection, "_sock", None)
        if not (isinstance(sock, ssl.SSLSocket) and sock.context.verify_mode is ssl.CERT_REQUIRED
                and sock.getpeercert()):
            raise CleartextPasswordRefused()
        self.connection.write_packet(self.connection.password + b"\0")
        return self.connection._read_packet()


_VERIFIED_CLEARTEXT_PLUGINS = {"mysql_clear_password": _VerifiedCleartext, "dialog": _RefuseCleartext}


def read_greeting_or_identify(sock: socket.socket, deadline: Deadline) -> mysql_wire.MySqlGreeting:
    """Read the greeting; if the server stays silent, find out whether it is PostgreSQL."""
    # Silence suggests PostgreSQL, which we then ask to identify itself.
    sock.settimeout(min(GREETING_WAIT, deadline.remaining()))
    try:
        sock.recv(1, socket.MSG_PEEK)
    except socket.timeout:
        try:
            request_tls(sock, deadline)
        except (ProbeError, OSError):
            pass
        else:
            raise WrongEngineError(
                "the server stayed silent instead of greeting like MySQL, then answered PostgreSQL's "
                "SSLRequest: it is a PostgreSQL server; configure it as postgresql://HOST:PORT"
            )
    except OSError:
        pass  # read_greeting reports resets and EOFs with context
    return read_greeting(sock, deadline)


class MySqlAdapter:
    engine = Engine.MYSQL
    remedies = REMEDIES

    def open_tls_ready(self, endpoint: Endpoint, deadline: Deadline) -> StartTls:
        """Connect, read the greeting and send SSLRequest: the socket is ready for a ClientHello."""
        assert endpoint.dial_port is not None
        sock = connect(endpoint.dial_host, endpoint.dial_port, deadline.remaining())
        try:
            greeting = read_greeting_or_identify(sock, deadline)
            if not greeting.offers_tls:
                raise TlsNotOffered(
                    f"the server ({greeting.server_version}) does not advertise CLIENT_SSL in its greeting: "
                    "it does not offer TLS at all; every TLS check fails until TLS is enabled"
                )
            send_all(sock, ssl_request_packet(greeting), deadline, "SSLRequest")
        except BaseException:
            close_quietly(sock)
            raise
        return StartTls(sock, greeting)

    def plaintext_attempt(self, endpoint: Endpoint, settings: GuardSettings, deadline: Deadline) -> PlaintextFinding:
        assert endpoint.dial_port is not None
        user = settings.probe_user
        attempted = (f"a login without TLS as {user!r} with an empty password (HandshakeResponse41, "
                     "no SSLRequest); no password is sent")
        sock = connect(endpoint.dial_host, endpoint.dial_port, deadline.remaining())
        try:
            greeting = read_greeting_or_identify(sock, deadline)
            send_all(sock, probe_login_packet(greeting, user), deadline, "the plaintext login packet")
            answer = read_login_answer(sock, deadline)
            if answer.kind is LoginAnswerKind.OK:
                _quit(sock)
        finally:
            close_quietly(sock)
        classified = classify_plaintext_login(answer)
        return PlaintextFinding(attempted, classified.reason, _PLAINTEXT_KINDS[classified.outcome])

    def identity_over_tls(self, tls: ssl.SSLSocket, ready: StartTls, endpoint: Endpoint,
                          settings: GuardSettings, deadline: Deadline) -> Optional[IdentityOverTls]:
        """The same empty-password login over TLS: anything but 3159 means TLS reaches authentication."""
        # After SSLRequest (sequence 1) the login is sequence 2, and must carry CLIENT_SSL.
        plain = probe_login_packet(ready.greeting, settings.probe_user)[4:]
        flags = int.from_bytes(plain[:4], "little") | CLIENT_SSL
        payload = flags.to_bytes(4, "little") + plain[4:]
        attempted = f"the same empty-password login as {settings.probe_user!r} over TLS"
        send_all(tls, frame(payload, 2), deadline, "the login packet over TLS")
        answer = read_login_answer(tls, deadline)
        if answer.kind is LoginAnswerKind.OK:
            _quit(tls)
        refused_for_transport = answer.error is not None and answer.error.code == ER_SECURE_TRANSPORT_REQUIRED
        return IdentityOverTls(attempted, answer.render(), not refused_for_transport)

    # -- driver-level checks (PyMySQL), only with --aurora-user ----------------------------------

    def driver_plaintext(self, endpoint: Endpoint, settings: GuardSettings) -> DriverAttempt:
        # mysql_native_password / caching_sha2_password never put the password on the wire in
        # clear; plugins that would (IAM tokens via mysql_clear_password) are refused locally.
        attempted = (f"PyMySQL connect with ssl_disabled=True as {settings.user!r} with the real "
                     "password (hashed challenge-response; cleartext plugins refused locally)")
        params = self._params(endpoint, settings, ssl_disabled=True)
        params["auth_plugin_map"] = _NO_CLEARTEXT_PLUGINS
        if settings.password is not None:
            params["password"] = settings.password.reveal()
        return self._attempt(attempted, params, expect=DriverMode.PLAINTEXT)

    def driver_capped(self, endpoint: Endpoint, settings: GuardSettings, version: TlsVersion,
                      contexts: TlsContexts) -> DriverAttempt:
        attempted = (f"PyMySQL connect with an SSLContext capped at {version.label} as {settings.user!r} "
                     "and a deliberately wrong password")
        context = contexts.capped(version)
        if isinstance(context, HandshakeNotOffered):
            return DriverAttempt(attempted, context.render(), DriverKind.LOCAL_LIMIT)
        params = self._params(endpoint, settings, ssl=context, password=decoy_password())
        return self._attempt(attempted, params, expect=DriverMode.CAPPED)

    def driver_verified(self, endpoint: Endpoint, settings: GuardSettings) -> DriverAttempt:
        where = str(settings.ca_bundle) if settings.ca_bundle else "the system trust store"
        attempted = (f"PyMySQL connect over TLS verified against {where} (hostname checked) as "
                     f"{settings.user!r}, then SHOW SESSION STATUS Ssl_version, Ssl_cipher")
        return self._attempt(attempted, self._verified_params(endpoint, settings), expect=DriverMode.VERIFIED)

    def connect(self, endpoint: Endpoint, settings: GuardSettings, **overrides: Any) -> Any:
        """A PyMySQL connection that verifies the server certificate before sending credentials."""
        import pymysql

        params = self._verified_params(endpoint, settings)
        params.update(overrides)
        return pymysql.connect(**params)

    def _verified_params(self, endpoint: Endpoint, settings: GuardSettings) -> dict[str, Any]:
        cafile = str(settings.ca_bundle) if settings.ca_bundle else None
        context = (ssl.create_default_context(cafile=cafile) if endpoint.address is None
                   else _NameVerifyingContext.for_name(endpoint.host, cafile))
        params = self._params(endpoint, settings, ssl=context, auth_plugin_map=_VERIFIED_CLEARTEXT_PLUGINS)
        if settings.password is not None:
            params["password"] = settings.password.reveal()
        return params

    def _params(self, endpoint: Endpoint, settings: GuardSettings, **extra: Any) -> dict[str, Any]:
        params: dict[str, Any] = {
            "host": endpoint.dial_host,
            "port": endpoint.dial_port,
            "user": settings.user,
            "password": "",
            "database": settings.dbname,
            "connect_timeout": max(1, math.ceil(settings.timeout)),
            "read_timeout": max(1, math.ceil(settings.timeout)),
            "program_name": PROGRAM_NAME,
        }
        params.update(extra)
        return params

    def _attempt(self, attempted: str, params: dict[str, Any], expect: DriverMode) -> DriverAttempt:
        import pymysql

        try:
            conn = pymysql.connect(**params)
        except CleartextPasswordRefused:
            return DriverAttempt(
                attempted,
                "the server asked for the password in clear text (mysql_clear_password, as IAM "
                "authentication does); it was not sent over an unencrypted connection",
                DriverKind.NOT_CONCLUSIVE,
            )
        except pymysql.err.MySQLError as exc:
            return self._classify_error(attempted, exc, expect)
        finally:
            params.pop("password", None)
        try:
            if expect is not DriverMode.VERIFIED:
                return DriverAttempt(attempted, "the connection succeeded: a session was established",
                                     DriverKind.CONNECTED)
            with conn.cursor() as cursor:
                cursor.execute("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')")
                status = {str(name): str(value) for name, value in cursor.fetchall()}
        finally:
            conn.close()
        version_text, cipher = status.get("Ssl_version", ""), status.get("Ssl_cipher", "")
        session = SessionTls(encrypted=bool(version_text), version=TlsVersion.parse(version_text)
                             if version_text else None, cipher_name=cipher or None)
        answered = f"connected; Ssl_version={version_text or '(empty)'}, Ssl_cipher={cipher or '(empty)'}"
        return DriverAttempt(attempted, answered, DriverKind.CONNECTED, session)

    def _classify_error(self, attempted: str, exc: Exception, expect: DriverMode) -> DriverAttempt:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        message = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
        answered = f"ERROR {code}: {message}" if code is not None else message
        original = getattr(exc, "original_exception", None)
        if isinstance(original, ssl.SSLCertVerificationError):
            return DriverAttempt(attempted, answered, DriverKind.CERTIFICATE_REJECTED)
        if isinstance(original, ssl.SSLError):
            outcome = classify_ssl_error(original)
            kind = DriverKind.REFUSED_TLS if isinstance(outcome, HandshakeRefused) else DriverKind.NOT_CONCLUSIVE
            return DriverAttempt(attempted, f"{answered} ({outcome.render()})", kind)
        if code == ER_SECURE_TRANSPORT_REQUIRED:
            return DriverAttempt(attempted, answered, DriverKind.REFUSED_FOR_TRANSPORT)
        if code == ER_ACCESS_DENIED_ERROR:
            # With the decoy password below the floor, a 1045 means the TLS session was set up.
            kind = DriverKind.REACHED_AUTHENTICATION if expect is DriverMode.CAPPED else DriverKind.CREDENTIALS_REJECTED
            return DriverAttempt(attempted, answered, kind)
        return DriverAttempt(attempted, answered, DriverKind.NOT_CONCLUSIVE)


class _NameVerifyingContext(ssl.SSLContext):
    """Verifies the certificate against the endpoint's name while TCP goes to another address.

    PyMySQL wraps its socket with ``server_hostname=`` the host it connected to; with
    --aurora-connect-to that is the address, so this context puts the name back (SNI and check).
    """

    verified_name = ""

    @classmethod
    def for_name(cls, name: str, cafile: Optional[str]) -> _NameVerifyingContext:
        context = cls(ssl.PROTOCOL_TLS_CLIENT)
        context.verified_name = name
        if cafile is None:
            context.load_default_certs()
        else:
            context.load_verify_locations(cafile=cafile)
        return context

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["server_hostname"] = self.verified_name
        return super().wrap_socket(sock, *args, **kwargs)


def _quit(sock: Any) -> None:
    """Close an established session at once, politely."""
    with contextlib.suppress(OSError):
        sock.sendall(COM_QUIT)
