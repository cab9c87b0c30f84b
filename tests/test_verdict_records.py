"""A verdict and its waiver notes as records: the text a reader sees, and the trip through a junit property.

A verdict crosses process boundaries as a dict (xdist workers, the junit ``aurora_guard_verdict``
property, the evidence report), so what comes back must be the verdict that left, field for field.
"""

from __future__ import annotations

from pytest_aurora_guard.checks import INTEGRITY, Outcome, Verdict, WaiverNote, WaiverStatus

SOURCE_1, SOURCE_2 = "waivers.toml [[waiver]] #1", "waivers.toml [[waiver]] #2"


def note(status: WaiverStatus = WaiverStatus.APPLIED, source: str = SOURCE_1, expires: str = "2027-03-31",
         reason: str = "billing app", ticket: str = "SEC-42") -> WaiverNote:
    return WaiverNote(status, source, expires, reason, ticket)


def waived(*notes: WaiverNote) -> Verdict:
    return Verdict("accepted_suites_allowed", "postgresql://db.example.test:5432", Outcome.WAIVED, "two suites",
                   waivers=notes)


class TestWaiverNoteText:
    def test_an_applied_waiver_says_until_when_and_why(self):
        assert note().render() == "WAIVED until 2027-03-31: billing app (SEC-42) [waivers.toml [[waiver]] #1]"

    def test_an_expired_waiver_says_the_failure_stands_again(self):
        assert note(WaiverStatus.EXPIRED, expires="2026-01-31").render() == (
            "the waiver expired on 2026-01-31, so this fails again: billing app (SEC-42) [waivers.toml [[waiver]] #1]")

    def test_an_insufficient_waiver_says_it_does_not_cover_the_whole_failure(self):
        assert note(WaiverStatus.INSUFFICIENT).render() == (
            "a waiver until 2027-03-31 matches but does not cover all of this failure: billing app (SEC-42) "
            "[waivers.toml [[waiver]] #1]")


class TestWaivedLine:
    def test_one_applied_waiver_is_its_own_line(self):
        assert waived(note()).waived_line() == note().render()

    def test_only_applied_waivers_are_in_the_line(self):
        verdict = waived(note(WaiverStatus.EXPIRED, source=SOURCE_2, expires="2026-01-31"), note())
        assert verdict.waived_line() == "WAIVED until 2027-03-31: billing app (SEC-42) [waivers.toml [[waiver]] #1]"

    def test_waivers_of_one_date_and_reason_are_said_once_without_their_dates(self):
        verdict = waived(note(), note(source=SOURCE_2))
        assert verdict.waived_line() == ("WAIVED until 2027-03-31: billing app (SEC-42) "
                                         "[waivers.toml [[waiver]] #1, waivers.toml [[waiver]] #2]")

    def test_waivers_of_several_dates_give_the_first_lapse_and_each_date(self):
        verdict = waived(note(), note(source=SOURCE_2, expires="2027-01-31"))
        assert verdict.waived_line() == ("WAIVED until 2027-01-31: billing app (SEC-42) [waivers.toml [[waiver]] #1 "
                                         "until 2027-03-31, waivers.toml [[waiver]] #2 until 2027-01-31]")

    def test_waivers_of_different_reasons_are_each_said_in_order(self):
        verdict = waived(note(), note(source=SOURCE_2, reason="reporting job", ticket="SEC-7"))
        assert verdict.waived_line() == ("WAIVED until 2027-03-31: billing app (SEC-42) [waivers.toml [[waiver]] #1]; "
                                         "reporting job (SEC-7) [waivers.toml [[waiver]] #2]")


VERDICT = Verdict("accepted_suites_allowed[TLSv1.2]", "postgresql://db.example.test:5432", Outcome.WAIVED,
                  "1 suite outside the allowlist", ("a crafted ClientHello per suite",), ("accepted 0xc02f",),
                  "drop the suite", INTEGRITY, (("TLSv1.2", 0xC02F),), (note(),))
AS_DICT = {
    "check": "accepted_suites_allowed[TLSv1.2]", "endpoint": "postgresql://db.example.test:5432",
    "outcome": "waived", "summary": "1 suite outside the allowlist",
    "attempted": ("a crafted ClientHello per suite",), "answered": ("accepted 0xc02f",),
    "remedy": "drop the suite", "controls": INTEGRITY, "offending_suites": (("TLSv1.2", 0xC02F),),
    "waivers": [{"status": "applied", "source": SOURCE_1, "expires": "2027-03-31", "reason": "billing app",
                 "ticket": "SEC-42"}],
}


class TestTheTripThroughADict:
    def test_a_verdict_becomes_a_dict_of_plain_values(self):
        assert VERDICT.to_dict() == AS_DICT

    def test_the_dict_read_back_from_json_lists_is_the_same_verdict(self):
        as_json = {**AS_DICT, "attempted": list(AS_DICT["attempted"]),
                   "answered": list(AS_DICT["answered"]), "controls": list(INTEGRITY),
                   "offending_suites": [["TLSv1.2", 0xC02F]]}
        assert Verdict.from_dict(as_json) == VERDICT

    def test_a_dict_recorded_before_waivers_and_offending_suites_existed_reads_as_having_none(self):
        old = {key: value for key, value in AS_DICT.items() if key not in ("offending_suites", "waivers")}
        assert Verdict.from_dict(old) == Verdict(
            "accepted_suites_allowed[TLSv1.2]", "postgresql://db.example.test:5432", Outcome.WAIVED,
            "1 suite outside the allowlist", ("a crafted ClientHello per suite",), ("accepted 0xc02f",),
            "drop the suite", INTEGRITY)

    def test_a_waiver_note_becomes_a_dict_of_strings(self):
        assert note(WaiverStatus.INSUFFICIENT).to_dict() == {
            "status": "insufficient", "source": SOURCE_1, "expires": "2027-03-31", "reason": "billing app",
            "ticket": "SEC-42"}

    def test_a_waiver_note_reads_back_from_its_dict(self):
        assert WaiverNote.from_dict({"status": "expired", "source": SOURCE_2, "expires": "2026-01-31",
                                     "reason": "reporting job", "ticket": "SEC-7"}) == WaiverNote(
            WaiverStatus.EXPIRED, SOURCE_2, "2026-01-31", "reporting job", "SEC-7")
