"""PostgreSQL / Aurora PostgreSQL: STARTTLS, the plaintext probe and the psycopg driver checks."""

from __future__ import annotations

import math
import re
import ssl
from typing import Any

from ..errors import TlsNotOffered
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
from ..settings.config import DEFAULT_DBNAME, GuardSettings
from ..settings.credentials import decoy_password
from ..settings.endpoints import Endpoint, Engine
from ..tls.handshake import TlsContexts
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
from .remedies import Remedies

# The encryption state that ends pg_hba's refusal messages: "SSL off" up to the GSS-era code,
# "no encryption" in newer servers (src/backend/libpq/auth.c; the AWS Aurora PostgreSQL security
# page shows the first, real RDS logs the second). Both appear.
_UNENCRYPTED_REFUSAL = re.compile(r"pg_hba\.conf.*,\s*(?:no encryption|SSL off)\s*$", re.S)
_ENCRYPTED_REFUSAL = re.compile(r"pg_hba\.conf.*,\s*(?:SSL encryption|SSL on|GSS encryption)\s*$", re.S)
_INVALID_AUTHORIZATION = "28000"
_PASSWORD_FAILED = re.compile(r"password authentication failed|28P01")
_TLS_REFUSED = re.compile(
    r"alert protocol version|unsupported protocol|alert handshake failure|"
    r"no protocols available|wrong version number|insufficient security",
    re.I,
)
_CERT_FAILED = re.compile(r"certificate verify failed|server certificate for .* does not match|"
                          r"root certificate file .* does not exist|could not read root certificate", re.I)

# The server's own view of this backend's encryption (a constant query: no user input in it).
_SESSION_TLS_QUERY = "SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()"

REMEDIES = Remedies(
    plaintext="set rds.force_ssl=1 in the DB cluster parameter group (self-managed PostgreSQL: "
              "hostssl-only pg_hba.conf plus a 'hostnossl all all 0.0.0.0/0 reject' line)",
    floor="set ssl_min_protocol_version={floor} in the DB cluster parameter group "
          "(Aurora PostgreSQL 11.20/12.15/13.11/14.8/15.3 or later for TLSv1.3)",
    ciphers="restrict ssl_ciphers in the DB cluster parameter group to the allowlisted suites",
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

    def plaintext_attempt(self, endpoint: Endpoint, settings: GuardSettings, deadline: Deadline) -> PlaintextFinding:
        assert endpoint.dial_port is not None
        user, database = settings.probe_user, settings.dbname or DEFAULT_DBNAME
        attempted = (
            f"StartupMessage without SSLRequest (user {user!r}, database {database!r}); "
            "no password is sent"
        )
        sock = connect(endpoint.dial_host, endpoint.dial_port, deadline.remaining())
        try:
            send_all(sock, startup_message(user, database), deadline, "StartupMessage")
            answer = read_startup_answer(sock, deadline)
        finally:
            terminate(sock)
            close_quietly(sock)
        return PlaintextFinding(attempted, answer.render(), classify_plaintext_answer(answer))

    def identity_over_tls(self, tls: ssl.SSLSocket, ready: StartTls, endpoint: Endpoint,
                          settings: GuardSettings, deadline: Deadline) -> IdentityOverTls:
        user, database = settings.probe_user, settings.dbname or DEFAULT_DBNAME
        attempted = f"the same StartupMessage over TLS (user {user!r}, database {database!r}); no password sent"
        send_all(tls, startup_message(user, database), deadline, "StartupMessage over TLS")
        answer = read_startup_answer(tls, deadline)
        terminate(tls)
        if isinstance(answer, PgAuthenticationRequest):
            return IdentityOverTls(attempted, answer.render(), True)
        if answer.sqlstate == _INVALID_AUTHORIZATION and _ENCRYPTED_REFUSAL.search(answer.message):
            return IdentityOverTls(attempted, answer.render(), False)
        return IdentityOverTls(attempted, answer.render(), None)

    # -- driver-level checks (psycopg / libpq), only with --aurora-user ---------------------

    def driver_plaintext(self, endpoint: Endpoint, settings: GuardSettings) -> DriverAttempt:
        attempted = (
            f"psycopg connect with sslmode=disable as {settings.user!r} and a deliberately wrong "
            "password (the real one never travels unencrypted)"
        )
        params = self._params(endpoint, settings, sslmode="disable", password=decoy_password())
        return self._attempt(attempted, params, settings, expect=DriverMode.PLAINTEXT)

    def driver_capped(self, endpoint: Endpoint, settings: GuardSettings, version: TlsVersion,
                      contexts: TlsContexts) -> DriverAttempt:
        attempted = (
            f"psycopg connect with sslmode=require, ssl_max_protocol_version={version.server_setting} "
            f"as {settings.user!r} and a deliberately wrong password"
        )
        params = self._params(endpoint, settings, sslmode="require", password=decoy_password(),
                              ssl_min_protocol_version="TLSv1", ssl_max_protocol_version=version.server_setting)
        return self._attempt(attempted, params, settings, expect=DriverMode.CAPPED)

    def driver_verified(self, endpoint: Endpoint, settings: GuardSettings) -> DriverAttempt:
        params = self._verified_params(endpoint, settings)
        attempted = (
            f"psycopg connect with sslmode=verify-full (sslrootcert={params['sslrootcert']}) as "
            f"{settings.user!r}, then read this backend's row of pg_stat_ssl (ssl, version, cipher)"
        )
        return self._attempt(attempted, params, settings, expect=DriverMode.VERIFIED)

    def connect(self, endpoint: Endpoint, settings: GuardSettings, **overrides: Any) -> Any:
        """A psycopg connection that verifies the server (verify-full) before sending credentials."""
        import psycopg

        params = self._verified_params(endpoint, settings)
        params.update(overrides)
        return psycopg.connect(**params)

    def _verified_params(self, endpoint: Endpoint, settings: GuardSettings) -> dict[str, Any]:
        root = str(settings.ca_bundle) if settings.ca_bundle else "system"
        params = self._params(endpoint, settings, sslmode="verify-full", sslrootcert=root)
        if settings.password is not None:
            params["password"] = settings.password.reveal()
        return params

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

    def _attempt(self, attempted: str, params: dict[str, Any], settings: GuardSettings,
                 expect: DriverMode) -> DriverAttempt:
        import psycopg  # imported late: the plugin must load fast and inert without it

        try:
            conn = psycopg.connect(**params, autocommit=True)
        except psycopg.OperationalError as exc:
            message = _clean_libpq_message(str(exc))
            return DriverAttempt(attempted, message, classify_driver_error(message, expect))
        finally:
            params.pop("password", None)
        try:
            if expect is not DriverMode.VERIFIED:
                return DriverAttempt(attempted, "the connection succeeded", DriverKind.CONNECTED)
            row = conn.execute(_SESSION_TLS_QUERY).fetchone()
        finally:
            conn.close()
        if row is None:
            return DriverAttempt(attempted, "pg_stat_ssl has no row for this backend", DriverKind.NOT_CONCLUSIVE)
        encrypted, version_text, cipher = bool(row[0]), row[1], row[2]
        version = TlsVersion.parse(version_text) if version_text else None
        session = SessionTls(encrypted=encrypted, version=version, cipher_name=cipher)
        answered = f"connected; pg_stat_ssl says ssl={encrypted}, version={version_text}, cipher={cipher}"
        return DriverAttempt(attempted, answered, DriverKind.CONNECTED, session)


def classify_plaintext_answer(answer: PgErrorResponse | PgAuthenticationRequest) -> PlaintextKind:
    if isinstance(answer, PgAuthenticationRequest):
        return PlaintextKind.SESSION_ESTABLISHED if answer.code == 0 else PlaintextKind.REACHED_AUTHENTICATION
    if answer.sqlstate == _INVALID_AUTHORIZATION and _UNENCRYPTED_REFUSAL.search(answer.message):
        return PlaintextKind.REFUSED_FOR_TRANSPORT
    return PlaintextKind.NOT_CONCLUSIVE


def classify_driver_error(message: str, expect: DriverMode) -> DriverKind:
    """Classify a libpq connection failure from its text: libpq gives no SQLSTATE for these."""
    if re.search(r",\s*(no encryption|SSL off)\b", message):
        return DriverKind.REFUSED_FOR_TRANSPORT
    if _CERT_FAILED.search(message):
        return DriverKind.CERTIFICATE_REJECTED
    if _TLS_REFUSED.search(message):
        return DriverKind.REFUSED_TLS
    if re.search(r"ssl_(max|min)_protocol_version|invalid .*protocol version", message, re.I):
        return DriverKind.LOCAL_LIMIT
    if _PASSWORD_FAILED.search(message):
        return DriverKind.CREDENTIALS_REJECTED if expect is DriverMode.VERIFIED else DriverKind.REACHED_AUTHENTICATION
    if expect is DriverMode.CAPPED and re.search(r"pg_hba\.conf.*(SSL encryption|SSL on)", message):
        # pg_hba refused the identity, but only after a TLS session below the floor was set up.
        return DriverKind.REACHED_AUTHENTICATION
    return DriverKind.NOT_CONCLUSIVE


def _clean_libpq_message(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return " | ".join(lines)
