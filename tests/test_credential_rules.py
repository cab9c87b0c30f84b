"""The credential rules without a network: when the password may be handed to a driver's socket,
what a secret in RDS's JSON layout must hold (each error naming the field, never the value), and
the decoy that stands in for the password where the real one must not go.

The hostile-peer suites show no form of the password reaches an unverified peer; these pin each
branch of the rules they rely on, with the exact words a user reads.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_aurora_guard.errors import ConfigurationError, UnverifiedTransportError
from pytest_aurora_guard.settings.credentials import (
    DbSecret,
    Secret,
    decoy_password,
    optional_secret,
    parse_db_secret,
    require_verified_tls,
    reveal_over,
)
from tests.support.pki import TestPki, make_pki

NOT_TLS = ("refused to send the token: the connection is not TLS (the server did not start TLS or the driver fell "
           "back to plaintext); nothing derived from it was sent")
NOT_VERIFYING = ("refused to send the token: the TLS session does not verify the server certificate and hostname; "
                 "nothing derived from it was sent")
NOT_HANDSHAKEN = ("refused to send the token: the TLS handshake has not completed with a verified peer certificate; "
                  "nothing derived from it was sent")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return make_pki(tmp_path_factory.mktemp("credential-pki"))


def client_context(ca: Path, *, verify: bool = True, check_hostname: bool = True) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca))
    context.check_hostname = check_hostname
    if not verify:
        context.verify_mode = ssl.CERT_NONE
    return context


@pytest.fixture
def handshaken(pki: TestPki) -> Iterator[ssl.SSLSocket]:
    """A TLS session to a server of the throwaway CA over a local socket pair, fully verified."""
    ours, theirs = socket.socketpair()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(pki.server_cert, pki.server_key)

    def serve() -> None:
        with server_context.wrap_socket(theirs, server_side=True) as tls:
            tls.recv(1)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    with client_context(pki.ca_cert).wrap_socket(ours, server_hostname="localhost") as tls:
        yield tls
        tls.sendall(b"x")
    server.join(5)


class TestRequireVerifiedTls:
    def test_a_verified_completed_session_is_handed_back(self, handshaken: ssl.SSLSocket):
        assert require_verified_tls(handshaken, "the token") is handshaken

    def test_the_password_is_revealed_only_over_it(self, handshaken: ssl.SSLSocket):
        assert reveal_over(Secret("hunter2"), handshaken) == "hunter2"

    def test_anything_that_is_not_a_tls_socket_is_refused(self):
        with socket.socket() as plain, pytest.raises(UnverifiedTransportError) as raised:
            require_verified_tls(plain, "the token")
        assert str(raised.value) == NOT_TLS

    def test_the_refusal_names_the_password_by_default(self):
        with socket.socket() as plain, pytest.raises(UnverifiedTransportError) as raised:
            reveal_over(Secret("hunter2"), plain)
        assert str(raised.value) == NOT_TLS.replace("the token", "the password")

    def test_a_credential_is_what_the_guard_names_when_told_nothing(self):
        with socket.socket() as plain, pytest.raises(UnverifiedTransportError) as raised:
            require_verified_tls(plain)
        assert str(raised.value).startswith("refused to send the credential: ")

    @pytest.mark.parametrize(("verify", "check_hostname"), [(False, False), (True, False)],
                             ids=["no certificate check", "no hostname check"])
    def test_a_session_that_does_not_verify_certificate_and_hostname_is_refused(
            self, pki: TestPki, verify: bool, check_hostname: bool):
        context = client_context(pki.ca_cert, verify=verify, check_hostname=check_hostname)
        with socket.socket() as raw, context.wrap_socket(raw, do_handshake_on_connect=False) as tls, \
                pytest.raises(UnverifiedTransportError) as raised:
            require_verified_tls(tls, "the token")
        assert str(raised.value) == NOT_VERIFYING

    def test_a_verifying_session_before_its_handshake_is_refused(self, pki: TestPki):
        context = client_context(pki.ca_cert)
        with socket.socket() as raw, context.wrap_socket(raw, do_handshake_on_connect=False,
                                                         server_hostname="localhost") as tls, \
                pytest.raises(UnverifiedTransportError) as raised:
            require_verified_tls(tls, "the token")
        assert str(raised.value) == NOT_HANDSHAKEN


class TestDecoyAndOptionalSecrets:
    def test_a_decoy_is_marked_as_ours_and_new_each_time(self):
        first, second = decoy_password(), decoy_password()
        assert first.startswith("aurora-guard-decoy-")
        assert len(first) == len("aurora-guard-decoy-") + 16
        assert first != second

    @pytest.mark.parametrize("value", [None, ""])
    def test_no_value_is_no_secret(self, value):
        assert optional_secret(value) is None

    def test_a_value_is_a_secret_holding_it(self):
        assert optional_secret("s3cret") == Secret("s3cret")


def parsed(text: str) -> DbSecret:
    return parse_db_secret(Secret(text), "Secrets Manager secret 'prod/guard'")


def refusal(text: str) -> str:
    with pytest.raises(ConfigurationError) as raised:
        parsed(text)
    return str(raised.value)


LAYOUT = ("RDS's layout is {\"username\": ..., \"password\": ...} (plus host, port, dbname, engine)")


class TestParseDbSecret:
    def test_an_rds_managed_secret_gives_username_and_password_only(self):
        assert parsed('{"username": "guard", "password": "p-77aa"}') == DbSecret(
            "Secrets Manager secret 'prod/guard'", "guard", Secret("p-77aa"))

    def test_a_rotation_secret_gives_every_field(self):
        assert parsed('{"username": "guard", "password": "p", "host": "db.example", "port": 5432, '
                      '"dbname": "app", "engine": "postgres"}') == DbSecret(
            "Secrets Manager secret 'prod/guard'", "guard", Secret("p"), "db.example", 5432, "app", "postgres")

    @pytest.mark.parametrize(("port", "number"), [('" 3306 "', 3306), ("1", 1), ("65535", 65535)])
    def test_a_port_as_a_number_or_as_text_is_read(self, port: str, number: int):
        assert parsed(f'{{"username": "u", "password": "p", "port": {port}}}').port == number

    def test_empty_optional_fields_are_absent(self):
        assert parsed('{"username": "u", "password": "p", "host": "", "dbname": "", "engine": ""}') == DbSecret(
            "Secrets Manager secret 'prod/guard'", "u", Secret("p"))

    def test_text_that_is_not_json_is_refused_without_quoting_it(self):
        assert refusal("password=hunter2") == ("Secrets Manager secret 'prod/guard' is not JSON; it must use RDS's "
                                               'layout {"username": ..., "password": ...}')

    def test_json_that_is_not_an_object_is_refused(self):
        assert refusal('["guard", "hunter2"]') == (
            "Secrets Manager secret 'prod/guard' is JSON but not an object with username and password")

    @pytest.mark.parametrize(("text", "field"), [
        ('{"password": "hunter2"}', "username"),
        ('{"username": "", "password": "hunter2"}', "username"),
        ('{"username": 7, "password": "hunter2"}', "username"),
        ('{"username": "guard"}', "password"),
        ('{"username": "guard", "password": ""}', "password"),
        ('{"username": "guard", "password": null}', "password"),
    ])
    def test_a_missing_empty_or_non_text_username_or_password_is_named(self, text: str, field: str):
        assert refusal(text) == f"Secrets Manager secret 'prod/guard' has no non-empty string '{field}'; {LAYOUT}"

    @pytest.mark.parametrize("port", ["0", "65536", '"-1"', '"five"', '""', "5432.5"])
    def test_a_port_outside_1_to_65535_is_refused(self, port: str):
        assert refusal(f'{{"username": "u", "password": "p", "port": {port}}}') == (
            "Secrets Manager secret 'prod/guard': 'port' is not a port number from 1 to 65535")

    @pytest.mark.parametrize("field", ["host", "dbname", "engine"])
    def test_an_optional_field_that_is_not_text_is_named(self, field: str):
        assert refusal(f'{{"username": "u", "password": "p", "{field}": 5}}') == (
            f"Secrets Manager secret 'prod/guard': '{field}' must be a string")

    def test_no_refusal_quotes_the_password(self):
        for text in ('{"username": "", "password": "hunter2"}', '{"username": "u", "password": "hunter2", "port": 0}'):
            assert "hunter2" not in refusal(text)
