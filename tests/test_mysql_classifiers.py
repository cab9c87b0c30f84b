"""How the MySQL answers are read, branch by branch, on answers built here (no server).

Only error 3159 proves a plaintext refusal (a 1045 comes before the transport check on MariaDB
10.11 and MySQL 5.7); the driver's failures are read from the scrubbed failure alone.
"""

from __future__ import annotations

import pytest

from pytest_aurora_guard.engines.drivers import DriverFailure
from pytest_aurora_guard.engines.mysql import (
    _PLAINTEXT_KINDS,
    classify_pymysql_failure,
    reaches_authentication_over_tls,
)
from pytest_aurora_guard.findings import DriverKind, DriverMode, PlaintextKind
from pytest_aurora_guard.tls.versions import TlsVersion
from pytest_aurora_guard.wire.mysql import (
    LoginAnswerKind,
    MySqlError,
    MySqlLoginAnswer,
    PlaintextOutcome,
    classify_plaintext_login,
)
from tests.openssl_errors import alert, client_context, handshake_error, no_protocols_context

_INSECURE = "Connections using insecure transport are prohibited while --require_secure_transport=ON."


def error(code: int, sqlstate: str | None, message: str) -> MySqlLoginAnswer:
    return MySqlLoginAnswer(LoginAnswerKind.ERROR, error=MySqlError(code, sqlstate, message))


class TestPlaintextLogin:
    """``classify_plaintext_login``: what a credential-free login without TLS proves."""

    @pytest.mark.parametrize(("sqlstate", "server"), [("HY000", "MySQL 8 / Aurora MySQL"),
                                                      ("08004", "MariaDB with MDEV-30178")])
    def test_3159_with_a_known_sqlstate_is_a_refusal_naming_the_server_family(self, sqlstate, server):
        found = classify_plaintext_login(error(3159, sqlstate, _INSECURE))
        assert found.outcome is PlaintextOutcome.REFUSED
        assert found.reason == (f"the server refused plaintext: ERROR 3159 ({sqlstate}): {_INSECURE} "
                                f"(as {server} does with require_secure_transport=ON)")

    @pytest.mark.parametrize("sqlstate", ["42000", None, ""])
    def test_3159_with_an_unknown_sqlstate_is_no_server_we_know(self, sqlstate):
        answer = error(3159, sqlstate, _INSECURE)
        found = classify_plaintext_login(answer)
        assert found.outcome is PlaintextOutcome.INCONCLUSIVE
        assert found.reason == (f"error 3159 with SQLSTATE {sqlstate!r}, which no known server sends with it: "
                                f"{answer.render()}")

    def test_1045_is_no_evidence_because_the_password_is_checked_first(self):
        message = "Access denied for user 'pytest_aurora_guard_probe'@'10.0.0.9' (using password: NO)"
        found = classify_plaintext_login(error(1045, "28000", message))
        assert found.outcome is PlaintextOutcome.INCONCLUSIVE
        assert found.reason == (
            f"ERROR 1045 (28000): {message}: servers that check the password before require_secure_transport "
            "(MariaDB 10.11, MySQL 5.7, most likely MySQL 8 / Aurora MySQL) send this same error "
            "whether or not they allow plaintext")

    @pytest.mark.parametrize(("code", "message"), [(1040, "Too many connections"),
                                                   (1130, "Host '10.0.0.9' is not allowed to connect"),
                                                   (3160, "insecure transport")])
    def test_any_other_error_is_a_refusal_that_is_not_about_the_transport(self, code, message):
        found = classify_plaintext_login(error(code, "08004", message))
        assert found.outcome is PlaintextOutcome.INCONCLUSIVE
        assert found.reason == ("the server refused the login for a reason that is not the transport: "
                                f"ERROR {code} (08004): {message}")

    def test_an_error_answer_without_its_packet_fails_closed(self):
        found = classify_plaintext_login(MySqlLoginAnswer(LoginAnswerKind.ERROR))
        assert found.outcome is PlaintextOutcome.INCONCLUSIVE
        assert found.reason == "the server's error packet could not be read"

    def test_a_session_is_plaintext_accepted(self):
        found = classify_plaintext_login(MySqlLoginAnswer(LoginAnswerKind.OK))
        assert found.outcome is PlaintextOutcome.ACCEPTED
        assert found.reason == "the server established a session over plaintext for a login without a password"

    @pytest.mark.parametrize(("answer", "rendered"), [
        (MySqlLoginAnswer(LoginAnswerKind.AUTH_SWITCH, auth_plugin="caching_sha2_password"),
         "AuthSwitchRequest to caching_sha2_password"),
        (MySqlLoginAnswer(LoginAnswerKind.AUTH_MORE_DATA), "AuthMoreData (the auth plugin continues)"),
    ])
    def test_authentication_going_on_is_no_evidence_either_way(self, answer, rendered):
        found = classify_plaintext_login(answer)
        assert found.outcome is PlaintextOutcome.INCONCLUSIVE
        assert found.reason == (
            f"the server went on with authentication over plaintext ({rendered}); servers that check the "
            "transport after the password (MySQL, Aurora MySQL, MariaDB before MDEV-30178) do this whether "
            "or not they require secure transport")

    def test_each_outcome_becomes_the_plaintext_kind_of_the_same_meaning(self):
        assert _PLAINTEXT_KINDS == {
            PlaintextOutcome.REFUSED: PlaintextKind.REFUSED_FOR_TRANSPORT,
            PlaintextOutcome.ACCEPTED: PlaintextKind.SESSION_ESTABLISHED,
            PlaintextOutcome.INCONCLUSIVE: PlaintextKind.NOT_CONCLUSIVE,
        }


class TestIdentityOverTls:
    """``reaches_authentication_over_tls``: anything but 3159 means TLS gets the login to authentication."""

    @pytest.mark.parametrize("answer", [
        error(1045, "28000", "Access denied for user 'pytest_aurora_guard_probe'@'10.0.0.9' (using password: NO)"),
        MySqlLoginAnswer(LoginAnswerKind.OK),
        MySqlLoginAnswer(LoginAnswerKind.AUTH_SWITCH, auth_plugin="mysql_native_password"),
        MySqlLoginAnswer(LoginAnswerKind.AUTH_MORE_DATA),
        MySqlLoginAnswer(LoginAnswerKind.ERROR),
    ])
    def test_authentication_or_an_access_error_over_tls_reaches_authentication(self, answer):
        assert reaches_authentication_over_tls(answer) is True

    @pytest.mark.parametrize("sqlstate", ["HY000", "08004", None])
    def test_3159_even_over_tls_does_not(self, sqlstate):
        assert reaches_authentication_over_tls(error(3159, sqlstate, _INSECURE)) is False


def failure(message: str = "", code: int | None = None, **facts: object) -> DriverFailure:
    return DriverFailure("OperationalError", message, code, **facts)  # type: ignore[arg-type]


class TestDriverFailure:
    """``classify_pymysql_failure``: a failed PyMySQL connect, from the scrubbed failure only."""

    @pytest.mark.parametrize("mode", list(DriverMode))
    def test_our_own_guard_withholding_the_credential_comes_first(self, mode):
        found = failure("refused to send the password: the connection is not TLS", 3159,
                        unverified_transport=True, certificate_rejected=True)
        assert classify_pymysql_failure(found, mode) is DriverKind.CREDENTIAL_WITHHELD

    def test_a_certificate_that_did_not_verify_is_rejected_before_any_tls_reading(self):
        found = failure("certificate verify failed", 2003, certificate_rejected=True,
                        ssl_error=handshake_error(alert(70)))
        assert classify_pymysql_failure(found, DriverMode.VERIFIED) is DriverKind.CERTIFICATE_REJECTED

    @pytest.mark.parametrize(("description", "kind"), [(70, DriverKind.REFUSED_TLS), (40, DriverKind.REFUSED_TLS),
                                                       (71, DriverKind.REFUSED_TLS), (80, DriverKind.NOT_CONCLUSIVE),
                                                       (112, DriverKind.NOT_CONCLUSIVE)])
    def test_a_tls_failure_is_read_as_the_tls_probes_read_it(self, description, kind):
        found = failure("Can't connect to MySQL server (ssl error)", 2003,
                        ssl_error=handshake_error(alert(description)))
        assert classify_pymysql_failure(found, DriverMode.CAPPED) is kind

    def test_the_local_library_unable_to_offer_the_capped_version_is_a_local_limit(self):
        found = failure("no protocols available", 2003, ssl_error=handshake_error(b"", context=no_protocols_context()))
        assert classify_pymysql_failure(found, DriverMode.CAPPED, client_context(TlsVersion.TLSv1_1)) \
            is DriverKind.LOCAL_LIMIT

    def test_a_server_without_client_ssl_is_tls_not_offered(self):
        found = failure("ERROR 2026: SSL connection error: The server doesn't support SSL", 2026)
        assert classify_pymysql_failure(found, DriverMode.VERIFIED) is DriverKind.TLS_NOT_OFFERED

    def test_2026_for_another_reason_is_not_conclusive(self):
        found = failure("ERROR 2026: SSL connection error: unknown error number", 2026)
        assert classify_pymysql_failure(found, DriverMode.VERIFIED) is DriverKind.NOT_CONCLUSIVE

    @pytest.mark.parametrize("mode", list(DriverMode))
    def test_3159_is_a_transport_refusal(self, mode):
        found = failure(f"ERROR 3159: {_INSECURE}", 3159)
        assert classify_pymysql_failure(found, mode) is DriverKind.REFUSED_FOR_TRANSPORT

    @pytest.mark.parametrize(("mode", "kind"), [(DriverMode.CAPPED, DriverKind.REACHED_AUTHENTICATION),
                                                (DriverMode.VERIFIED, DriverKind.CREDENTIALS_REJECTED),
                                                (DriverMode.PLAINTEXT, DriverKind.CREDENTIALS_REJECTED)])
    def test_1045_means_authentication_was_reached_only_when_capped_below_the_floor(self, mode, kind):
        found = failure("ERROR 1045: Access denied for user 'guard'@'10.0.0.9' (using password: YES)", 1045)
        assert classify_pymysql_failure(found, mode) is kind

    @pytest.mark.parametrize(("message", "code"), [("Can't connect to MySQL server on 'db' (timed out)", 2003),
                                                   ("Lost connection to MySQL server during query", 2013),
                                                   ("ERROR 1130: Host is not allowed to connect", 1130),
                                                   ("'NoneType' object has no attribute 'recv'", None)])
    def test_anything_else_is_not_conclusive(self, message, code):
        for mode in DriverMode:
            assert classify_pymysql_failure(failure(message, code), mode) is DriverKind.NOT_CONCLUSIVE
