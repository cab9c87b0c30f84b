"""How a TLS handshake's failure is read, and which crafted-hello answers count as refusals.

The errors are the system OpenSSL's own, raised on server bytes written into a memory BIO (no
socket): an alert, a ServerHello outside the offer, garbage, EOF. Only an alert that says "not
with what you offered", or a version below the one offered, is a refusal; everything else is
no evidence either way, with the reason kept.
"""

from __future__ import annotations

import socket
import ssl

import pytest

from pytest_aurora_guard.tls.handshake import (
    HandshakeInconclusive,
    HandshakeNotOffered,
    HandshakeRefused,
    classify_handshake_failure,
    classify_ssl_error,
    classify_tls_failure_text,
)
from pytest_aurora_guard.tls.hello import (
    ConnectionClosed,
    Malformed,
    NotTls,
    ServerAlert,
    ServerChose,
    Timeout,
    UnofferedChoice,
)
from pytest_aurora_guard.tls.surface import ConnectFailed, _ends_with_version_refusal, _refusal
from pytest_aurora_guard.tls.versions import TlsVersion
from tests.openssl_errors import alert, client_context, handshake_error, no_protocols_context, server_hello


class TestSslErrors:
    """``classify_ssl_error`` on what OpenSSL raises."""

    @pytest.mark.parametrize(("description", "name", "reason"), [
        (70, "protocol_version", "TLSV1_ALERT_PROTOCOL_VERSION"),
        (40, "handshake_failure", "SSLV3_ALERT_HANDSHAKE_FAILURE"),
        (71, "insufficient_security", "TLSV1_ALERT_INSUFFICIENT_SECURITY"),
    ])
    def test_an_alert_that_says_no_is_a_refusal_citing_the_alert(self, description, name, reason):
        exc = handshake_error(alert(description))
        outcome = classify_ssl_error(exc, client_context(TlsVersion.TLSv1_2))
        assert outcome == HandshakeRefused(name, f"TLS alert {name} ({exc})")
        assert outcome.render().startswith(f"server refused: TLS alert {name} ([SSL: {reason}] ")

    @pytest.mark.parametrize(("description", "name"), [(80, "internal_error"), (47, "illegal_parameter"),
                                                       (50, "decode_error")])
    def test_an_alert_about_something_else_is_no_evidence(self, description, name):
        exc = handshake_error(alert(description))
        assert classify_ssl_error(exc, client_context(TlsVersion.TLSv1_2)) == HandshakeInconclusive(
            "alert", f"TLS alert {name}, which does not say the offer was refused ({exc})")

    def test_an_alert_openssl_names_without_alert_is_unclassified(self):
        exc = handshake_error(alert(112))  # unrecognized_name: OpenSSL says TLSV1_UNRECOGNIZED_NAME
        assert classify_ssl_error(exc) == HandshakeInconclusive(
            "unclassified", f"TLS handshake failed in a way we cannot classify: {exc}")

    @pytest.mark.parametrize(("answered", "offered"), [(0x0301, TlsVersion.TLSv1_3), (0x0301, TlsVersion.TLSv1_2),
                                                       (0x0304, TlsVersion.TLSv1_2)])
    def test_a_serverhello_in_a_version_we_did_not_offer_refuses_ours(self, answered, offered):
        exc = handshake_error(server_hello(answered), context=client_context(offered))
        assert classify_ssl_error(exc, client_context(offered)) == HandshakeRefused(
            "older_version_chosen", f"the server chose a version we did not offer ({exc})")

    def test_eof_without_an_alert_is_no_evidence(self):
        exc = handshake_error(b"", eof=True)
        assert isinstance(exc, ssl.SSLEOFError)
        assert classify_ssl_error(exc) == HandshakeInconclusive(
            "eof", "the server closed the connection during the TLS handshake without a TLS alert")

    @pytest.mark.parametrize("answer", [b"HTTP/1.1 400 Bad Request\r\n\r\n",
                                        b"E\x00\x00\x00\x10SFATAL\x00C08P01\x00\x00",
                                        b"\x16\x03\x03\xff\xff" + bytes(10)])
    def test_an_answer_that_is_not_tls_is_garbage(self, answer):
        exc = handshake_error(answer)
        assert classify_ssl_error(exc) == HandshakeInconclusive("garbage", f"the server's answer is not TLS ({exc})")

    def test_the_local_library_unable_to_offer_names_the_version_offered(self):
        exc = handshake_error(b"", context=no_protocols_context())
        assert classify_ssl_error(exc, client_context(TlsVersion.TLSv1_1)) == HandshakeNotOffered(
            TlsVersion.TLSv1_1, str(exc))

    def test_without_a_context_the_local_failure_is_no_evidence(self):
        exc = handshake_error(b"", context=no_protocols_context())
        assert classify_ssl_error(exc) == HandshakeInconclusive(
            "local", f"the local TLS library could not make the offer: {exc}")

    def test_an_error_without_openssls_reason_is_unclassified(self):
        exc = ssl.SSLError(1, "something the ssl module raised without a reason code")
        assert classify_ssl_error(exc) == HandshakeInconclusive(
            "unclassified", f"TLS handshake failed in a way we cannot classify: {exc}")

    def test_a_context_whose_maximum_is_no_single_version_names_none(self):
        # An uncapped context's maximum_version is MAXIMUM_SUPPORTED (-1): no version to name.
        exc = handshake_error(b"", context=no_protocols_context())
        assert classify_ssl_error(exc, client_context()) == HandshakeInconclusive(
            "local", f"the local TLS library could not make the offer: {exc}")


class TestFailureText:
    """``classify_tls_failure_text``: the same reading for libraries that pass on only text (libpq)."""

    def test_libpqs_spelling_of_an_alert_is_the_same_refusal(self):
        text = 'connection to server failed: SSL error: tlsv1 alert protocol version'
        assert classify_tls_failure_text(text, TlsVersion.TLSv1_1) == HandshakeRefused(
            "protocol_version", f"TLS alert protocol_version ({text})")

    @pytest.mark.parametrize(("text", "kind"), [("SSL error: unexpected eof while reading", "eof"),
                                                ("SSL error: wrong version number", "garbage"),
                                                ("SSL error: record layer failure", "garbage"),
                                                ("SSL error: http request", "garbage"),
                                                ("SSL error: tlsv1 alert internal error", "alert")])
    def test_text_that_is_no_refusal_is_inconclusive_of_its_kind(self, text, kind):
        outcome = classify_tls_failure_text(text, TlsVersion.TLSv1_2)
        assert isinstance(outcome, HandshakeInconclusive)
        assert outcome.kind == kind

    def test_a_wrong_ssl_version_in_text_is_the_server_choosing_another_version(self):
        text = "SSL error: wrong ssl version"
        assert classify_tls_failure_text(text, TlsVersion.TLSv1_2) == HandshakeRefused(
            "older_version_chosen", f"the server chose a version we did not offer ({text})")

    @pytest.mark.parametrize("reason", ["no protocols available", "no ciphers available",
                                        "no suitable signature algorithm"])
    def test_the_local_library_unable_to_offer_in_text_is_a_local_limit_for_the_version_offered(self, reason):
        text = f"SSL error: {reason}"
        assert classify_tls_failure_text(text, TlsVersion.TLSv1_0) == HandshakeNotOffered(TlsVersion.TLSv1_0, text)

    @pytest.mark.parametrize("text", ["", "connection refused", "password authentication failed"])
    def test_text_naming_no_tls_reason_is_none(self, text):
        assert classify_tls_failure_text(text, TlsVersion.TLSv1_2) is None

    def test_a_refusal_alerts_name_run_into_other_letters_is_not_that_alert(self):
        text = "SSL error: tlsv1 alert protocol versions"
        assert classify_tls_failure_text(text, TlsVersion.TLSv1_2) == HandshakeInconclusive(
            "alert", f"TLS alert protocol_versions, which does not say the offer was refused ({text})")


class TestSocketFailures:
    """``classify_handshake_failure``: a handshake that ended in a socket error, not a TLS one."""

    def test_a_timeout_cites_the_deadline(self):
        assert classify_handshake_failure(socket.timeout("timed out"), None, 2.5) == HandshakeInconclusive(
            "timeout", "TLS handshake got no answer within 2.5 s")

    def test_a_reset_is_no_evidence(self):
        assert classify_handshake_failure(ConnectionResetError(104, "reset"), None, 2) == HandshakeInconclusive(
            "reset", "the server reset the connection during the TLS handshake")

    def test_another_socket_error_is_cited(self):
        assert classify_handshake_failure(BrokenPipeError(32, "Broken pipe"), None, 2) == HandshakeInconclusive(
            "reset", "TLS handshake failed at the socket level: [Errno 32] Broken pipe")

    def test_a_tls_error_is_read_as_one(self):
        exc = handshake_error(alert(70))
        assert classify_handshake_failure(exc, None, 2) == classify_ssl_error(exc)

    def test_a_tls_error_is_read_with_the_version_the_context_offered(self):
        exc = handshake_error(b"", context=no_protocols_context())
        assert classify_handshake_failure(exc, client_context(TlsVersion.TLSv1_1), 2) == HandshakeNotOffered(
            TlsVersion.TLSv1_1, str(exc))


class TestSurfaceRefusalRule:
    """``surface._refusal``: which crafted-hello answers prove nothing offered is accepted."""

    @pytest.mark.parametrize(("description", "name"), [(40, "handshake_failure"), (70, "protocol_version"),
                                                       (71, "insufficient_security")])
    @pytest.mark.parametrize("level", [1, 2])
    def test_a_refusal_alert_is_a_refusal_citing_it(self, description, name, level):
        answer = ServerAlert(level, description, name)
        assert _refusal(answer, TlsVersion.TLSv1_2) == answer.describe()
        assert answer.describe() == f"{'warning' if level == 1 else 'fatal'} alert {description} ({name})"

    @pytest.mark.parametrize(("description", "name"), [(80, "internal_error"), (112, "unrecognized_name"),
                                                       (0, "close_notify"), (47, "illegal_parameter")])
    def test_any_other_alert_is_not(self, description, name):
        assert _refusal(ServerAlert(2, description, name), TlsVersion.TLSv1_2) is None

    @pytest.mark.parametrize(("answered", "label"), [(0x0303, "TLSv1.2"), (0x0301, "TLSv1.0"), (0x0300, "SSLv3")])
    def test_a_serverhello_in_an_older_version_refuses_the_offered_one(self, answered, label):
        answer = UnofferedChoice(answered, 0xC02F, False, "server selected an older version")
        assert _refusal(answer, TlsVersion.TLSv1_3) == f"server answered in {label}, its highest version"

    def test_an_older_version_in_a_hello_retry_request_is_not(self):
        answer = UnofferedChoice(0x0303, 0x1301, True, "HelloRetryRequest outside TLS 1.3")
        assert _refusal(answer, TlsVersion.TLSv1_3) is None

    @pytest.mark.parametrize("answered", [0x0303, 0x0304, 0x7F1C])
    def test_the_same_or_a_newer_version_outside_the_offer_is_not(self, answered):
        answer = UnofferedChoice(answered, 0x0000, False, "server selected cipher suite 0x0000, which was not offered")
        assert _refusal(answer, TlsVersion.TLSv1_2) is None

    @pytest.mark.parametrize("answer", [
        ServerChose(TlsVersion.TLSv1_2, 0xC02F, False), ConnectionClosed(0), ConnectionClosed(7, reset=True),
        Timeout(5.0), NotTls(b"HTTP/1.1 400"), Malformed("record length 0 out of range", b"\x16\x03\x03\x00\x00"),
        ConnectFailed("ConnectionRefusedError: [Errno 111] Connection refused"),
    ])
    def test_no_other_outcome_is_a_refusal(self, answer):
        assert _refusal(answer, TlsVersion.TLSv1_2) is None

    def test_only_protocol_version_or_an_answer_outside_the_offer_ends_the_version(self):
        assert _ends_with_version_refusal(ServerAlert(2, 70, "protocol_version"))
        assert _ends_with_version_refusal(UnofferedChoice(0x0303, 0xC02F, False, "older"))
        assert not _ends_with_version_refusal(ServerAlert(2, 40, "handshake_failure"))
        assert not _ends_with_version_refusal(ServerAlert(2, 71, "insufficient_security"))
        assert not _ends_with_version_refusal(ConnectionClosed(0))
