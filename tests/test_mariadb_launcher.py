"""The MariaDB servers the suite stands on really are configured as their profile names say.

These tests are also the record of what MariaDB 10.11 with OpenSSL 3.0 answers in each profile
(plaintext login with the right password, TLS handshakes at each version), on which the
MySQL verdict rules are built.
"""

from __future__ import annotations

import socket
import ssl
from typing import Optional

import pymysql
import pytest

from pytest_aurora_guard.tls.handshake import (
    HandshakeCompleted,
    HandshakeOutcome,
    HandshakeRefused,
    TlsContexts,
    handshake,
)
from pytest_aurora_guard.tls.versions import TlsVersion
from pytest_aurora_guard.wire import mysql as wire
from pytest_aurora_guard.wire.net import Deadline, close_quietly, connect, send_all
from tests.support.mariadb import MariaDbProfile, RunningMariaDb, start_mariadb
from tests.support.pki import TestPki

PROFILE_FIXTURES = {
    "hardened": "mariadb_hardened",
    "weak": "mariadb_weak",
    "in_between": "mariadb_in_between",
    "no_tls": "mariadb_no_tls",
}


@pytest.fixture(scope="module")
def tls_contexts() -> TlsContexts:
    return TlsContexts()


def server_for(request: pytest.FixtureRequest, profile: str) -> RunningMariaDb:
    server = request.getfixturevalue(PROFILE_FIXTURES[profile])
    assert isinstance(server, RunningMariaDb)
    return server


def login(server: RunningMariaDb, *, tls: bool) -> pymysql.connections.Connection:
    """The guard user with the right password, over verified TLS or forced plaintext."""
    if tls:
        return pymysql.connect(
            host=server.host, port=server.port, user=server.user, password=server.password,
            # Not ssl={"ca": ...} together with ssl_verify_identity: PyMySQL then drops the CA.
            ssl_ca=str(server.ca_cert), ssl_verify_cert=True, ssl_verify_identity=True,
            connect_timeout=5,
        )
    return pymysql.connect(
        host=server.host, port=server.port, user=server.user, password=server.password,
        ssl_disabled=True, connect_timeout=5,
    )


def session_ssl_version(connection: pymysql.connections.Connection) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
        row = cursor.fetchone()
    return str(row[1]) if row else ""


def global_variables(server: RunningMariaDb) -> dict[str, str]:
    tls = server.profile.offers_tls
    with login(server, tls=tls) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN "
            "('require_secure_transport', 'tls_version', 'ssl_cipher', 'have_ssl')"
        )
        return {str(name): str(value) for name, value in cursor.fetchall()}


def starttls(server: RunningMariaDb, context: ssl.SSLContext) -> HandshakeOutcome:
    """SSLRequest, then a TLS handshake with ``context``: the outcome as a probe sees it."""
    sock = connect(server.host, server.port, 5)
    deadline = Deadline(5)
    tls: Optional[ssl.SSLSocket] = None
    try:
        greeting = wire.read_greeting(sock, deadline)
        send_all(sock, wire.ssl_request_packet(greeting), deadline, "SSLRequest")
        outcome, tls = handshake(sock, context, server_name=None, deadline=deadline)
        return outcome
    finally:
        if tls is not None:
            tls.close()
        close_quietly(sock)


def tls12_context(suite: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(suite)
    return context


# --- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        pytest.param(
            "hardened",
            {"have_ssl": "YES", "require_secure_transport": "ON", "tls_version": "TLSv1.3",
             "ssl_cipher": ""},
            id="hardened",
        ),
        pytest.param(
            "weak",
            {"have_ssl": "YES", "require_secure_transport": "OFF",
             "tls_version": "TLSv1.0,TLSv1.1,TLSv1.2,TLSv1.3", "ssl_cipher": "ALL:@SECLEVEL=0"},
            id="weak",
        ),
        pytest.param(
            "in_between",
            {"have_ssl": "YES", "require_secure_transport": "ON", "tls_version": "TLSv1.2,TLSv1.3",
             "ssl_cipher": "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"},
            id="in_between",
        ),
        pytest.param(
            "no_tls",
            {"have_ssl": "DISABLED", "require_secure_transport": "OFF",
             "tls_version": "TLSv1.2,TLSv1.3", "ssl_cipher": ""},
            id="no_tls",
        ),
    ],
)
def test_each_profile_runs_with_its_settings(
    request: pytest.FixtureRequest, profile: str, expected: dict[str, str]
) -> None:
    assert global_variables(server_for(request, profile)) == expected


def test_the_password_never_shows_in_a_repr(mariadb_hardened: RunningMariaDb) -> None:
    assert mariadb_hardened.password not in repr(mariadb_hardened)
    assert repr(mariadb_hardened.password) == "'***'"


def test_root_cannot_log_in_over_tcp(mariadb_weak: RunningMariaDb) -> None:
    # mariadb-install-db makes password-less root accounts for 127.0.0.1, ::1 and the hostname.
    with pytest.raises(pymysql.err.OperationalError) as info:
        pymysql.connect(host=mariadb_weak.host, port=mariadb_weak.port, user="root",
                        ssl_disabled=True, connect_timeout=5)
    assert info.value.args[0] == 1045


def test_stop_shuts_the_server_down_and_removes_its_files(test_pki: TestPki) -> None:
    server = start_mariadb(MariaDbProfile.NO_TLS, test_pki)
    server.stop()
    assert not server.directory.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((server.host, server.port), timeout=5).close()


# --- plaintext with the right password (PyMySQL ssl_disabled=True) ----------------------


@pytest.mark.parametrize("profile", ["hardened", "in_between"])
def test_require_secure_transport_denies_plaintext_even_with_the_right_password(
    request: pytest.FixtureRequest, profile: str
) -> None:
    # MariaDB 10.11 says "access denied", byte for byte what a wrong password gets (facts §9).
    server = server_for(request, profile)
    with pytest.raises(pymysql.err.OperationalError) as info:
        login(server, tls=False)
    assert info.value.args == (
        1045, "Access denied for user 'guard'@'127.0.0.1' (using password: YES)"
    )


@pytest.mark.parametrize("profile", ["weak", "no_tls"])
def test_plaintext_with_the_right_password_logs_in_where_allowed(
    request: pytest.FixtureRequest, profile: str
) -> None:
    with login(server_for(request, profile), tls=False) as connection:
        assert session_ssl_version(connection) == ""


@pytest.mark.parametrize("profile", ["hardened", "weak", "in_between"])
def test_the_guard_user_logs_in_over_verified_tls(
    request: pytest.FixtureRequest, profile: str
) -> None:
    with login(server_for(request, profile), tls=True) as connection:
        assert session_ssl_version(connection) == "TLSv1.3"


# --- TLS handshakes at each version ---------------------------------------------------------

ACCEPTED_VERSIONS = {
    "hardened": {TlsVersion.TLSv1_3},
    "in_between": {TlsVersion.TLSv1_2, TlsVersion.TLSv1_3},
    "weak": {TlsVersion.TLSv1_0, TlsVersion.TLSv1_1, TlsVersion.TLSv1_2, TlsVersion.TLSv1_3},
}


@pytest.mark.parametrize("version", [v for v in TlsVersion if v is not TlsVersion.SSLv3], ids=str)
@pytest.mark.parametrize("profile", list(ACCEPTED_VERSIONS))
def test_each_profile_completes_handshakes_only_at_its_versions(
    request: pytest.FixtureRequest, tls_contexts: TlsContexts, profile: str, version: TlsVersion
) -> None:
    context = tls_contexts.capped(version)
    assert isinstance(context, ssl.SSLContext), context.render()
    outcome = starttls(server_for(request, profile), context)
    if version in ACCEPTED_VERSIONS[profile]:
        assert isinstance(outcome, HandshakeCompleted), outcome.render()
        assert outcome.version is version
    else:
        assert isinstance(outcome, HandshakeRefused), outcome.render()
        assert outcome.alert == "protocol_version"


@pytest.mark.parametrize(
    ("suite", "accepted"),
    [
        ("ECDHE-RSA-AES128-GCM-SHA256", True),
        ("ECDHE-RSA-AES256-GCM-SHA384", True),
        ("ECDHE-RSA-CHACHA20-POLY1305", False),
        ("ECDHE-RSA-AES128-SHA256", False),
        ("AES256-GCM-SHA384", False),
    ],
)
def test_in_between_accepts_only_its_two_tls12_suites(
    mariadb_in_between: RunningMariaDb, suite: str, accepted: bool
) -> None:
    outcome = starttls(mariadb_in_between, tls12_context(suite))
    if accepted:
        assert isinstance(outcome, HandshakeCompleted), outcome.render()
        assert outcome.cipher_name == suite
    else:
        assert isinstance(outcome, HandshakeRefused), outcome.render()
        assert outcome.alert == "handshake_failure"

