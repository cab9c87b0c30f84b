"""PostgreSQL / Aurora PostgreSQL: STARTTLS, the plaintext probe and the psycopg driver checks."""

from __future__ import annotations

import math
import re
import secrets
import ssl
from collections.abc import Sequence
from typing import Any, Optional, Union

from ..errors import TlsNotOffered
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
from ..settings.config import DEFAULT_DBNAME, GuardSettings
from ..settings.credentials import Secret, decoy_password, libpq_password
from ..settings.endpoints import Endpoint, Engine
from ..tls.handshake import TlsContexts, classify_tls_failure_text
from ..tls.versions import TlsVersion
from ..wire.net import Deadline, close_quietly, connect, resolve_addresses, send_all
from ..wire.pg import (
    APPLICATION_NAME,
    PgAuthenticationRequest,
    PgErrorResponse,
    read_startup_answer,
    request_tls,
    startup_message,
    terminate,
)
from .drivers import (
    DriverFailure,
    driver_call,
    driver_tls_failure_kind,
    open_for_user,
    parse_server_tls_version,
)
from .remedies import Remedies

# The encryption state that ends pg_hba's refusal messages: "SSL off" up to the GSS-era code,
# "no encryption" in newer servers (src/backend/libpq/auth.c; the AWS Aurora PostgreSQL security
# page shows the first, real RDS logs the second). Both appear.
_UNENCRYPTED_REFUSAL = re.compile(r"pg_hba\.conf.*,\s*(?:no encryption|SSL off)\s*$", re.S)
_ENCRYPTED_REFUSAL = re.compile(r"pg_hba\.conf.*,\s*(?:SSL encryption|SSL on|GSS encryption)\s*$", re.S)
_INVALID_AUTHORIZATION = "28000"
_PASSWORD_FAILED = re.compile(r"password authentication failed|28P01")
_NO_TLS = re.compile(r"server does not support SSL", re.I)
_CERT_FAILED = re.compile(r"certificate verify failed|server certificate for .* does not match|"
                          r"root certificate file .* does not exist|could not read root certificate", re.I)

# The server's own view of this backend's encryption (a constant query: no user input in it).
_SESSION_TLS_QUERY = "SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
_FORCE_SSL = "rds.force_ssl"
# missing_ok: NULL on self-managed PostgreSQL, which has no such parameter.
_FORCE_SSL_QUERY = f"SELECT current_setting('{_FORCE_SSL}', true)"
_DATABASES_QUERY = "SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname"
# Overrides that would let libpq skip TLS or verification, or take a password from elsewhere.
_UNSAFE_OVERRIDES = frozenset({
    "sslmode", "sslrootcert", "gssencmode", "sslnegotiation", "hostaddr", "passfile", "service",
    "password", "conninfo", "requiressl",
})

REMEDIES = Remedies(
    plaintext="set rds.force_ssl=1 in the DB cluster parameter group (self-managed PostgreSQL: "
              "hostssl-only pg_hba.conf plus a 'hostnossl all all 0.0.0.0/0 reject' line)",
    floor="set ssl_min_protocol_version={floor} in the DB cluster parameter group "
          "(Aurora PostgreSQL 11.20/12.15/13.11/14.8/15.3 or later for TLSv1.3)",
    ciphers_up_to_tls12="restrict ssl_ciphers in the DB cluster parameter group to the allowlisted suites "
                        "(self-managed PostgreSQL: ssl_ciphers in postgresql.conf)",
    ciphers_tls13="restrict the TLS 1.3 suites: Aurora PostgreSQL lists them in ssl_ciphers too (DB cluster "
                  "parameter group, 11.20/12.15/13.11/14.8/15.3/16.1 or later); self-managed PostgreSQL takes "
                  "them not from ssl_ciphers but from OpenSSL (Ciphersuites in the openssl.cnf the server loads) "
                  "or, from PostgreSQL 18, from ssl_tls13_ciphers",
)


class PostgresAdapter:
    engine = Engine.POSTGRESQL
    remedies = REMEDIES

    def open_tls_ready(self, endpoint: Endpoint, deadline: Deadline) -> StartTls:
        """Connect and send SSLRequest; return the socket once the server has said 'S'."""
        assert endpoint.dial_port is not None
        sock = connect(endpoint.dial_host, endpoint.dial_port, deadline.remaining())
        try:
            if not request_tls(sock, deadline):
                raise TlsNotOffered(
                    "the server answered 'N' to SSLRequest: it does not offer TLS at all "
                    "(ssl=off); every TLS check fails until TLS is enabled"
                )
        except BaseException:
            close_quietly(sock)
            raise
        return StartTls(sock)

    def plaintext_identities(self, settings: GuardSettings, databases: tuple[str, ...] = ()) -> tuple[
            PlaintextIdentity, ...]:
        """Each identity twice: the configured one, random ones (new each time) and, given the
        databases the server lists as connectable, the configured user on each of them.

        pg_hba.conf matches user and database, and a proxy may recognise a fixed probe, so a
        refusal of one identity (or of a first attempt) says nothing about the rule for others.
        """
        user, database = settings.probe_user, settings.dbname or DEFAULT_DBNAME
        if databases:
            return tuple(_identity(user, name) for name in databases for _ in range(PLAINTEXT_REPEATS))
        return (
            *(_identity(user, database) for _ in range(PLAINTEXT_REPEATS)),
            *(_identity(_random_name(), _random_name(), random=True) for _ in range(PLAINTEXT_REPEATS)),
        )

    def plaintext_attempt(self, endpoint: Endpoint, settings: GuardSettings, identity: PlaintextIdentity,
                          deadline: Deadline) -> PlaintextFinding:
        assert endpoint.dial_port is not None
        attempted = f"StartupMessage without SSLRequest ({identity.render()}); no password is sent"
        sock = connect(endpoint.dial_host, endpoint.dial_port, deadline.remaining())
        try:
            message = startup_message(identity.user, identity.database or DEFAULT_DBNAME, identity.application_name)
            send_all(sock, message, deadline, "StartupMessage")
            answer = read_startup_answer(sock, deadline)
        finally:
            terminate(sock)
            close_quietly(sock)
        return PlaintextFinding(attempted, answer.render(), classify_plaintext_answer(answer), identity)

    def identity_over_tls(self, tls: ssl.SSLSocket, ready: StartTls, endpoint: Endpoint,
                          settings: GuardSettings, deadline: Deadline) -> IdentityOverTls:
        user, database = settings.probe_user, settings.dbname or DEFAULT_DBNAME
        attempted = f"the same StartupMessage over TLS (user {user!r}, database {database!r}); no password sent"
        send_all(tls, startup_message(user, database), deadline, "StartupMessage over TLS")
        answer = read_startup_answer(tls, deadline)
        terminate(tls)
        return IdentityOverTls(attempted, answer.render(), classify_identity_over_tls(answer))

    # -- driver-level checks (psycopg / libpq), only with --aurora-user ---------------------

    def driver_plaintext(self, endpoint: Endpoint, settings: GuardSettings) -> DriverAttempt:
        attempted = (
            f"psycopg connect with sslmode=disable as {settings.user!r} and a deliberately wrong "
            "password (the real one never travels unencrypted)"
        )
        params = self._params(endpoint, settings, sslmode="disable", password=decoy_password())
        return self._attempt(attempted, params, None, DriverMode.PLAINTEXT)

    def driver_capped(self, endpoint: Endpoint, settings: GuardSettings, version: TlsVersion,
                      contexts: TlsContexts) -> DriverAttempt:
        attempted = (
            f"psycopg connect with sslmode=require, ssl_max_protocol_version={version.server_setting} "
            f"as {settings.user!r} and a deliberately wrong password"
        )
        params = self._params(endpoint, settings, sslmode="require", password=decoy_password(),
                              ssl_min_protocol_version="TLSv1", ssl_max_protocol_version=version.server_setting)
        return self._attempt(attempted, params, None, DriverMode.CAPPED, version)

    def driver_verified(self, endpoint: Endpoint, settings: GuardSettings) -> DriverAttempt:
        params = self._verified_params(endpoint, settings)
        attempted = (
            f"psycopg connect with sslmode=verify-full (sslrootcert={params['sslrootcert']}) as "
            f"{settings.user!r}, then read this backend's row of pg_stat_ssl (ssl, version, cipher), "
            "rds.force_ssl and the connectable databases (pg_database.datallowconn)"
        )
        return self._attempt(attempted, params, settings.password, DriverMode.VERIFIED)

    def connect(self, endpoint: Endpoint, settings: GuardSettings, **overrides: Any) -> Any:
        """A psycopg connection that verifies the server (verify-full) before sending credentials."""
        return open_for_user("psycopg", endpoint.label, self._verified_params(endpoint, settings), overrides,
                             _UNSAFE_OVERRIDES, _connect, settings.password)

    def _verified_params(self, endpoint: Endpoint, settings: GuardSettings) -> dict[str, Any]:
        root = str(settings.ca_bundle) if settings.ca_bundle else "system"
        return self._params(endpoint, settings, sslmode="verify-full", sslrootcert=root)

    def _params(self, endpoint: Endpoint, settings: GuardSettings, **extra: Any) -> dict[str, Any]:
        params: dict[str, Any] = {
            "host": endpoint.host,
            "port": endpoint.dial_port,
            "user": settings.user,
            "dbname": settings.dbname or DEFAULT_DBNAME,
            "application_name": APPLICATION_NAME,
            "connect_timeout": max(2, math.ceil(settings.timeout)),
            # GSSAPI encryption would hide what we test: the transport is TLS or nothing.
            "gssencmode": "disable",
        }
        if endpoint.address is not None:
            # libpq connects to hostaddr (numeric only) while verify-full and SNI still use host:
            # the --aurora-connect-to contract.
            params["hostaddr"] = resolve_addresses(endpoint.address, endpoint.dial_port or 5432)[0]
        params.update(extra)
        return params

    def _attempt(self, attempted: str, params: dict[str, Any], secret: Optional[Secret],
                 expect: DriverMode, offered: Optional[TlsVersion] = None) -> DriverAttempt:
        opened = driver_call(lambda: _connect(params, secret), [secret])
        if isinstance(opened, DriverFailure):
            return DriverAttempt(attempted, opened.message, classify_driver_error(opened.message, expect, offered))
        try:
            if expect is not DriverMode.VERIFIED:
                return DriverAttempt(attempted, "the connection succeeded", DriverKind.CONNECTED)
            return _read_verified_session(attempted, opened, secret)
        finally:
            driver_call(opened.close, [secret])


def _connect(params: dict[str, Any], secret: Optional[Secret]) -> Any:
    import psycopg  # imported late: the plugin must load fast and inert without it

    if secret is None:
        return psycopg.connect(**params, autocommit=True)
    return psycopg.connect(**params, password=libpq_password(secret, params), autocommit=True)


def _read_verified_session(attempted: str, conn: Any, secret: Optional[Secret]) -> DriverAttempt:
    """The queries of the server's own view, each through driver_call; :func:`session_view` reads the answers."""
    tls_row = driver_call(lambda: conn.execute(_SESSION_TLS_QUERY).fetchone(), [secret])
    if isinstance(tls_row, DriverFailure) or tls_row is None:
        return session_view(attempted, tls_row, None, ())  # nothing else is read without this backend's row
    force_ssl_row = driver_call(lambda: conn.execute(_FORCE_SSL_QUERY).fetchone(), [secret])
    databases_rows = driver_call(lambda: conn.execute(_DATABASES_QUERY).fetchall(), [secret])
    return session_view(attempted, tls_row, force_ssl_row, databases_rows)


Row = Sequence[Any]


def session_view(attempted: str, tls_row: Union[Row, DriverFailure, None],
                 force_ssl_row: Union[Row, DriverFailure, None],
                 databases_rows: Union[Sequence[Row], DriverFailure]) -> DriverAttempt:
    """The server's own view of a verified session, from its answers: this backend's pg_stat_ssl row
    (ssl, version, cipher), Aurora's rds.force_ssl (a NULL or no row: the server has no such parameter)
    and the connectable databases (one name a row). A version this plugin does not know is not conclusive.
    """
    if isinstance(tls_row, DriverFailure):
        return DriverAttempt(attempted, f"connected, but reading pg_stat_ssl failed: {tls_row.message}",
                             DriverKind.NOT_CONCLUSIVE)
    if tls_row is None:
        return DriverAttempt(attempted, "pg_stat_ssl has no row for this backend", DriverKind.NOT_CONCLUSIVE)
    transport: Optional[TransportSetting] = None
    if isinstance(force_ssl_row, DriverFailure):
        transport_text = f"rds.force_ssl unreadable: {force_ssl_row.render()}"
    else:
        transport = TransportSetting(
            _FORCE_SSL, None if force_ssl_row is None or force_ssl_row[0] is None else str(force_ssl_row[0]))
        transport_text = transport.render()
    names = () if isinstance(databases_rows, DriverFailure) else tuple(str(r[0]) for r in databases_rows)
    # pg_stat_ssl.ssl is a boolean: anything else (a proxy's text 'f', say) is not "encrypted".
    encrypted, version_text, cipher = tls_row[0] is True, tls_row[1], tls_row[2]
    answered = (f"connected; pg_stat_ssl says ssl={encrypted}, version={version_text}, cipher={cipher}; "
                + transport_text
                + (f"; the connectable databases could not be listed: {databases_rows.render()}"
                   if isinstance(databases_rows, DriverFailure)
                   else f"; connectable databases: {', '.join(names)}" if names
                   else "; no connectable database was listed"))
    version = parse_server_tls_version(version_text) if version_text else None
    if version_text and version is None:
        return DriverAttempt(attempted, f"{answered}; the server reports a TLS version this plugin does not know",
                             DriverKind.NOT_CONCLUSIVE, transport=transport, databases=names)
    session = SessionTls(encrypted=encrypted, version=version, cipher_name=cipher)
    return DriverAttempt(attempted, answered, DriverKind.CONNECTED, session, transport, names)


PLAINTEXT_REPEATS = 2


def _identity(user: str, database: str, *, random: bool = False) -> PlaintextIdentity:
    return PlaintextIdentity(user, database, f"{APPLICATION_NAME}-{secrets.token_hex(3)}", random)


def _random_name() -> str:
    return f"aurora_guard_{secrets.token_hex(4)}"


def classify_plaintext_answer(answer: PgErrorResponse | PgAuthenticationRequest) -> PlaintextKind:
    if isinstance(answer, PgAuthenticationRequest):
        return PlaintextKind.SESSION_ESTABLISHED if answer.code == 0 else PlaintextKind.REACHED_AUTHENTICATION
    if answer.sqlstate == _INVALID_AUTHORIZATION and _UNENCRYPTED_REFUSAL.search(answer.message):
        return PlaintextKind.REFUSED_FOR_TRANSPORT
    return PlaintextKind.NOT_CONCLUSIVE


def classify_identity_over_tls(answer: PgErrorResponse | PgAuthenticationRequest) -> Optional[bool]:
    """Whether the probe identity reaches authentication over TLS: True for any authentication
    request, False for pg_hba's refusal of this encrypted connection, None for anything else."""
    if isinstance(answer, PgAuthenticationRequest):
        return True
    if answer.sqlstate == _INVALID_AUTHORIZATION and _ENCRYPTED_REFUSAL.search(answer.message):
        return False
    return None


def classify_driver_error(message: str, expect: DriverMode,
                          offered: Optional[TlsVersion] = None) -> DriverKind:
    """Classify a libpq connection failure from its text: libpq gives no SQLSTATE for these."""
    if re.search(r",\s*(no encryption|SSL off)\b", message):
        return DriverKind.REFUSED_FOR_TRANSPORT
    if _CERT_FAILED.search(message):
        return DriverKind.CERTIFICATE_REJECTED
    if _NO_TLS.search(message):
        return DriverKind.TLS_NOT_OFFERED
    tls = classify_tls_failure_text(message, offered)
    if tls is not None:
        return driver_tls_failure_kind(tls)
    if re.search(r"ssl_(max|min)_protocol_version|invalid .*protocol version", message, re.I):
        return DriverKind.LOCAL_LIMIT
    if _PASSWORD_FAILED.search(message):
        return DriverKind.CREDENTIALS_REJECTED if expect is DriverMode.VERIFIED \
            else DriverKind.REACHED_AUTHENTICATION
    if expect is DriverMode.CAPPED and re.search(r"pg_hba\.conf.*(SSL encryption|SSL on)", message):
        # pg_hba refused the identity, but only after a TLS session below the floor was set up.
        return DriverKind.REACHED_AUTHENTICATION
    return DriverKind.NOT_CONCLUSIVE
