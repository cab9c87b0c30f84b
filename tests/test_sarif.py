"""SARIF 2.1.0 for code scanning (issue 13, item 3): validated against the official OASIS schema
(tests/data/sarif-schema-2.1.0.json, source in tests/data/sarif-schema-2.1.0.json.source)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_aurora_guard.checks import INTEGRITY, TRANSMISSION_SECURITY, Outcome, Verdict, WaiverNote, WaiverStatus
from pytest_aurora_guard.evidence.document import decide
from pytest_aurora_guard.evidence.records import ItemKind, ItemRecord
from pytest_aurora_guard.evidence.sarif import (
    FINGERPRINT_KEY,
    Anchor,
    SarifSources,
    build_sarif,
    fingerprint,
    locate_sources,
)
from pytest_aurora_guard.settings.config import GuardSettings
from tests.cluster_accounts import connect_to, names_of, weak_pg
from tests.fake_rds import FAMILY, NEW_SUITE, REGION, add_suite

pytest_plugins = ["tests.drift_fixtures", "tests.cluster_fixtures"]
SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
WHEN = datetime(2026, 12, 3, 6, 0, tzinfo=timezone.utc)
ENDPOINT = "postgresql://db.example.com:5432"
NODE = "aurora-guard[db.example.com:5432]"


def validated(document: dict[str, Any]) -> dict[str, Any]:
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    return document


def record(check: str, outcome: Outcome, *, parameter: str = "", endpoint: str = ENDPOINT, node: str = NODE,
           summary: str = "", remedy: str | None = "set rds.force_ssl=1", kind: ItemKind = ItemKind.ENDPOINT_CHECK,
           facts: dict[str, Any] | None = None, controls: tuple[str, ...] = TRANSMISSION_SECURITY) -> ItemRecord:
    name = f"{check}[{parameter}]" if parameter else check
    verdict = Verdict(check=name, endpoint=endpoint, outcome=outcome, summary=summary or f"{name} {outcome.value}",
                      remedy=remedy if outcome is not Outcome.PASSED else None, controls=controls)
    return ItemRecord(f"{node}::{name}", kind, verdict, facts or {})


NOWHERE = SarifSources()


def sarif(*records: ItemRecord, sources: SarifSources = NOWHERE, descriptions: dict[str, str] | None = None,
          unjudged: int = 0) -> dict[str, Any]:
    return validated(build_sarif(records, GuardSettings(), started=WHEN, finished=WHEN, sources=sources,
                                 descriptions=descriptions or {}, decision=decide(records, unjudged)))


def results_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(document["runs"][0]["results"])


def rules_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["id"]: rule for rule in document["runs"][0]["tool"]["driver"]["rules"]}


class TestResults:
    def test_a_failure_is_an_error_an_inconclusive_item_a_warning_and_a_pass_no_result(self):
        document = sarif(record("plaintext_refused", Outcome.FAILED), record("tls_floor_accepted", Outcome.PASSED),
                         record("certificate_trusted", Outcome.INCONCLUSIVE))
        assert [(r["ruleId"], r["level"]) for r in results_of(document)] == [("plaintext_refused", "error"),
                                                                             ("certificate_trusted", "warning")]

    def test_a_waived_failure_is_a_note_with_the_waiver_as_an_accepted_suppression(self):
        failure = record("tls_version_refused", Outcome.FAILED, parameter="TLSv1.2")
        note = WaiverNote(WaiverStatus.APPLIED, "waivers.toml [[waiver]] #1", "2027-03-31", "billing client", "SEC-42")
        waived = replace(failure, verdict=replace(failure.verdict, outcome=Outcome.WAIVED, waivers=(note,)))
        (result,) = results_of(sarif(waived))
        assert result["level"] == "note"
        justification = "WAIVED until 2027-03-31: billing client (SEC-42) [waivers.toml [[waiver]] #1]"
        assert result["suppressions"] == [{"kind": "external", "status": "accepted", "justification": justification}]

    def test_a_run_that_passed_gives_a_valid_log_with_no_result(self):
        assert results_of(sarif(record("plaintext_refused", Outcome.PASSED))) == []

    def test_the_message_is_the_verdicts_summary(self):
        (result,) = results_of(sarif(record("plaintext_refused", Outcome.FAILED, summary="plaintext accepted")))
        assert result["message"]["text"] == "plaintext accepted"

    def test_each_result_names_its_rule_by_id_and_index(self):
        document = sarif(record("tls_floor_accepted", Outcome.PASSED),
                         record("tls_version_refused", Outcome.FAILED, parameter="TLSv1.0"))
        (result,) = results_of(document)
        rules = document["runs"][0]["tool"]["driver"]["rules"]
        assert result["ruleId"] == "tls_version_refused" == rules[result["ruleIndex"]]["id"]


class TestInvocation:
    def test_a_run_that_judged_everything_configured_executed_successfully(self):
        (invocation,) = sarif(record("plaintext_refused", Outcome.FAILED))["runs"][0]["invocations"]
        assert invocation["executionSuccessful"] is True
        assert "toolExecutionNotifications" not in invocation

    def test_a_run_that_left_required_items_unjudged_says_its_log_is_incomplete(self):
        document = sarif(record("plaintext_refused", Outcome.PASSED), unjudged=8)
        (invocation,) = document["runs"][0]["invocations"]
        assert invocation["executionSuccessful"] is False
        (notification,) = invocation["toolExecutionNotifications"]
        assert notification["message"]["text"].startswith("8 required item(s) not judged: this log does not cover")
        assert document["runs"][0]["properties"]["promotion"] == "blocked"

    def test_a_run_that_judged_nothing_is_no_successful_execution(self):
        (invocation,) = sarif()["runs"][0]["invocations"]
        assert invocation["executionSuccessful"] is False


class TestRules:
    def test_one_rule_per_check_however_many_items_it_has(self):
        document = sarif(*(record("tls_version_refused", Outcome.FAILED, parameter=v) for v in ("SSLv3", "TLSv1.0")))
        assert list(rules_of(document)) == ["tls_version_refused"]
        assert len(results_of(document)) == 2

    def test_the_help_text_gives_the_fix_and_the_hipaa_sections_and_the_tags_carry_them(self):
        rule = rules_of(sarif(record("plaintext_refused", Outcome.FAILED, remedy="set rds.force_ssl=1",
                                     controls=(*TRANSMISSION_SECURITY, *INTEGRITY))))["plaintext_refused"]
        assert "- set rds.force_ssl=1" in rule["help"]["text"]
        for control in (*TRANSMISSION_SECURITY, *INTEGRITY):
            assert f"- {control}" in rule["help"]["text"]
            assert control in rule["properties"]["tags"]
        assert "an unencrypted connection is refused" in rule["shortDescription"]["text"]

    def test_checks_of_other_layers_take_their_description_from_the_caller(self):
        rule = rules_of(sarif(record("storage_encrypted", Outcome.FAILED), descriptions={
            "storage_encrypted": "the cluster's storage is encrypted at rest"}))["storage_encrypted"]
        assert rule["shortDescription"]["text"] == "storage_encrypted: the cluster's storage is encrypted at rest"


class TestFingerprints:
    def test_the_fingerprint_ignores_the_message_text(self):
        first = record("plaintext_refused", Outcome.FAILED, summary="accepted after 3 ms")
        second = record("plaintext_refused", Outcome.FAILED, summary="accepted after 9 ms")
        assert fingerprint(first) == fingerprint(second)

    @pytest.mark.parametrize("other", [
        record("tls_version_refused", Outcome.FAILED, parameter="TLSv1.1"),
        record("tls_version_refused", Outcome.FAILED, parameter="TLSv1.0", node="aurora-guard[db2.example.com:5432]"),
        record("accepted_suites_allowed", Outcome.FAILED),
    ], ids=["parameter", "endpoint", "check"])
    def test_another_parameter_endpoint_or_check_is_another_fingerprint(self, other):
        assert fingerprint(record("tls_version_refused", Outcome.FAILED, parameter="TLSv1.0")) != fingerprint(other)

    def test_the_result_carries_it_under_our_key_and_as_githubs_line_hash(self):
        item = record("plaintext_refused", Outcome.FAILED)
        (result,) = results_of(sarif(item))
        assert result["partialFingerprints"] == {FINGERPRINT_KEY: fingerprint(item),
                                                 "primaryLocationLineHash": fingerprint(item)}


class TestLocations:
    def test_an_endpoint_item_points_at_the_first_aurora_line_of_the_pytest_config(self, tmp_path):
        ini = tmp_path / "tox.ini"
        ini.write_text("[tox]\nenvlist = py\n\n[pytest]\naurora_endpoints =\n    postgresql://db.example.com\n")
        sources = locate_sources(tmp_path, ini, {})
        (result,) = results_of(sarif(record("plaintext_refused", Outcome.FAILED), sources=sources))
        assert result["locations"][0]["physicalLocation"] == {
            "artifactLocation": {"uri": "tox.ini", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 5}}

    def test_a_drift_item_points_at_its_committed_baseline(self, tmp_path):
        baseline = tmp_path / "baselines" / "us-east-1" / "aurora-postgresql16.json"
        baseline.parent.mkdir(parents=True)
        baseline.write_text("{}")
        sources = locate_sources(tmp_path, None, {"us-east-1/aurora-postgresql16": baseline})
        drift = record("engine_defaults_match_baseline", Outcome.FAILED, kind=ItemKind.ENGINE_DEFAULTS,
                       facts={"baseline": "us-east-1/aurora-postgresql16"})
        (result,) = results_of(sarif(drift, sources=sources))
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
            "baselines/us-east-1/aurora-postgresql16.json")

    def test_a_drift_item_without_a_committed_baseline_points_at_the_config(self, tmp_path):
        ini = tmp_path / "pytest.ini"
        ini.write_text("[pytest]\n")
        sources = locate_sources(tmp_path, ini, {"us-east-1/aurora-postgresql16": tmp_path / "baselines" / "x.json"})
        drift = record("engine_defaults_match_baseline", Outcome.FAILED, kind=ItemKind.ENGINE_DEFAULTS,
                       facts={"baseline": "us-east-1/aurora-postgresql16"})
        (result,) = results_of(sarif(drift, sources=sources))
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pytest.ini"

    def test_without_a_config_file_pyproject_toml_is_the_anchor(self, tmp_path):
        (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
        assert locate_sources(tmp_path, None, {}).config == Anchor("pyproject.toml", 1)

    def test_a_config_file_outside_the_repository_is_never_pointed_at(self, tmp_path):
        outside = tmp_path / "elsewhere.ini"
        outside.write_text("[pytest]\n")
        (tmp_path / "repo").mkdir()
        assert locate_sources(tmp_path / "repo", outside, {}).config is None

    def test_with_nothing_to_point_at_a_result_keeps_a_logical_location_only(self):
        (result,) = results_of(sarif(record("plaintext_refused", Outcome.FAILED)))
        (location,) = result["locations"]
        assert "physicalLocation" not in location
        assert location["logicalLocations"] == [{"name": ENDPOINT, "fullyQualifiedName": f"{NODE}::plaintext_refused",
                                                  "kind": "resource"}]

    def test_a_path_with_spaces_is_percent_encoded(self, tmp_path):
        ini = tmp_path / "ci config" / "pytest.ini"
        ini.parent.mkdir()
        ini.write_text("[pytest]\n")
        assert locate_sources(tmp_path, ini, {}).config == Anchor("ci%20config/pytest.ini", 1)


# -- through the gate, against real servers --------------------------------------------------------


def written(path: Path) -> dict[str, Any]:
    return validated(json.loads(path.read_text()))


def fingerprints_by_node(document: dict[str, Any]) -> dict[str, str]:
    return {r["properties"]["nodeid"]: r["partialFingerprints"][FINGERPRINT_KEY] for r in results_of(document)}


class TestThroughTheGate:
    def test_a_weak_and_a_hardened_endpoint_give_a_valid_log_with_a_result_per_blocking_item(
        self, run_guard, pytester, pg_weak, pg_hardened
    ):
        sarif_path, report = pytester.path / "aurora.sarif", pytester.path / "aurora.json"
        run = run_guard(f"--aurora-endpoint={pg_weak.endpoint}", f"--aurora-endpoint={pg_hardened.endpoint}",
                        f"--aurora-sarif={sarif_path}", f"--aurora-report={report}")
        assert run.result.ret == pytest.ExitCode.TESTS_FAILED
        document = written(sarif_path)
        blocking = sorted((i["check"], i["parameter"], i["endpoint"], i["outcome"])
                          for i in json.loads(report.read_text())["items"] if i["outcome"] != "passed")
        levels = {"error": "failed", "warning": "inconclusive"}
        assert sorted((r["ruleId"], r["properties"]["parameter"], r["properties"]["endpoint"], levels[r["level"]])
                      for r in results_of(document)) == blocking
        assert {"plaintext_refused", "tls_version_refused", "accepted_suites_allowed"} <= {
            r["ruleId"] for r in results_of(document) if r["properties"]["endpoint"] == pg_weak.endpoint}
        # certificate_trusted has no CA bundle on either endpoint: no evidence, a warning, never a pass.
        assert {r["properties"]["endpoint"] for r in results_of(document) if r["level"] == "warning"} == {
            pg_weak.endpoint, pg_hardened.endpoint}

    def test_an_endpoint_from_the_ini_file_points_at_that_file(self, run_guard, pytester, pg_weak):
        pytester.makefile(".toml", pyproject=f'[tool.pytest.ini_options]\naurora_endpoints = ["{pg_weak.endpoint}"]\n'
                                              'aurora_sarif = "out/aurora.sarif"\n')
        (pytester.path / "out").mkdir()
        run_guard("-k", "plaintext")
        (result,) = results_of(written(pytester.path / "out" / "aurora.sarif"))
        assert result["locations"][0]["physicalLocation"] == {
            "artifactLocation": {"uri": "pyproject.toml", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 2}}

    def test_fingerprints_are_the_same_in_two_runs_of_the_gate(self, run_guard, pytester, pg_weak):
        first, second = pytester.path / "first.sarif", pytester.path / "second.sarif"
        run_guard(f"--aurora-endpoint={pg_weak.endpoint}", f"--aurora-sarif={first}")
        run_guard(f"--aurora-endpoint={pg_weak.endpoint}", f"--aurora-sarif={second}")
        once, twice = written(first), written(second)
        assert fingerprints_by_node(once) == fingerprints_by_node(twice) != {}
        # Each plaintext attempt names a random application_name: the message changed, the identity did not.
        assert [r["message"]["text"] for r in results_of(once)] != [r["message"]["text"] for r in results_of(twice)]

    def test_the_password_never_reaches_the_log(self, run_guard, pytester, pg_weak, monkeypatch):
        monkeypatch.setenv("AURORA_GUARD_PASSWORD", pg_weak.password)
        sarif_path = pytester.path / "aurora.sarif"
        run_guard(f"--aurora-endpoint={pg_weak.endpoint}", f"--aurora-user={pg_weak.user}",
                  f"--aurora-dbname={pg_weak.database}", f"--aurora-sarif={sarif_path}")
        document = written(sarif_path)
        assert "driver_plaintext_refused" in {r["ruleId"] for r in results_of(document)}
        assert pg_weak.password not in sarif_path.read_text()

    def test_under_xdist_the_controller_writes_one_log_with_every_workers_results(
        self, pytester, pg_weak, pg_hardened
    ):
        sarif_path = pytester.path / "aurora.sarif"
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "-p", "xdist.plugin", "-n", "2", f"--aurora-endpoint={pg_weak.endpoint}",
            f"--aurora-endpoint={pg_hardened.endpoint}", f"--aurora-sarif={sarif_path}")
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        assert {r["properties"]["endpoint"] for r in results_of(written(sarif_path))} == {pg_weak.endpoint,
                                                                                          pg_hardened.endpoint}
        assert sorted(p.name for p in pytester.path.iterdir() if "sarif" in p.name) == ["aurora.sarif"]


class TestIncompleteRuns:
    def test_a_required_run_that_judged_nothing_writes_a_log_that_says_so(self, run_guard, pytester, pg_hardened):
        pytester.makepyfile(test_project="def test_app():\n    pass\n")
        sarif_path = pytester.path / "aurora.sarif"
        run_guard("--aurora-require", f"--aurora-endpoint={pg_hardened.endpoint}", "-k", "test_app",
                  f"--aurora-sarif={sarif_path}")
        (invocation,) = written(sarif_path)["runs"][0]["invocations"]
        assert invocation["executionSuccessful"] is False
        assert invocation["toolExecutionNotifications"][0]["message"]["text"].startswith(
            "9 required item(s) not judged")


class TestClusters:
    def test_control_plane_failures_are_results_of_rules_described_by_the_cluster_gate(
        self, run_guard, pytester, account, pg_in_between
    ):
        sarif_path = pytester.path / "aurora.sarif"
        run_guard("--aurora-cluster=weak-pg", "--aws-region=us-east-1", f"--aurora-sarif={sarif_path}",
                  *connect_to(names_of(weak_pg(account), account).values(), pg_in_between.port))
        document = written(sarif_path)
        failed = {r["properties"]["nodeid"] for r in results_of(document) if r["level"] == "error"}
        assert {"aurora-guard[weak-pg]::storage_encrypted", "aurora-guard[weak-pg]::proxy_requires_tls[weak-pg-proxy]",
                "aurora-guard[weak-pg]::parameters_enforce_tls[rds.force_ssl]"} <= failed
        storage = rules_of(document)["storage_encrypted"]
        assert storage["shortDescription"]["text"] == "storage_encrypted: the cluster's storage is encrypted at rest"
        assert any("164.312(a)(2)(iv)" in tag for tag in storage["properties"]["tags"])


class TestDrift:
    def test_drift_is_an_error_pointing_at_the_committed_baseline(self, pytester, recorded):
        add_suite(recorded, NEW_SUITE)
        sarif_path = pytester.path / "aurora.sarif"
        result = pytester.runpytest_subprocess("--aurora-engine-family", FAMILY, f"--aurora-sarif={sarif_path}")
        result.assert_outcomes(failed=1)
        (drift,) = results_of(written(sarif_path))
        assert (drift["ruleId"], drift["level"]) == ("engine_defaults_match_baseline", "error")
        assert drift["locations"][0]["physicalLocation"]["artifactLocation"] == {
            "uri": f"baselines/{REGION}/{FAMILY}.json", "uriBaseId": "%SRCROOT%"}
        assert "AWS's engine defaults" in rules_of(written(sarif_path))["engine_defaults_match_baseline"][
            "shortDescription"]["text"]


class TestOption:
    @pytest.mark.parametrize(("value", "said"), [
        ("no/such/dir/aurora.sarif", "the directory of SARIF path"),
        (".", "is a directory; name the file to write"),
    ])
    def test_a_sarif_path_that_cannot_be_written_is_a_usage_error_before_any_traffic(self, run_guard, value, said):
        run = run_guard("--aurora-endpoint=postgresql://127.0.0.1:1", f"--aurora-sarif={value}")
        assert run.result.ret == pytest.ExitCode.USAGE_ERROR
        assert said in run.output

    def test_the_sarif_file_cannot_overwrite_the_report(self, run_guard, pytester):
        report = pytester.path / "aurora.json"
        run = run_guard("--aurora-endpoint=postgresql://127.0.0.1:1", f"--aurora-report={report}",
                        f"--aurora-sarif={report}")
        assert run.result.ret == pytest.ExitCode.USAGE_ERROR
        assert "is where --aurora-report writes" in run.output

    def test_the_environment_variable_sets_it(self, run_guard, pytester, monkeypatch):
        monkeypatch.setenv("AURORA_GUARD_SARIF", str(pytester.path / "from-env.sarif"))
        run_guard("--aurora-endpoint=postgresql://127.0.0.1:1")
        assert [r["level"] for r in results_of(written(pytester.path / "from-env.sarif"))] == ["warning"] * 9

    def test_a_misspelt_environment_variable_is_a_usage_error_with_a_did_you_mean(self, run_guard, monkeypatch):
        monkeypatch.setenv("AURORA_GUARD_SARIFF", "aurora.sarif")
        run = run_guard("--aurora-endpoint=postgresql://127.0.0.1:1")
        assert run.result.ret == pytest.ExitCode.USAGE_ERROR
        assert "AURORA_GUARD_SARIFF: unknown setting; did you mean AURORA_GUARD_SARIF?" in run.output
