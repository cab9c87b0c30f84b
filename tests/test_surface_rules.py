"""The surface's rule, on answers scripted in the test (no sockets): what a version's surface is for
each sequence of server answers, the refusal that ends it needing a second connection that says the
same, and anything that is neither a choice nor a refusal leaving it inconclusive.

The real-peer suite (test_tls_surface) shows the answers are read faithfully off the wire; these
show what the enumeration makes of them, exactly: status, completeness, reason and every attempt.
"""

from __future__ import annotations

import socket
from typing import Sequence

import pytest

from pytest_aurora_guard.errors import ProbeError
from pytest_aurora_guard.tls.ciphers import REGISTRY
from pytest_aurora_guard.tls.hello import ServerAlert, ServerChose, Timeout, UnofferedChoice
from pytest_aurora_guard.tls.surface import (
    CONFIRM_SUITES_PER_HELLO,
    MAX_SUITES_PER_HELLO,
    Attempt,
    AttemptOutcome,
    ConnectFailed,
    TlsSurface,
    VersionStatus,
    VersionSurface,
    enumerate_surface,
    enumerate_version,
)
from pytest_aurora_guard.tls.versions import TlsVersion
from tests.tls_peers import alert, parse_client_hello, read_record

V = TlsVersion
PROTOCOL_VERSION = ServerAlert(2, 70, "protocol_version")
HANDSHAKE_FAILURE = ServerAlert(2, 40, "handshake_failure")
INSUFFICIENT_SECURITY = ServerAlert(2, 71, "insufficient_security")
INTERNAL_ERROR = ServerAlert(2, 80, "internal_error")
SILENCE = Timeout(5.0)
AES_128_GCM, AES_256_GCM, CHACHA20 = 0x1301, 0x1302, 0x1303
TLS13_SUITES = len(REGISTRY.for_version(V.TLSv1_3))
TLS12_SUITES = len(REGISTRY.for_version(V.TLSv1_2))


class Server:
    """Answers each ClientHello from a script: a suite code means "choose it" (it must be on
    offer), anything else is the answer itself. Records every offer."""

    def __init__(self, version: TlsVersion, *answers: int | AttemptOutcome,
                 then: AttemptOutcome | None = None) -> None:
        self.version = version
        self.given = list(answers)
        self.answers = list(answers)
        self.then = then  # the answer to every hello after the script, if any
        self.offers: list[tuple[int, ...]] = []

    def __call__(self, bundle: tuple[int, ...]) -> AttemptOutcome:
        assert self.answers or self.then, f"offered a ClientHello the script has no answer for: {len(bundle)} suites"
        self.offers.append(bundle)
        answer = self.answers.pop(0) if self.answers else self.then
        assert answer is not None
        if isinstance(answer, int):
            assert answer in bundle, f"the script chose 0x{answer:04X}, which was not on offer"
            return ServerChose(self.version, answer, False)
        return answer

    def attempts(self, *confirmations: int) -> tuple[Attempt, ...]:
        """The attempts the surface must report: these offers, with the answers in order; the
        ``confirmations`` are the indexes of the connections that re-offered a refusal."""
        replay = Server(self.version, *self.given, then=self.then)
        return tuple(Attempt(offer, replay(offer), index in confirmations) for index, offer in enumerate(self.offers))



def surface(version: TlsVersion, status: VersionStatus, accepted: Sequence[int], complete: bool, reason: str,
            attempts: tuple[Attempt, ...], order_complete: bool) -> VersionSurface:
    return VersionSurface(version, status, tuple(accepted), complete, reason, attempts, order_complete)


class TestAVersionTheServerDoesNotSpeak:
    @pytest.mark.parametrize(("answer", "reason"), [
        (PROTOCOL_VERSION, "TLSv1.3 refused: fatal alert 70 (protocol_version) (twice, on fresh connections)"),
        (UnofferedChoice(int(V.TLSv1_2), 0xC02F, False, "version TLSv1.2 not offered"),
         "TLSv1.3 refused: server answered in TLSv1.2, its highest version (twice, on fresh connections)"),
        (HANDSHAKE_FAILURE, f"none of the {TLS13_SUITES} TLSv1.3 suites accepted, offered in 2 ClientHellos (the last "
                            "bundle twice), each answered with fatal alert 40 (handshake_failure)"),
    ], ids=["protocol_version", "older version", "handshake_failure"])
    def test_is_refused_when_a_second_connection_gives_the_same_refusal(self, answer: AttemptOutcome, reason: str):
        tls13 = Server(V.TLSv1_3, answer, answer)
        found = enumerate_version(tls13, V.TLSv1_3, confirm_final_refusal=True)
        assert found == surface(V.TLSv1_3, VersionStatus.REFUSED, (), True, reason, tls13.attempts(1), True)
        assert tls13.offers[0] == tls13.offers[1]
        assert set(tls13.offers[0]) == {suite.code for suite in REGISTRY.for_version(V.TLSv1_3)}

    def test_is_refused_on_one_answer_when_the_caller_confirms_refusals_itself(self):
        tls13 = Server(V.TLSv1_3, PROTOCOL_VERSION)
        found = enumerate_version(tls13, V.TLSv1_3, confirm_final_refusal=False)
        assert found == surface(V.TLSv1_3, VersionStatus.REFUSED, (), True,
                                "TLSv1.3 refused: fatal alert 70 (protocol_version)", tls13.attempts(), True)

    def test_one_short_hello_refused_without_confirmation_is_refused(self):
        tls13 = Server(V.TLSv1_3, HANDSHAKE_FAILURE)
        found = enumerate_version(tls13, V.TLSv1_3, confirm_final_refusal=False)
        assert found == surface(
            V.TLSv1_3, VersionStatus.REFUSED, (), True,
            f"none of the {TLS13_SUITES} TLSv1.3 suites accepted, offered in 1 ClientHello, each answered with fatal "
            "alert 40 (handshake_failure)", tls13.attempts(), True)

    def test_silence_to_the_confirmation_after_an_acceptance_counts_what_is_left(self):
        tls13 = Server(V.TLSv1_3, AES_128_GCM, HANDSHAKE_FAILURE, SILENCE)
        found = enumerate_version(tls13, V.TLSv1_3, confirm_final_refusal=True)
        assert found.reason == (
            f"{TLS13_SUITES - 1} of {TLS13_SUITES} TLSv1.3 suites left unresolved: offering {TLS13_SUITES - 1} suites "
            "got no complete answer within 5 s (0 bytes received), after fatal alert 40 (handshake_failure) on the "
            "previous connection")

    def test_is_inconclusive_when_the_second_connection_does_not_answer(self):
        tls13 = Server(V.TLSv1_3, PROTOCOL_VERSION, SILENCE)
        found = enumerate_version(tls13, V.TLSv1_3, confirm_final_refusal=True)
        assert found == surface(
            V.TLSv1_3, VersionStatus.INCONCLUSIVE, (), False,
            f"no TLSv1.3 suite resolved: offering {TLS13_SUITES} suites got no complete answer within 5 s "
            "(0 bytes received), after fatal alert 70 (protocol_version) on the previous connection",
            tls13.attempts(1), True)

    def test_is_accepted_when_the_second_connection_chooses_a_suite(self):
        # Two backends behind one name: one refuses the version, the other speaks it.
        tls13 = Server(V.TLSv1_3, PROTOCOL_VERSION, AES_256_GCM, HANDSHAKE_FAILURE, HANDSHAKE_FAILURE)
        found = enumerate_version(tls13, V.TLSv1_3, confirm_final_refusal=True)
        assert found == surface(
            V.TLSv1_3, VersionStatus.ACCEPTED, (AES_256_GCM,), True,
            f"1 of {TLS13_SUITES} TLSv1.3 suites accepted; the rest refused (fatal alert 40 (handshake_failure))",
            tls13.attempts(1, 3), True)
        assert AES_256_GCM not in tls13.offers[2]


class TestAVersionTheServerSpeaks:
    def test_is_accepted_and_complete_when_the_rest_is_refused_twice(self):
        tls13 = Server(V.TLSv1_3, AES_256_GCM, CHACHA20, HANDSHAKE_FAILURE, HANDSHAKE_FAILURE)
        found = enumerate_version(tls13, V.TLSv1_3, confirm_final_refusal=True)
        assert found == surface(
            V.TLSv1_3, VersionStatus.ACCEPTED, (AES_256_GCM, CHACHA20), True,
            f"2 of {TLS13_SUITES} TLSv1.3 suites accepted; the rest refused (fatal alert 40 (handshake_failure))",
            tls13.attempts(3), True)
        assert [len(offer) for offer in tls13.offers] == [TLS13_SUITES, TLS13_SUITES - 1, TLS13_SUITES - 2,
                                                          TLS13_SUITES - 2]
        assert AES_256_GCM not in tls13.offers[1]
        assert CHACHA20 not in tls13.offers[2]

    def test_is_complete_without_a_refusal_when_every_suite_is_chosen(self):
        every = sorted(suite.code for suite in REGISTRY.for_version(V.TLSv1_3))
        tls13 = Server(V.TLSv1_3, *every)
        found = enumerate_version(tls13, V.TLSv1_3, confirm_final_refusal=True)
        assert found == surface(V.TLSv1_3, VersionStatus.ACCEPTED, every, True,
                                f"{TLS13_SUITES} of {TLS13_SUITES} TLSv1.3 suites accepted", tls13.attempts(), True)

    def test_is_accepted_but_incomplete_when_the_server_stops_answering(self):
        tls13 = Server(V.TLSv1_3, AES_128_GCM, SILENCE)
        found = enumerate_version(tls13, V.TLSv1_3, confirm_final_refusal=True)
        assert found == surface(
            V.TLSv1_3, VersionStatus.ACCEPTED, (AES_128_GCM,), False,
            f"{TLS13_SUITES - 1} of {TLS13_SUITES} TLSv1.3 suites left unresolved: offering {TLS13_SUITES - 1} "
            "suites got no complete answer within 5 s (0 bytes received)",
            tls13.attempts(), True)

    def test_that_then_disowns_the_version_is_accepted_but_incomplete(self):
        tls13 = Server(V.TLSv1_3, AES_128_GCM, PROTOCOL_VERSION, PROTOCOL_VERSION)
        found = enumerate_version(tls13, V.TLSv1_3, confirm_final_refusal=True)
        assert found == surface(
            V.TLSv1_3, VersionStatus.ACCEPTED, (AES_128_GCM,), False,
            "after 1 accepted suites the server answered fatal alert 70 (protocol_version)",
            tls13.attempts(2), True)

    def test_that_disowns_the_version_without_confirmation_is_accepted_but_incomplete(self):
        tls13 = Server(V.TLSv1_3, AES_128_GCM, PROTOCOL_VERSION)
        found = enumerate_version(tls13, V.TLSv1_3, confirm_final_refusal=False)
        assert (found.status, found.complete) == (VersionStatus.ACCEPTED, False)
        assert found.reason == "after 1 accepted suites the server answered fatal alert 70 (protocol_version)"


class TestAnswersThatAreNotEvidence:
    @pytest.mark.parametrize("answer", [
        INTERNAL_ERROR,
        SILENCE,
        ConnectFailed("ConnectionRefusedError: [Errno 111] Connection refused"),
        UnofferedChoice(int(V.TLSv1_3), 0xC02F, False, "cipher suite 0xC02F not offered"),
        UnofferedChoice(int(V.TLSv1_2), 0xC02F, True, "a HelloRetryRequest in TLSv1.2"),
    ], ids=["unrelated alert", "timeout", "no connection", "same version, suite not offered", "retry in older"])
    def test_the_first_answer_leaves_the_version_inconclusive_with_that_answer(self, answer: AttemptOutcome):
        tls13 = Server(V.TLSv1_3, answer)
        found = enumerate_version(tls13, V.TLSv1_3, confirm_final_refusal=True)
        assert found == surface(
            V.TLSv1_3, VersionStatus.INCONCLUSIVE, (), False,
            f"no TLSv1.3 suite resolved: offering {TLS13_SUITES} suites got {answer.describe()}",
            tls13.attempts(), True)

    def test_an_answer_in_a_newer_version_than_offered_is_not_a_refusal(self):
        newer = UnofferedChoice(int(V.TLSv1_3), 0x1301, False, "version TLSv1.3 not offered")
        tls12 = Server(V.TLSv1_2, newer)
        found = enumerate_version(tls12, V.TLSv1_2, confirm_final_refusal=True)
        assert (found.status, found.complete) == (VersionStatus.INCONCLUSIVE, False)


BIG_HELLOS = -(-TLS12_SUITES // MAX_SUITES_PER_HELLO)  # 355 suites: 3 hellos of up to 128
SMALL_HELLOS = -(-TLS12_SUITES // CONFIRM_SUITES_PER_HELLO)  # and 12 of up to 32


class TestAVersionOfferedInSeveralHellos:
    def test_offers_every_candidate_in_big_hellos_then_again_in_small_ones_when_all_are_refused(self):
        tls12 = Server(V.TLSv1_2, then=HANDSHAKE_FAILURE)
        enumerate_version(tls12, V.TLSv1_2, confirm_final_refusal=True)
        big, small = tls12.offers[:BIG_HELLOS], tls12.offers[BIG_HELLOS:]
        every = sorted(suite.code for suite in REGISTRY.for_version(V.TLSv1_2))
        assert [len(hello) for hello in big] == [MAX_SUITES_PER_HELLO, MAX_SUITES_PER_HELLO, TLS12_SUITES - 256]
        assert len(small) == SMALL_HELLOS
        assert max(len(hello) for hello in small) == CONFIRM_SUITES_PER_HELLO
        assert sorted(code for hello in big for code in hello) == every
        assert sorted(code for hello in small for code in hello) == every

    def test_is_refused_when_every_hello_big_and_small_is_refused_alike(self):
        tls12 = Server(V.TLSv1_2, then=HANDSHAKE_FAILURE)
        found = enumerate_version(tls12, V.TLSv1_2, confirm_final_refusal=True)
        assert found == surface(
            V.TLSv1_2, VersionStatus.REFUSED, (), True,
            f"none of the {TLS12_SUITES} TLSv1.2 suites accepted, offered in 3 ClientHellos, each answered with "
            "fatal alert 40 (handshake_failure); re-offered 32 at a time in 12 ClientHellos, each answered with "
            "fatal alert 40 (handshake_failure)",
            tls12.attempts(*range(BIG_HELLOS, BIG_HELLOS + SMALL_HELLOS)), True)

    def test_a_version_refused_to_a_big_hello_is_believed_only_after_small_ones(self):
        tls12 = Server(V.TLSv1_2, then=PROTOCOL_VERSION)
        found = enumerate_version(tls12, V.TLSv1_2, confirm_final_refusal=False)
        assert (found.status, found.complete, found.accepted_suites) == (VersionStatus.REFUSED, True, ())
        assert found.reason == ("TLSv1.2 refused: fatal alert 70 (protocol_version); re-offered 32 at a time in 12 "
                                "ClientHellos, each answered with fatal alert 70 (protocol_version)")
        assert [len(hello) for hello in tls12.offers[1:]] == [CONFIRM_SUITES_PER_HELLO] * 11 + [TLS12_SUITES - 352]
        assert sorted(code for hello in tls12.offers[1:] for code in hello) == sorted(
            suite.code for suite in REGISTRY.for_version(V.TLSv1_2))

    def test_an_older_version_in_answer_to_the_short_hellos_is_a_refusal_too(self):
        older = UnofferedChoice(int(V.TLSv1_1), 0x002F, False, "version TLSv1.1 not offered")
        found = enumerate_version(Server(V.TLSv1_2, then=older), V.TLSv1_2, confirm_final_refusal=False)
        assert (found.status, found.reason) == (
            VersionStatus.REFUSED, "TLSv1.2 refused: server answered in TLSv1.1, its highest version; re-offered 32 "
            "at a time in 12 ClientHellos, each answered with server answered in TLSv1.1, its highest version")

    def test_silence_after_acceptances_counts_what_the_big_hellos_left_unproven(self):
        tls12 = Server(V.TLSv1_2, tls12_offers()[0][0], HANDSHAKE_FAILURE, SILENCE)
        found = enumerate_version(tls12, V.TLSv1_2, confirm_final_refusal=True)
        assert (found.status, found.complete) == (VersionStatus.ACCEPTED, False)
        assert found.reason == (f"{TLS12_SUITES - 1} of {TLS12_SUITES} TLSv1.2 suites left unresolved: offering 128 "
                                "suites got no complete answer within 5 s (0 bytes received)")

    def test_silence_to_a_short_hello_after_an_acceptance_counts_what_is_left(self):
        first_short = tls12_offers()[0][0]
        tls12 = Server(V.TLSv1_2, PROTOCOL_VERSION, first_short, SILENCE)
        found = enumerate_version(tls12, V.TLSv1_2, confirm_final_refusal=True)
        assert (found.status, found.complete, found.accepted_suites) == (VersionStatus.ACCEPTED, False, (first_short,))
        assert found.reason == (
            f"{TLS12_SUITES - 1} of {TLS12_SUITES} TLSv1.2 suites left unresolved: offering 32 suites got no complete "
            "answer within 5 s (0 bytes received), re-offering what a larger ClientHello had refused (fatal alert 70 "
            "(protocol_version))")

    def test_a_bundle_of_exactly_the_short_size_is_believed_as_it_is(self):
        # TLS 1.0: 128 + 44 suites; the server accepts 12 of the second hello's, leaving exactly 32.
        big = Server(V.TLSv1_0, then=HANDSHAKE_FAILURE)
        enumerate_version(big, V.TLSv1_0, confirm_final_refusal=True)
        accepts = set(big.offers[1][:12])

        def choosing(bundle: tuple[int, ...]) -> AttemptOutcome:
            chosen = next((code for code in bundle if code in accepts), None)
            return ServerChose(V.TLSv1_0, chosen, False) if chosen is not None else HANDSHAKE_FAILURE

        found = enumerate_version(choosing, V.TLSv1_0, confirm_final_refusal=True)
        assert [(len(a.offered), a.confirmation) for a in found.attempts] == (
            [(128, False)] + [(44 - n, False) for n in range(12)] + [(32, False)] + [(32, True)] * 4)


    def test_refused_with_different_alerts_lists_each(self):
        tls12 = Server(V.TLSv1_2, HANDSHAKE_FAILURE, INSUFFICIENT_SECURITY, HANDSHAKE_FAILURE, INSUFFICIENT_SECURITY,
                       then=HANDSHAKE_FAILURE)
        found = enumerate_version(tls12, V.TLSv1_2, confirm_final_refusal=True)
        assert found.status is VersionStatus.REFUSED
        assert found.reason == (
            f"none of the {TLS12_SUITES} TLSv1.2 suites accepted: fatal alert 40 (handshake_failure); "
            "fatal alert 71 (insufficient_security); fatal alert 40 (handshake_failure); re-offered 32 at a time in "
            "12 ClientHellos, answered with fatal alert 71 (insufficient_security); fatal alert 40 (handshake_failure)")

    def test_a_small_hello_that_is_not_answered_leaves_the_version_inconclusive(self):
        tls12 = Server(V.TLSv1_2, PROTOCOL_VERSION, SILENCE)
        found = enumerate_version(tls12, V.TLSv1_2, confirm_final_refusal=True)
        assert (found.status, found.complete) == (VersionStatus.INCONCLUSIVE, False)
        assert found.reason == (
            "no TLSv1.2 suite resolved: offering 32 suites got no complete answer within 5 s (0 bytes received), "
            "re-offering what a larger ClientHello had refused (fatal alert 70 (protocol_version))")

    def test_a_suite_chosen_from_a_later_hello_leaves_the_choice_order_incomplete(self):
        common, rare = tls12_offers()[0][0], tls12_offers()[2][0]
        tls12 = Server(V.TLSv1_2, common, HANDSHAKE_FAILURE, rare, then=HANDSHAKE_FAILURE)
        found = enumerate_version(tls12, V.TLSv1_2, confirm_final_refusal=True)
        assert (found.status, found.accepted_suites, found.complete, found.choice_order_complete) == (
            VersionStatus.ACCEPTED, (common, rare), True, False)
        assert found.reason == (f"2 of {TLS12_SUITES} TLSv1.2 suites accepted; the rest refused "
                                "(fatal alert 40 (handshake_failure))")

    def test_suites_chosen_from_the_first_hello_give_the_whole_choice_order(self):
        first, second = tls12_offers()[0][1], tls12_offers()[0][0]
        tls12 = Server(V.TLSv1_2, first, second, then=HANDSHAKE_FAILURE)
        found = enumerate_version(tls12, V.TLSv1_2, confirm_final_refusal=True)
        assert (found.accepted_suites, found.choice_order_complete) == ((first, second), True)


TRIPLE_DES, RC4_SHA = 0x000A, 0x0005  # TLS_RSA_WITH_3DES_EDE_CBC_SHA, TLS_RSA_WITH_RC4_128_SHA


class RefusingBigHellos:
    """A server (or a middlebox before it) that refuses every hello over 64 suites, and otherwise
    chooses 3DES or RC4 when offered: what a short, old client's hello gets."""

    def __init__(self, version: TlsVersion) -> None:
        self.version = version

    def __call__(self, bundle: tuple[int, ...]) -> AttemptOutcome:
        if len(bundle) > 64:
            return PROTOCOL_VERSION
        chosen = next((code for code in (TRIPLE_DES, RC4_SHA) if code in bundle), None)
        return ServerChose(self.version, chosen, False) if chosen is not None else HANDSHAKE_FAILURE


class TestAServerThatRefusesBigHellos:
    @pytest.mark.parametrize("version", [V.SSLv3, V.TLSv1_0, V.TLSv1_1, V.TLSv1_2])
    def test_is_caught_accepting_what_it_gives_a_short_hello(self, version: TlsVersion):
        found = enumerate_version(RefusingBigHellos(version), version, confirm_final_refusal=False)
        assert (found.status, set(found.accepted_suites), found.complete) == (
            VersionStatus.ACCEPTED, {TRIPLE_DES, RC4_SHA}, True)
        assert found.reason == (
            f"2 of {len(REGISTRY.for_version(version))} {version.label} suites accepted; the rest refused (fatal "
            "alert 40 (handshake_failure)); 2 of them chosen only from a ClientHello of at most 32 suites, after a "
            "larger one was refused (fatal alert 70 (protocol_version))")


def _position(offers: Sequence[tuple[int, ...]], name: str) -> int:
    code = next(suite.code for suite in REGISTRY.for_version(V.TLSv1_2) if suite.iana_name == name)
    return [code for offer in offers for code in offer].index(code)


def tls12_offers() -> list[tuple[int, ...]]:
    """The three big TLS 1.2 ClientHellos a server that refuses them all is offered (made in each
    test, not in a fixture, so that the mutation tool sees the test run the ordering)."""
    tls12 = Server(V.TLSv1_2, then=HANDSHAKE_FAILURE)
    enumerate_version(tls12, V.TLSv1_2, confirm_final_refusal=True)
    return tls12.offers[:3]


class TestTheOfferOrder:
    """Commonly deployed suites share the first ClientHello, so the order the server picks them
    in is its order among all of them: forward secrecy before RSA key transport, AEAD before CBC,
    the rarely deployed families last."""

    @pytest.mark.parametrize(("before", "after"), [
        ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
        ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
        ("TLS_ECDHE_ECDSA_WITH_AES_128_CCM", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"),
        ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
        ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"),
        ("TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "TLS_RSA_WITH_AES_128_GCM_SHA256"),
        ("TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_DH_anon_WITH_AES_128_GCM_SHA256"),
        ("TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256"),
        ("TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_NULL_SHA"),
        ("TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_RSA_WITH_NULL_SHA256"),
        ("TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_RSA_EXPORT_WITH_RC4_40_MD5"),
        ("TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_PSK_WITH_AES_128_GCM_SHA256"),
        ("TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_SRP_SHA_WITH_AES_128_CBC_SHA"),
        ("TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_KRB5_WITH_RC4_128_SHA"),
        ("TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256"),
        ("TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_DH_RSA_WITH_AES_128_GCM_SHA256"),
        ("TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_ECCPWD_WITH_AES_128_GCM_SHA256"),
        ("TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_GOSTR341112_256_WITH_28147_CNT_IMIT"),
        ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    ])
    def test_puts_one_suite_before_another(self, before: str, after: str):
        offers = tls12_offers()
        assert _position(offers, before) < _position(offers, after)


class TestTheWholeSurface:
    def test_a_server_that_cannot_be_reached_leaves_every_version_inconclusive_with_the_error(self):
        def unreachable() -> object:
            raise ProbeError("STARTTLS refused: the server answered N")

        found = enumerate_surface(unreachable, versions=[V.TLSv1_2, V.TLSv1_3],  # type: ignore[arg-type]
                                  server_name="db.example", timeout=1, confirm_final_refusal=False)
        failed = ConnectFailed("ProbeError: STARTTLS refused: the server answered N")
        assert found == TlsSurface("db.example", (
            surface(V.TLSv1_2, VersionStatus.INCONCLUSIVE, (), False,
                    f"no TLSv1.2 suite resolved: offering {MAX_SUITES_PER_HELLO} suites got could not open a "
                    "connection ready for TLS: ProbeError: STARTTLS refused: the server answered N",
                    (Attempt(found.versions[0].attempts[0].offered, failed),), True),
            surface(V.TLSv1_3, VersionStatus.INCONCLUSIVE, (), False,
                    f"no TLSv1.3 suite resolved: offering {TLS13_SUITES} suites got could not open a "
                    "connection ready for TLS: ProbeError: STARTTLS refused: the server answered N",
                    (Attempt(found.versions[1].attempts[0].offered, failed),), True),
        ))
        assert found.connections == 2

    def test_a_socket_error_on_connect_is_a_connection_failure_too(self):
        def refused() -> object:
            raise ConnectionRefusedError(111, "Connection refused")

        found = enumerate_surface(refused, versions=[V.TLSv1_3], server_name=None,  # type: ignore[arg-type]
                                  timeout=1)
        assert found.versions[0].attempts[0].outcome == ConnectFailed(
            "ConnectionRefusedError: [Errno 111] Connection refused")

    def test_asks_a_callable_timeout_before_each_hello(self):
        asked: list[int] = []

        def budget() -> float:
            asked.append(1)
            return 1.0

        def refused() -> object:
            raise ConnectionRefusedError(111, "Connection refused")

        enumerate_surface(refused, versions=[V.TLSv1_2, V.TLSv1_3], server_name=None,  # type: ignore[arg-type]
                          timeout=budget)
        assert len(asked) == 2

    def test_a_version_not_probed_is_a_key_error_naming_it(self):
        with pytest.raises(KeyError, match=r"TLSv1\.1 was not probed"):
            TlsSurface(None, ()).for_version(V.TLSv1_1)

    def test_finds_each_probed_version(self):
        tls12, tls13 = (surface(v, VersionStatus.REFUSED, (), True, "", (), True) for v in (V.TLSv1_2, V.TLSv1_3))
        assert TlsSurface(None, (tls12, tls13)).for_version(V.TLSv1_3) is tls13

    def test_counts_the_accepted_suites_it_knows(self):
        accepted = surface(V.TLSv1_3, VersionStatus.ACCEPTED, (AES_128_GCM, CHACHA20), True, "", (), True)
        assert [suite.iana_name for suite in accepted.accepted_cipher_suites()] == [
            "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"]


class Answering:
    """Connections over a local socket pair whose server end already holds its answer: no network,
    no thread; afterwards each server end holds the ClientHello we sent."""

    def __init__(self, *answers: bytes, then: bytes = b"") -> None:
        self.answers = list(answers)
        self.then = then
        self.server_ends: list[socket.socket] = []

    def __call__(self) -> socket.socket:
        ours, theirs = socket.socketpair()
        theirs.sendall(self.answers.pop(0) if self.answers else self.then)
        self.server_ends.append(theirs)
        return ours

    def hellos(self) -> list:
        try:
            return [parse_client_hello(read_record(end, timeout=1)) for end in self.server_ends]
        finally:
            for end in self.server_ends:
                end.close()


class TestTheWholeSurfaceOverAConnection:
    def test_sends_each_hello_for_its_version_with_the_server_name_and_the_bundle(self):
        connections = Answering(alert(2, 70), alert(2, 70))
        found = enumerate_surface(connections, versions=[V.TLSv1_3], server_name="db.example", timeout=1)
        first, again = connections.hellos()
        tls13 = found.for_version(V.TLSv1_3)
        assert (tls13.status, [a.confirmation for a in tls13.attempts]) == (VersionStatus.REFUSED, [False, True])
        assert (first.suites, first.legacy_version) == (again.suites, again.legacy_version)
        assert set(first.suites) - {0x00FF} == set(tls13.attempts[0].offered)
        assert b"db.example" in first.extensions[0]
        assert first.extensions[43] == bytes([2, 0x03, 0x04])

    def test_without_a_server_name_sends_none(self):
        connections = Answering(then=alert(2, 70))
        enumerate_surface(connections, versions=[V.TLSv1_2], server_name=None, timeout=1,
                          confirm_final_refusal=False)
        hello = connections.hellos()[0]
        assert 0 not in hello.extensions
        assert hello.legacy_version == 0x0303

    def test_confirms_only_the_versions_the_caller_asks_it_to(self):
        connections = Answering(then=alert(2, 70))
        found = enumerate_surface(connections, versions=[V.TLSv1_3, V.SSLv3], server_name=None, timeout=1,
                                  confirm_final_refusal=lambda version: version is V.TLSv1_3)
        connections.hellos()
        assert [v.connections for v in found.versions] == [2, 1 + 4]  # SSLv3: one big hello, then 4 of 32
        unconfirmed = Answering(then=alert(2, 70))
        found = enumerate_surface(unconfirmed, versions=[V.TLSv1_3], server_name=None, timeout=1,
                                  confirm_final_refusal=lambda version: version is not V.TLSv1_3)
        unconfirmed.hellos()
        assert found.versions[0].connections == 1

    def test_waits_for_an_answer_as_long_as_the_timeout_says(self):
        connections = Answering(b"")
        found = enumerate_surface(connections, versions=[V.TLSv1_3], server_name=None, timeout=0.05)
        connections.hellos()
        assert found.versions[0].attempts[0].outcome == Timeout(0.05)
