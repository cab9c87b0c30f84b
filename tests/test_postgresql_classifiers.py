"""How the PostgreSQL answers are read, branch by branch, on answers built here (no server).

The real test servers only give the common answers (AuthenticationSASL, ``28000 ... no
encryption``); a proxy, a fork or a future server version lands in the rare branches, so each
is pinned down here: the kind a verdict judges, and the answered text it cites.
"""

from __future__ import annotations

import pytest

from pytest_aurora_guard.engines.postgresql import (
    classify_driver_error,
    classify_identity_over_tls,
    classify_plaintext_answer,
)
from pytest_aurora_guard.findings import DriverKind, DriverMode, PlaintextKind
from pytest_aurora_guard.tls.versions import TlsVersion
from pytest_aurora_guard.wire.pg import PgAuthenticationRequest, PgErrorResponse

_HBA_NO_ENTRY = 'no pg_hba.conf entry for host "10.0.0.9", user "guard", database "guard", {state}'
_HBA_REJECTS = 'pg_hba.conf rejects connection for host "10.0.0.9", user "guard", database "guard", {state}'


def fatal(sqlstate: str, message: str) -> PgErrorResponse:
    return PgErrorResponse("FATAL", sqlstate, message)


class TestPlaintextAnswer:
    """``classify_plaintext_answer``: only pg_hba's own "unencrypted" refusal is a transport refusal."""

    @pytest.mark.parametrize("state", ["no encryption", "SSL off"])
    @pytest.mark.parametrize("template", [_HBA_NO_ENTRY, _HBA_REJECTS])
    def test_pg_hba_refusing_an_unencrypted_connection_is_a_transport_refusal(self, template, state):
        # "no encryption" since PostgreSQL 12's GSS-era code, "SSL off" before (src/backend/libpq/auth.c).
        answer = fatal("28000", template.format(state=state))
        assert classify_plaintext_answer(answer) is PlaintextKind.REFUSED_FOR_TRANSPORT
        assert answer.render() == f"FATAL: {template.format(state=state)} (SQLSTATE 28000)"

    def test_trailing_whitespace_after_the_encryption_state_is_still_the_refusal(self):
        answer = fatal("28000", _HBA_NO_ENTRY.format(state="no encryption") + " \n")
        assert classify_plaintext_answer(answer) is PlaintextKind.REFUSED_FOR_TRANSPORT

    def test_a_password_failure_is_never_a_transport_refusal(self):
        answer = fatal("28P01", 'password authentication failed for user "guard"')
        assert classify_plaintext_answer(answer) is PlaintextKind.NOT_CONCLUSIVE
        assert answer.render() == 'FATAL: password authentication failed for user "guard" (SQLSTATE 28P01)'

    def test_a_password_failure_quoting_pg_hbas_wording_is_still_not_a_transport_refusal(self):
        # Only SQLSTATE 28000 is pg_hba's refusal; the text alone could come from anywhere.
        answer = fatal("28P01", _HBA_NO_ENTRY.format(state="no encryption"))
        assert classify_plaintext_answer(answer) is PlaintextKind.NOT_CONCLUSIVE

    @pytest.mark.parametrize("message", [
        'role "guard" is not permitted to log in',
        'no pg_hba.conf entry for host "10.0.0.9", user "guard", database "guard", SSL encryption',
        'no pg_hba.conf entry for host "10.0.0.9", user "guard", database "guard", GSS encryption',
        'no pg_hba.conf entry for host "10.0.0.9", user "guard", database "guard", no encryption (proxy)',
        'no encryption',
        'the proxy requires TLS, no encryption',
    ])
    def test_28000_for_another_reason_is_not_a_transport_refusal(self, message):
        assert classify_plaintext_answer(fatal("28000", message)) is PlaintextKind.NOT_CONCLUSIVE

    @pytest.mark.parametrize(("sqlstate", "message"), [
        ("08P01", "unsupported frontend protocol 3.0: server supports 2.0 to 2.0"),
        ("3D000", 'database "guard" does not exist'),
        ("53300", "sorry, too many clients already"),
        ("57P03", "the database system is starting up"),
    ])
    def test_any_other_error_says_nothing_about_the_transport(self, sqlstate, message):
        answer = fatal(sqlstate, message)
        assert classify_plaintext_answer(answer) is PlaintextKind.NOT_CONCLUSIVE
        assert answer.render() == f"FATAL: {message} (SQLSTATE {sqlstate})"

    def test_authentication_ok_is_a_session_established_without_tls(self):
        answer = PgAuthenticationRequest(0)
        assert classify_plaintext_answer(answer) is PlaintextKind.SESSION_ESTABLISHED
        assert answer.render() == "AuthenticationOk"

    @pytest.mark.parametrize(("code", "mechanisms", "rendered"), [
        (10, ("SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"), "AuthenticationSASL (SCRAM-SHA-256, SCRAM-SHA-256-PLUS)"),
        (5, (), "AuthenticationMD5Password"),
        (3, (), "AuthenticationCleartextPassword"),
        (7, (), "AuthenticationGSS"),
        (42, (), "Authentication request 42"),
    ])
    def test_any_authentication_request_means_plaintext_reached_authentication(self, code, mechanisms, rendered):
        answer = PgAuthenticationRequest(code, mechanisms)
        assert classify_plaintext_answer(answer) is PlaintextKind.REACHED_AUTHENTICATION
        assert answer.render() == rendered


class TestIdentityOverTls:
    """``classify_identity_over_tls``: the contrast that makes a plaintext refusal about the transport."""

    @pytest.mark.parametrize("answer", [PgAuthenticationRequest(10, ("SCRAM-SHA-256",)), PgAuthenticationRequest(0),
                                        PgAuthenticationRequest(5)])
    def test_any_authentication_request_over_tls_means_the_identity_reaches_authentication(self, answer):
        assert classify_identity_over_tls(answer) is True

    @pytest.mark.parametrize("state", ["SSL encryption", "SSL on", "GSS encryption"])
    def test_pg_hba_refusing_the_encrypted_connection_means_the_identity_does_not(self, state):
        assert classify_identity_over_tls(fatal("28000", _HBA_REJECTS.format(state=state))) is False

    @pytest.mark.parametrize(("sqlstate", "message"), [
        ("28P01", 'password authentication failed for user "guard"'),
        ("28000", _HBA_NO_ENTRY.format(state="no encryption")),
        ("28000", 'role "guard" is not permitted to log in'),
        ("3D000", 'database "guard" does not exist'),
        ("08P01", "invalid startup packet layout"),
        ("53300", _HBA_REJECTS.format(state="SSL encryption")),
    ])
    def test_any_other_answer_says_neither(self, sqlstate, message):
        assert classify_identity_over_tls(fatal(sqlstate, message)) is None


class TestDriverError:
    """``classify_driver_error``: libpq's failure text, read for what it says about the server."""

    _HOST = 'connection to server at "db.example.com" (10.0.0.9), port 5432 failed: '

    @pytest.mark.parametrize("mode", list(DriverMode))
    @pytest.mark.parametrize("state", ["no encryption", "SSL off"])
    def test_pg_hbas_unencrypted_refusal_is_a_transport_refusal_in_every_mode(self, mode, state):
        message = self._HOST + "FATAL:  " + _HBA_NO_ENTRY.format(state=state)
        assert classify_driver_error(message, mode) is DriverKind.REFUSED_FOR_TRANSPORT

    @pytest.mark.parametrize("message", [
        "server certificate for \"other.example.com\" does not match host name \"db.example.com\"",
        "SSL error: certificate verify failed",
        'root certificate file "/nonexistent/ca.pem" does not exist',
        'could not read root certificate file "/tmp/ca.pem": no certificate or crl found',
    ])
    def test_a_certificate_problem_is_a_rejected_certificate(self, message):
        assert classify_driver_error(self._HOST + message, DriverMode.VERIFIED) is DriverKind.CERTIFICATE_REJECTED

    def test_no_tls_at_the_server_is_tls_not_offered(self):
        message = self._HOST + "server does not support SSL, but SSL was required"
        assert classify_driver_error(message, DriverMode.CAPPED) is DriverKind.TLS_NOT_OFFERED

    @pytest.mark.parametrize("reason", ["tlsv1 alert protocol version", "sslv3 alert handshake failure",
                                        "tlsv1 alert insufficient security", "unsupported protocol"])
    def test_a_tls_refusal_in_libpqs_words_is_a_refused_handshake(self, reason):
        message = self._HOST + f"SSL error: {reason}"
        assert classify_driver_error(message, DriverMode.CAPPED, TlsVersion.TLSv1_2) is DriverKind.REFUSED_TLS

    @pytest.mark.parametrize("reason", ["tlsv1 alert internal error", "unexpected eof while reading",
                                        "wrong version number", "packet length too long"])
    def test_a_tls_failure_that_is_no_refusal_is_not_conclusive(self, reason):
        message = self._HOST + f"SSL error: {reason}"
        assert classify_driver_error(message, DriverMode.CAPPED, TlsVersion.TLSv1_2) is DriverKind.NOT_CONCLUSIVE

    def test_the_local_library_unable_to_offer_the_version_is_a_local_limit(self):
        message = self._HOST + "SSL error: no protocols available"
        assert classify_driver_error(message, DriverMode.CAPPED, TlsVersion.TLSv1_0) is DriverKind.LOCAL_LIMIT

    def test_no_protocols_available_without_knowing_the_offer_is_not_conclusive(self):
        message = self._HOST + "SSL error: no protocols available"
        assert classify_driver_error(message, DriverMode.CAPPED, None) is DriverKind.NOT_CONCLUSIVE

    @pytest.mark.parametrize("message", ['invalid ssl_max_protocol_version value: "TLSv1.9"',
                                         "invalid SSL protocol version range",
                                         "Invalid Protocol Version setting",
                                         'invalid value for parameter "ssl_min_protocol_version": "x"'])
    def test_libpq_refusing_the_version_setting_itself_is_a_local_limit(self, message):
        assert classify_driver_error(message, DriverMode.CAPPED, TlsVersion.TLSv1_1) is DriverKind.LOCAL_LIMIT

    @pytest.mark.parametrize(("mode", "kind"), [
        (DriverMode.VERIFIED, DriverKind.CREDENTIALS_REJECTED),
        (DriverMode.CAPPED, DriverKind.REACHED_AUTHENTICATION),
        (DriverMode.PLAINTEXT, DriverKind.REACHED_AUTHENTICATION),
    ])
    @pytest.mark.parametrize("text", ['FATAL:  password authentication failed for user "guard"',
                                      "FATAL:  28P01"])
    def test_a_password_failure_is_rejected_credentials_only_for_the_real_password(self, mode, kind, text):
        # The capped and plaintext attempts send a decoy: its failure proves the session got that far.
        assert classify_driver_error(self._HOST + text, mode) is kind

    @pytest.mark.parametrize("state", ["SSL encryption", "SSL on"])
    def test_pg_hba_refusing_a_capped_tls_session_means_tls_below_the_floor_was_set_up(self, state):
        message = self._HOST + "FATAL:  " + _HBA_REJECTS.format(state=state)
        assert classify_driver_error(message, DriverMode.CAPPED) is DriverKind.REACHED_AUTHENTICATION

    @pytest.mark.parametrize("mode", [DriverMode.VERIFIED, DriverMode.PLAINTEXT])
    def test_the_same_encrypted_refusal_outside_a_capped_attempt_is_not_conclusive(self, mode):
        message = self._HOST + "FATAL:  " + _HBA_REJECTS.format(state="SSL encryption")
        assert classify_driver_error(message, mode) is DriverKind.NOT_CONCLUSIVE

    @pytest.mark.parametrize("message", [
        'connection to server at "db.example.com" (10.0.0.9), port 5432 failed: Connection refused',
        "timeout expired",
        'FATAL:  database "guard" does not exist',
        "FATAL:  sorry, too many clients already",
        "",
    ])
    def test_anything_else_is_not_conclusive(self, message):
        for mode in DriverMode:
            assert classify_driver_error(message, mode, TlsVersion.TLSv1_2) is DriverKind.NOT_CONCLUSIVE
