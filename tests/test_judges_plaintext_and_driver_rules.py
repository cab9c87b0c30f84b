"""The plaintext and driver verdict rules, mutation by mutation: the exact verdict each kind of evidence gives,
the check's own wiring (its name, what it needs probed, its plan) included.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Protocol

from pytest_aurora_guard.checks import Outcome, Verdict, judge_plaintext_refused
from pytest_aurora_guard.errors import ProbeError
from pytest_aurora_guard.findings import DriverAttempt, DriverKind, PlaintextFinding, PlaintextKind
from pytest_aurora_guard.settings.config import GuardSettings
from tests.recorded import MYSQL, PG, Recorded, contrast, driver, identity, plaintext, with_credentials
from tests.test_judges import ACCESS_DENIED, FORCE_SSL_OFF, FORCE_SSL_ON, GOOD_SESSION, REFUSED, RST_OFF, four_refusals

NETWORK_REMEDY = ("check that the endpoint, port and engine are right and that this runner can reach it "
                  "(security group, VPC route, DNS); raise --aurora-timeout if the network is slow")
POSTGRES_PLAINTEXT_REMEDY = ("set rds.force_ssl=1 in the DB cluster parameter group (self-managed PostgreSQL: "
                             "hostssl-only pg_hba.conf plus a 'hostnossl all all 0.0.0.0/0 reject' line)")
MYSQL_PLAINTEXT_REMEDY = "set require_secure_transport=ON in the DB cluster parameter group"
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
