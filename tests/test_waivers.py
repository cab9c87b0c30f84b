"""Waivers that expire (issue 13, item 4): the TOML file's rules, how a failure becomes WAIVED and
fails again after its date, and whole runs against real servers."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import jsonschema
import pytest

from pytest_aurora_guard.checks import CHECKS, Outcome, Verdict, WaiverStatus
from pytest_aurora_guard.errors import ConfigurationError
from pytest_aurora_guard.evidence.document import SCHEMA_PATH
from pytest_aurora_guard.evidence.waivers import (
    UnusedReason,
    Waiver,
    apply_waivers,
    load_waivers,
    one_year_after,
    parse_waivers,
    unused_waivers,
)
from pytest_aurora_guard.plugin import WAIVABLE_CHECKS
from pytest_aurora_guard.tls.versions import TlsVersion

SCHEMA = json.loads(SCHEMA_PATH.read_text())
TODAY = datetime.date(2026, 12, 3)
KNOWN = frozenset(spec.name for spec in CHECKS)
ENDPOINT = "postgresql://legacy.db.example:5432"
ECDHE_RSA_AES128 = 0xC02F  # TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
ECDHE_RSA_AES256 = 0xC030  # TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384


def table(**keys: str) -> str:
    fields = {"check": '"tls_version_refused"', "endpoint": '"postgresql://legacy*"', "reason": '"billing app"',
              "ticket": '"SEC-42"', "expires": "2027-03-31", **keys}
    return "[[waiver]]\n" + "".join(f"{key} = {value}\n" for key, value in fields.items() if value != "")


def parsed(text: str) -> tuple[Waiver, ...]:
    return parse_waivers(text, "waivers.toml", KNOWN, TODAY)


def failed(check: str = "tls_version_refused[TLSv1.2]", endpoint: str = ENDPOINT,
           offending: tuple[tuple[str, int], ...] = ()) -> Verdict:
    return Verdict(check, endpoint, Outcome.FAILED, "TLSv1.2 accepted", ("tried",), ("answered",), "fix it",
                   offending_suites=offending)


class TestParsing:
    def test_a_complete_table_is_one_waiver_with_its_date_and_version(self):
        (waiver,) = parsed(table(version='"TLSv1.2"'))
        assert waiver == Waiver(1, "waivers.toml", "tls_version_refused", "postgresql://legacy*", "billing app",
                                "SEC-42", datetime.date(2027, 3, 31), TlsVersion.TLSv1_2, None)

    def test_a_suite_may_be_given_by_its_openssl_name_and_is_kept_as_its_code_point(self):
        (waiver,) = parsed(table(check='"accepted_suites_allowed"', suite='"ECDHE-RSA-AES128-GCM-SHA256"'))
        assert waiver.suite == ECDHE_RSA_AES128

    def test_a_date_written_as_a_string_is_read_too(self):
        (waiver,) = parsed(table(expires='"2027-01-15"'))
        assert waiver.expires == datetime.date(2027, 1, 15)

    def test_a_date_in_the_past_is_accepted_so_the_check_can_say_it_expired(self):
        (waiver,) = parsed(table(expires="2020-01-01"))
        assert waiver.expired(TODAY)

    def test_a_waiver_is_valid_through_its_expiry_day(self):
        (waiver,) = parsed(table(expires="2026-12-03"))
        assert not waiver.expired(TODAY)
        assert waiver.expired(TODAY + datetime.timedelta(days=1))

    def test_exactly_one_year_ahead_is_the_latest_date_allowed(self):
        (waiver,) = parsed(table(expires="2027-12-03"))
        assert waiver.expires == one_year_after(TODAY)

    def test_one_year_after_the_29th_of_february_is_the_28th(self):
        assert one_year_after(datetime.date(2028, 2, 29)) == datetime.date(2029, 2, 28)

    def test_tables_are_numbered_in_file_order(self):
        waivers = parsed(table() + table(endpoint='"mysql://*"'))
        assert [(w.index, w.endpoint) for w in waivers] == [(1, "postgresql://legacy*"), (2, "mysql://*")]

    def test_an_empty_file_holds_no_waiver(self):
        assert parsed("") == ()

    @pytest.mark.parametrize(("text", "said"), [
        ("[[waiver]\ncheck = 1", "waivers.toml: not valid TOML"),
        (table(expire="2027-01-01"), "#1: unknown key(s) expire; the keys are check, endpoint"),
        (table(reason=""), "#1: missing reason;"),
        (table(ticket=""), "#1: missing ticket;"),
        (table(expires=""), "#1: missing expires;"),
        (table(reason='"  "'), "#1: reason must be a non-empty string"),
        (table(expires="2027-12-04"), "#1: expires 2027-12-04 is more than one year ahead; set a date no later "
                                      "than 2027-12-03"),
        (table(expires='"31/03/2027"'), "#1: expires '31/03/2027' is not a date written YYYY-MM-DD"),
        (table(expires='"2027-02-30"'), "#1: expires '2027-02-30' is not a date written YYYY-MM-DD"),
        (table(expires="2027-01-01T10:00:00"), "#1: expires datetime.datetime(2027, 1, 1, 10, 0) is not a date"),
        (table(check='"tls_versions_refused"'), "#1: check 'tls_versions_refused' is not a check that can be "
                                                "waived; use one of accepted_suites_allowed"),
        (table(check='"plaintext_refused"', version='"TLSv1.2"'), "#1: version applies only to tls_version_refused "
                                                                 "and accepted_suites_allowed"),
        (table(version='"TLSv1.4"'), "#1: version: "),
        (table(suite='"ECDHE-RSA-AES128-GCM-SHA256"'), "#1: suite applies only to accepted_suites_allowed"),
        (table(check='"accepted_suites_allowed"', suite='"ECDHE-RSA-AES128-GCM"'),
         "#1: suite: 'ECDHE-RSA-AES128-GCM' is neither an IANA"),
        ("[waiver]\ncheck = 'x'\n", "'waiver' must be an array of tables: write each one as [[waiver]]"),
        ("[[waivers]]\ncheck = 'x'\n", "unknown top-level key(s) waivers; the file holds only [[waiver]] tables"),
        (table() + table(endpoint=""), "waivers.toml [[waiver]] #2: missing endpoint"),
    ])
    def test_a_bad_file_is_a_configuration_error_naming_the_file_the_table_and_the_fix(self, text, said):
        with pytest.raises(ConfigurationError) as raised:
            parsed(text)
        assert said in str(raised.value)
        assert str(raised.value).startswith("waivers.toml")

    def test_a_missing_file_is_a_configuration_error_naming_it(self, tmp_path):
        with pytest.raises(ConfigurationError, match=r"waiver file .*nowhere\.toml' cannot be read"):
            load_waivers(tmp_path / "nowhere.toml", KNOWN, TODAY)


class TestApplying:
    def test_a_failure_an_unexpired_waiver_matches_is_waived_until_its_date(self):
        (waiver,) = parsed(table(version='"TLSv1.2"'))
        verdict = apply_waivers(failed(), [waiver], TODAY)
        assert verdict.outcome is Outcome.WAIVED
        assert [note.render() for note in verdict.waivers] == [
            "WAIVED until 2027-03-31: billing app (SEC-42) [waivers.toml [[waiver]] #1]"]
        assert verdict.summary == "TLSv1.2 accepted"  # the evidence stays as it was

    def test_an_expired_waiver_leaves_the_failure_and_says_when_it_expired(self):
        (waiver,) = parsed(table(expires="2026-12-02"))
        verdict = apply_waivers(failed(), [waiver], TODAY)
        assert verdict.outcome is Outcome.FAILED
        (note,) = verdict.waivers
        assert note.status is WaiverStatus.EXPIRED
        assert note.render().startswith("the waiver expired on 2026-12-02, so this fails again: billing app")

    def test_a_pass_is_never_changed_by_a_waiver(self):
        (waiver,) = parsed(table())
        passed = Verdict("tls_version_refused[TLSv1.2]", ENDPOINT, Outcome.PASSED, "TLSv1.2 refused")
        assert apply_waivers(passed, [waiver], TODAY) is passed

    def test_an_inconclusive_item_is_never_waived(self):
        (waiver,) = parsed(table())
        unknown = Verdict("tls_version_refused[TLSv1.2]", ENDPOINT, Outcome.INCONCLUSIVE, "no evidence")
        assert apply_waivers(unknown, [waiver], TODAY) is unknown

    def test_a_waiver_for_another_version_does_not_apply(self):
        (waiver,) = parsed(table(version='"TLSv1.1"'))
        assert apply_waivers(failed(), [waiver], TODAY) == failed()

    def test_a_waiver_for_another_endpoint_does_not_apply(self):
        (waiver,) = parsed(table(endpoint='"postgresql://prod*"'))
        assert apply_waivers(failed(), [waiver], TODAY) == failed()

    def test_a_waiver_without_a_version_covers_every_version_of_the_check(self):
        (waiver,) = parsed(table())
        assert apply_waivers(failed("tls_version_refused[TLSv1.0]"), [waiver], TODAY).outcome is Outcome.WAIVED

    def test_suites_are_waived_only_when_every_offender_is_covered(self):
        waivers = parsed(table(check='"accepted_suites_allowed"', suite='"ECDHE-RSA-AES128-GCM-SHA256"')
                         + table(check='"accepted_suites_allowed"', suite='"ECDHE-RSA-AES256-GCM-SHA384"'))
        verdict = apply_waivers(failed("accepted_suites_allowed", offending=(
            ("TLSv1.2", ECDHE_RSA_AES128), ("TLSv1.2", ECDHE_RSA_AES256))), waivers, TODAY)
        assert verdict.outcome is Outcome.WAIVED
        assert [note.source for note in verdict.waivers] == ["waivers.toml [[waiver]] #1", "waivers.toml [[waiver]] #2"]

    def test_several_waivers_read_as_one_line_until_the_first_lapses(self):
        waivers = parsed(table(check='"accepted_suites_allowed"', suite='"ECDHE-RSA-AES128-GCM-SHA256"')
                         + table(check='"accepted_suites_allowed"', suite='"ECDHE-RSA-AES256-GCM-SHA384"',
                                 expires="2027-01-31"))
        verdict = apply_waivers(failed("accepted_suites_allowed", offending=(
            ("TLSv1.2", ECDHE_RSA_AES128), ("TLSv1.2", ECDHE_RSA_AES256))), waivers, TODAY)
        assert verdict.waived_line() == ("WAIVED until 2027-01-31: billing app (SEC-42) [waivers.toml [[waiver]] #1 "
                                         "until 2027-03-31, waivers.toml [[waiver]] #2 until 2027-01-31]")

    def test_a_new_offending_suite_fails_the_waived_check_again_naming_it(self):
        waivers = parsed(table(check='"accepted_suites_allowed"', suite='"ECDHE-RSA-AES128-GCM-SHA256"'))
        verdict = apply_waivers(failed("accepted_suites_allowed", offending=(
            ("TLSv1.2", ECDHE_RSA_AES128), ("TLSv1.2", ECDHE_RSA_AES256))), waivers, TODAY)
        assert verdict.outcome is Outcome.FAILED
        assert verdict.summary.endswith("(no unexpired waiver covers TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 at "
                                        "TLSv1.2)")
        assert [note.status for note in verdict.waivers] == [WaiverStatus.INSUFFICIENT]

    def test_a_suite_waiver_with_a_version_does_not_cover_the_suite_at_another_version(self):
        waivers = parsed(table(check='"accepted_suites_allowed"', suite='"ECDHE-RSA-AES128-GCM-SHA256"',
                               version='"TLSv1.2"'))
        verdict = apply_waivers(failed("accepted_suites_allowed", offending=(("TLSv1.0", ECDHE_RSA_AES128),)),
                                waivers, TODAY)
        assert verdict.outcome is Outcome.FAILED

    def test_a_self_contradicting_suite_failure_is_never_waived(self):
        (waiver,) = parsed(table(check='"accepted_suites_allowed"'))
        verdict = apply_waivers(failed("accepted_suites_allowed"), [waiver], TODAY)
        assert verdict.outcome is Outcome.FAILED
        assert "the run contradicts itself, which no waiver can accept" in verdict.summary

    def test_the_verdict_with_its_waiver_survives_the_trip_through_a_junit_property(self):
        (waiver,) = parsed(table())
        verdict = apply_waivers(failed(offending=(("TLSv1.2", ECDHE_RSA_AES128),)), [waiver], TODAY)
        assert Verdict.from_dict(verdict.to_dict()) == verdict


class TestUnusedWaivers:
    def test_a_waiver_matching_no_item_is_reported_as_unused(self):
        (waiver,) = parsed(table(endpoint='"mysql://*"'))
        (unused,) = unused_waivers([waiver], [failed()])
        assert unused.reason is UnusedReason.NO_ITEM
        assert unused.render() == ("waivers.toml [[waiver]] #1 (tls_version_refused on 'mysql://*', until "
                                   "2027-03-31, SEC-42) was not used: it matches no item of this run")

    def test_a_waiver_matching_only_passes_says_the_weakness_looks_fixed(self):
        (waiver,) = parsed(table())
        passed = Verdict("tls_version_refused[TLSv1.2]", ENDPOINT, Outcome.PASSED, "refused")
        (unused,) = unused_waivers([waiver], [passed])
        assert unused.reason is UnusedReason.ONLY_PASSED

    def test_a_waiver_that_waived_a_failure_is_not_reported(self):
        (waiver,) = parsed(table())
        assert unused_waivers([waiver], [apply_waivers(failed(), [waiver], TODAY)]) == []

    def test_an_expired_waiver_that_failed_an_item_again_is_not_reported_twice(self):
        (waiver,) = parsed(table(expires="2020-01-01"))
        assert unused_waivers([waiver], [apply_waivers(failed(), [waiver], TODAY)]) == []



# -- whole runs against a real server ------------------------------------------------------------
# The in-between PostgreSQL refuses plaintext and TLS below 1.2, but accepts TLS 1.2 with two ECDHE-GCM
# suites: against the default TLS 1.3 floor, exactly tls_version_refused[TLSv1.2] and
# accepted_suites_allowed fail, everything else passes (with the CA bundle).

IN_BETWEEN_SUITES = ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384")


def waiver_file(path: Path, *tables: str) -> Path:
    path.write_text("".join(tables), encoding="utf-8")
    return path


def waive(check: str, endpoint: str, expires: str, **extra: str) -> str:
    keys = {"check": check, "endpoint": endpoint, "reason": "legacy billing client needs TLS 1.2",
            "ticket": "SEC-42", **extra}
    return ("[[waiver]]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in keys.items())
            + f"expires = {expires}\n")


def in_between_waivers(endpoint: str, expires: str, suites: tuple[str, ...] = IN_BETWEEN_SUITES) -> list[str]:
    return [waive("tls_version_refused", endpoint, expires, version="TLSv1.2"),
            *(waive("accepted_suites_allowed", endpoint, expires, suite=suite) for suite in suites)]


def report_of(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text())
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    return document


def items_by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {(f"{i['check']}[{i['parameter']}]" if i["parameter"] else i["check"]): i for i in document["items"]}


NEXT_MONTH = (datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=30)).isoformat()


class TestWaivedRun:
    @pytest.fixture
    def waived_run(self, run_guard, pytester, pg_in_between, ca_bundle):
        waivers = waiver_file(pytester.path / "waivers.toml", *in_between_waivers(pg_in_between.endpoint, NEXT_MONTH))
        report = pytester.path / "aurora.json"
        run = run_guard(f"--aurora-endpoint={pg_in_between.endpoint}", f"--aurora-ca-bundle={ca_bundle}",
                        f"--aurora-waivers={waivers}", f"--aurora-report={report}",
                        f"--junitxml={pytester.path / 'junit.xml'}", "-v")
        return run, report

    def test_a_run_whose_only_failures_are_waived_exits_zero_and_allows_promotion(self, waived_run):
        run, _ = waived_run
        assert run.result.ret == pytest.ExitCode.OK, run.output
        assert "aurora-guard: promotion ALLOWED (7 passed, 2 waived)" in run.output

    def test_the_terminal_reads_waived_until_the_date_with_reason_and_ticket(self, waived_run):
        run, _ = waived_run
        assert run.outcome_of("tls_version_refused[TLSv1.2]") == "passed"
        run.result.stdout.fnmatch_lines([
            "*::tls_version_refused[[]TLSv1.2[]] WAIVED*",
            f"aurora-guard: WAIVED until {NEXT_MONTH}: legacy billing client needs TLS 1.2 (SEC-42) "
            "[[]waivers.toml [[][[]waiver[]][]] #1[]]: *::tls_version_refused[[]TLSv1.2[]]",
            f"aurora-guard: WAIVED until {NEXT_MONTH}: legacy billing client needs TLS 1.2 (SEC-42) "
            "[[]waivers.toml [[][[]waiver[]][]] #2, waivers.toml [[][[]waiver[]][]] #3[]]: *::accepted_suites_allowed",
            "*7 passed, 2 waived*",
        ])

    def test_the_summary_grid_marks_the_waived_cells_and_names_no_first_problem(self, waived_run):
        run, _ = waived_run
        run.result.stdout.re_match_lines([
            r".*aurora-guard summary.*",
            r"control\s+postgresql://127\.0\.0\.1:\d+",
            r"tls_version_refused\[TLSv1\.1\]\s+passed",
            r"tls_version_refused\[TLSv1\.2\]\s+WAIVED",
            r"accepted_suites_allowed\s+WAIVED",
            r"certificate_trusted\s+passed",
            r"aurora-guard: WAIVED until .*",
        ])
        assert "first problem" not in run.output

    def test_the_report_keeps_the_failure_as_waived_with_its_waivers(self, waived_run):
        _, report = waived_run
        items = items_by_name(report_of(report))
        suites = items["accepted_suites_allowed"]
        assert suites["outcome"] == "waived"
        assert suites["summary"].startswith("the server accepts 2 suite(s) outside the allowlist")
        assert suites["waiver"]["until"] == NEXT_MONTH
        assert [w["status"] for w in suites["waiver"]["waivers"]] == ["applied", "applied"]
        assert items["tls_version_refused[TLSv1.1]"]["waiver"] is None
        assert report_of(report)["decision"]["waived"] == 2

    def test_the_markdown_lists_the_waived_failures_apart_from_what_blocks(self, waived_run):
        _, report = waived_run
        markdown = report.with_suffix(".md").read_text()
        assert markdown.startswith("## aurora-guard: promotion ALLOWED")
        assert "### What blocks promotion" not in markdown
        assert "**tls_version_refused[TLSv1.2]** on `" in markdown
        assert f"WAIVED until {NEXT_MONTH}: legacy billing client needs TLS 1.2 (SEC-42)" in markdown

    def test_junit_shows_a_passed_testcase_carrying_the_waived_line(self, waived_run, pytester):
        junit = ElementTree.parse(pytester.path / "junit.xml")  # noqa: S314 (the file this test run wrote)
        testcase = next(case for case in junit.iter("testcase")
                        if case.get("name") == "tls_version_refused[TLSv1.2]")
        assert testcase.find("failure") is None
        properties = {p.get("name"): p.get("value") for p in testcase.iter("property")}
        assert properties["aurora_guard_waived"].startswith(f"WAIVED until {NEXT_MONTH}: legacy billing client")
        assert json.loads(properties["aurora_guard_verdict"])["outcome"] == "waived"


class TestWaiversElsewhere:
    def test_a_waived_item_stays_in_sarif_as_an_accepted_suppression_while_a_failure_beside_it_is_an_error(
        self, run_guard, pytester, pg_in_between, ca_bundle
    ):
        waivers = waiver_file(pytester.path / "waivers.toml",
                              waive("tls_version_refused", pg_in_between.endpoint, NEXT_MONTH, version="TLSv1.2"))
        sarif = pytester.path / "aurora.sarif"
        run_guard(f"--aurora-endpoint={pg_in_between.endpoint}", f"--aurora-ca-bundle={ca_bundle}",
                  f"--aurora-waivers={waivers}", f"--aurora-sarif={sarif}")
        results = {r["properties"]["nodeid"].rsplit("::", 1)[-1]: r
                   for r in json.loads(sarif.read_text())["runs"][0]["results"]}
        assert sorted(results) == ["accepted_suites_allowed", "tls_version_refused[TLSv1.2]"]
        waived = results["tls_version_refused[TLSv1.2]"]
        assert waived["level"] == "note"
        (suppression,) = waived["suppressions"]
        assert (suppression["kind"], suppression["status"]) == ("external", "accepted")
        assert suppression["justification"].startswith(f"WAIVED until {NEXT_MONTH}: legacy billing client needs "
                                                       "TLS 1.2 (SEC-42)")
        assert results["accepted_suites_allowed"]["level"] == "error"  # no waiver names its suites
        assert "suppressions" not in results["accepted_suites_allowed"]

    def test_under_xdist_workers_waive_and_the_controller_reports_and_warns(self, pytester, pg_in_between,
                                                                          ca_bundle):
        waivers = waiver_file(pytester.path / "waivers.toml", *in_between_waivers(pg_in_between.endpoint, NEXT_MONTH),
                              waive("plaintext_refused", "mysql://*", NEXT_MONTH))
        report = pytester.path / "aurora.json"
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "-p", "xdist.plugin", "-n", "2", f"--aurora-endpoint={pg_in_between.endpoint}",
            f"--aurora-ca-bundle={ca_bundle}", f"--aurora-waivers={waivers}", f"--aurora-report={report}")
        assert result.ret == pytest.ExitCode.OK
        result.stdout.fnmatch_lines(["aurora-guard: warning: *#4 (plaintext_refused on 'mysql://*'*",
                                     "aurora-guard: promotion ALLOWED (7 passed, 2 waived)"])
        document = report_of(report)
        assert sorted(i["check"] for i in document["items"] if i["outcome"] == "waived") == [
            "accepted_suites_allowed", "tls_version_refused"]
        assert [w["source"].rsplit(" ", 1)[-1] for w in document["waivers"]["warnings"]] == ["#4"]

    def test_the_checks_that_say_nothing_was_gated_cannot_be_waived(self):
        assert "config_matches_wire" in WAIVABLE_CHECKS
        with pytest.raises(ConfigurationError, match="check 'clusters_matched' is not a check that can be waived"):
            parse_waivers(table(check='"clusters_matched"'), "waivers.toml", WAIVABLE_CHECKS, TODAY)


class TestWaiverNotCovering:
    def test_an_expired_waiver_fails_the_check_again_saying_when_it_expired(self, run_guard, pytester,
                                                                           pg_in_between, ca_bundle):
        waivers = waiver_file(pytester.path / "waivers.toml", *in_between_waivers(pg_in_between.endpoint,
                                                                                  "2020-01-31"))
        run = run_guard(f"--aurora-endpoint={pg_in_between.endpoint}", f"--aurora-ca-bundle={ca_bundle}",
                        f"--aurora-waivers={waivers}")
        assert run.result.ret == pytest.ExitCode.TESTS_FAILED
        assert run.outcome_of("tls_version_refused[TLSv1.2]") == "failed"
        assert "waiver:   the waiver expired on 2020-01-31, so this fails again: legacy billing" in run.output
        (call,) = [r for r in run.result.reprec.getreports("pytest_runtest_logreport")
                   if r.when == "call" and r.nodeid.endswith("::tls_version_refused[TLSv1.2]")]
        assert call.longreprtext.splitlines()[0].endswith("(waiver expired on 2020-01-31)")  # pytest's one-liner
        assert "aurora-guard: promotion BLOCKED (2 failed, 7 passed)" in run.output

    def test_a_suite_the_waivers_do_not_name_fails_the_check_again_naming_it(self, run_guard, pytester,
                                                                            pg_in_between, ca_bundle):
        waivers = waiver_file(pytester.path / "waivers.toml", *in_between_waivers(
            pg_in_between.endpoint, NEXT_MONTH, suites=IN_BETWEEN_SUITES[:1]))
        run = run_guard(f"--aurora-endpoint={pg_in_between.endpoint}", f"--aurora-ca-bundle={ca_bundle}",
                        f"--aurora-waivers={waivers}")
        assert run.outcome_of("accepted_suites_allowed") == "failed"
        assert run.outcome_of("tls_version_refused[TLSv1.2]") == "passed"
        assert ("no unexpired waiver covers TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 at TLSv1.2"
                in run.verdict_text("accepted_suites_allowed"))
        assert "aurora-guard: promotion BLOCKED (1 failed, 7 passed, 1 waived)" in run.output

    def test_a_waiver_matching_nothing_is_a_warning_in_the_terminal_and_the_report(self, run_guard, pytester,
                                                                                  pg_hardened, ca_bundle):
        waivers = waiver_file(pytester.path / "waivers.toml",
                              waive("tls_version_refused", "mysql://*", NEXT_MONTH, version="TLSv1.2"))
        report = pytester.path / "aurora.json"
        run = run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", f"--aurora-ca-bundle={ca_bundle}",
                        f"--aurora-waivers={waivers}", f"--aurora-report={report}")
        assert run.result.ret == pytest.ExitCode.OK  # a warning: it cannot weaken the gate
        said = "[[waiver]] #1 (tls_version_refused on 'mysql://*', until " + NEXT_MONTH + ", SEC-42) was not used: " \
               "it matches no item of this run"
        assert f"aurora-guard: warning: waivers.toml {said}" in run.output  # relative to the rootdir
        (warning,) = report_of(report)["waivers"]["warnings"]
        assert warning["reason"] == "no_item"
        assert said in report.with_suffix(".md").read_text()

    def test_a_waiver_whose_items_all_passed_warns_that_the_weakness_looks_fixed(self, run_guard, pytester,
                                                                                pg_hardened):
        waivers = waiver_file(pytester.path / "waivers.toml",
                              waive("plaintext_refused", pg_hardened.endpoint, NEXT_MONTH))
        run = run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", f"--aurora-waivers={waivers}", "-k",
                        "plaintext")
        assert "was not used: every item it matches passed: the weakness looks fixed, remove the waiver" in run.output


class TestWaiverSettings:
    def test_a_bad_waiver_file_is_a_usage_error_before_any_traffic(self, run_guard, pytester):
        waivers = waiver_file(pytester.path / "waivers.toml", waive("tls_version_refused", "*", "2099-01-01"))
        run = run_guard("--aurora-endpoint=postgresql://127.0.0.1:1", f"--aurora-waivers={waivers}")
        assert run.result.ret == pytest.ExitCode.USAGE_ERROR
        assert "aurora-guard: waivers.toml [[waiver]] #1: expires 2099-01-01 is more than one year ahead" in run.output

    def test_a_missing_waiver_file_is_a_usage_error_naming_where_it_was_set(self, run_guard, monkeypatch):
        monkeypatch.setenv("AURORA_GUARD_WAIVERS", "no-such-waivers.toml")
        run = run_guard("--aurora-endpoint=postgresql://127.0.0.1:1")
        assert run.result.ret == pytest.ExitCode.USAGE_ERROR
        assert "AURORA_GUARD_WAIVERS: waiver file" in run.output
        assert "no-such-waivers.toml' does not exist or is not a file" in run.output

    def test_the_ini_key_is_read_relative_to_the_ini_file(self, run_guard, pytester, pg_in_between, ca_bundle):
        (pytester.path / "policy").mkdir()
        waiver_file(pytester.path / "policy" / "waivers.toml", *in_between_waivers(pg_in_between.endpoint,
                                                                                   NEXT_MONTH))
        pytester.makeini("[pytest]\naurora_waivers = policy/waivers.toml\n")
        run = run_guard(f"--aurora-endpoint={pg_in_between.endpoint}", f"--aurora-ca-bundle={ca_bundle}")
        assert "aurora-guard: promotion ALLOWED (7 passed, 2 waived)" in run.output

    def test_a_misspelt_waivers_variable_gets_a_did_you_mean(self, run_guard, monkeypatch):
        monkeypatch.setenv("AURORA_GUARD_WAIVER", "waivers.toml")
        run = run_guard("--aurora-endpoint=postgresql://127.0.0.1:1")
        assert run.result.ret == pytest.ExitCode.USAGE_ERROR
        assert "AURORA_GUARD_WAIVER: unknown setting; did you mean AURORA_GUARD_WAIVERS?" in run.output


def test_the_readme_example_is_a_valid_waiver_file():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    example = readme.split("### Waivers", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    first, second = parse_waivers(example, "README.md", KNOWN, TODAY)
    assert (first.check, first.version, second.suite) == ("tls_version_refused", TlsVersion.TLSv1_2,
                                                          ECDHE_RSA_AES128)
