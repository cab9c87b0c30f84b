"""The plaintext and driver verdict rules, mutation by mutation: the exact verdict each kind of evidence gives,
the check's own wiring (its name, what it needs probed, its plan) included.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Protocol

import pytest

from pytest_aurora_guard.checks import (
    CHECKS,
    CheckSpec,
    Outcome,
    Verdict,
    judge_driver_below_floor,
    judge_driver_plaintext,
    judge_driver_verified,
    judge_plaintext_refused,
    judge_version_refused,
    planned_checks,
)
from pytest_aurora_guard.engines.postgresql import REMEDIES as POSTGRES_REMEDIES
from pytest_aurora_guard.errors import ProbeError, TlsNotOffered
from pytest_aurora_guard.findings import DriverAttempt, DriverKind, PlaintextFinding, PlaintextKind, SessionTls
from pytest_aurora_guard.settings.config import GuardSettings
from pytest_aurora_guard.settings.credentials import Secret
from pytest_aurora_guard.tls.surface import VersionStatus
from pytest_aurora_guard.tls.versions import TlsVersion
from tests.recorded import (
    MYSQL,
    PG,
    Recorded,
    contrast,
    driver,
    identity,
    plaintext,
    refused,
    refused_surface,
    surface,
    with_credentials,
    witness,
)
from tests.test_judges import ACCESS_DENIED, FORCE_SSL_OFF, FORCE_SSL_ON, GOOD_SESSION, REFUSED, RST_OFF, four_refusals

NETWORK_REMEDY = ("check that the endpoint, port and engine are right and that this runner can reach it "
                  "(security group, VPC route, DNS); raise --aurora-timeout if the network is slow")
POSTGRES_PLAINTEXT_REMEDY = ("set rds.force_ssl=1 in the DB cluster parameter group (self-managed PostgreSQL: "
                             "hostssl-only pg_hba.conf plus a 'hostnossl all all 0.0.0.0/0 reject' line)")
MYSQL_PLAINTEXT_REMEDY = "set require_secure_transport=ON in the DB cluster parameter group"
POSTGRES_FLOOR_REMEDY = ("set ssl_min_protocol_version=TLSv1.3 in the DB cluster parameter group (Aurora PostgreSQL "
                         "11.20/12.15/13.11/14.8/15.3 or later for TLSv1.3)")
CANARY = GuardSettings(canary_user="canary", canary_password="public")
TLS_CONTRAST = ("the same StartupMessage over TLS", "AuthenticationSASL (SCRAM-SHA-256)")
TLS_CONTRAST_REFUSED = ("the same StartupMessage over TLS", "FATAL 28000: no pg_hba.conf entry")


class Cited(Protocol):
    """A finding or driver attempt: what was tried and what came back."""

    @property
    def attempted(self) -> str: ...

    @property
    def answered(self) -> str: ...


def cited(*observations: Cited) -> list[tuple[str, str]]:
    return [(seen.attempted, seen.answered) for seen in observations]


def verdict(outcome: Outcome, summary: str, evidence: Sequence[tuple[str, str]], remedy: Optional[str] = None,
            *, check: str = "plaintext_refused", endpoint: str = PG.label) -> Verdict:
    """The whole verdict a rule must give: its evidence as (attempted, answered) pairs, in the order gathered."""
    return Verdict(check, endpoint, outcome, summary, tuple(tried for tried, _ in evidence),
                   tuple(said for _, said in evidence), remedy)


# -- plaintext_refused: the verdict's own words and the evidence it cites, branch by branch ----------------

class TestPlaintextRefusedVerdicts:
    def test_a_pass_is_the_plaintext_check_citing_every_refusal_then_the_tls_contrast(self):
        findings = four_refusals()
        assert judge_plaintext_refused(Recorded(plaintext_findings=findings, modern_handshake=contrast(reached=True)),
                                       None) == verdict(
            Outcome.PASSED, "plaintext refused for being unencrypted, for 2 identities across 2 database(s) "
                            "(4 attempts); the configured identity reaches authentication over TLS",
            [*cited(*findings), TLS_CONTRAST])

    def test_one_identity_naming_no_database_is_counted_in_the_singular_without_databases(self):
        findings = (plaintext(REFUSED, identity(database=None)),) * 2
        observed = judge_plaintext_refused(Recorded(plaintext_findings=findings,
                                                    modern_handshake=contrast(reached=True)), None)
        assert observed.summary == ("plaintext refused for being unencrypted, for 1 identity (2 attempts); the "
                                    "configured identity reaches authentication over TLS")

    def test_an_accepted_attempt_without_an_identity_fails_naming_no_one(self):
        bare = PlaintextFinding("a bare StartupMessage", "ReadyForQuery", PlaintextKind.SESSION_ESTABLISHED)
        assert judge_plaintext_refused(Recorded(plaintext_findings=(bare,)), None) == verdict(
            Outcome.FAILED, "plaintext accepted: the unencrypted connection was accepted", cited(bare),
            POSTGRES_PLAINTEXT_REMEDY)

    def test_two_accepted_attempts_count_the_second_as_one_more(self):
        findings = (plaintext(PlaintextKind.REACHED_AUTHENTICATION), plaintext(PlaintextKind.SESSION_ESTABLISHED))
        assert judge_plaintext_refused(Recorded(plaintext_findings=findings), None).summary == (
            "plaintext accepted for user 'probe', database 'postgres', application_name 'pytest-aurora-guard-1': "
            "the unencrypted connection reached authentication (and 1 more attempt(s))")

    def test_an_unclassified_answer_on_postgresql_is_inconclusive_with_the_network_advice(self):
        findings = (plaintext(REFUSED), plaintext(PlaintextKind.NOT_CONCLUSIVE, answered="garbage"))
        assert judge_plaintext_refused(Recorded(plaintext_findings=findings), None) == verdict(
            Outcome.INCONCLUSIVE, "not every unencrypted attempt was refused for being unencrypted, and none was "
                                  "accepted", cited(*findings), NETWORK_REMEDY)

    def test_a_tls_contrast_that_could_not_be_made_cites_the_attempt_and_its_error(self):
        findings = four_refusals()
        assert judge_plaintext_refused(Recorded(plaintext_findings=findings,
                                                modern_handshake=ProbeError("connection reset")), None) == verdict(
            Outcome.INCONCLUSIVE, "plaintext was refused, but the same identity could not be tried over TLS to "
                                  "confirm why",
            [*cited(*findings), ("the same identity over TLS", "connection reset")], NETWORK_REMEDY)

    def test_the_identity_refused_over_tls_too_cites_that_attempt_and_asks_for_another_identity(self):
        findings = four_refusals()
        assert judge_plaintext_refused(Recorded(plaintext_findings=findings,
                                                modern_handshake=contrast(reached=False)), None) == verdict(
            Outcome.INCONCLUSIVE, "plaintext was refused, but the same identity is refused over TLS as well, so the "
                                  "refusal may be about the user or database rather than the transport",
            [*cited(*findings), TLS_CONTRAST_REFUSED],
            "pass --aurora-user/--aurora-dbname naming a role and database that may connect over TLS")


class TestPlaintextRefusedWithCredentialsVerdicts:
    def judged(self, verified: DriverAttempt, per_database: Optional[tuple[PlaintextFinding, ...]] = None) -> Verdict:
        return judge_plaintext_refused(Recorded(settings=with_credentials(), plaintext_findings=four_refusals(),
                                                modern_handshake=contrast(reached=True), verified_driver=verified,
                                                per_database=per_database), None)

    def test_a_verified_session_that_failed_is_cited_after_the_tls_contrast(self):
        failed = driver(DriverKind.CREDENTIALS_REJECTED, answered="FATAL 28P01: password authentication failed")
        assert self.judged(failed) == verdict(
            Outcome.INCONCLUSIVE, "plaintext was refused for 2 identities across 2 database(s) (4 attempts), but the "
                                  "verified session that lists every connectable database and reads the server's "
                                  "transport rule failed: the credentials were rejected",
            [*cited(*four_refusals()), TLS_CONTRAST, cited(failed)[0]],
            "check --aurora-user, AURORA_GUARD_PASSWORD and --aurora-ca-bundle")

    def test_rds_force_ssl_off_fails_with_the_parameter_advice(self):
        session = driver(DriverKind.CONNECTED, GOOD_SESSION, FORCE_SSL_OFF)
        assert self.judged(session) == verdict(
            Outcome.FAILED, "plaintext attempts were refused, but the server's own rds.force_ssl = 0 allows "
                            "unencrypted connections",
            [*cited(*four_refusals()), TLS_CONTRAST, *cited(session)], POSTGRES_PLAINTEXT_REMEDY)

    def test_a_database_accepting_plaintext_fails_citing_its_attempt_with_the_parameter_advice(self):
        session = driver(DriverKind.CONNECTED, GOOD_SESSION, FORCE_SSL_ON, databases=("reports",))
        accepted = plaintext(PlaintextKind.REACHED_AUTHENTICATION, identity(database="reports"))
        assert self.judged(session, (accepted,)) == verdict(
            Outcome.FAILED, "plaintext accepted for user 'probe', database 'reports', application_name "
                            "'pytest-aurora-guard-1': the unencrypted connection reached authentication; the refusal "
                            "seen elsewhere is a per-database rule, not a global one",
            [*cited(*four_refusals()), TLS_CONTRAST, *cited(session, accepted)], POSTGRES_PLAINTEXT_REMEDY)

    def test_an_unclassified_answer_on_another_database_gives_the_network_advice(self):
        session = driver(DriverKind.CONNECTED, GOOD_SESSION, FORCE_SSL_ON, databases=("app",))
        unclear = plaintext(PlaintextKind.NOT_CONCLUSIVE, identity(database="app"), answered="garbage")
        assert self.judged(session, (unclear,)) == verdict(
            Outcome.INCONCLUSIVE, "not every connectable database refused the unencrypted attempt for being "
                                  "unencrypted",
            [*cited(*four_refusals()), TLS_CONTRAST, *cited(session, unclear)], NETWORK_REMEDY)


# -- plaintext_refused on MySQL: a 1045 settled only by evidence covering every account -------------------

MYSQL_NO_EVIDENCE = ("the server's answer to an unencrypted login does not say whether it refuses plaintext (MySQL "
                     "and MariaDB 10.11 check the password first), and no evidence covering every account was "
                     "available")
MYSQL_NO_EVIDENCE_REMEDY = (
    "give a probe account with --aurora-user and the AURORA_GUARD_PASSWORD environment variable (and "
    "--aurora-ca-bundle), so the server's global require_secure_transport can be read over verified TLS; or a "
    "canary account with --aurora-plaintext-canary-user/--aurora-plaintext-canary-password")


class TestPlaintextRefusedOnMysqlVerdicts:
    def test_a_canary_refused_with_3159_is_read_by_the_rule_and_cited_after_the_1045(self):
        canary = driver(DriverKind.REFUSED_FOR_TRANSPORT, answered="ERR 3159 (HY000): insecure transport")
        assert judge_plaintext_refused(Recorded(configured=MYSQL, settings=CANARY, plaintext_findings=(ACCESS_DENIED,),
                                                plaintext_driver=canary), None) == verdict(
            Outcome.PASSED, "plaintext refused: the canary account's plaintext login got error 3159",
            cited(ACCESS_DENIED, canary), endpoint=MYSQL.label)

    def test_a_canary_logged_in_without_tls_fails_with_the_require_secure_transport_advice(self):
        canary = driver(DriverKind.CONNECTED)
        assert judge_plaintext_refused(Recorded(configured=MYSQL, settings=CANARY, plaintext_findings=(ACCESS_DENIED,),
                                                plaintext_driver=canary), None) == verdict(
            Outcome.FAILED, "the canary account logged in without TLS", cited(ACCESS_DENIED, canary),
            MYSQL_PLAINTEXT_REMEDY, endpoint=MYSQL.label)

    def test_require_secure_transport_off_fails_citing_the_verified_session_that_read_it(self):
        session = driver(DriverKind.CONNECTED, GOOD_SESSION, RST_OFF, answered="require_secure_transport OFF")
        assert judge_plaintext_refused(Recorded(configured=MYSQL, settings=with_credentials(),
                                                plaintext_findings=(ACCESS_DENIED,), verified_driver=session),
                                       None) == verdict(
            Outcome.FAILED, "the server's global require_secure_transport = OFF: plaintext is allowed for every "
                            "account without REQUIRE SSL (a 1045 for one account proves nothing)",
            cited(ACCESS_DENIED, session), MYSQL_PLAINTEXT_REMEDY, endpoint=MYSQL.label)

    def test_a_1045_and_nothing_else_is_inconclusive_saying_what_evidence_would_settle_it(self):
        assert judge_plaintext_refused(Recorded(configured=MYSQL, plaintext_findings=(ACCESS_DENIED,)),
                                       None) == verdict(Outcome.INCONCLUSIVE, MYSQL_NO_EVIDENCE, cited(ACCESS_DENIED),
                                                        MYSQL_NO_EVIDENCE_REMEDY, endpoint=MYSQL.label)


# -- driver_plaintext_refused --------------------------------------------------------------------------------

class TestDriverPlaintextVerdicts:
    def test_an_unclassified_answer_on_mysql_is_inconclusive_not_settled_by_the_server_rule(self):
        attempt = driver(DriverKind.NOT_CONCLUSIVE)
        assert judge_driver_plaintext(Recorded(configured=MYSQL, plaintext_driver=attempt), None) == verdict(
            Outcome.INCONCLUSIVE, "the driver's unencrypted attempt ended unclassified: the answer cannot be "
                                  "classified", cited(attempt), NETWORK_REMEDY,
            check="driver_plaintext_refused", endpoint=MYSQL.label)


# -- driver_below_floor_refused ------------------------------------------------------------------------------

def below_floor(attempt: DriverAttempt, crafted_12: Optional[VersionStatus] = None) -> Verdict:
    """The capped driver's verdict at the default TLS 1.3 floor (so capped at TLS 1.2), with the crafted
    ClientHellos' answer at TLS 1.2 when given."""
    surfaces = {TlsVersion.TLSv1_2: surface(TlsVersion.TLSv1_2, crafted_12, reason="crafted at TLSv1.2")
                } if crafted_12 is not None else {}
    return judge_driver_below_floor(Recorded(settings=GuardSettings(user="probe"), surfaces=surfaces,
                                             capped_driver={TlsVersion.TLSv1_2: attempt}), None)


CRAFTED_12 = ("crafted ClientHellos offering only TLSv1.2 (independent of the local driver)", "crafted at TLSv1.2")
COULD_NOT = "the local driver could not offer TLSv1.2 at all (no evidence from it)"


class TestDriverBelowFloorVerdicts:
    def check(self, outcome: Outcome, summary: str, evidence: Sequence[tuple[str, str]],
              remedy: Optional[str] = None) -> Verdict:
        return verdict(outcome, summary, evidence, remedy, check="driver_below_floor_refused")

    def test_a_floor_with_nothing_below_it_is_inconclusive_having_tried_nothing(self):
        nothing_below = Recorded(settings=GuardSettings(user="probe", min_tls=TlsVersion.SSLv3))
        assert judge_driver_below_floor(nothing_below, None) == self.check(
            Outcome.INCONCLUSIVE, "there is no TLS version below the floor to try", [], "raise --aurora-min-tls")

    def test_a_session_below_the_floor_fails_citing_the_capped_attempt(self):
        attempt = driver(DriverKind.CONNECTED)
        assert below_floor(attempt) == self.check(
            Outcome.FAILED, "a driver connection capped at TLSv1.2 got a TLS session", cited(attempt),
            POSTGRES_FLOOR_REMEDY)

    def test_no_tls_at_all_fails_with_the_plaintext_advice(self):
        attempt = driver(DriverKind.TLS_NOT_OFFERED)
        assert below_floor(attempt) == self.check(Outcome.FAILED, "the server does not offer TLS", cited(attempt),
                                                  POSTGRES_PLAINTEXT_REMEDY)

    @pytest.mark.parametrize(("crafted", "outcome", "summary", "remedy"), [
        (VersionStatus.ACCEPTED, Outcome.FAILED, f"{COULD_NOT}, but crafted ClientHellos show the server accepts "
                                                 "TLSv1.2", POSTGRES_FLOOR_REMEDY),
        (VersionStatus.REFUSED, Outcome.PASSED, f"{COULD_NOT}; crafted ClientHellos show the server refuses TLSv1.2",
         None),
        (VersionStatus.INCONCLUSIVE, Outcome.INCONCLUSIVE, f"{COULD_NOT}, and the crafted ClientHellos were not "
                                                           "conclusive either", NETWORK_REMEDY),
    ])
    def test_a_local_limit_is_settled_by_the_crafted_hellos_citing_both(
            self, crafted: VersionStatus, outcome: Outcome, summary: str, remedy: Optional[str]) -> None:
        attempt = driver(DriverKind.LOCAL_LIMIT)
        assert below_floor(attempt, crafted) == self.check(outcome, summary, [*cited(attempt), CRAFTED_12], remedy)

    def test_an_unclassified_capped_attempt_is_inconclusive_with_the_network_advice(self):
        attempt = driver(DriverKind.NOT_CONCLUSIVE)
        assert below_floor(attempt) == self.check(
            Outcome.INCONCLUSIVE, "the capped driver attempt ended unclassified: the answer cannot be classified",
            cited(attempt), NETWORK_REMEDY)


# -- driver_verified_session ---------------------------------------------------------------------------------

def verified(kind: DriverKind, session: Optional[SessionTls] = None, floor: TlsVersion = TlsVersion.TLSv1_3) -> Verdict:
    return judge_driver_verified(Recorded(settings=GuardSettings(user="probe", min_tls=floor),
                                          verified_driver=driver(kind, session)), None)


class TestDriverVerifiedVerdicts:
    def check(self, outcome: Outcome, summary: str, remedy: Optional[str] = None, kind: str = "CONNECTED") -> Verdict:
        return verdict(outcome, summary, [(f"driver attempt ({kind})", "recorded driver answer")], remedy,
                       check="driver_verified_session")

    def test_a_session_at_the_floor_with_an_allowlisted_suite_passes_citing_the_attempt(self):
        assert verified(DriverKind.CONNECTED, GOOD_SESSION) == self.check(
            Outcome.PASSED, "verified session at TLSv1.3 with TLS_AES_256_GCM_SHA384")

    def test_a_certificate_that_did_not_verify_fails_asking_for_the_bundle_and_the_name(self):
        assert verified(DriverKind.CERTIFICATE_REJECTED) == self.check(
            Outcome.FAILED, "the server certificate did not verify",
            "give the CA bundle that signs the endpoint's certificate with --aurora-ca-bundle (for RDS: "
            "global-bundle.pem) and connect by the name on the certificate", "CERTIFICATE_REJECTED")

    def test_a_refused_verified_connection_fails_asking_to_enable_the_floor(self):
        assert verified(DriverKind.REFUSED_TLS) == self.check(
            Outcome.FAILED, "a verified TLS connection was refused",
            "enable TLSv1.3 on the server (Aurora: an engine version with TLSv1.3 support, and the TLS version "
            "parameters allowing it), with at least one allowlisted suite", "REFUSED_TLS")

    def test_no_tls_at_all_fails_with_the_plaintext_advice(self):
        assert verified(DriverKind.TLS_NOT_OFFERED) == self.check(
            Outcome.FAILED, "the server does not offer TLS: no verified session is possible",
            POSTGRES_PLAINTEXT_REMEDY, "TLS_NOT_OFFERED")

    def test_an_unclassified_failure_is_inconclusive_with_the_network_advice(self):
        assert verified(DriverKind.NOT_CONCLUSIVE) == self.check(
            Outcome.INCONCLUSIVE, "no verified session: the answer cannot be classified", NETWORK_REMEDY,
            "NOT_CONCLUSIVE")

    def test_rejected_credentials_are_inconclusive_citing_the_attempt(self):
        assert verified(DriverKind.CREDENTIALS_REJECTED) == self.check(
            Outcome.INCONCLUSIVE, "no verified session: the credentials were rejected",
            "check --aurora-user and AURORA_GUARD_PASSWORD", "CREDENTIALS_REJECTED")

    def test_a_session_the_server_reports_unencrypted_fails_with_the_plaintext_advice(self):
        assert verified(DriverKind.CONNECTED, SessionTls(False, None, None)) == self.check(
            Outcome.FAILED, "the server reports this session as unencrypted", POSTGRES_PLAINTEXT_REMEDY)

    def test_a_session_below_the_floor_fails_with_the_floor_advice(self):
        session = SessionTls(True, TlsVersion.TLSv1_2, "ECDHE-RSA-AES256-GCM-SHA384")
        assert verified(DriverKind.CONNECTED, session) == self.check(
            Outcome.FAILED, "the server reports TLSv1.2, below the floor TLSv1.3", POSTGRES_FLOOR_REMEDY)

    def test_a_suite_outside_the_allowlist_fails_with_the_advice_for_its_version(self):
        session = SessionTls(True, TlsVersion.TLSv1_3, "TLS_CHACHA20_POLY1305_SHA256")
        assert verified(DriverKind.CONNECTED, session) == self.check(
            Outcome.FAILED, "the server reports cipher TLS_CHACHA20_POLY1305_SHA256, not in the allowlist",
            POSTGRES_REMEDIES.ciphers_tls13)

    @pytest.mark.parametrize("unnamed", [None, ""])
    def test_an_encrypted_session_whose_suite_the_server_does_not_name_is_inconclusive(self, unnamed):
        session = SessionTls(True, TlsVersion.TLSv1_2, unnamed)
        assert verified(DriverKind.CONNECTED, session, floor=TlsVersion.TLSv1_2) == self.check(
            Outcome.INCONCLUSIVE, "the server reports a TLSv1.2 session but names no cipher suite, so the allowlist "
            "cannot be checked",
            "query the session's suite as the probe account (PostgreSQL: SELECT cipher FROM pg_stat_ssl WHERE pid = "
            "pg_backend_pid(); MySQL: SHOW SESSION STATUS LIKE 'Ssl_cipher'); a proxy between the guard and the "
            "server may not report it: point the guard at the cluster endpoint")


# -- the judging frame: the item's name, what it set out to show, and each kind of missing evidence ----------

def spec(name: str) -> CheckSpec:
    return next(check for check in CHECKS if check.name == name)


PLAINTEXT_CHECK, VERSION_CHECK = spec("plaintext_refused"), spec("tls_version_refused")
TO_SHOW_PLAINTEXT = "to show that an unencrypted connection is refused because it is unencrypted"


class TestJudgingFrameVerdicts:
    def test_the_rule_is_handed_the_version_it_judges_and_its_verdict_is_returned_as_is(self):
        refusing = Recorded(surfaces={TlsVersion.TLSv1_2: refused_surface(TlsVersion.TLSv1_2)},
                            witnesses={TlsVersion.TLSv1_2: witness(TlsVersion.TLSv1_2, refused())})
        judged = VERSION_CHECK.judge(refusing, TlsVersion.TLSv1_2)
        assert judged.outcome is Outcome.PASSED
        assert judged == judge_version_refused(refusing, TlsVersion.TLSv1_2)

    def test_a_server_without_tls_fails_saying_what_the_check_set_out_to_show_with_the_plaintext_advice(self):
        no_tls = Recorded(plaintext_findings=TlsNotOffered("answered 'N' to SSLRequest"))  # type: ignore[arg-type]
        assert PLAINTEXT_CHECK.judge(no_tls, None) == verdict(
            Outcome.FAILED, "the server does not offer TLS", [(TO_SHOW_PLAINTEXT, "answered 'N' to SSLRequest")],
            POSTGRES_PLAINTEXT_REMEDY)

    def test_a_probe_error_on_a_per_version_check_is_inconclusive_naming_the_item_and_its_version(self):
        reset = Recorded(surfaces={TlsVersion.TLSv1_2: ProbeError("connection reset")})  # type: ignore[dict-item]
        assert VERSION_CHECK.judge(reset, TlsVersion.TLSv1_2) == verdict(
            Outcome.INCONCLUSIVE, "no evidence either way: the probe could not complete",
            [("to show that each protocol version below the floor is refused (TLSv1.2)", "connection reset")],
            NETWORK_REMEDY, check="tls_version_refused[TLSv1.2]")

    def test_an_unexpected_exception_is_inconclusive_citing_its_type_and_asking_for_a_report(self):
        surprise = Recorded(plaintext_findings=KeyError("surprise"))  # type: ignore[arg-type]
        assert PLAINTEXT_CHECK.judge(surprise, None) == verdict(
            Outcome.INCONCLUSIVE, "no evidence either way: the probe failed unexpectedly",
            [(TO_SHOW_PLAINTEXT, "KeyError: 'surprise'")],
            "this is a defect in pytest-aurora-guard or an answer it cannot handle; report it with this message (it "
            "never contains the password)")

    def test_an_unexpected_exception_quoting_the_password_in_any_form_is_masked(self):
        password = "pä'ss"
        surprise = Recorded(settings=GuardSettings(user="probe", password=Secret(password)),
                            plaintext_findings=ValueError(f"{password} {password!r} {password.encode()!r}"))
        assert PLAINTEXT_CHECK.judge(surprise, None).answered == ('ValueError: *** "***" b"***"',)

    def test_a_check_is_marked_by_its_name_and_described_by_the_catalog(self):
        assert (PLAINTEXT_CHECK.marker, PLAINTEXT_CHECK.description) == (
            "aurora_plaintext_refused", "an unencrypted connection is refused because it is unencrypted")

    def test_a_per_version_item_is_named_with_its_version_and_any_other_by_the_check_alone(self):
        assert (VERSION_CHECK.item_name(TlsVersion.TLSv1_1), PLAINTEXT_CHECK.item_name(None)) == (
            "tls_version_refused[TLSv1.1]", "plaintext_refused")


# -- what each check asks to be observed (started at once before any rule runs), and the plan ----------------

V = TlsVersion
BELOW_13 = (V.SSLv3, V.TLSv1_0, V.TLSv1_1, V.TLSv1_2)


@pytest.mark.parametrize(("name", "settings", "version", "wanted"), [
    ("plaintext_refused", GuardSettings(), None, ["plaintext", "modern"]),
    ("plaintext_refused", GuardSettings(user="probe"), None, ["plaintext", "modern", "driver_verified"]),
    ("plaintext_refused", CANARY, None, ["plaintext", "modern", "driver_plaintext"]),
    ("plaintext_refused", GuardSettings(user="probe", canary_user="canary", canary_password="public"), None,
     ["plaintext", "modern", "driver_verified", "driver_plaintext"]),
    ("tls_version_refused", GuardSettings(), V.TLSv1_1, [("surface", V.TLSv1_1), ("surface_without_sni", V.TLSv1_1)]),
    ("tls_floor_accepted", GuardSettings(), None, ["modern"]),
    ("tls_floor_accepted", GuardSettings(min_tls=V.TLSv1_2), None, ["modern", ("version", V.TLSv1_2)]),
    ("negotiated_cipher_allowed", GuardSettings(), None, ["modern"]),
    ("accepted_suites_allowed", GuardSettings(min_tls=V.TLSv1_2), None,
     ["modern", *(("surface", v) for v in V), *(("surface_without_sni", v) for v in (V.SSLv3, V.TLSv1_0, V.TLSv1_1))]),
    ("certificate_trusted", GuardSettings(), None, ["modern", "certificate_witness"]),
    ("driver_plaintext_refused", GuardSettings(user="probe"), None, ["driver_plaintext", "driver_verified"]),
    ("driver_below_floor_refused", GuardSettings(user="probe"), None,
     [("driver_capped", V.TLSv1_2), ("surface", V.TLSv1_2)]),
    ("driver_below_floor_refused", GuardSettings(user="probe", min_tls=V.SSLv3), None, []),
    ("driver_verified_session", GuardSettings(user="probe"), None, ["driver_verified"]),
])
def test_each_check_asks_for_exactly_the_observations_its_rule_reads(
        name: str, settings: GuardSettings, version: Optional[TlsVersion], wanted: list[object]) -> None:
    assert spec(name).observations(settings, version) == wanted


class TestPlannedChecks:
    def test_without_credentials_the_driver_checks_are_left_out_and_each_version_below_the_floor_is_an_item(self):
        assert [check.item_name(version) for check, version in planned_checks(GuardSettings())] == [
            "plaintext_refused", *(f"tls_version_refused[{v.label}]" for v in BELOW_13), "tls_floor_accepted",
            "negotiated_cipher_allowed", "accepted_suites_allowed", "certificate_trusted"]

    def test_with_credentials_every_check_is_planned_in_the_order_it_is_reported(self):
        plan = planned_checks(GuardSettings(user="probe", min_tls=V.TLSv1_2))
        assert [(check.name, version) for check, version in plan] == [
            ("plaintext_refused", None), *(("tls_version_refused", v) for v in (V.SSLv3, V.TLSv1_0, V.TLSv1_1)),
            ("tls_floor_accepted", None), ("negotiated_cipher_allowed", None), ("accepted_suites_allowed", None),
            ("certificate_trusted", None), ("driver_plaintext_refused", None), ("driver_below_floor_refused", None),
            ("driver_verified_session", None)]
