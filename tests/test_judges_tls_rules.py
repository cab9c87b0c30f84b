"""Each TLS verdict rule (a version below the floor refused, the accepted and negotiated suites, the floor
accepted, the certificate trusted), mutation by mutation: the exact verdict each kind of evidence gives.
"""

from __future__ import annotations

from typing import Optional

from pytest_aurora_guard.checks import Outcome, Verdict, judge_accepted_suites, judge_version_refused
from pytest_aurora_guard.findings import HandshakeSeen
from pytest_aurora_guard.tls.surface import VersionStatus
from pytest_aurora_guard.tls.versions import TlsVersion
from tests.recorded import Recorded, completed, not_offered, refused, refused_surface, surface, unclear, witness
from tests.test_judges import ACCEPTED_12, hardened, version_recording

V = TlsVersion
ENDPOINT = "postgresql://db.example.test:5432"
CRAFTED = ("STARTTLS (PostgreSQL) then crafted ClientHellos (our codec, offering what OpenSSL's client offers: every "
           "named group, every signature scheme)")
FLOOR_REMEDY = ("set ssl_min_protocol_version=TLSv1.3 in the DB cluster parameter group (Aurora PostgreSQL "
                "11.20/12.15/13.11/14.8/15.3 or later for TLSv1.3)")
NETWORK_REMEDY = ("check that the endpoint, port and engine are right and that this runner can reach it (security "
                  "group, VPC route, DNS); raise --aurora-timeout if the network is slow")
CRAFTED_12_REFUSED = "crafted: every bundle at TLSv1.2 got alert 70 (protocol_version)"
OPENSSL_REFUSED = "OpenSSL: server refused: the server sent alert protocol_version"
ECDHE_256 = "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (ECDHE-RSA-AES256-GCM-SHA384, 0xC0,0x30)"


# -- tls_version_refused[v] ---------------------------------------------------------------------------

def asked_at(version: TlsVersion) -> tuple[str, str]:
    """The two witnesses' attempts at ``version``, with SNI."""
    return (f"{CRAFTED} offering only {version.label}, every suite the registry knows for it in bundles of at "
            "most 128", f"OpenSSL capped at {version.label}")


WITHOUT_SNI_ASKED = (f"{CRAFTED} as above, sending no server name (SNI)", "OpenSSL capped at TLSv1.2")


def version_verdict(version: TlsVersion, outcome: Outcome, summary: str, answered: tuple[str, ...],
                    remedy: Optional[str] = None, attempted: Optional[tuple[str, ...]] = None) -> Verdict:
    return Verdict(check=f"tls_version_refused[{version.label}]", endpoint=ENDPOINT, outcome=outcome,
                   summary=summary, attempted=attempted or asked_at(version), answered=answered, remedy=remedy)


class TestVersionRefusedVerdicts:
    def test_passes_on_two_refusals_citing_what_each_witness_tried_and_heard(self):
        verdict = judge_version_refused(version_recording(V.TLSv1_2, refused_surface(V.TLSv1_2), refused()), V.TLSv1_2)
        assert verdict == version_verdict(
            V.TLSv1_2, Outcome.PASSED,
            "TLSv1.2 refused, by two witnesses: the crafted ClientHellos and the system OpenSSL",
            (CRAFTED_12_REFUSED, OPENSSL_REFUSED))

    def test_passes_on_four_refusals_with_and_without_sni_citing_all_four_attempts(self):
        unnamed = (surface(V.TLSv1_2, VersionStatus.REFUSED, reason="every bundle got alert 40 (handshake_failure)"),
                   witness(V.TLSv1_2, refused("handshake_failure")))
        verdict = judge_version_refused(version_recording(V.TLSv1_2, refused_surface(V.TLSv1_2), refused(), unnamed),
                                        V.TLSv1_2)
        assert verdict == version_verdict(
            V.TLSv1_2, Outcome.PASSED,
            "TLSv1.2 refused with and without SNI, by two witnesses: the crafted ClientHellos and the system OpenSSL",
            (CRAFTED_12_REFUSED, OPENSSL_REFUSED,
             "crafted without SNI: every bundle got alert 40 (handshake_failure)",
             "OpenSSL without SNI: server refused: the server sent alert handshake_failure"),
            attempted=(*asked_at(V.TLSv1_2), *WITHOUT_SNI_ASKED))

    def test_fails_naming_all_three_suites_chosen_and_counting_no_more(self):
        three = surface(V.TLSv1_2, VersionStatus.ACCEPTED, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                        "TLS_RSA_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_AES_128_GCM_SHA256",
                        reason="the server chose 3 suites")
        verdict = judge_version_refused(version_recording(V.TLSv1_2, three, refused()), V.TLSv1_2)
        assert verdict == version_verdict(
            V.TLSv1_2, Outcome.FAILED,
            f"TLSv1.2 accepted: the server chose {ECDHE_256}, TLS_RSA_WITH_AES_256_GCM_SHA384 (AES256-GCM-SHA384, "
            "0x00,0x9D), TLS_RSA_WITH_AES_128_GCM_SHA256 (AES128-GCM-SHA256, 0x00,0x9C) (crafted ClientHello)",
            ("crafted: the server chose 3 suites", OPENSSL_REFUSED), FLOOR_REMEDY)

    def test_fails_naming_the_first_three_suites_in_the_servers_order_and_counting_the_fourth(self):
        verdict = judge_version_refused(version_recording(V.TLSv1_2, ACCEPTED_12, refused()), V.TLSv1_2)
        assert verdict.summary == (
            f"TLSv1.2 accepted: the server chose {ECDHE_256}, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 "
            "(ECDHE-RSA-AES128-GCM-SHA256, 0xC0,0x2F), TLS_RSA_WITH_AES_256_GCM_SHA384 (AES256-GCM-SHA384, "
            "0x00,0x9D) and 1 more (crafted ClientHello)")

    def test_fails_when_openssl_completes_where_the_crafted_hellos_were_refused_quoting_both(self):
        verdict = judge_version_refused(version_recording(
            V.TLSv1_2, refused_surface(V.TLSv1_2), completed(V.TLSv1_2, "ECDHE-RSA-AES256-GCM-SHA384")), V.TLSv1_2)
        assert verdict == version_verdict(
            V.TLSv1_2, Outcome.FAILED,
            f"TLSv1.2 accepted: the system OpenSSL (Python's ssl) completed a handshake at TLSv1.2 with {ECDHE_256}; "
            "the crafted ClientHellos were refused (every bundle at TLSv1.2 got alert 70 (protocol_version)): the "
            "witnesses disagree",
            (CRAFTED_12_REFUSED, "OpenSSL: handshake completed: TLSv1.2 with ECDHE-RSA-AES256-GCM-SHA384"),
            FLOOR_REMEDY)

    def test_fails_when_openssl_completes_where_the_crafted_hellos_were_unclear_claiming_no_disagreement(self):
        unclear_surface = surface(V.TLSv1_2, VersionStatus.INCONCLUSIVE, complete=False)
        verdict = judge_version_refused(version_recording(
            V.TLSv1_2, unclear_surface, completed(V.TLSv1_2, "ECDHE-RSA-AES256-GCM-SHA384")), V.TLSv1_2)
        assert verdict.summary == ("TLSv1.2 accepted: the system OpenSSL (Python's ssl) completed a handshake at "
                                   f"TLSv1.2 with {ECDHE_256}")

    def test_fails_when_the_run_set_up_sessions_there_citing_each_one(self):
        sessions = (HandshakeSeen("the capped driver", (V.TLSv1_2,), "ECDHE-RSA-AES256-GCM-SHA384"),
                    HandshakeSeen("the verified driver", (V.TLSv1_2,), None))
        verdict = judge_version_refused(version_recording(V.TLSv1_2, refused_surface(V.TLSv1_2), refused(),
                                                          sessions=sessions), V.TLSv1_2)
        capped = "the capped driver: a session at TLSv1.2 with ECDHE-RSA-AES256-GCM-SHA384"
        verified = "the verified driver: a session at TLSv1.2"
        assert verdict == version_verdict(
            V.TLSv1_2, Outcome.FAILED,
            "TLSv1.2 accepted: the run itself set up a session there, which contradicts the refusal: "
            f"{capped}; {verified}",
            (CRAFTED_12_REFUSED, OPENSSL_REFUSED, capped, verified), FLOOR_REMEDY)

    def test_is_inconclusive_when_the_crafted_hellos_are_unclear_citing_both_witnesses(self):
        unclear_surface = surface(V.TLSv1_2, VersionStatus.INCONCLUSIVE, complete=False, reason="timeout after 3 s")
        verdict = judge_version_refused(version_recording(V.TLSv1_2, unclear_surface, refused()), V.TLSv1_2)
        assert verdict == version_verdict(
            V.TLSv1_2, Outcome.INCONCLUSIVE, "no evidence whether TLSv1.2 is refused",
            ("crafted: timeout after 3 s", OPENSSL_REFUSED), NETWORK_REMEDY)

    def test_passes_sslv3_on_the_crafted_witness_alone_saying_why_there_is_no_second(self):
        verdict = judge_version_refused(version_recording(V.SSLv3, refused_surface(V.SSLv3), not_offered(V.SSLv3)),
                                        V.SSLv3)
        assert verdict == version_verdict(
            V.SSLv3, Outcome.PASSED,
            "SSLv3 refused, on one witness only: the crafted ClientHellos, refused twice on fresh connections; no "
            "second witness is available (the local OpenSSL cannot offer SSLv3)",
            ("crafted: every bundle at SSLv3 got alert 70 (protocol_version)",
             "OpenSSL: the local TLS library cannot offer SSLv3: the local OpenSSL cannot offer SSLv3"))

    def test_is_inconclusive_when_the_local_openssl_cannot_offer_the_version_saying_where_it_can(self):
        verdict = judge_version_refused(version_recording(V.TLSv1_1, refused_surface(V.TLSv1_1),
                                                          not_offered(V.TLSv1_1)), V.TLSv1_1)
        assert verdict == version_verdict(
            V.TLSv1_1, Outcome.INCONCLUSIVE,
            "the crafted ClientHellos were refused, but only one witness was available: the local OpenSSL cannot "
            "offer TLSv1.1 (the local OpenSSL cannot offer TLSv1.1), and a refusal needs two",
            ("crafted: every bundle at TLSv1.1 got alert 70 (protocol_version)",
             "OpenSSL: the local TLS library cannot offer TLSv1.1: the local OpenSSL cannot offer TLSv1.1"),
            "run the gate where Python's ssl can offer TLSv1.1 (OpenSSL 3 at @SECLEVEL=0 can)")

    def test_is_inconclusive_when_openssl_without_sni_proves_nothing_saying_which_way(self):
        unnamed = (refused_surface(V.TLSv1_2), witness(V.TLSv1_2, unclear()))
        verdict = judge_version_refused(version_recording(V.TLSv1_2, refused_surface(V.TLSv1_2), refused(), unnamed),
                                        V.TLSv1_2)
        assert verdict == version_verdict(
            V.TLSv1_2, Outcome.INCONCLUSIVE,
            "the crafted ClientHellos were refused with and without SNI, but the system OpenSSL's attempt at TLSv1.2 "
            "without SNI proves nothing either way",
            (CRAFTED_12_REFUSED, OPENSSL_REFUSED, "crafted without SNI: every bundle at TLSv1.2 got alert 70 "
             "(protocol_version)", "OpenSSL without SNI: no answer within 3 s"),
            NETWORK_REMEDY, attempted=(*asked_at(V.TLSv1_2), *WITHOUT_SNI_ASKED))


# -- accepted_suites_allowed: sessions the enumeration did not list, refusals without a second witness ------

CONTRADICTION_REMEDY = ("look for servers behind this endpoint configured differently (a load balancer, a failover "
                        "in progress, a proxy that changes its answers) and make them agree; rerun")


def judged_with(*sessions: HandshakeSeen) -> Verdict:
    return judge_accepted_suites(Recorded(**hardened(sessions=sessions)), None)


class TestContradictions:
    def test_a_range_session_at_versions_all_found_refused_fails_naming_each_version(self):
        verdict = judged_with(HandshakeSeen("the capped driver", (V.TLSv1_1, V.TLSv1_2), None))
        assert (verdict.outcome, verdict.summary, verdict.remedy, verdict.offending_suites) == (
            Outcome.FAILED, "the run contradicts itself: the capped driver: a session at one of TLSv1.1, TLSv1.2, yet "
            "the enumeration found TLSv1.1, TLSv1.2 refused", CONTRADICTION_REMEDY, ())

    def test_a_session_with_a_suite_at_a_version_found_refused_fails_saying_it_was_refused(self):
        verdict = judged_with(HandshakeSeen("the capped driver", (V.TLSv1_2,), "ECDHE-RSA-AES256-GCM-SHA384"))
        assert verdict.summary == (
            "the run contradicts itself: the capped driver: a session at TLSv1.2 with ECDHE-RSA-AES256-GCM-SHA384, "
            "which the enumeration of TLSv1.2 did not list (refused: every bundle at TLSv1.2 got alert 70 "
            "(protocol_version))")

    def test_every_contradicting_session_is_reported_the_one_after_a_suiteless_session_too(self):
        verdict = judged_with(HandshakeSeen("the capped driver", (V.TLSv1_2,), None),
                              HandshakeSeen("the modern handshake", (V.TLSv1_3,), "TLS_AES_128_CCM_SHA256"))
        assert verdict.summary == (
            "the run contradicts itself: the capped driver: a session at TLSv1.2, yet the enumeration found TLSv1.2 "
            "refused; the modern handshake: a session at TLSv1.3 with TLS_AES_128_CCM_SHA256, which the enumeration "
            "of TLSv1.3 did not list (2 accepted suites without it: recorded)")

    def test_a_session_at_a_suite_the_registry_does_not_know_contradicts_the_enumeration(self):
        verdict = judged_with(HandshakeSeen("the modern handshake", (V.TLSv1_3,), "FUTURE-SUITE"))
        assert verdict.summary == (
            "the run contradicts itself: the modern handshake: a session at TLSv1.3 with FUTURE-SUITE, which the "
            "enumeration of TLSv1.3 did not list (2 accepted suites without it: recorded)")

    def test_a_session_at_a_suite_the_enumeration_listed_is_no_contradiction(self):
        verdict = judged_with(HandshakeSeen("the modern handshake", (V.TLSv1_3,), "TLS_AES_256_GCM_SHA384"))
        assert verdict.outcome is Outcome.PASSED


class TestUnconfirmedRefusal:
    def test_tls13_refused_by_the_crafted_hellos_but_completed_by_openssl_at_tls13_is_not_confirmed(self):
        recorded = hardened(surfaces={V.TLSv1_3: refused_surface(V.TLSv1_3)})
        verdict = judge_accepted_suites(Recorded(**recorded), None)
        assert (verdict.outcome, verdict.summary) == (
            Outcome.INCONCLUSIVE, "every suite seen is allowlisted, but a refusal needs two witnesses: TLSv1.3: the "
            "system OpenSSL's attempt proves nothing either way (handshake completed: TLSv1.3 with "
            "TLS_AES_256_GCM_SHA384)")


SUITES_ASKED = (f"{CRAFTED} per version (SSLv3 to TLS 1.3), removing each suite the server chose until it refused "
                "the rest", "per version, the system OpenSSL (Python's ssl) offering the suites not seen accepted")
HARDENED_ANSWERED = (
    "SSLv3: refused; every bundle at SSLv3 got alert 70 (protocol_version)",
    "TLSv1.0: refused; every bundle at TLSv1.0 got alert 70 (protocol_version)",
    "TLSv1.1: refused; every bundle at TLSv1.1 got alert 70 (protocol_version)",
    "TLSv1.2: refused; every bundle at TLSv1.2 got alert 70 (protocol_version)",
    "TLSv1.3: accepted; recorded",
    "OpenSSL at SSLv3: the local TLS library cannot offer SSLv3: the local OpenSSL cannot offer SSLv3",
    "OpenSSL at TLSv1.0: server refused: the server sent alert protocol_version",
    "OpenSSL at TLSv1.1: server refused: the server sent alert protocol_version",
    "OpenSSL at TLSv1.2: server refused: the server sent alert protocol_version",
    "OpenSSL at TLSv1.3: handshake completed: TLSv1.3 with TLS_AES_256_GCM_SHA384",
)
RSA_256 = "TLS_RSA_WITH_AES_256_GCM_SHA384 (AES256-GCM-SHA384, 0x00,0x9D)"
TLS12_SUITES_REMEDY = ("restrict ssl_ciphers in the DB cluster parameter group to the allowlisted suites (self-managed "
                       f"PostgreSQL: ssl_ciphers in postgresql.conf); {FLOOR_REMEDY}")
TWO_AT_12 = surface(V.TLSv1_2, VersionStatus.ACCEPTED, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                    "TLS_RSA_WITH_AES_256_GCM_SHA384", reason="the server chose 2 suites")


def hardened_answered(*changed: str) -> tuple[str, ...]:
    """The hardened server's answers, with each of ``changed`` in place of the line for its version."""
    by_place = {line.split(": ")[0]: line for line in changed}
    return tuple(by_place.get(line.split(": ")[0], line) for line in HARDENED_ANSWERED)


def suites_verdict(outcome: Outcome, summary: str, answered: tuple[str, ...], remedy: Optional[str] = None,
                   offending: tuple[tuple[str, int], ...] = ()) -> Verdict:
    return Verdict(check="accepted_suites_allowed", endpoint=ENDPOINT, outcome=outcome, summary=summary,
                   attempted=SUITES_ASKED, answered=answered, remedy=remedy, offending_suites=offending)


class TestAcceptedSuitesVerdicts:
    def test_passes_citing_every_version_from_both_witnesses(self):
        verdict = judge_accepted_suites(Recorded(**hardened()), None)
        assert verdict == suites_verdict(
            Outcome.PASSED, "all 2 accepted suites are allowlisted; every refusal was confirmed by the system OpenSSL, "
            "SSLv3's by a second crafted connection", HARDENED_ANSWERED)

    def test_passes_when_the_enumeration_without_sni_is_refused_and_confirmed_too_citing_it(self):
        unnamed = {V.TLSv1_2: (surface(V.TLSv1_2, VersionStatus.REFUSED, reason="every bundle got alert 40"),
                               witness(V.TLSv1_2, refused("handshake_failure")))}
        verdict = judge_accepted_suites(Recorded(**hardened(unnamed=unnamed)), None)
        assert (verdict.outcome, verdict.answered) == (Outcome.PASSED, (
            *HARDENED_ANSWERED, "TLSv1.2 without SNI: refused; every bundle got alert 40",
            "OpenSSL at TLSv1.2 without SNI: server refused: the server sent alert handshake_failure"))

    def test_fails_listing_every_offender_each_way_and_naming_each_suite_once_for_a_waiver(self):
        unnamed = {V.TLSv1_2: (TWO_AT_12, witness(V.TLSv1_2, refused()))}
        listed = HandshakeSeen("the modern handshake", (V.TLSv1_3,), "TLS_AES_256_GCM_SHA384")
        verdict = judge_accepted_suites(Recorded(**hardened(surfaces={V.TLSv1_2: TWO_AT_12}, unnamed=unnamed,
                                                            sessions=(listed,))), None)
        assert verdict == suites_verdict(
            Outcome.FAILED, "the server accepts 4 suite(s) outside the allowlist (default): "
            f"{ECDHE_256} at TLSv1.2; {RSA_256} at TLSv1.2; {ECDHE_256} at TLSv1.2 without SNI; {RSA_256} at TLSv1.2 "
            "without SNI",
            (*hardened_answered("TLSv1.2: accepted; the server chose 2 suites"),
             "TLSv1.2 without SNI: accepted; the server chose 2 suites",
             "OpenSSL at TLSv1.2 without SNI: server refused: the server sent alert protocol_version",
             "the modern handshake: a session at TLSv1.3 with TLS_AES_256_GCM_SHA384"),
            TLS12_SUITES_REMEDY, (("TLSv1.2", 0xC030), ("TLSv1.2", 0x009D)))

    def test_fails_with_offenders_and_a_contradiction_together_offering_no_suite_to_waive(self):
        one_at_12 = surface(V.TLSv1_2, VersionStatus.ACCEPTED, "TLS_RSA_WITH_AES_256_GCM_SHA384", reason="chosen")
        unlisted = HandshakeSeen("the capped driver", (V.TLSv1_2,), "ECDHE-RSA-AES256-GCM-SHA384")
        verdict = judge_accepted_suites(Recorded(**hardened(surfaces={V.TLSv1_2: one_at_12}, sessions=(unlisted,))),
                                        None)
        assert (verdict.summary, verdict.remedy, verdict.offending_suites) == (
            f"the server accepts 1 suite(s) outside the allowlist (default): {RSA_256} at TLSv1.2; the run "
            "contradicts itself: the capped driver: a session at TLSv1.2 with ECDHE-RSA-AES256-GCM-SHA384, which the "
            "enumeration of TLSv1.2 did not list (1 accepted suites without it: chosen)", TLS12_SUITES_REMEDY, ())

    def test_is_inconclusive_naming_every_version_not_enumerated_either_way(self):
        timed_out = surface(V.TLSv1_1, VersionStatus.INCONCLUSIVE, complete=False, reason="timeout after 3 s")
        partly = surface(V.TLSv1_2, VersionStatus.REFUSED, complete=False, reason="2 of 3 bundles answered")
        verdict = judge_accepted_suites(Recorded(**hardened(
            surfaces={V.TLSv1_1: timed_out}, unnamed={V.TLSv1_2: (partly, witness(V.TLSv1_2, refused()))})), None)
        assert verdict == suites_verdict(
            Outcome.INCONCLUSIVE, "every suite seen so far is allowlisted, but not every version could be enumerated: "
            "TLSv1.1: timeout after 3 s; TLSv1.2 without SNI: 2 of 3 bundles answered",
            (*hardened_answered("TLSv1.1: inconclusive; timeout after 3 s"),
             "TLSv1.2 without SNI: refused; 2 of 3 bundles answered",
             "OpenSSL at TLSv1.2 without SNI: server refused: the server sent alert protocol_version"), NETWORK_REMEDY)

    def test_is_inconclusive_naming_every_refusal_without_its_second_witness_either_way(self):
        unnamed = {V.TLSv1_2: (refused_surface(V.TLSv1_2), witness(V.TLSv1_2, unclear()))}
        verdict = judge_accepted_suites(Recorded(**hardened(witnesses={V.TLSv1_1: witness(V.TLSv1_1, unclear())},
                                                            unnamed=unnamed)), None)
        assert verdict == suites_verdict(
            Outcome.INCONCLUSIVE, "every suite seen is allowlisted, but a refusal needs two witnesses: TLSv1.1: no "
            "second witness for the refusal (no answer within 3 s); TLSv1.2 without SNI: no second witness for the "
            "refusal (no answer within 3 s)",
            (*hardened_answered("OpenSSL at TLSv1.1: no answer within 3 s"),
             "TLSv1.2 without SNI: refused; every bundle at TLSv1.2 got alert 70 (protocol_version)",
             "OpenSSL at TLSv1.2 without SNI: no answer within 3 s"), NETWORK_REMEDY)
