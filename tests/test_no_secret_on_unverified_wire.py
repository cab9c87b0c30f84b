"""The rule: the real password never goes over a connection that is not TLS with a verified
certificate and hostname: not in clear, not as a scramble, not encrypted with a key the server sent.

Hostile peers ask for it every way MySQL and PostgreSQL allow and record every byte they get;
the tests compute every form the password could take with the nonces the peer handed out and
assert that none arrived.
"""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
import struct
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from pytest_aurora_guard.engines.drivers import DriverFailure, driver_call
from pytest_aurora_guard.engines.mysql import MySqlAdapter, _guarded_connection
from pytest_aurora_guard.engines.postgresql import PostgresAdapter
from pytest_aurora_guard.errors import UnverifiedTransportError
from pytest_aurora_guard.findings import DriverKind
from pytest_aurora_guard.settings.config import GuardSettings
from pytest_aurora_guard.settings.credentials import Secret, require_verified_tls
from pytest_aurora_guard.settings.endpoints import parse_endpoint
from tests.hostile_mysql import Ask, MySqlScript, mysql_peer
from tests.hostile_peers import tcp_peer

MARKER = "m4rker-Pa55word-9f3e"

# Every way a MySQL server can ask for the password, none of them over verified TLS.
HOSTILE_MYSQL = {
    "native scramble capture": MySqlScript(plugin=b"mysql_native_password", ask=Ask.DENY),
    "caching_sha2 fast-path scramble capture": MySqlScript(plugin=b"caching_sha2_password", ask=Ask.DENY),
    "caching_sha2 full authentication with the peer's RSA key": MySqlScript(
        plugin=b"caching_sha2_password", ask=Ask.SHA2_FULL_AUTH),
    "switch to the cleartext plugin": MySqlScript(ask=Ask.SWITCH, switch_plugin=b"mysql_clear_password"),
    "switch to a plugin the client does not know": MySqlScript(ask=Ask.SWITCH, switch_plugin=b"aurora_unknown"),
    "switch to mysql_old_password": MySqlScript(ask=Ask.OLD_SWITCH),
    "switch to client_ed25519": MySqlScript(ask=Ask.SWITCH, switch_plugin=b"client_ed25519"),
    "the cleartext plugin named in the greeting": MySqlScript(plugin=b"mysql_clear_password", ask=Ask.DENY),
    "the cleartext plugin named in the greeting, then AuthMoreData": MySqlScript(
        plugin=b"mysql_clear_password", ask=Ask.MORE_DATA),
}


def settings_for(endpoint: str, ca: object, **extra: object) -> GuardSettings:
    return GuardSettings(endpoints=(parse_endpoint(endpoint),), user="guard", password=Secret(MARKER),
                         ca_bundle=ca, timeout=3, **extra)  # type: ignore[arg-type]


@pytest.fixture(params=sorted(HOSTILE_MYSQL), ids=lambda name: name.replace(" ", "-"))
def hostile_mysql(request):
    with mysql_peer(HOSTILE_MYSQL[request.param]) as (port, capture):
        yield port, capture


class TestTheGuardOnTheDriversSocket:
    def test_a_plain_socket_is_refused(self):
        with socket.socket() as sock, pytest.raises(UnverifiedTransportError, match="not TLS"):
            require_verified_tls(sock)

    def test_tls_without_certificate_verification_is_refused(self, test_pki):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with socket.socket() as raw, context.wrap_socket(raw, do_handshake_on_connect=False) as tls, \
                pytest.raises(UnverifiedTransportError, match="does not verify"):
            require_verified_tls(tls)

    def test_pymysql_told_to_skip_tls_still_sends_nothing_derived_from_the_password(self, hostile_mysql):
        port, capture = hostile_mysql
        params = {"host": "127.0.0.1", "port": port, "user": "guard", "ssl_disabled": True,
                  "connect_timeout": 3, "read_timeout": 3, "read_default_file": None}
        outcome = driver_call(lambda: _guarded_connection(params, Secret(MARKER)), [Secret(MARKER)])
        assert isinstance(outcome, DriverFailure)
        assert capture.received, "the peer saw no connection"
        assert capture.leaked(MARKER) == []


class TestVerifiedDriverPaths:
    def test_the_verified_mysql_session_sends_nothing_derived_from_the_password(self, hostile_mysql, ca_bundle):
        port, capture = hostile_mysql
        attempt = MySqlAdapter().driver_verified(parse_endpoint(f"mysql://127.0.0.1:{port}"),
                                                 settings_for(f"mysql://127.0.0.1:{port}", ca_bundle))
        assert attempt.kind is DriverKind.TLS_NOT_OFFERED  # the greeting has no CLIENT_SSL
        assert capture.leaked(MARKER) == []
        assert MARKER not in attempt.answered

    def test_aurora_connect_to_mysql_raises_our_error_and_sends_nothing(self, hostile_mysql, ca_bundle):
        from pytest_aurora_guard.errors import DriverError

        port, capture = hostile_mysql
        endpoint = f"mysql://127.0.0.1:{port}"
        with pytest.raises(DriverError) as raised:
            MySqlAdapter().connect(parse_endpoint(endpoint), settings_for(endpoint, ca_bundle))
        assert raised.value.__context__ is None
        assert raised.value.__cause__ is None
        assert capture.leaked(MARKER) == []

    def test_a_certificate_from_another_ca_gets_nothing(self, ca_bundle, tmp_path):
        from tests.support.pki import make_pki

        other = make_pki(tmp_path / "other")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(other.server_cert, other.server_key)
        with mysql_peer(MySqlScript(tls=context, ask=Ask.ACCEPT)) as (port, capture):
            endpoint = f"mysql://127.0.0.1:{port}"
            attempt = MySqlAdapter().driver_verified(parse_endpoint(endpoint), settings_for(endpoint, ca_bundle))
        assert attempt.kind is DriverKind.CERTIFICATE_REJECTED
        assert capture.leaked(MARKER) == []

    @pytest.mark.parametrize("ask", [Ask.DENY, Ask.SWITCH], ids=["scramble", "cleartext-switch"])
    def test_the_whole_gate_against_a_hostile_mysql_peer_sends_and_prints_nothing(
        self, run_guard, monkeypatch, ca_bundle, ask
    ):
        with mysql_peer(MySqlScript(plugin=b"caching_sha2_password", ask=ask)) as (port, capture):
            monkeypatch.setenv("AURORA_GUARD_PASSWORD", MARKER)
            run = run_guard(f"--aurora-endpoint=mysql://127.0.0.1:{port}", "--aurora-user=guard",
                            f"--aurora-ca-bundle={ca_bundle}", "--aurora-timeout=3")
        assert "passed" not in run.outcomes().values()
        assert len(capture.received) >= 3  # the plaintext, capped and verified attempts all reached it
        assert capture.leaked(MARKER) == []
        assert MARKER not in run.output


# -- PostgreSQL -------------------------------------------------------------------------------


@contextmanager
def pg_asking_for_the_password() -> Iterator[tuple[int, list[bytes], list[bytes]]]:
    """Answers 'N' to SSLRequest, then asks a plaintext client for its password in clear (and, on
    the next connection, as MD5 with our salt); records every byte and every salt."""
    received: list[bytes] = []
    salts: list[bytes] = []

    def serve(conn: socket.socket) -> None:
        conn.settimeout(5)
        data = b""
        try:
            first = conn.recv(8)
            data += first
            if first == struct.pack("!II", 8, 80877103):
                conn.sendall(b"N")
                first = conn.recv(4096)
                data += first
            salt = os.urandom(4)
            salts.append(salt)
            if len(received) % 2:
                conn.sendall(b"R" + struct.pack("!II", 12, 5) + salt)  # AuthenticationMD5Password
            else:
                conn.sendall(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword
            data += conn.recv(4096)
        except OSError:
            pass
        finally:
            received.append(data)

    with tcp_peer(serve) as port:
        yield port, received, salts


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).hexdigest().encode()  # PostgreSQL's md5 method


def pg_password_material(user: str, salts: list[bytes]) -> list[bytes]:
    inner = _md5((MARKER + user).encode())
    return [MARKER.encode(), inner] + [b"md5" + _md5(inner + salt) for salt in salts]


class TestPostgresql:
    def test_the_verified_session_never_answers_a_plaintext_password_request(self, ca_bundle):
        with pg_asking_for_the_password() as (port, received, salts):
            endpoint = f"postgresql://127.0.0.1:{port}"
            attempt = PostgresAdapter().driver_verified(parse_endpoint(endpoint), settings_for(endpoint, ca_bundle))
        assert attempt.kind is DriverKind.TLS_NOT_OFFERED
        assert received
        assert all(form not in blob for blob in received for form in pg_password_material("guard", salts))

    def test_the_whole_gate_against_it_sends_and_prints_nothing(self, run_guard, monkeypatch, ca_bundle):
        with pg_asking_for_the_password() as (port, received, salts):
            monkeypatch.setenv("AURORA_GUARD_PASSWORD", MARKER)
            run = run_guard(f"--aurora-endpoint=postgresql://127.0.0.1:{port}", "--aurora-user=guard",
                            f"--aurora-ca-bundle={ca_bundle}", "--aurora-timeout=3")
        assert "passed" not in run.outcomes().values()
        assert len(received) >= 3
        assert all(form not in blob for blob in received for form in pg_password_material("guard", salts))
        assert MARKER not in run.output


# -- IAM tokens (MySQL takes them through mysql_clear_password) ---------------------------------

# Parts of every SigV4-presigned connect token: none may reach a peer that is not verified TLS.
TOKEN_MARKS = (b"X-Amz-Signature", b"X-Amz-Credential", b"Action=connect")

# The two ways a server can ask a client for a cleartext credential.
CLEARTEXT_ASKS = {
    "switch to mysql_clear_password": MySqlScript(ask=Ask.SWITCH, switch_plugin=b"mysql_clear_password"),
    "greeting names mysql_clear_password, then AuthMoreData": MySqlScript(
        plugin=b"mysql_clear_password", ask=Ask.MORE_DATA),
}


@pytest.fixture
def iam_environment(monkeypatch, tmp_path):
    from tests.moto_server import isolate_aws

    isolate_aws(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_REGION", "us-east-1")


def _token_for(port: int) -> Secret:
    from pytest_aurora_guard.aws.iam_tokens import IamTokens

    token = IamTokens()(parse_endpoint(f"mysql://127.0.0.1:{port}"), "guard")
    assert all(mark.decode() in token.reveal() for mark in TOKEN_MARKS), "the marks are not in a real token"
    return token


def _token_leaked(capture, token: Secret) -> bool:
    return any(mark in blob for blob in capture.received for mark in TOKEN_MARKS) or \
        capture.leaked(token.reveal()) != []


@pytest.mark.usefixtures("iam_environment")
class TestIamTokens:
    @pytest.mark.parametrize("ask", sorted(CLEARTEXT_ASKS), ids=lambda name: name.replace(" ", "-"))
    def test_the_iam_plugin_map_on_a_connection_without_tls_sends_nothing_of_the_token(self, ask):
        from pytest_aurora_guard.engines.mysql import _VERIFIED_CLEARTEXT_PLUGINS

        with mysql_peer(CLEARTEXT_ASKS[ask]) as (port, capture):
            token = _token_for(port)
            params = {"host": "127.0.0.1", "port": port, "user": "guard", "ssl_disabled": True,
                      "connect_timeout": 3, "read_timeout": 3, "read_default_file": None,
                      "auth_plugin_map": _VERIFIED_CLEARTEXT_PLUGINS}
            outcome = driver_call(lambda: _guarded_connection(params, token), [token])
        assert isinstance(outcome, DriverFailure)
        assert capture.received, "the peer saw no connection"
        assert not _token_leaked(capture, token)

    @pytest.mark.parametrize("ask", sorted(CLEARTEXT_ASKS), ids=lambda name: name.replace(" ", "-"))
    def test_the_whole_gate_with_iam_auth_sends_and_prints_nothing_of_a_token(self, run_guard, ca_bundle, ask):
        with mysql_peer(CLEARTEXT_ASKS[ask]) as (port, capture):
            run = run_guard(f"--aurora-endpoint=mysql://127.0.0.1:{port}", "--aurora-user=guard",
                            "--aurora-iam-auth", f"--aurora-ca-bundle={ca_bundle}", "--aurora-timeout=3",
                            "-l", "--tb=long")
        assert "passed" not in run.outcomes().values()
        assert len(capture.received) >= 3
        assert not any(mark in blob for blob in capture.received for mark in TOKEN_MARKS)
        assert not any(mark.decode() in run.output for mark in TOKEN_MARKS)

    def test_tls_with_a_certificate_from_another_ca_gets_nothing_of_the_token(self, ca_bundle, tmp_path):
        from tests.support.pki import make_pki

        other = make_pki(tmp_path / "other")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(other.server_cert, other.server_key)
        script = MySqlScript(plugin=b"mysql_clear_password", ask=Ask.MORE_DATA, tls=context)
        with mysql_peer(script) as (port, capture):
            token = _token_for(port)
            endpoint = f"mysql://127.0.0.1:{port}"
            settings = settings_for(endpoint, ca_bundle)
            params = MySqlAdapter()._verified_params(parse_endpoint(endpoint), settings)
            outcome = driver_call(lambda: _guarded_connection(params, token), [token])
        assert isinstance(outcome, DriverFailure)
        assert capture.received
        assert not _token_leaked(capture, token)

    def test_control_a_verified_peer_does_receive_the_token_and_only_after_tls(self, ca_bundle, test_pki):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(test_pki.server_cert, test_pki.server_key)
        script = MySqlScript(plugin=b"mysql_clear_password", ask=Ask.MORE_DATA, tls=context)
        with mysql_peer(script) as (port, capture):
            token = _token_for(port)
            endpoint = f"mysql://127.0.0.1:{port}"
            params = MySqlAdapter()._verified_params(parse_endpoint(endpoint), settings_for(endpoint, ca_bundle))
            driver_call(lambda: _guarded_connection(params, token), [token])
        assert any(token.reveal().encode() in blob for blob in capture.received), \
            "the test cannot tell: a verified peer never got the token"
        ssl_request = 4 + 32  # packet header and SSLRequest: all that goes before TLS starts
        assert not any(mark in blob[:ssl_request] for blob in capture.received for mark in TOKEN_MARKS)
