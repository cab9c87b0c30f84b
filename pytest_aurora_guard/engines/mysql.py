"""MySQL / Aurora MySQL (and MariaDB): STARTTLS, the plaintext probe and the PyMySQL driver checks.

Harder than PostgreSQL: MySQL and Aurora MySQL check ``require_secure_transport`` after the
password, and MariaDB 10.11 answers a plaintext login with the right password with 1045, like a
wrong one (MySQL worklog 7709; seen on Debian 12's MariaDB 10.11). So a plaintext refusal is
proven only by error 3159, by the server's global ``require_secure_transport`` read over a
verified TLS session, or by a public canary account getting 3159. A 1045 contrasted with a
working TLS login is never evidence: a per-account ``REQUIRE SSL`` gives exactly that while the
server accepts plaintext for every other account.
"""

from __future__ import annotations

import contextlib
import functools
import math
import socket
import ssl
from collections.abc import Iterable, Mapping
from typing import Any, Optional, Union

from ..errors import ProbeError, TlsNotOffered, UnverifiedTransportError, WrongEngineError
from ..findings import (
    DriverAttempt,
    DriverKind,
    DriverMode,
    IdentityOverTls,
    PlaintextFinding,
    PlaintextIdentity,
    PlaintextKind,
    SessionTls,
    StartTls,
    TransportSetting,
)
from ..settings.config import GuardSettings
from ..settings.credentials import Secret, decoy_password, require_verified_tls, reveal_over
from ..settings.endpoints import Endpoint, Engine
from ..tls.handshake import HandshakeNotOffered, TlsContexts, classify_ssl_error
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
from .drivers import (
    DriverFailure,
    driver_call,
    driver_tls_failure_kind,
    open_for_user,
    parse_server_tls_version,
    verified_context,
)
from .remedies import Remedies

REMEDIES = Remedies(
    plaintext="set require_secure_transport=ON in the DB cluster parameter group",
    floor="set tls_version={floor} in the DB cluster parameter group (Aurora MySQL 3.04.0 or later for "
          "TLSv1.3; it needs a reboot: ApplyMethod pending-reboot)",
    ciphers_up_to_tls12="restrict ssl_cipher in the DB cluster parameter group to the allowlisted suites "
                        "(it covers TLS 1.2 and older; a reboot applies it)",
    ciphers_tls13="restrict tls_ciphersuites in the DB cluster parameter group to the allowlisted TLS 1.3 "
                  "suites (Aurora MySQL 3.04.0 or later; a reboot applies it)",
)

_PLAINTEXT_KINDS = {
    PlaintextOutcome.REFUSED: PlaintextKind.REFUSED_FOR_TRANSPORT,
    PlaintextOutcome.ACCEPTED: PlaintextKind.SESSION_ESTABLISHED,
    PlaintextOutcome.INCONCLUSIVE: PlaintextKind.NOT_CONCLUSIVE,
}


def _cleartext_refused() -> UnverifiedTransportError:
    return UnverifiedTransportError(
        "refused to send the password or IAM token in clear text: this connection is kept "
        "unencrypted, so nothing derived from it was sent"
    )


class _RefuseCleartext:
    """PyMySQL auth-plugin handler for plugins that would send the password (or IAM token) in clear."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def authenticate(self, packet: Any) -> Any:
        raise _cleartext_refused()

    def prompt(self, echo: bool, prompt: bytes) -> bytes:
        raise _cleartext_refused()


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
        # The same live-socket rule as every other credential path: TLS, chain and hostname verified.
        require_verified_tls(getattr(self.connection, "_sock", None), "the password or IAM token in clear text")
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

    def plaintext_identities(self, settings: GuardSettings, databases: tuple[str, ...] = ()) -> tuple[
            PlaintextIdentity, ...]:
        """One credential-free login: only error 3159 would say anything, and it does not depend on who."""
        return () if databases else (PlaintextIdentity(settings.probe_user, None, PROGRAM_NAME),)

    def plaintext_attempt(self, endpoint: Endpoint, settings: GuardSettings, identity: PlaintextIdentity,
                          deadline: Deadline) -> PlaintextFinding:
        assert endpoint.dial_port is not None
        user = identity.user
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
        return PlaintextFinding(attempted, classified.reason, _PLAINTEXT_KINDS[classified.outcome], identity)

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
        return IdentityOverTls(attempted, answer.render(), reaches_authentication_over_tls(answer))

    # -- driver-level checks (PyMySQL), only with --aurora-user ----------------------------------

    def driver_plaintext(self, endpoint: Endpoint, settings: GuardSettings) -> DriverAttempt:
        """PyMySQL without TLS, never with the real password: the public canary's, or a decoy."""
        if settings.canary_user and settings.canary_password is not None:
            user, password = settings.canary_user, settings.canary_password
            attempted = (f"PyMySQL connect with ssl_disabled=True as the canary account {user!r} with its "
                         "public password (the real password never travels unencrypted)")
        else:
            user, password = settings.probe_user, decoy_password()
            attempted = (f"PyMySQL connect with ssl_disabled=True as {user!r} with a deliberately wrong "
                         "password (the real password never travels unencrypted)")
        params = self._params(endpoint, settings, user=user, password=password, ssl_disabled=True)
        return self._attempt(attempted, params, None, DriverMode.PLAINTEXT)

    def driver_capped(self, endpoint: Endpoint, settings: GuardSettings, version: TlsVersion,
                      contexts: TlsContexts) -> DriverAttempt:
        attempted = (f"PyMySQL connect with an SSLContext capped at {version.label} as {settings.user!r} "
                     "and a deliberately wrong password")
        context = contexts.capped(version)
        if isinstance(context, HandshakeNotOffered):
            return DriverAttempt(attempted, context.render(), DriverKind.LOCAL_LIMIT)
        params = self._params(endpoint, settings, ssl=context, password=decoy_password())
        return self._attempt(attempted, params, None, DriverMode.CAPPED, context)

    def driver_verified(self, endpoint: Endpoint, settings: GuardSettings) -> DriverAttempt:
        where = str(settings.ca_bundle) if settings.ca_bundle else "the system trust store"
        attempted = (f"PyMySQL connect over TLS verified against {where} (hostname checked; the password only "
                     f"after the socket is checked to be verified TLS) as {settings.user!r}, then SHOW SESSION "
                     "STATUS Ssl_version, Ssl_cipher and SHOW GLOBAL VARIABLES require_secure_transport")
        return self._attempt(attempted, self._verified_params(endpoint, settings), settings.password,
                             DriverMode.VERIFIED)

    def connect(self, endpoint: Endpoint, settings: GuardSettings, **overrides: Any) -> Any:
        """A PyMySQL connection that verifies the server certificate before sending credentials."""
        return open_for_user("PyMySQL", endpoint.label, self._verified_params(endpoint, settings), overrides,
                             _UNSAFE_OVERRIDES, _guarded_connection, settings.password)

    def _verified_params(self, endpoint: Endpoint, settings: GuardSettings) -> dict[str, Any]:
        cafile = str(settings.ca_bundle) if settings.ca_bundle else None
        context = (verified_context(settings.ca_bundle) if endpoint.address is None
                   else _NameVerifyingContext.for_name(endpoint.host, cafile))
        return self._params(endpoint, settings, ssl=context, auth_plugin_map=_VERIFIED_CLEARTEXT_PLUGINS)

    def _params(self, endpoint: Endpoint, settings: GuardSettings, **extra: Any) -> dict[str, Any]:
        params: dict[str, Any] = {
            "host": endpoint.dial_host,
            "port": endpoint.dial_port,
            "user": settings.user,
            "database": settings.dbname,
            "connect_timeout": max(1, math.ceil(settings.timeout)),
            "read_timeout": max(1, math.ceil(settings.timeout)),
            "program_name": PROGRAM_NAME,
            # Never the user's ~/.my.cnf: it could name another password or turn TLS off.
            "read_default_file": None,
        }
        params.update(extra)
        return params

    def _attempt(self, attempted: str, params: dict[str, Any], secret: Optional[Secret],
                 expect: DriverMode, context: Optional[ssl.SSLContext] = None) -> DriverAttempt:
        opened = driver_call(lambda: _guarded_connection(params, secret), [secret])
        if isinstance(opened, DriverFailure):
            return DriverAttempt(attempted, opened.render(), classify_pymysql_failure(opened, expect, context))
        try:
            if expect is not DriverMode.VERIFIED:
                return DriverAttempt(attempted, "the connection succeeded: a session was established",
                                     DriverKind.CONNECTED)
            return _read_verified_session(attempted, opened, secret)
        finally:
            driver_call(opened.close, [secret])


def reaches_authentication_over_tls(answer: mysql_wire.MySqlLoginAnswer) -> bool:
    """The empty-password login over TLS: anything but error 3159 means TLS reaches authentication
    (an OK, an auth switch, or 1045 for the empty password); 3159 would say TLS itself is not enough."""
    return not (answer.error is not None and answer.error.code == ER_SECURE_TRANSPORT_REQUIRED)


def _read_verified_session(attempted: str, conn: Any, secret: Optional[Secret]) -> DriverAttempt:
    """The queries of the server's own view, each through driver_call; :func:`session_view` reads the answers."""
    status = driver_call(lambda: _rows(conn, _SESSION_TLS_QUERY), [secret])
    if isinstance(status, DriverFailure):
        return session_view(attempted, status, {})  # nothing else is read without the session's status
    variables = driver_call(lambda: _rows(conn, _TRANSPORT_QUERY), [secret])
    return session_view(attempted, status, variables)


def session_view(attempted: str, status: Union[Mapping[str, str], DriverFailure],
                 variables: Union[Mapping[str, str], DriverFailure]) -> DriverAttempt:
    """The server's own view of a verified session and of its global transport rule, from its answers:
    SHOW SESSION STATUS (Ssl_version and Ssl_cipher, empty without TLS) and SHOW GLOBAL VARIABLES
    (no require_secure_transport: the server has no such variable). A version this plugin does not
    know is not conclusive.
    """
    if isinstance(status, DriverFailure):
        return DriverAttempt(attempted, f"connected, but {_SESSION_TLS_QUERY} failed: {status.render()}",
                             DriverKind.NOT_CONCLUSIVE)
    if isinstance(variables, DriverFailure):
        transport, transport_text = None, f"{_TRANSPORT_QUERY} failed: {variables.render()}"
    else:
        transport = TransportSetting(_TRANSPORT_VARIABLE, variables.get(_TRANSPORT_VARIABLE))
        transport_text = transport.render()
    # A missing row reads as an empty one: both mean no TLS session.
    version_text, cipher = status.get("Ssl_version"), status.get("Ssl_cipher")
    answered = (f"connected; Ssl_version={version_text or '(empty)'}, Ssl_cipher={cipher or '(empty)'}; "
                f"{transport_text}")
    version = parse_server_tls_version(version_text) if version_text else None
    if version_text and version is None:
        return DriverAttempt(attempted, f"{answered}; the server reports a TLS version this plugin does not know",
                             DriverKind.NOT_CONCLUSIVE, transport=transport)
    session = SessionTls(encrypted=bool(version_text), version=version, cipher_name=cipher or None)
    return DriverAttempt(attempted, answered, DriverKind.CONNECTED, session, transport)


def _rows(conn: Any, query: str) -> dict[str, str]:
    with conn.cursor() as cursor:
        cursor.execute(query)
        return named_values(cursor.fetchall())


def named_values(rows: Iterable[tuple[object, object]]) -> dict[str, str]:
    """SHOW STATUS / SHOW VARIABLES rows as text by name (PyMySQL may hand back bytes: undecodable bytes
    are replaced, never an error)."""
    return {_text(name): _text(value) for name, value in rows}


def _text(value: object) -> str:
    # UTF-8 is bytes.decode's default.
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def classify_pymysql_failure(failure: DriverFailure, expect: DriverMode,
                             context: Optional[ssl.SSLContext] = None) -> DriverKind:
    """What a failed PyMySQL connect says about the server (only the scrubbed failure is read)."""
    if failure.unverified_transport:
        return DriverKind.CREDENTIAL_WITHHELD
    if failure.certificate_rejected:
        return DriverKind.CERTIFICATE_REJECTED
    if failure.ssl_error is not None:
        return driver_tls_failure_kind(classify_ssl_error(failure.ssl_error, context))
    if failure.code == _CR_SSL_CONNECTION_ERROR and "doesn't support" in failure.message:
        return DriverKind.TLS_NOT_OFFERED  # PyMySQL >= 1.2 with ssl=: no CLIENT_SSL, nothing sent
    if failure.code == ER_SECURE_TRANSPORT_REQUIRED:
        return DriverKind.REFUSED_FOR_TRANSPORT
    if failure.code == ER_ACCESS_DENIED_ERROR:
        # With the decoy password below the floor, a 1045 means the TLS session was set up.
        return DriverKind.REACHED_AUTHENTICATION if expect is DriverMode.CAPPED \
            else DriverKind.CREDENTIALS_REJECTED
    return DriverKind.NOT_CONCLUSIVE


_CR_SSL_CONNECTION_ERROR = 2026
_SESSION_TLS_QUERY = "SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')"
_TRANSPORT_VARIABLE = "require_secure_transport"
# SHOW (not SELECT @@GLOBAL...): an empty answer on servers without the variable, not an error.
_TRANSPORT_QUERY = f"SHOW GLOBAL VARIABLES LIKE '{_TRANSPORT_VARIABLE}'"

# Overrides that would let PyMySQL skip TLS or verification, or read credentials from elsewhere.
_UNSAFE_OVERRIDES = frozenset({
    "ssl", "ssl_disabled", "ssl_ca", "ssl_verify_cert", "ssl_verify_identity", "unix_socket",
    "read_default_file", "read_default_group", "auth_plugin_map", "password", "passwd",
})


def _guarded_connection(params: dict[str, Any], secret: Optional[Secret]) -> Any:
    return _guarded_class()(aurora_secret=secret, **params)


@functools.lru_cache(maxsize=1)
def _guarded_class() -> Any:
    """A PyMySQL Connection whose password exists only for a verified TLS socket.

    PyMySQL reads ``self.password`` at each use: the first scramble (after the TLS upgrade),
    an auth switch (native, sha2, ed25519, old, cleartext, dialog), caching_sha2's full
    authentication and its RSA key exchange. Serving it from a property that checks the live
    socket makes every one of them refuse plaintext, whatever the server asks and whatever the
    PyMySQL version does with a greeting that does not advertise TLS.
    """
    import pymysql

    class GuardedConnection(pymysql.connections.Connection):
        def __init__(self, *, aurora_secret: Optional[Secret], **params: Any) -> None:
            self._aurora_secret = aurora_secret
            super().__init__(**params)

        @property
        def password(self) -> bytes:
            if self._aurora_secret is None:
                return self._aurora_plain
            sock = getattr(self, "_sock", None)
            if sock is None:  # PyMySQL's __init__ looks at the type before connecting; nothing can be sent
                return b""
            return reveal_over(self._aurora_secret, sock).encode("utf-8")

        @password.setter
        def password(self, value: Any) -> None:
            # PyMySQL stores the ``password`` argument here; only decoys and the public canary come this way.
            self._aurora_plain = value.encode("utf-8") if isinstance(value, str) else bytes(value or b"")

    return GuardedConnection

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
