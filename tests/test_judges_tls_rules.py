"""Each TLS verdict rule (a version below the floor refused, the accepted and negotiated suites, the floor
accepted, the certificate trusted), mutation by mutation: the exact verdict each kind of evidence gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from pytest_aurora_guard.checks import (
    Outcome,
    Verdict,
    judge_accepted_suites,
    judge_certificate_trusted,
    judge_floor_accepted,
    judge_negotiated_cipher,
    judge_version_refused,
)
from pytest_aurora_guard.findings import HandshakeSeen, ModernHandshake, VersionHandshake
from pytest_aurora_guard.settings.config import GuardSettings
from pytest_aurora_guard.settings.endpoints import Endpoint, parse_endpoint
from pytest_aurora_guard.tls.certificates import (
    RDS_BUNDLE_HELP,
    CertificateAccepted,
    CertificateRejected,
    HostKind,
    PeerChain,
    TrustStore,
    WitnessOutcome,
    assess_chain,
)
from pytest_aurora_guard.tls.handshake import HandshakeOutcome
from pytest_aurora_guard.tls.surface import VersionStatus
from pytest_aurora_guard.tls.versions import TlsVersion
from tests.recorded import PG, Recorded, completed, not_offered, refused, refused_surface, surface, unclear, witness
from tests.support.pki import Issued, new_intermediate, new_leaf, new_root
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
            "SSLv3 refused, on one witness only: the crafted ClientHellos, every suite refused again on fresh "
            "connections in hellos of at most 32 suites; no second witness is available (the local OpenSSL cannot "
            "offer SSLv3)",
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


# -- tls_floor_accepted and negotiated_cipher_allowed ---------------------------------------------------

def enable_floor_remedy(floor: TlsVersion) -> str:
    return (f"enable {floor.label} on the server (Aurora: an engine version with {floor.label} support, and the TLS "
            "version parameters allowing it), with at least one allowlisted suite")


def at_floor(floor: TlsVersion, outcome: HandshakeOutcome) -> Recorded:
    return Recorded(settings=GuardSettings(min_tls=floor),
                    floor_handshake=VersionHandshake("OpenSSL capped at the floor", floor, outcome))


def floor_verdict(outcome: Outcome, summary: str, answered: str, remedy: Optional[str] = None) -> Verdict:
    return Verdict(check="tls_floor_accepted", endpoint=ENDPOINT, outcome=outcome, summary=summary,
                   attempted=("OpenSSL capped at the floor",), answered=(answered,), remedy=remedy)


class TestFloorAcceptedVerdicts:
    def test_passes_on_a_handshake_at_the_floor_naming_the_suite(self):
        verdict = judge_floor_accepted(at_floor(V.TLSv1_3, completed(V.TLSv1_3, "TLS_AES_256_GCM_SHA384")), None)
        assert verdict == floor_verdict(Outcome.PASSED, "TLSv1.3 accepted (TLS_AES_256_GCM_SHA384 (0x13,0x02))",
                                        "handshake completed: TLSv1.3 with TLS_AES_256_GCM_SHA384")

    def test_passes_on_a_suite_the_registry_does_not_know_naming_it_as_openssl_does(self):
        verdict = judge_floor_accepted(at_floor(V.TLSv1_3, completed(V.TLSv1_3, "FUTURE-SUITE")), None)
        assert verdict.summary == "TLSv1.3 accepted (FUTURE-SUITE)"

    def test_fails_on_a_refusal_asking_to_enable_that_floor(self):
        verdict = judge_floor_accepted(at_floor(V.TLSv1_2, refused("handshake_failure")), None)
        assert verdict == floor_verdict(Outcome.FAILED, "a handshake at the floor TLSv1.2 did not succeed",
                                        "server refused: the server sent alert handshake_failure",
                                        enable_floor_remedy(V.TLSv1_2))

    def test_is_inconclusive_on_no_answer_citing_it(self):
        verdict = judge_floor_accepted(at_floor(V.TLSv1_3, unclear()), None)
        assert verdict == floor_verdict(Outcome.INCONCLUSIVE, "no evidence whether TLSv1.3 is accepted",
                                        "no answer within 3 s", NETWORK_REMEDY)


def negotiated(outcome: HandshakeOutcome) -> Recorded:
    return Recorded(modern_handshake=ModernHandshake("a modern default client", outcome, None))


def cipher_verdict(outcome: Outcome, summary: str, answered: str, remedy: Optional[str] = None) -> Verdict:
    return Verdict(check="negotiated_cipher_allowed", endpoint=ENDPOINT, outcome=outcome, summary=summary,
                   attempted=("a modern default client",), answered=(answered,), remedy=remedy)


class TestNegotiatedCipherVerdicts:
    def test_passes_on_an_allowlisted_suite_citing_the_handshake(self):
        verdict = judge_negotiated_cipher(negotiated(completed(V.TLSv1_3, "TLS_AES_256_GCM_SHA384")), None)
        assert verdict == cipher_verdict(Outcome.PASSED, "negotiated TLS_AES_256_GCM_SHA384, which is allowlisted",
                                         "handshake completed: TLSv1.3 with TLS_AES_256_GCM_SHA384")

    def test_fails_on_a_tls12_suite_outside_the_allowlist_advising_the_suites_and_the_floor(self):
        verdict = judge_negotiated_cipher(negotiated(completed(V.TLSv1_2, "AES256-GCM-SHA384")), None)
        assert verdict == cipher_verdict(
            Outcome.FAILED, f"negotiated {RSA_256}, which is not in the allowlist (default)",
            "handshake completed: TLSv1.2 with AES256-GCM-SHA384",
            f"{TLS12_SUITES_REMEDY}, or add the suite to --aurora-cipher-allowlist after review")

    def test_fails_when_a_modern_client_is_refused_asking_to_enable_the_floor(self):
        verdict = judge_negotiated_cipher(negotiated(refused("handshake_failure")), None)
        assert verdict == cipher_verdict(Outcome.FAILED, "a modern default client cannot connect over TLS",
                                         "server refused: the server sent alert handshake_failure",
                                         enable_floor_remedy(V.TLSv1_3))

    def test_is_inconclusive_without_a_session_citing_the_answer(self):
        verdict = judge_negotiated_cipher(negotiated(unclear()), None)
        assert verdict == cipher_verdict(Outcome.INCONCLUSIVE, "no TLS session to read a cipher suite from",
                                         "no answer within 3 s", NETWORK_REMEDY)


# -- certificate_trusted: chains made at test time, judged without a handshake ------------------------------

HOST = "db.example.test"
RDS_ROOT_NAME = "Amazon RDS us-east-1 Root CA RSA2048 G1"
CHAIN_ASKED = ("a modern default client, reading the certificate chain the server sent (checked against the test "
               "bundle, for the name 'db.example.test', not an AWS RDS name)")
WITNESS_ASKED = "a second handshake in which the system OpenSSL verifies chain and name against the test bundle"


@dataclass(frozen=True)
class Chains:
    rds_root: Issued
    other_root: Issued
    leaf: Issued  # names db.example.test, issued by rds_root
    other_leaf: Issued  # names db.example.test, issued by other_root


@pytest.fixture(scope="module")
def chains() -> Chains:
    rds_root, other_root = new_root(RDS_ROOT_NAME), new_root("Corporate Root CA")
    return Chains(rds_root, other_root, new_leaf([HOST], rds_root), new_leaf([HOST], other_root))


def sent(*issued: Issued, complete: bool = True) -> PeerChain:
    return PeerChain(tuple(cert.public_bytes(Encoding.DER) for cert, _ in issued), complete)


def bundle(*roots: Issued) -> TrustStore:
    return TrustStore("the test bundle", None, tuple(cert for cert, _ in roots))


def presented(chain: Optional[PeerChain], store: Optional[TrustStore], openssl: Optional[WitnessOutcome] = None,
              outcome: Optional[HandshakeOutcome] = None, configured: Endpoint = PG) -> Recorded:
    handshake = ModernHandshake("a modern default client", outcome or completed(V.TLSv1_3, "TLS_AES_256_GCM_SHA384"),
                                None, chain)
    return Recorded(configured=configured, modern_handshake=handshake, store=store, openssl_verdict=openssl)


def path_evidence(chain: PeerChain, store: TrustStore) -> tuple[str, ...]:
    """What assess_chain says of each certificate on the path: the evidence the verdict files."""
    return tuple(facts.render() for facts in assess_chain(chain, store, HOST, HostKind.OTHER, 30).path)


def certificate_verdict(outcome: Outcome, summary: str, attempted: tuple[str, ...], answered: tuple[str, ...],
                        remedy: Optional[str] = None) -> Verdict:
    return Verdict(check="certificate_trusted", endpoint=ENDPOINT, outcome=outcome, summary=summary,
                   attempted=attempted, answered=answered, remedy=remedy)


class TestCertificateTrustedVerdicts:
    def test_is_inconclusive_without_a_ca_bundle_naming_the_host_whose_chain_was_read(self, chains):
        verdict = judge_certificate_trusted(presented(sent(chains.leaf), None), None)
        assert verdict == certificate_verdict(
            Outcome.INCONCLUSIVE, "no CA bundle to verify the certificate chain against, so its trust cannot be shown",
            ("a modern default client, reading the certificate chain db.example.test sends",),
            ("--aurora-ca-bundle is not set",), RDS_BUNDLE_HELP)

    def test_is_inconclusive_without_a_completed_handshake_citing_the_answer(self, chains):
        verdict = judge_certificate_trusted(presented(None, bundle(chains.rds_root), outcome=refused()), None)
        assert verdict == certificate_verdict(
            Outcome.INCONCLUSIVE, "no certificate to judge: the TLS handshake did not complete", (CHAIN_ASKED,),
            ("server refused: the server sent alert protocol_version",), NETWORK_REMEDY)

    def test_is_inconclusive_when_this_python_shows_only_a_leaf_whose_issuer_the_bundle_lacks(self, chains):
        sub = new_intermediate("Corporate Issuing CA", chains.other_root)
        leaf_only, store = sent(new_leaf([HOST], sub), complete=False), bundle(chains.other_root)
        verdict = judge_certificate_trusted(presented(leaf_only, store), None)
        assert verdict == certificate_verdict(
            Outcome.INCONCLUSIVE, "this Python shows only the leaf certificate (no get_unverified_chain before 3.10), "
            "and the trust store does not hold its issuer", (CHAIN_ASKED,), path_evidence(leaf_only, store),
            "run the gate on Python 3.10 or later, or add the intermediate to the bundle")

    def test_fails_on_a_leaf_only_chain_whose_problem_is_not_trust(self, chains):
        elsewhere = sent(new_leaf(["other.example.test"], chains.rds_root), complete=False)
        verdict = judge_certificate_trusted(presented(elsewhere, bundle(chains.rds_root)), None)
        assert (verdict.outcome, verdict.summary) == (
            Outcome.FAILED, "1 problem(s) with the certificate chain: certificate 0 (leaf, sent by the server, "
            "CN=other.example.test) does not name the endpoint: 'db.example.test' is not among its names: "
            "DNS:other.example.test")

    def test_fails_listing_every_problem_and_each_remedy_citing_certificates_sent_off_the_path(self, chains):
        strays = (new_root("Stray CA One"), new_root("Stray CA Two"))
        wrong = sent(new_leaf(["other.example.test"], chains.other_root), *strays)
        store = bundle(chains.rds_root)
        verdict = judge_certificate_trusted(presented(wrong, store), None)
        leaf = "certificate 0 (leaf, sent by the server, CN=other.example.test)"
        assert verdict == certificate_verdict(
            Outcome.FAILED, f"2 problem(s) with the certificate chain: {leaf} does not chain to a trusted root: its "
            "issuer CN=Corporate Root CA,O=pytest-aurora-guard tests was neither sent by the server nor is in the "
            f"trust store (the test bundle); {leaf} does not name the endpoint: 'db.example.test' is not among its "
            "names: DNS:other.example.test", (CHAIN_ASKED,),
            (*path_evidence(wrong, store), "sent but not on the path: CN=Stray CA One,O=pytest-aurora-guard tests; "
             "CN=Stray CA Two,O=pytest-aurora-guard tests"),
            f"{RDS_BUNDLE_HELP}; connect by a name on the certificate (the cluster, instance or custom endpoint name "
            "AWS reports, not a CNAME or an address); a self-managed server needs a certificate naming it in "
            "subjectAltName")

    def test_fails_on_an_rds_name_whose_chain_runs_through_no_rds_ca(self, chains):
        instance = "prod-pg-1.abcdefghijkl.us-east-1.rds.amazonaws.com"
        chain = sent(new_leaf([instance], chains.other_root))
        verdict = judge_certificate_trusted(presented(chain, bundle(chains.other_root),
                                                      configured=parse_endpoint(f"postgresql://{instance}:5432")), None)
        assert (verdict.outcome, verdict.summary) == (
            Outcome.FAILED, "1 problem(s) with the certificate chain: certificate 1 (root, from the trust store, "
            "CN=Corporate Root CA) is not an RDS CA: the chain runs through Corporate Root CA, none of them "
            "rds-ca-rsa2048-g1, rds-ca-rsa4096-g1 or rds-ca-ecc384-g1 (by subject)")

    def test_fails_when_openssl_rejects_what_every_rule_of_ours_accepts_citing_both(self, chains):
        chain, store = sent(chains.leaf), bundle(chains.rds_root)
        verdict = judge_certificate_trusted(presented(chain, store, CertificateRejected("certificate revoked")), None)
        assert verdict == certificate_verdict(
            Outcome.FAILED, "self-contradicting evidence: every rule of ours holds, but OpenSSL rejects the "
            "certificate (certificate revoked)", (CHAIN_ASKED, WITNESS_ASKED),
            (*path_evidence(chain, store), "OpenSSL rejected the certificate: certificate revoked"),
            f"inspect the chain with openssl s_client -showcerts; {RDS_BUNDLE_HELP}")

    def test_is_inconclusive_when_openssl_could_not_finish_verifying_citing_both(self, chains):
        chain, store = sent(chains.leaf), bundle(chains.rds_root)
        verdict = judge_certificate_trusted(presented(chain, store, unclear()), None)
        assert verdict == certificate_verdict(
            Outcome.INCONCLUSIVE, "the chain looks sound, but OpenSSL's own verification could not be completed",
            (CHAIN_ASKED, WITNESS_ASKED), (*path_evidence(chain, store), "no answer within 3 s"), NETWORK_REMEDY)

    def test_passes_under_an_rds_ca_naming_it_the_anchor_and_the_days_left(self, chains):
        chain, store = sent(chains.leaf), bundle(chains.rds_root)
        verdict = judge_certificate_trusted(presented(chain, store, CertificateAccepted("TLSv1.3")), None)
        assert verdict == certificate_verdict(
            Outcome.PASSED, f"the chain verifies to CN={RDS_ROOT_NAME},O=pytest-aurora-guard tests (the test bundle) "
            "and names 'db.example.test'; 89 days until the first expiry (certificate 0 (leaf, sent by the server, "
            "CN=db.example.test)); keys and signatures are strong; issued under rds-ca-rsa2048-g1; OpenSSL's own "
            "verification agrees", (CHAIN_ASKED, WITNESS_ASKED),
            (*path_evidence(chain, store), "OpenSSL verified the chain and the name (TLSv1.3)"))

    def test_passes_under_another_ca_claiming_no_rds_ca(self, chains):
        verdict = judge_certificate_trusted(presented(sent(chains.other_leaf), bundle(chains.other_root),
                                                      CertificateAccepted("TLSv1.3")), None)
        assert verdict.summary == (
            "the chain verifies to CN=Corporate Root CA,O=pytest-aurora-guard tests (the test bundle) and names "
            "'db.example.test'; 89 days until the first expiry (certificate 0 (leaf, sent by the server, "
            "CN=db.example.test)); keys and signatures are strong; OpenSSL's own verification agrees")
