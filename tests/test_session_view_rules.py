"""What the server's own answers over a verified session say, on answers built here (no server).

After a verified driver login the guard reads the server's view of that session (PostgreSQL's
pg_stat_ssl row, MySQL's Ssl_version / Ssl_cipher status) and of its global transport rule
(rds.force_ssl, require_secure_transport). ``session_view`` turns those answers, or the failure
of each query, into the DriverAttempt the driver_verified_session check judges.
"""

from __future__ import annotations

import pytest

from pytest_aurora_guard.engines import mysql, postgresql
from pytest_aurora_guard.engines.drivers import DriverFailure, parse_server_tls_version
from pytest_aurora_guard.findings import DriverAttempt, DriverKind, SessionTls, TransportSetting
from pytest_aurora_guard.tls.versions import TlsVersion

ATTEMPTED = "a verified driver login as 'guard'"
CIPHER = "TLS_AES_256_GCM_SHA384"
DATABASES = [("postgres",), ("shop",)]
DENIED = DriverFailure("InsufficientPrivilege", "permission denied")
FORCE_SSL_ON = TransportSetting("rds.force_ssl", "1")
REQUIRED = TransportSetting("require_secure_transport", "ON")
SESSION_STATUS = "SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')"
TRANSPORT_VARIABLES = "SHOW GLOBAL VARIABLES LIKE 'require_secure_transport'"


def connected(answered: str, session: SessionTls, transport: TransportSetting | None,
              databases: tuple[str, ...] = ()) -> DriverAttempt:
    return DriverAttempt(ATTEMPTED, answered, DriverKind.CONNECTED, session, transport, databases)


def pg_answered(ssl: str, version: str, cipher: str, transport: str,
                databases: str = "; connectable databases: postgres, shop") -> str:
    return f"connected; pg_stat_ssl says ssl={ssl}, version={version}, cipher={cipher}; {transport}{databases}"


class TestPostgresSessionView:
    """``postgresql.session_view``: pg_stat_ssl, rds.force_ssl and pg_database's connectable rows."""

    def test_is_inconclusive_with_the_failure_text_when_pg_stat_ssl_cannot_be_read(self):
        assert postgresql.session_view(ATTEMPTED, DENIED, None, ()) == DriverAttempt(
            ATTEMPTED, "connected, but reading pg_stat_ssl failed: permission denied", DriverKind.NOT_CONCLUSIVE)

    def test_is_inconclusive_when_pg_stat_ssl_has_no_row_for_the_backend(self):
        assert postgresql.session_view(ATTEMPTED, None, None, ()) == DriverAttempt(
            ATTEMPTED, "pg_stat_ssl has no row for this backend", DriverKind.NOT_CONCLUSIVE)

    def test_an_encrypted_session_reports_its_version_cipher_transport_setting_and_databases(self):
        view = postgresql.session_view(ATTEMPTED, (True, "TLSv1.3", CIPHER), ("1",), DATABASES)
        assert view == connected(
            pg_answered("True", "TLSv1.3", CIPHER, "rds.force_ssl = 1"),
            SessionTls(encrypted=True, version=TlsVersion.TLSv1_3, cipher_name=CIPHER),
            FORCE_SSL_ON, ("postgres", "shop"))

    @pytest.mark.parametrize(("reported", "version"), [("TLSv1", TlsVersion.TLSv1_0), ("TLSv1.1", TlsVersion.TLSv1_1),
                                                       ("TLSv1.2", TlsVersion.TLSv1_2)])
    def test_reads_each_version_in_the_spelling_pg_stat_ssl_uses(self, reported, version):
        view = postgresql.session_view(ATTEMPTED, (True, reported, "AES128-SHA"), ("0",), [("postgres",)])
        assert view == connected(
            pg_answered("True", reported, "AES128-SHA", "rds.force_ssl = 0", "; connectable databases: postgres"),
            SessionTls(encrypted=True, version=version, cipher_name="AES128-SHA"),
            TransportSetting("rds.force_ssl", "0"), ("postgres",))

    def test_an_unencrypted_session_has_no_version_and_no_cipher(self):
        view = postgresql.session_view(ATTEMPTED, (False, None, None), ("0",), DATABASES)
        assert view == connected(
            pg_answered("False", "None", "None", "rds.force_ssl = 0"),
            SessionTls(encrypted=False, version=None, cipher_name=None),
            TransportSetting("rds.force_ssl", "0"), ("postgres", "shop"))

    def test_encryption_is_the_ssl_column_not_inferred_from_the_version(self):
        view = postgresql.session_view(ATTEMPTED, (True, None, None), ("1",), DATABASES)
        assert view == connected(
            pg_answered("True", "None", "None", "rds.force_ssl = 1"),
            SessionTls(encrypted=True, version=None, cipher_name=None), FORCE_SSL_ON, ("postgres", "shop"))

    @pytest.mark.parametrize("not_a_boolean", ["f", "t", 1])
    def test_an_ssl_column_that_is_not_the_boolean_true_is_not_encryption(self, not_a_boolean):
        # A proxy answering in text: bool("f") would read as encrypted.
        view = postgresql.session_view(ATTEMPTED, (not_a_boolean, "TLSv1.3", CIPHER), ("1",), DATABASES)
        assert view.session == SessionTls(encrypted=False, version=TlsVersion.TLSv1_3, cipher_name=CIPHER)

    def test_a_version_the_plugin_does_not_know_is_inconclusive_but_keeps_the_setting_and_databases(self):
        view = postgresql.session_view(ATTEMPTED, (True, "TLSv1.4", CIPHER), ("1",), DATABASES)
        assert view == DriverAttempt(
            ATTEMPTED,
            pg_answered("True", "TLSv1.4", CIPHER, "rds.force_ssl = 1")
            + "; the server reports a TLS version this plugin does not know",
            DriverKind.NOT_CONCLUSIVE, transport=FORCE_SSL_ON, databases=("postgres", "shop"))

    @pytest.mark.parametrize("force_ssl_row", [(None,), None], ids=["null", "no row"])
    def test_a_null_or_missing_force_ssl_means_the_server_has_no_such_parameter(self, force_ssl_row):
        view = postgresql.session_view(ATTEMPTED, (True, "TLSv1.3", CIPHER), force_ssl_row, DATABASES)
        assert view == connected(
            pg_answered("True", "TLSv1.3", CIPHER, "rds.force_ssl does not exist on this server"),
            SessionTls(encrypted=True, version=TlsVersion.TLSv1_3, cipher_name=CIPHER),
            TransportSetting("rds.force_ssl", None), ("postgres", "shop"))

    def test_an_unreadable_force_ssl_gives_no_transport_setting_and_says_why(self):
        view = postgresql.session_view(ATTEMPTED, (True, "TLSv1.3", CIPHER), DENIED, DATABASES)
        assert view == connected(
            pg_answered("True", "TLSv1.3", CIPHER,
                        "rds.force_ssl unreadable: permission denied (InsufficientPrivilege)"),
            SessionTls(encrypted=True, version=TlsVersion.TLSv1_3, cipher_name=CIPHER), None, ("postgres", "shop"))

    def test_unlisted_databases_leave_none_and_say_why(self):
        view = postgresql.session_view(ATTEMPTED, (True, "TLSv1.3", CIPHER), ("1",), DENIED)
        assert view == connected(
            pg_answered("True", "TLSv1.3", CIPHER, "rds.force_ssl = 1",
                        "; the connectable databases could not be listed: permission denied "
                        "(InsufficientPrivilege)"),
            SessionTls(encrypted=True, version=TlsVersion.TLSv1_3, cipher_name=CIPHER), FORCE_SSL_ON)

    def test_an_empty_database_list_says_none_was_listed(self):
        view = postgresql.session_view(ATTEMPTED, (True, "TLSv1.3", CIPHER), ("1",), [])
        assert view == connected(
            pg_answered("True", "TLSv1.3", CIPHER, "rds.force_ssl = 1",
                        "; no connectable database was listed"),
            SessionTls(encrypted=True, version=TlsVersion.TLSv1_3, cipher_name=CIPHER), FORCE_SSL_ON)


def mysql_status(version: str, cipher: str) -> dict[str, str]:
    return {"Ssl_version": version, "Ssl_cipher": cipher}


class TestMySqlSessionView:
    """``mysql.session_view``: SHOW SESSION STATUS Ssl_version / Ssl_cipher and require_secure_transport."""

    def test_is_inconclusive_with_the_rendered_failure_when_the_session_status_cannot_be_read(self):
        assert mysql.session_view(ATTEMPTED, DENIED, {}) == DriverAttempt(
            ATTEMPTED, f"connected, but {SESSION_STATUS} failed: permission denied (InsufficientPrivilege)",
            DriverKind.NOT_CONCLUSIVE)

    def test_an_encrypted_session_reports_its_version_cipher_and_transport_setting(self):
        view = mysql.session_view(ATTEMPTED, mysql_status("TLSv1.3", CIPHER), {"require_secure_transport": "ON"})
        assert view == connected(
            f"connected; Ssl_version=TLSv1.3, Ssl_cipher={CIPHER}; require_secure_transport = ON",
            SessionTls(encrypted=True, version=TlsVersion.TLSv1_3, cipher_name=CIPHER), REQUIRED)

    @pytest.mark.parametrize(("reported", "version"), [("TLSv1", TlsVersion.TLSv1_0), ("TLSv1.1", TlsVersion.TLSv1_1),
                                                       ("TLSv1.2", TlsVersion.TLSv1_2)])
    def test_reads_each_version_in_the_spelling_the_status_uses(self, reported, version):
        view = mysql.session_view(ATTEMPTED, mysql_status(reported, "AES128-SHA"), {"require_secure_transport": "OFF"})
        assert view == connected(
            f"connected; Ssl_version={reported}, Ssl_cipher=AES128-SHA; require_secure_transport = OFF",
            SessionTls(encrypted=True, version=version, cipher_name="AES128-SHA"),
            TransportSetting("require_secure_transport", "OFF"))

    @pytest.mark.parametrize("status", [mysql_status("", ""), {}], ids=["empty", "missing"])
    def test_an_empty_or_missing_ssl_version_is_an_unencrypted_session(self, status):
        view = mysql.session_view(ATTEMPTED, status, {"require_secure_transport": "OFF"})
        assert view == connected(
            "connected; Ssl_version=(empty), Ssl_cipher=(empty); require_secure_transport = OFF",
            SessionTls(encrypted=False, version=None, cipher_name=None),
            TransportSetting("require_secure_transport", "OFF"))

    def test_an_empty_cipher_is_no_cipher_name(self):
        view = mysql.session_view(ATTEMPTED, mysql_status("TLSv1.2", ""), {"require_secure_transport": "ON"})
        assert view == connected(
            "connected; Ssl_version=TLSv1.2, Ssl_cipher=(empty); require_secure_transport = ON",
            SessionTls(encrypted=True, version=TlsVersion.TLSv1_2, cipher_name=None), REQUIRED)

    def test_a_version_the_plugin_does_not_know_is_inconclusive_but_keeps_the_transport_setting(self):
        view = mysql.session_view(ATTEMPTED, mysql_status("TLSv1.4", CIPHER), {"require_secure_transport": "ON"})
        assert view == DriverAttempt(
            ATTEMPTED, f"connected; Ssl_version=TLSv1.4, Ssl_cipher={CIPHER}; require_secure_transport = ON; "
                       "the server reports a TLS version this plugin does not know",
            DriverKind.NOT_CONCLUSIVE, transport=REQUIRED)

    def test_no_require_secure_transport_variable_means_the_server_has_none(self):
        view = mysql.session_view(ATTEMPTED, mysql_status("TLSv1.3", CIPHER), {})
        assert view == connected(
            f"connected; Ssl_version=TLSv1.3, Ssl_cipher={CIPHER}; "
            "require_secure_transport does not exist on this server",
            SessionTls(encrypted=True, version=TlsVersion.TLSv1_3, cipher_name=CIPHER),
            TransportSetting("require_secure_transport", None))

    def test_unreadable_variables_give_no_transport_setting_and_the_rendered_failure(self):
        view = mysql.session_view(ATTEMPTED, mysql_status("TLSv1.3", CIPHER), DENIED)
        assert view == connected(
            f"connected; Ssl_version=TLSv1.3, Ssl_cipher={CIPHER}; "
            f"{TRANSPORT_VARIABLES} failed: permission denied (InsufficientPrivilege)",
            SessionTls(encrypted=True, version=TlsVersion.TLSv1_3, cipher_name=CIPHER), None)


class TestNamedValues:
    """``mysql.named_values``: SHOW STATUS / SHOW VARIABLES rows as text by name."""

    def test_decodes_bytes_names_and_values_as_utf8(self):
        assert mysql.named_values([(b"Ssl_cipher", "caf\u00e9".encode()), ("Ssl_version", b"TLSv1.3")]) == {
            "Ssl_cipher": "caf\u00e9", "Ssl_version": "TLSv1.3"}

    def test_replaces_undecodable_bytes_instead_of_failing(self):
        assert mysql.named_values([(b"Ssl_cipher\xff", b"\xfe")]) == {"Ssl_cipher\ufffd": "\ufffd"}

    def test_renders_other_values_as_text(self):
        assert mysql.named_values([("Ssl_accepts", 3), ("Ssl_cipher", None)]) == {
            "Ssl_accepts": "3", "Ssl_cipher": "None"}


class TestParseServerTlsVersion:
    """``parse_server_tls_version``: a session's version as the server names it, or None."""

    def test_reads_a_version_the_plugin_knows(self):
        assert parse_server_tls_version("TLSv1.3") is TlsVersion.TLSv1_3

    def test_is_none_for_a_version_the_plugin_does_not_know(self):
        assert parse_server_tls_version("TLSv1.4") is None
