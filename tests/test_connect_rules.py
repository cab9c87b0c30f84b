"""The rules behind the ``aurora_connect`` fixture, without a server: overrides may tune a user's
connection but never weaken its transport or bring other credentials, the connection is opened
with the verified parameters and the guard's own secret, and a failure surfaces as our scrubbed
exception, never the driver's.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Optional

import pytest

from pytest_aurora_guard.engines import mysql, postgresql
from pytest_aurora_guard.engines.drivers import open_for_user, refuse_unsafe_overrides, verified_context
from pytest_aurora_guard.errors import ConfigurationError, DriverError, UnverifiedTransportError
from pytest_aurora_guard.settings.credentials import Secret
from tests.support.pki import make_pki

UNSAFE = frozenset({"sslmode", "password"})
VERIFIED = {"host": "db.example", "sslmode": "verify-full"}


def refusal(overrides: dict[str, Any], unsafe: frozenset[str] = UNSAFE, driver: str = "psycopg") -> str:
    with pytest.raises(ConfigurationError) as raised:
        refuse_unsafe_overrides(overrides, unsafe, driver)
    return str(raised.value)


class TestOverrides:
    def test_overrides_outside_the_unsafe_set_are_accepted(self):
        refuse_unsafe_overrides({"connect_timeout": 3, "application_name": "smoke"}, UNSAFE, "psycopg")

    def test_one_unsafe_override_is_refused_naming_it_and_the_driver(self):
        assert refusal({"sslmode": "disable", "connect_timeout": 3}) == (
            "aurora_connect does not accept sslmode: with psycopg they could skip TLS or certificate verification, "
            "or take credentials from elsewhere; the fixture always verifies the server with --aurora-ca-bundle and "
            "sends the guard's own credentials")

    def test_every_unsafe_override_is_named_in_order(self):
        assert refusal({"sslmode": "disable", "password": "x"}, driver="PyMySQL").startswith(
            "aurora_connect does not accept password, sslmode: with PyMySQL they could skip TLS")

    def test_postgresql_covers_libpq_s_transport_and_credential_settings(self):
        assert {"sslmode", "sslrootcert", "gssencmode", "sslnegotiation", "hostaddr", "passfile", "service",
                "password", "conninfo", "requiressl"} <= postgresql._UNSAFE_OVERRIDES

    def test_mysql_covers_pymysql_s_transport_and_credential_settings(self):
        assert {"ssl", "ssl_disabled", "ssl_ca", "ssl_verify_cert", "ssl_verify_identity", "unix_socket",
                "read_default_file", "read_default_group", "auth_plugin_map", "password",
                "passwd"} <= mysql._UNSAFE_OVERRIDES


class Opener:
    """Stands for the driver's connect: records what it was given, then returns or raises."""

    def __init__(self, raises: Optional[BaseException] = None) -> None:
        self.raises = raises
        self.calls: list[tuple[dict[str, Any], Optional[Secret]]] = []

    def __call__(self, params: dict[str, Any], password: Optional[Secret]) -> str:
        self.calls.append((params, password))
        if self.raises is not None:
            raise self.raises
        return "connection"


class TestOpenForUser:
    def test_opens_with_the_verified_parameters_and_the_overrides_and_the_guard_s_secret(self):
        opener, secret = Opener(), Secret("hunter2")
        opened = open_for_user("psycopg", "db.example:5432", dict(VERIFIED), {"connect_timeout": 3}, UNSAFE,
                               opener, secret)
        assert opened == "connection"
        assert opener.calls == [({"host": "db.example", "sslmode": "verify-full", "connect_timeout": 3}, secret)]

    def test_an_unsafe_override_is_refused_before_anything_is_opened(self):
        opener = Opener()
        with pytest.raises(ConfigurationError, match="does not accept sslmode: with psycopg they"):
            open_for_user("psycopg", "db.example:5432", dict(VERIFIED), {"sslmode": "disable"}, UNSAFE, opener,
                          Secret("hunter2"))
        assert opener.calls == []

    def test_a_driver_failure_is_our_driver_error_with_the_secret_scrubbed(self):
        opener = Opener(RuntimeError("authentication failed for password hunter2"))
        with pytest.raises(DriverError) as raised:
            open_for_user("psycopg", "db.example:5432", dict(VERIFIED), {}, UNSAFE, opener, Secret("hunter2"))
        assert type(raised.value) is DriverError
        assert str(raised.value) == ("psycopg could not connect to db.example:5432: authentication failed for "
                                     "password *** (RuntimeError)")
        assert raised.value.__cause__ is None

    def test_our_guard_s_refusal_inside_the_driver_stays_a_transport_refusal(self):
        opener = Opener(UnverifiedTransportError("refused to send the password: the connection is not TLS"))
        with pytest.raises(UnverifiedTransportError) as raised:
            open_for_user("PyMySQL", "db.example:3306", {}, {}, UNSAFE, opener, None)
        assert str(raised.value) == ("PyMySQL could not connect to db.example:3306: refused to send the password: "
                                     "the connection is not TLS")


class TestVerifiedContext:
    def test_verifies_chain_and_hostname(self):
        context = verified_context(None)
        assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)

    def test_trusts_the_given_bundle(self, tmp_path: Path):
        pki = make_pki(tmp_path)
        context = verified_context(pki.ca_cert)
        assert [cert["subject"] for cert in context.get_ca_certs()] == [
            ((("organizationName", "pytest-aurora-guard tests"),),
             (("commonName", "Amazon RDS us-east-1 Root CA RSA2048 G1"),))]
