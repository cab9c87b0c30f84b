"""Every verdict rule, branch by branch, on evidence built in the test (no sockets).

Each specification states the observations, then the outcome **and** the evidence the verdict
cites: its summary, the answers it quotes and the change it advises. The real-server suites show
the observations are made faithfully; these show what the rules make of every kind of answer,
the rare ones included (a proxy, a fork or a future server lands exactly there).
"""

from __future__ import annotations

import pytest

from pytest_aurora_guard.checks import (
    CHECKS,
    Outcome,
    Verdict,
    judge_accepted_suites,
    judge_certificate_trusted,
    judge_driver_below_floor,
    judge_driver_plaintext,
    judge_driver_verified,
    judge_floor_accepted,
    judge_negotiated_cipher,
    judge_plaintext_refused,
    judge_version_refused,
)
from pytest_aurora_guard.errors import ProbeError, TlsNotOffered
from pytest_aurora_guard.findings import (
    DriverKind,
    HandshakeSeen,
    ModernHandshake,
    PlaintextKind,
    SessionTls,
    TransportSetting,
    VersionHandshake,
)
from pytest_aurora_guard.settings.config import GuardSettings
from pytest_aurora_guard.tls.allowlist import parse_allowlist
from pytest_aurora_guard.tls.surface import VersionStatus
from pytest_aurora_guard.tls.versions import TlsVersion
from tests.recorded import (
    MYSQL,
    NotRecorded,
    Recorded,
    completed,
    contrast,
    driver,
    identity,
    not_offered,
    plaintext,
    refused,
    refused_surface,
    surface,
    unclear,
    with_credentials,
    witness,
)

V = TlsVersion
REFUSED = PlaintextKind.REFUSED_FOR_TRANSPORT
FORCE_SSL_ON = TransportSetting("rds.force_ssl", "1")
FORCE_SSL_OFF = TransportSetting("rds.force_ssl", "0")
RST_ON = TransportSetting("require_secure_transport", "ON")
RST_OFF = TransportSetting("require_secure_transport", "OFF")
GOOD_SESSION = SessionTls(True, V.TLSv1_3, "TLS_AES_256_GCM_SHA384")


def four_refusals() -> tuple:
    """The configured identity and a random one, each twice, every answer a transport refusal."""
    configured, random = identity(), identity("aurora_guard_1a", "aurora_guard_2b", random=True)
    return tuple(plaintext(REFUSED, who) for who in (configured, configured, random, random))


# -- plaintext_refused, PostgreSQL ------------------------------------------------------------------

class TestPlaintextRefusedOnPostgresql:
    def test_passes_when_every_attempt_is_refused_for_transport_and_the_identity_reaches_auth_over_tls(self):
        verdict = judge_plaintext_refused(Recorded(plaintext_findings=four_refusals(),
                                                   modern_handshake=contrast(reached=True)), None)
        assert verdict.outcome is Outcome.PASSED
        assert verdict.summary == ("plaintext refused for being unencrypted, for 2 identities across 2 database(s) "
                                   "(4 attempts); the configured identity reaches authentication over TLS")
        assert verdict.answered[-1] == "AuthenticationSASL (SCRAM-SHA-256)"

    def test_one_attempt_reaching_authentication_fails_naming_who(self):
        findings = (*four_refusals()[:3], plaintext(PlaintextKind.REACHED_AUTHENTICATION,
                                                    identity("aurora_guard_1a", "aurora_guard_2b", random=True),
                                                    answered="AuthenticationSASL (SCRAM-SHA-256)"))
        verdict = judge_plaintext_refused(Recorded(plaintext_findings=findings), None)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary == ("plaintext accepted for user 'aurora_guard_1a', database 'aurora_guard_2b', "
                                   "application_name 'pytest-aurora-guard-1': the unencrypted connection reached "
                                   "authentication")
        assert (verdict.remedy or "").startswith("set rds.force_ssl=1")
        assert "AuthenticationSASL (SCRAM-SHA-256)" in verdict.answered

    def test_several_accepted_attempts_are_counted(self):
        findings = tuple(plaintext(PlaintextKind.SESSION_ESTABLISHED) for _ in range(3))
        verdict = judge_plaintext_refused(Recorded(plaintext_findings=findings), None)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary.endswith("the unencrypted connection was accepted (and 2 more attempt(s))")

    def test_an_unclassified_answer_among_refusals_is_inconclusive(self):
        findings = (*four_refusals()[:3], plaintext(PlaintextKind.NOT_CONCLUSIVE, answered="garbage"))
        verdict = judge_plaintext_refused(Recorded(plaintext_findings=findings), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.summary.startswith("not every unencrypted attempt was refused for being unencrypted")
        assert "garbage" in verdict.answered

    def test_a_refusal_without_the_tls_contrast_is_inconclusive(self):
        # The same identity refused over TLS too: the plaintext refusal may be about the user, not the transport.
        verdict = judge_plaintext_refused(Recorded(plaintext_findings=four_refusals(),
                                                   modern_handshake=contrast(reached=False)), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert "the same identity is refused over TLS as well" in verdict.summary
        assert "--aurora-user/--aurora-dbname" in (verdict.remedy or "")
        assert verdict.answered[-1] == "FATAL 28000: no pg_hba.conf entry"

    def test_a_contrast_whose_answer_says_neither_is_inconclusive(self):
        verdict = judge_plaintext_refused(Recorded(plaintext_findings=four_refusals(),
                                                   modern_handshake=contrast(reached=None)), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE

    def test_no_contrast_on_the_modern_handshake_is_inconclusive_citing_the_handshake(self):
        modern = ModernHandshake("a modern default client", refused("handshake_failure"), None)
        verdict = judge_plaintext_refused(Recorded(plaintext_findings=four_refusals(), modern_handshake=modern), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.answered[-1] == "server refused: the server sent alert handshake_failure"

    def test_a_contrast_that_could_not_be_made_is_inconclusive(self):
        verdict = judge_plaintext_refused(Recorded(plaintext_findings=four_refusals(),
                                                   modern_handshake=ProbeError("connection reset")), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.summary == ("plaintext was refused, but the same identity could not be tried over TLS to "
                                   "confirm why")
        assert verdict.answered[-1] == "connection reset"


class TestPlaintextRefusedWithCredentialsOnPostgresql:
    def recorded(self, verified, per_database=None) -> Recorded:
        return Recorded(settings=with_credentials(), plaintext_findings=four_refusals(),
                        modern_handshake=contrast(reached=True), verified_driver=verified,
                        per_database=per_database)

    def test_passes_across_every_connectable_database_citing_rds_force_ssl(self):
        more = tuple(plaintext(REFUSED, identity(database=name)) for name in ("app", "reports"))
        observed = self.recorded(driver(DriverKind.CONNECTED, GOOD_SESSION, FORCE_SSL_ON,
                                        databases=("app", "reports")), more)
        verdict = judge_plaintext_refused(observed, None)
        assert verdict.outcome is Outcome.PASSED
        assert verdict.summary == ("plaintext refused for being unencrypted, for 4 identities across 4 database(s) "
                                   "(6 attempts); the configured identity reaches authentication over TLS; "
                                   "rds.force_ssl = 1 (read over the verified session)")
        assert observed.asked_databases == [("app", "reports")]

    def test_a_database_that_accepts_plaintext_fails_as_a_per_database_rule(self):
        more = (plaintext(REFUSED, identity(database="app")),
                plaintext(PlaintextKind.REACHED_AUTHENTICATION, identity(database="reports")))
        verdict = judge_plaintext_refused(
            self.recorded(driver(DriverKind.CONNECTED, GOOD_SESSION, FORCE_SSL_ON, databases=("app", "reports")),
                          more), None)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary.endswith("the refusal seen elsewhere is a per-database rule, not a global one")
        assert "database 'reports'" in verdict.summary

    def test_an_unclassified_answer_on_another_database_is_inconclusive(self):
        more = (plaintext(PlaintextKind.NOT_CONCLUSIVE, identity(database="app")),)
        verdict = judge_plaintext_refused(
            self.recorded(driver(DriverKind.CONNECTED, GOOD_SESSION, FORCE_SSL_ON, databases=("app",)), more), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.summary == "not every connectable database refused the unencrypted attempt for being unencrypted"

    def test_rds_force_ssl_off_fails_even_though_every_attempt_was_refused(self):
        verdict = judge_plaintext_refused(self.recorded(driver(DriverKind.CONNECTED, GOOD_SESSION, FORCE_SSL_OFF)),
                                          None)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary == ("plaintext attempts were refused, but the server's own rds.force_ssl = 0 allows "
                                   "unencrypted connections")

    def test_self_managed_postgresql_without_rds_force_ssl_passes_on_the_live_refusals_and_says_so(self):
        absent = TransportSetting("rds.force_ssl", None)
        verdict = judge_plaintext_refused(self.recorded(driver(DriverKind.CONNECTED, GOOD_SESSION, absent)), None)
        assert verdict.outcome is Outcome.PASSED
        assert verdict.summary.endswith("rds.force_ssl does not exist on this server (self-managed, not Aurora): "
                                        "the live refusals are the evidence")

    def test_a_transport_setting_that_could_not_be_read_is_said(self):
        verdict = judge_plaintext_refused(self.recorded(driver(DriverKind.CONNECTED, GOOD_SESSION)), None)
        assert verdict.outcome is Outcome.PASSED
        assert verdict.summary.endswith("the server's transport parameter could not be read")

    def test_a_failed_verified_session_is_inconclusive(self):
        verdict = judge_plaintext_refused(self.recorded(driver(DriverKind.CREDENTIALS_REJECTED)), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.summary.endswith("failed: the credentials were rejected")
        assert verdict.remedy == "check --aurora-user, AURORA_GUARD_PASSWORD and --aurora-ca-bundle"


# -- plaintext_refused, MySQL: a 1045 is never evidence ------------------------------------------------

ACCESS_DENIED = plaintext(PlaintextKind.NOT_CONCLUSIVE, identity(database=None),
                          answered="ERR 1045 (28000): Access denied")


class TestPlaintextRefusedOnMysql:
    def test_error_3159_before_authentication_passes_on_its_own(self):
        verdict = judge_plaintext_refused(Recorded(configured=MYSQL, plaintext_findings=(plaintext(REFUSED),),
                                                   modern_handshake=contrast(reached=True)), None)
        assert verdict.outcome is Outcome.PASSED

    def test_a_1045_without_credentials_or_canary_is_inconclusive_asking_for_a_probe_account(self):
        verdict = judge_plaintext_refused(Recorded(configured=MYSQL, plaintext_findings=(ACCESS_DENIED,)), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert (verdict.remedy or "").startswith("give a probe account with --aurora-user")

    def test_a_1045_with_global_require_secure_transport_on_passes_citing_it(self):
        verdict = judge_plaintext_refused(Recorded(
            configured=MYSQL, settings=with_credentials(), plaintext_findings=(ACCESS_DENIED,),
            verified_driver=driver(DriverKind.CONNECTED, GOOD_SESSION, RST_ON)), None)
        assert verdict.outcome is Outcome.PASSED
        assert verdict.summary == ("plaintext refused: the server's global require_secure_transport = ON, read over "
                                   "a verified TLS session, refuses plaintext for every account")

    def test_a_1045_with_require_secure_transport_off_fails_whatever_the_probe_accounts_require_ssl(self):
        verdict = judge_plaintext_refused(Recorded(
            configured=MYSQL, settings=with_credentials(), plaintext_findings=(ACCESS_DENIED,),
            verified_driver=driver(DriverKind.CONNECTED, GOOD_SESSION, RST_OFF)), None)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary.startswith("the server's global require_secure_transport = OFF")
        assert verdict.remedy == "set require_secure_transport=ON in the DB cluster parameter group"

    def test_a_1045_contrasted_with_a_working_tls_login_but_no_readable_setting_is_not_evidence(self):
        verdict = judge_plaintext_refused(Recorded(
            configured=MYSQL, settings=with_credentials(), plaintext_findings=(ACCESS_DENIED,),
            verified_driver=driver(DriverKind.CONNECTED, GOOD_SESSION)), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE

    def test_an_unrecognised_require_secure_transport_value_is_not_evidence(self):
        verdict = judge_plaintext_refused(Recorded(
            configured=MYSQL, settings=with_credentials(), plaintext_findings=(ACCESS_DENIED,),
            verified_driver=driver(DriverKind.CONNECTED, GOOD_SESSION, TransportSetting("require_secure_transport",
                                                                                        "MAYBE"))), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE

    def test_a_setting_read_on_a_session_that_did_not_connect_is_not_evidence(self):
        verdict = judge_plaintext_refused(Recorded(
            configured=MYSQL, settings=with_credentials(), plaintext_findings=(ACCESS_DENIED,),
            verified_driver=driver(DriverKind.CREDENTIALS_REJECTED, transport=RST_ON)), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE

    def test_the_canary_refused_with_3159_passes(self):
        verdict = judge_plaintext_refused(Recorded(
            configured=MYSQL, settings=GuardSettings(canary_user="canary", canary_password="public"),
            plaintext_findings=(ACCESS_DENIED,), plaintext_driver=driver(DriverKind.REFUSED_FOR_TRANSPORT)), None)
        assert verdict.outcome is Outcome.PASSED
        assert verdict.summary == "plaintext refused: the canary account's plaintext login got error 3159"

    @pytest.mark.parametrize("kind", [DriverKind.CONNECTED, DriverKind.REACHED_AUTHENTICATION])
    def test_the_canary_logging_in_without_tls_fails(self, kind):
        verdict = judge_plaintext_refused(Recorded(
            configured=MYSQL, settings=GuardSettings(canary_user="canary", canary_password="public"),
            plaintext_findings=(ACCESS_DENIED,), plaintext_driver=driver(kind)), None)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary == "the canary account logged in without TLS"

    def test_a_canary_1045_settles_nothing(self):
        verdict = judge_plaintext_refused(Recorded(
            configured=MYSQL, settings=GuardSettings(canary_user="canary", canary_password="public"),
            plaintext_findings=(ACCESS_DENIED,), plaintext_driver=driver(DriverKind.CREDENTIALS_REJECTED)), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE

    def test_require_secure_transport_off_outweighs_a_refused_canary(self):
        verdict = judge_plaintext_refused(Recorded(
            configured=MYSQL, settings=with_credentials(canary_user="canary", canary_password="public"),
            plaintext_findings=(ACCESS_DENIED,), plaintext_driver=driver(DriverKind.REFUSED_FOR_TRANSPORT),
            verified_driver=driver(DriverKind.CONNECTED, GOOD_SESSION, RST_OFF)), None)
        assert verdict.outcome is Outcome.FAILED


# -- driver_plaintext_refused ------------------------------------------------------------------------

class TestDriverPlaintext:
    def test_a_transport_refusal_passes(self):
        verdict = judge_driver_plaintext(Recorded(plaintext_driver=driver(DriverKind.REFUSED_FOR_TRANSPORT)), None)
        assert verdict.outcome is Outcome.PASSED
        assert verdict.answered == ("recorded driver answer",)

    def test_a_refusal_for_transport_passes_with_the_whole_verdict_citing_the_attempt(self):
        verdict = judge_driver_plaintext(Recorded(plaintext_driver=driver(DriverKind.REFUSED_FOR_TRANSPORT)), None)
        assert verdict == Verdict(
            check="driver_plaintext_refused", endpoint="postgresql://db.example.test:5432", outcome=Outcome.PASSED,
            summary="the driver's unencrypted connection was refused for being unencrypted",
            attempted=("driver attempt (REFUSED_FOR_TRANSPORT)",), answered=("recorded driver answer",))

    @pytest.mark.parametrize("kind", [DriverKind.REACHED_AUTHENTICATION, DriverKind.CONNECTED])
    def test_reaching_authentication_or_a_session_fails(self, kind):
        verdict = judge_driver_plaintext(Recorded(plaintext_driver=driver(kind)), None)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary == f"unencrypted driver connection: {kind.value}"
        assert (verdict.remedy or "").startswith("set rds.force_ssl=1")

    def test_a_postgresql_credentials_rejection_is_inconclusive(self):
        verdict = judge_driver_plaintext(Recorded(plaintext_driver=driver(DriverKind.CREDENTIALS_REJECTED)), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE

    def test_a_mysql_1045_is_settled_by_the_global_setting(self):
        verdict = judge_driver_plaintext(Recorded(
            configured=MYSQL, settings=with_credentials(), plaintext_driver=driver(DriverKind.CREDENTIALS_REJECTED),
            verified_driver=driver(DriverKind.CONNECTED, GOOD_SESSION, RST_ON)), None)
        assert verdict.outcome is Outcome.PASSED
        assert verdict.attempted == ("driver attempt (CREDENTIALS_REJECTED)", "driver attempt (CONNECTED)")

    def test_the_canarys_own_attempt_is_cited_once(self):
        verdict = judge_driver_plaintext(Recorded(
            configured=MYSQL, settings=GuardSettings(user="probe", canary_user="canary", canary_password="public"),
            plaintext_driver=driver(DriverKind.CREDENTIALS_REJECTED),
            verified_driver=driver(DriverKind.CONNECTED, GOOD_SESSION, RST_OFF)), None)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.attempted.count("driver attempt (CREDENTIALS_REJECTED)") == 1

    @pytest.mark.parametrize("kind", [DriverKind.NOT_CONCLUSIVE, DriverKind.LOCAL_LIMIT, DriverKind.REFUSED_TLS])
    def test_any_other_answer_is_inconclusive(self, kind):
        verdict = judge_driver_plaintext(Recorded(plaintext_driver=driver(kind)), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.summary == f"the driver's unencrypted attempt ended unclassified: {kind.value}"


# -- driver_below_floor_refused ----------------------------------------------------------------------

FLOOR_13 = GuardSettings(user="probe")


class TestDriverBelowFloor:
    def capped(self, kind: DriverKind, **extra) -> Recorded:
        return Recorded(settings=FLOOR_13, capped_driver={V.TLSv1_2: driver(kind)}, **extra)

    def test_a_tls_alert_passes(self):
        verdict = judge_driver_below_floor(self.capped(DriverKind.REFUSED_TLS), None)
        assert verdict.outcome is Outcome.PASSED
        assert verdict.summary == "a driver connection capped at TLSv1.2 was refused with a TLS alert"

    @pytest.mark.parametrize("kind", [DriverKind.CONNECTED, DriverKind.REACHED_AUTHENTICATION])
    def test_a_session_below_the_floor_fails(self, kind):
        verdict = judge_driver_below_floor(self.capped(kind), None)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.remedy == ("set ssl_min_protocol_version=TLSv1.3 in the DB cluster parameter group (Aurora "
                                  "PostgreSQL 11.20/12.15/13.11/14.8/15.3 or later for TLSv1.3)")

    def test_no_tls_at_all_fails(self):
        assert judge_driver_below_floor(self.capped(DriverKind.TLS_NOT_OFFERED), None).outcome is Outcome.FAILED

    def test_a_local_limit_defers_to_a_surface_that_refuses(self):
        verdict = judge_driver_below_floor(self.capped(DriverKind.LOCAL_LIMIT,
                                                       surfaces={V.TLSv1_2: refused_surface(V.TLSv1_2)}), None)
        assert verdict.outcome is Outcome.PASSED
        assert verdict.summary == ("the local driver could not offer TLSv1.2 at all (no evidence from it); crafted "
                                   "ClientHellos show the server refuses TLSv1.2")
        assert verdict.answered[-1] == "every bundle at TLSv1.2 got alert 70 (protocol_version)"

    def test_a_local_limit_with_a_surface_that_accepts_fails(self):
        accepted = surface(V.TLSv1_2, VersionStatus.ACCEPTED, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
        verdict = judge_driver_below_floor(self.capped(DriverKind.LOCAL_LIMIT, surfaces={V.TLSv1_2: accepted}), None)
        assert verdict.outcome is Outcome.FAILED

    def test_a_local_limit_with_an_unclear_surface_is_inconclusive(self):
        unclear_surface = surface(V.TLSv1_2, VersionStatus.INCONCLUSIVE, complete=False)
        verdict = judge_driver_below_floor(self.capped(DriverKind.LOCAL_LIMIT,
                                                       surfaces={V.TLSv1_2: unclear_surface}), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE

    @pytest.mark.parametrize("kind", [DriverKind.NOT_CONCLUSIVE, DriverKind.CREDENTIALS_REJECTED,
                                      DriverKind.REFUSED_FOR_TRANSPORT])
    def test_any_other_answer_is_inconclusive(self, kind):
        verdict = judge_driver_below_floor(self.capped(kind), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.summary == f"the capped driver attempt ended unclassified: {kind.value}"

    def test_the_version_tried_is_the_one_just_below_the_floor(self):
        settings = GuardSettings(user="probe", min_tls=V.TLSv1_2)
        verdict = judge_driver_below_floor(Recorded(settings=settings, capped_driver={
            V.TLSv1_1: driver(DriverKind.REFUSED_TLS)}), None)
        assert verdict.outcome is Outcome.PASSED

    def test_a_floor_with_nothing_below_it_is_inconclusive(self):
        verdict = judge_driver_below_floor(Recorded(settings=GuardSettings(user="p", min_tls=V.SSLv3)), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.remedy == "raise --aurora-min-tls"


# -- driver_verified_session -------------------------------------------------------------------------

class TestDriverVerified:
    def verified(self, kind: DriverKind, session=None, **settings) -> Recorded:
        return Recorded(settings=GuardSettings(user="probe", **settings),
                        verified_driver=driver(kind, session))

    def test_a_session_at_the_floor_with_an_allowlisted_suite_passes(self):
        verdict = judge_driver_verified(self.verified(DriverKind.CONNECTED, GOOD_SESSION), None)
        assert verdict.outcome is Outcome.PASSED
        assert verdict.summary == "verified session at TLSv1.3 with TLS_AES_256_GCM_SHA384"

    def test_a_session_below_the_floor_fails(self):
        session = SessionTls(True, V.TLSv1_2, "ECDHE-RSA-AES256-GCM-SHA384")
        allow = parse_allowlist("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "test")
        verdict = judge_driver_verified(self.verified(DriverKind.CONNECTED, session, allowlist=allow), None)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary == "the server reports TLSv1.2, below the floor TLSv1.3"

    def test_a_session_above_a_lower_floor_passes(self):
        session = SessionTls(True, V.TLSv1_3, "TLS_AES_128_GCM_SHA256")
        verdict = judge_driver_verified(self.verified(DriverKind.CONNECTED, session, min_tls=V.TLSv1_2), None)
        assert verdict.outcome is Outcome.PASSED

    def test_a_suite_outside_the_allowlist_fails_with_the_tls13_advice(self):
        session = SessionTls(True, V.TLSv1_3, "TLS_CHACHA20_POLY1305_SHA256")
        verdict = judge_driver_verified(self.verified(DriverKind.CONNECTED, session), None)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary == "the server reports cipher TLS_CHACHA20_POLY1305_SHA256, not in the allowlist"
        assert (verdict.remedy or "").startswith("restrict the TLS 1.3 suites")

    def test_a_suite_the_registry_does_not_know_fails(self):
        session = SessionTls(True, V.TLSv1_3, "FUTURE-SUITE")
        assert judge_driver_verified(self.verified(DriverKind.CONNECTED, session), None).outcome is Outcome.FAILED

    @pytest.mark.parametrize("session", [SessionTls(False, None, None),
                                         SessionTls(True, None, "TLS_AES_256_GCM_SHA384")])
    def test_a_session_the_server_reports_unencrypted_or_without_version_fails(self, session):
        verdict = judge_driver_verified(self.verified(DriverKind.CONNECTED, session), None)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary == "the server reports this session as unencrypted"

    @pytest.mark.parametrize(("kind", "summary"), [
        (DriverKind.CERTIFICATE_REJECTED, "the server certificate did not verify"),
        (DriverKind.REFUSED_TLS, "a verified TLS connection was refused"),
        (DriverKind.TLS_NOT_OFFERED, "the server does not offer TLS: no verified session is possible"),
    ])
    def test_a_failed_verified_connection_fails(self, kind, summary):
        verdict = judge_driver_verified(self.verified(kind), None)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary == summary

    def test_rejected_credentials_are_inconclusive_and_say_which_settings(self):
        verdict = judge_driver_verified(self.verified(DriverKind.CREDENTIALS_REJECTED), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.remedy == "check --aurora-user and AURORA_GUARD_PASSWORD"

    @pytest.mark.parametrize("kind", [DriverKind.NOT_CONCLUSIVE, DriverKind.CREDENTIAL_WITHHELD])
    def test_other_failures_are_inconclusive(self, kind):
        verdict = judge_driver_verified(self.verified(kind), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.summary == f"no verified session: {kind.value}"

    def test_connected_without_the_servers_view_is_inconclusive(self):
        assert judge_driver_verified(self.verified(DriverKind.CONNECTED), None).outcome is Outcome.INCONCLUSIVE


# -- tls_floor_accepted and negotiated_cipher_allowed ------------------------------------------------

class TestFloorAccepted:
    def at_floor(self, outcome, floor=V.TLSv1_3) -> Recorded:
        return Recorded(settings=GuardSettings(min_tls=floor),
                        floor_handshake=VersionHandshake("OpenSSL at the floor", floor, outcome))

    def test_a_handshake_at_the_floor_passes(self):
        verdict = judge_floor_accepted(self.at_floor(completed(V.TLSv1_3, "TLS_AES_256_GCM_SHA384")), None)
        assert verdict.outcome is Outcome.PASSED
        assert verdict.summary == "TLSv1.3 accepted (TLS_AES_256_GCM_SHA384 (0x13,0x02))"

    def test_a_handshake_above_the_floor_passes(self):
        verdict = judge_floor_accepted(self.at_floor(completed(V.TLSv1_3, "TLS_AES_256_GCM_SHA384"), V.TLSv1_2), None)
        assert verdict.outcome is Outcome.PASSED

    def test_a_handshake_that_landed_below_the_floor_fails(self):
        verdict = judge_floor_accepted(self.at_floor(completed(V.TLSv1_2, "ECDHE-RSA-AES256-GCM-SHA384")), None)
        assert verdict.outcome is Outcome.FAILED

    def test_a_refusal_fails_asking_to_enable_the_floor(self):
        verdict = judge_floor_accepted(self.at_floor(refused()), None)
        assert verdict.outcome is Outcome.FAILED
        assert (verdict.remedy or "").startswith("enable TLSv1.3 on the server")

    @pytest.mark.parametrize("outcome", [unclear(), not_offered(V.TLSv1_3)])
    def test_no_answer_is_inconclusive(self, outcome):
        assert judge_floor_accepted(self.at_floor(outcome), None).outcome is Outcome.INCONCLUSIVE


class TestNegotiatedCipher:
    def negotiated(self, outcome) -> Recorded:
        return Recorded(modern_handshake=ModernHandshake("a modern default client", outcome, None))

    def test_an_allowlisted_suite_passes(self):
        verdict = judge_negotiated_cipher(self.negotiated(completed(V.TLSv1_3, "TLS_AES_128_GCM_SHA256")), None)
        assert verdict.outcome is Outcome.PASSED
        assert verdict.summary == "negotiated TLS_AES_128_GCM_SHA256, which is allowlisted"

    def test_a_suite_outside_the_allowlist_fails_naming_it_and_the_allowlists_source(self):
        verdict = judge_negotiated_cipher(self.negotiated(completed(V.TLSv1_3, "TLS_CHACHA20_POLY1305_SHA256")), None)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary == ("negotiated TLS_CHACHA20_POLY1305_SHA256 (0x13,0x03), which is not in the "
                                   "allowlist (default)")

    def test_a_suite_the_registry_does_not_know_fails_saying_so(self):
        verdict = judge_negotiated_cipher(self.negotiated(completed(V.TLSv1_3, "FUTURE-SUITE")), None)
        assert verdict.outcome is Outcome.FAILED
        assert "FUTURE-SUITE (unknown to the registry)" in verdict.summary

    def test_a_refused_modern_client_fails(self):
        verdict = judge_negotiated_cipher(self.negotiated(refused("handshake_failure")), None)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary == "a modern default client cannot connect over TLS"

    def test_no_session_is_inconclusive(self):
        assert judge_negotiated_cipher(self.negotiated(unclear()), None).outcome is Outcome.INCONCLUSIVE


# -- tls_version_refused[V]: two witnesses ----------------------------------------------------------

def version_recording(version: TlsVersion, crafted, openssl, unnamed=None, sessions=(), others=None) -> Recorded:
    surfaces = {version: crafted, **(others or {})}
    return Recorded(surfaces=surfaces, witnesses={version: witness(version, openssl)},
                    unnamed={version: unnamed} if unnamed else {}, sessions=tuple(sessions))


ACCEPTED_12 = surface(V.TLSv1_2, VersionStatus.ACCEPTED, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384",
                      "TLS_RSA_WITH_AES_128_GCM_SHA256")


class TestVersionRefused:
    def test_two_refusals_pass(self):
        verdict = judge_version_refused(version_recording(V.TLSv1_2, refused_surface(V.TLSv1_2), refused()), V.TLSv1_2)
        assert verdict.outcome is Outcome.PASSED
        assert verdict.summary == ("TLSv1.2 refused, by two witnesses: the crafted ClientHellos and the system "
                                   "OpenSSL")
        assert verdict.answered == ("crafted: every bundle at TLSv1.2 got alert 70 (protocol_version)",
                                    "OpenSSL: server refused: the server sent alert protocol_version")

    def test_a_suite_chosen_fails_naming_three_and_counting_the_rest(self):
        verdict = judge_version_refused(version_recording(V.TLSv1_2, ACCEPTED_12, refused()), V.TLSv1_2)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary.startswith("TLSv1.2 accepted: the server chose TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
        assert verdict.summary.endswith(" and 1 more (crafted ClientHello)")
        assert (verdict.remedy or "").startswith("set ssl_min_protocol_version=TLSv1.3")

    def test_openssl_completing_where_the_crafted_hellos_were_refused_fails_as_disagreement(self):
        verdict = judge_version_refused(version_recording(
            V.TLSv1_2, refused_surface(V.TLSv1_2), completed(V.TLSv1_2, "ECDHE-RSA-AES256-GCM-SHA384")), V.TLSv1_2)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary.endswith("the witnesses disagree")

    def test_openssl_completing_where_the_crafted_hellos_were_unclear_fails_without_claiming_disagreement(self):
        unclear_surface = surface(V.TLSv1_2, VersionStatus.INCONCLUSIVE, complete=False)
        verdict = judge_version_refused(version_recording(
            V.TLSv1_2, unclear_surface, completed(V.TLSv1_2, "ECDHE-RSA-AES256-GCM-SHA384")), V.TLSv1_2)
        assert verdict.outcome is Outcome.FAILED
        assert "disagree" not in verdict.summary

    def test_acceptance_without_sni_fails_saying_so(self):
        unnamed = (ACCEPTED_12, witness(V.TLSv1_2, refused()))
        verdict = judge_version_refused(version_recording(V.TLSv1_2, refused_surface(V.TLSv1_2), refused(), unnamed),
                                        V.TLSv1_2)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary.startswith("TLSv1.2 accepted without SNI:")

    def test_openssl_completing_without_sni_fails(self):
        unnamed = (refused_surface(V.TLSv1_2), witness(V.TLSv1_2, completed(V.TLSv1_2, "AES256-GCM-SHA384")))
        verdict = judge_version_refused(version_recording(V.TLSv1_2, refused_surface(V.TLSv1_2), refused(), unnamed),
                                        V.TLSv1_2)
        assert verdict.outcome is Outcome.FAILED
        assert "accepted without SNI: the system OpenSSL" in verdict.summary

    def test_four_refusals_with_and_without_sni_pass(self):
        unnamed = (refused_surface(V.TLSv1_2), witness(V.TLSv1_2, refused()))
        verdict = judge_version_refused(version_recording(V.TLSv1_2, refused_surface(V.TLSv1_2), refused(), unnamed),
                                        V.TLSv1_2)
        assert verdict.outcome is Outcome.PASSED
        assert "refused with and without SNI" in verdict.summary
        assert len(verdict.attempted) == 4

    def test_a_session_another_probe_set_up_at_the_version_fails_as_a_contradiction(self):
        seen = HandshakeSeen("the capped driver", (V.TLSv1_2,), "ECDHE-RSA-AES256-GCM-SHA384")
        verdict = judge_version_refused(version_recording(V.TLSv1_2, refused_surface(V.TLSv1_2), refused(),
                                                          sessions=[seen]), V.TLSv1_2)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary.startswith("TLSv1.2 accepted: the run itself set up a session there")
        assert seen.render() in verdict.answered

    def test_a_range_session_counts_only_when_every_other_version_of_the_range_is_refused(self):
        seen = HandshakeSeen("the capped driver", (V.TLSv1_1, V.TLSv1_2), None)
        others = {V.TLSv1_1: surface(V.TLSv1_1, VersionStatus.ACCEPTED, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA")}
        verdict = judge_version_refused(version_recording(V.TLSv1_2, refused_surface(V.TLSv1_2), refused(),
                                                          sessions=[seen], others=others), V.TLSv1_2)
        assert verdict.outcome is Outcome.PASSED  # the session may have been at TLS 1.1, which is accepted

    def test_a_range_session_whose_other_versions_are_refused_fails(self):
        seen = HandshakeSeen("the capped driver", (V.TLSv1_1, V.TLSv1_2), None)
        verdict = judge_version_refused(version_recording(V.TLSv1_2, refused_surface(V.TLSv1_2), refused(),
                                                          sessions=[seen],
                                                          others={V.TLSv1_1: refused_surface(V.TLSv1_1)}), V.TLSv1_2)
        assert verdict.outcome is Outcome.FAILED

    def test_unclear_crafted_hellos_are_inconclusive(self):
        unclear_surface = surface(V.TLSv1_2, VersionStatus.INCONCLUSIVE, complete=False)
        verdict = judge_version_refused(version_recording(V.TLSv1_2, unclear_surface, refused()), V.TLSv1_2)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.summary == "no evidence whether TLSv1.2 is refused"

    def test_unclear_crafted_hellos_without_sni_are_inconclusive_saying_which_way(self):
        unnamed = (surface(V.TLSv1_2, VersionStatus.INCONCLUSIVE, complete=False), witness(V.TLSv1_2, refused()))
        verdict = judge_version_refused(version_recording(V.TLSv1_2, refused_surface(V.TLSv1_2), refused(), unnamed),
                                        V.TLSv1_2)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.summary == "no evidence whether TLSv1.2 is refused without SNI"

    def test_an_unclear_openssl_witness_is_inconclusive(self):
        verdict = judge_version_refused(version_recording(V.TLSv1_2, refused_surface(V.TLSv1_2), unclear()), V.TLSv1_2)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.summary == ("the crafted ClientHellos were refused, but the system OpenSSL's attempt at "
                                   "TLSv1.2 proves nothing either way")

    def test_a_version_the_local_openssl_cannot_offer_is_inconclusive_one_witness_is_not_enough(self):
        verdict = judge_version_refused(version_recording(V.TLSv1_1, refused_surface(V.TLSv1_1),
                                                          not_offered(V.TLSv1_1)), V.TLSv1_1)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert "a refusal needs two" in verdict.summary

    def test_sslv3_alone_may_pass_on_the_crafted_witness(self):
        verdict = judge_version_refused(version_recording(V.SSLv3, refused_surface(V.SSLv3), not_offered(V.SSLv3)),
                                        V.SSLv3)
        assert verdict.outcome is Outcome.PASSED
        assert verdict.summary.startswith("SSLv3 refused, on one witness only")

    def test_sslv3_with_an_unclear_witness_is_not_a_pass(self):
        verdict = judge_version_refused(version_recording(V.SSLv3, refused_surface(V.SSLv3), unclear()), V.SSLv3)
        assert verdict.outcome is Outcome.INCONCLUSIVE


# -- accepted_suites_allowed ----------------------------------------------------------------------

def hardened(**overrides) -> dict:
    """TLS 1.3 only with the two default-allowlisted suites, every refusal confirmed by OpenSSL."""
    surfaces = {v: refused_surface(v) for v in V if v is not V.TLSv1_3}
    surfaces[V.TLSv1_3] = surface(V.TLSv1_3, VersionStatus.ACCEPTED, "TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256")
    witnesses = {v: witness(v, refused()) for v in V if v is not V.TLSv1_3}
    witnesses[V.SSLv3] = witness(V.SSLv3, not_offered(V.SSLv3))
    witnesses[V.TLSv1_3] = witness(V.TLSv1_3, completed(V.TLSv1_3, "TLS_AES_256_GCM_SHA384"))
    surfaces.update(overrides.pop("surfaces", {}))
    witnesses.update(overrides.pop("witnesses", {}))
    return {"surfaces": surfaces, "witnesses": witnesses, **overrides}


class TestAcceptedSuites:
    def test_every_accepted_suite_allowlisted_and_every_refusal_confirmed_passes(self):
        verdict = judge_accepted_suites(Recorded(**hardened()), None)
        assert verdict.outcome is Outcome.PASSED
        assert verdict.summary.startswith("all 2 accepted suites are allowlisted")

    def test_a_tls13_suite_outside_the_allowlist_fails_and_advises_the_tls13_place_only(self):
        tls13 = surface(V.TLSv1_3, VersionStatus.ACCEPTED, "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
        verdict = judge_accepted_suites(Recorded(**hardened(surfaces={V.TLSv1_3: tls13})), None)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary == ("the server accepts 1 suite(s) outside the allowlist (default): "
                                   "TLS_CHACHA20_POLY1305_SHA256 (0x13,0x03) at TLSv1.3")
        assert (verdict.remedy or "").startswith("restrict the TLS 1.3 suites")
        assert "ssl_min_protocol_version" not in verdict.remedy

    def test_suites_below_the_floor_fail_and_advise_the_floor_too(self):
        verdict = judge_accepted_suites(Recorded(**hardened(surfaces={V.TLSv1_2: ACCEPTED_12})), None)
        assert verdict.outcome is Outcome.FAILED
        assert "the server accepts 4 suite(s) outside the allowlist" in verdict.summary
        assert (verdict.remedy or "").endswith(
            "set ssl_min_protocol_version=TLSv1.3 in the DB cluster parameter group (Aurora PostgreSQL "
            "11.20/12.15/13.11/14.8/15.3 or later for TLSv1.3)")

    def test_offenders_seen_only_without_sni_fail_saying_so(self):
        unnamed = {V.TLSv1_2: (ACCEPTED_12, witness(V.TLSv1_2, refused()))}
        verdict = judge_accepted_suites(Recorded(**hardened(unnamed=unnamed)), None)
        assert verdict.outcome is Outcome.FAILED
        assert "at TLSv1.2 without SNI" in verdict.summary

    def test_a_session_at_a_suite_the_enumeration_did_not_list_fails_as_a_contradiction(self):
        seen = HandshakeSeen("the modern handshake", (V.TLSv1_3,), "TLS_AES_128_CCM_SHA256")
        verdict = judge_accepted_suites(Recorded(**hardened(sessions=(seen,))), None)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary.startswith("the run contradicts itself: the modern handshake: a session at TLSv1.3 "
                                          "with TLS_AES_128_CCM_SHA256, which the enumeration of TLSv1.3 did not list")
        assert (verdict.remedy or "").startswith("look for servers behind this endpoint")

    def test_a_session_at_a_version_the_enumeration_found_refused_fails_as_a_contradiction(self):
        seen = HandshakeSeen("the capped driver", (V.TLSv1_2,), None)
        verdict = judge_accepted_suites(Recorded(**hardened(sessions=(seen,))), None)
        assert verdict.outcome is Outcome.FAILED
        assert "yet the enumeration found TLSv1.2 refused" in verdict.summary

    def test_an_unenumerated_version_is_inconclusive(self):
        partial = surface(V.TLSv1_1, VersionStatus.INCONCLUSIVE, complete=False, reason="timeout after 3 s")
        verdict = judge_accepted_suites(Recorded(**hardened(surfaces={V.TLSv1_1: partial})), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.summary.endswith("TLSv1.1: timeout after 3 s")

    def test_an_incomplete_enumeration_is_inconclusive_even_if_its_status_is_known(self):
        partial = surface(V.TLSv1_3, VersionStatus.ACCEPTED, "TLS_AES_256_GCM_SHA384", complete=False)
        verdict = judge_accepted_suites(Recorded(**hardened(surfaces={V.TLSv1_3: partial})), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE

    def test_a_refusal_without_its_openssl_witness_is_inconclusive(self):
        verdict = judge_accepted_suites(Recorded(**hardened(witnesses={V.TLSv1_2: witness(V.TLSv1_2, unclear())})),
                                        None)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.summary.endswith("TLSv1.2: no second witness for the refusal (no answer within 3 s)")

    def test_tls13_refused_by_crafted_hellos_needs_openssl_to_land_lower_or_be_refused(self):
        refused_13 = refused_surface(V.TLSv1_3)
        landed_lower = witness(V.TLSv1_3, completed(V.TLSv1_2, "ECDHE-RSA-AES256-GCM-SHA384"))
        recorded = hardened(surfaces={V.TLSv1_3: refused_13}, witnesses={V.TLSv1_3: landed_lower})
        assert _unconfirmed(recorded) is False
        recorded = hardened(surfaces={V.TLSv1_3: refused_13}, witnesses={V.TLSv1_3: witness(V.TLSv1_3, unclear())})
        assert _unconfirmed(recorded) is True

    def test_a_version_the_local_openssl_cannot_offer_is_confirmed_only_if_the_crafted_hellos_saw_it_accepted(self):
        not_local = witness(V.TLSv1_1, not_offered(V.TLSv1_1))
        assert _unconfirmed(hardened(witnesses={V.TLSv1_1: not_local})) is True
        accepted_11 = surface(V.TLSv1_1, VersionStatus.ACCEPTED, "TLS_AES_256_GCM_SHA384")
        allowed = judge_accepted_suites(Recorded(**hardened(surfaces={V.TLSv1_1: accepted_11},
                                                            witnesses={V.TLSv1_1: not_local})), None)
        assert "no second witness" not in allowed.summary

    def test_without_sni_a_refusal_needs_its_own_second_witness(self):
        unnamed = {V.TLSv1_2: (refused_surface(V.TLSv1_2), witness(V.TLSv1_2, unclear()))}
        verdict = judge_accepted_suites(Recorded(**hardened(unnamed=unnamed)), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert "TLSv1.2 without SNI: no second witness" in verdict.summary


def _unconfirmed(recorded: dict) -> bool:
    verdict = judge_accepted_suites(Recorded(**recorded), None)
    return verdict.outcome is Outcome.INCONCLUSIVE and "a refusal needs two witnesses" in verdict.summary


# -- the judging frame: no evidence is never a pass -------------------------------------------------

PLAINTEXT_CHECK = next(spec for spec in CHECKS if spec.name == "plaintext_refused")


class TestJudgingFrame:
    def test_a_server_without_tls_fails_every_check(self):
        verdict = PLAINTEXT_CHECK.judge(Recorded(plaintext_findings=TlsNotOffered("answered 'N' to SSLRequest")),
                                        None)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.answered == ("answered 'N' to SSLRequest",)

    def test_a_probe_error_is_inconclusive_and_masks_the_password(self):
        settings = with_credentials()
        error = ProbeError(f"server said: password {settings.password.reveal()} is wrong")  # type: ignore[union-attr]
        verdict = PLAINTEXT_CHECK.judge(Recorded(settings=settings, plaintext_findings=error), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.answered == ("server said: password *** is wrong",)

    def test_an_unexpected_exception_is_inconclusive_and_asks_for_a_report(self):
        verdict = PLAINTEXT_CHECK.judge(Recorded(plaintext_findings=KeyError("surprise")), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.answered == ("KeyError: 'surprise'",)
        assert (verdict.remedy or "").startswith("this is a defect in pytest-aurora-guard")

    def test_a_recording_that_misses_what_the_judge_reads_is_a_defect_of_the_spec(self):
        with pytest.raises(NotRecorded, match="the plaintext attempts"):
            judge_plaintext_refused(Recorded(), None)

    def test_every_check_is_specified_here(self):
        specified = {"plaintext_refused", "tls_version_refused", "tls_floor_accepted", "negotiated_cipher_allowed",
                     "accepted_suites_allowed", "driver_plaintext_refused", "driver_below_floor_refused",
                     "driver_verified_session", "certificate_trusted"}
        assert {spec.name for spec in CHECKS} == specified


# -- certificate_trusted: real certificates from a throwaway CA, no handshake ------------------------

@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    from tests.support.pki import make_pki

    return make_pki(tmp_path_factory.mktemp("judge-pki"), extra_names=("db.example.test",))


class TestCertificateTrusted:
    def recorded(self, pki, openssl=None, store=True, outcome=None, chain=True) -> Recorded:
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding

        from pytest_aurora_guard.tls.certificates import PeerChain, load_trust_store

        leaf = x509.load_pem_x509_certificate(pki.server_cert.read_bytes()).public_bytes(Encoding.DER)
        modern = ModernHandshake("a modern default client", outcome or completed(V.TLSv1_3, "TLS_AES_256_GCM_SHA384"),
                                 None, PeerChain((leaf,), True) if chain else None)
        return Recorded(modern_handshake=modern, openssl_verdict=openssl,
                        store=load_trust_store(pki.ca_cert, "--aurora-ca-bundle") if store else None)

    def test_a_sound_chain_that_openssl_also_verifies_passes(self, pki):
        from pytest_aurora_guard.tls.certificates import CertificateAccepted

        verdict = judge_certificate_trusted(self.recorded(pki, CertificateAccepted("TLSv1.3")), None)
        assert verdict.outcome is Outcome.PASSED
        assert "names 'db.example.test'" in verdict.summary
        assert verdict.summary.endswith("OpenSSL's own verification agrees")
        assert verdict.answered[-1] == "OpenSSL verified the chain and the name (TLSv1.3)"

    def test_openssl_rejecting_what_our_rules_accept_fails_as_self_contradiction(self, pki):
        from pytest_aurora_guard.tls.certificates import CertificateRejected

        verdict = judge_certificate_trusted(self.recorded(pki, CertificateRejected("certificate revoked")), None)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary.startswith("self-contradicting evidence: every rule of ours holds, but OpenSSL rejects")
        assert verdict.answered[-1] == "OpenSSL rejected the certificate: certificate revoked"

    def test_an_unfinished_openssl_verification_is_inconclusive(self, pki):

        assert judge_certificate_trusted(self.recorded(pki, unclear()), None).outcome is Outcome.INCONCLUSIVE

    def test_no_ca_bundle_is_inconclusive_saying_where_to_get_one(self, pki):

        verdict = judge_certificate_trusted(self.recorded(pki, store=False), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.answered == ("--aurora-ca-bundle is not set",)
        assert (verdict.remedy or "").startswith("download AWS's RDS CA bundle")

    @pytest.mark.parametrize("chain", [True, False])
    def test_no_completed_handshake_or_no_chain_is_inconclusive(self, pki, chain):

        outcome = refused() if chain else None
        verdict = judge_certificate_trusted(self.recorded(pki, outcome=outcome, chain=chain), None)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert verdict.summary == "no certificate to judge: the TLS handshake did not complete"

    def test_a_certificate_for_another_name_fails_before_openssl_is_asked(self, pki):
        from dataclasses import replace

        from pytest_aurora_guard.settings.endpoints import parse_endpoint

        recorded = replace(self.recorded(pki), configured=parse_endpoint("postgresql://other.example.test:5432"))
        verdict = judge_certificate_trusted(recorded, None)  # no OpenSSL verdict recorded: it must not be read
        assert verdict.outcome is Outcome.FAILED
        assert "other.example.test" in verdict.summary
