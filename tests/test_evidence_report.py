"""Evidence an auditor can file and CI can display: the versioned JSON report, its Markdown copy,
the GitHub job summary and the promotion decision line (issue 13), from runs against real servers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_aurora_guard.evidence.document import SCHEMA_PATH, SCHEMA_VERSION

SCHEMA = json.loads(SCHEMA_PATH.read_text())


def validated(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text())
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    return document


def items_named(document: dict[str, Any], check: str) -> list[dict[str, Any]]:
    return [item for item in document["items"] if item["check"] == check]


class TestJsonReport:
    def test_a_weak_and_a_hardened_endpoint_give_one_report_that_validates_against_the_shipped_schema(
        self, run_guard, pytester, pg_weak, pg_hardened, ca_bundle
    ):
        report = pytester.path / "evidence" / "aurora.json"
        report.parent.mkdir()
        run = run_guard(f"--aurora-endpoint={pg_weak.endpoint}", f"--aurora-endpoint={pg_hardened.endpoint}",
                        f"--aurora-ca-bundle={ca_bundle}", f"--aurora-report={report}")
        assert run.result.ret == pytest.ExitCode.TESTS_FAILED
        document = validated(report)
        assert document["schema_version"] == SCHEMA_VERSION
        assert {item["endpoint"] for item in document["items"]} == {pg_weak.endpoint, pg_hardened.endpoint}
        assert document["decision"]["promotion"] == "blocked"

    def test_the_accepted_suites_are_data_with_code_points_and_both_names(self, run_guard, pytester, pg_weak):
        report = pytester.path / "aurora.json"
        run_guard(f"--aurora-endpoint={pg_weak.endpoint}", f"--aurora-report={report}")
        (accepted,) = items_named(validated(report), "accepted_suites_allowed")
        tls12 = next(v for v in accepted["facts"]["versions"] if v["version"] == "TLSv1.2")
        assert tls12["status"] == "accepted"
        codes = {suite["code"] for suite in tls12["accepted_suites"]}
        assert 0xC02F in codes  # ECDHE-RSA-AES128-GCM-SHA256, which the weak profile allows
        named = next(s for s in tls12["accepted_suites"] if s["code"] == 0xC02F)
        assert named == {"code": 0xC02F, "code_hex": "0xC0,0x2F", "iana": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                         "openssl": "ECDHE-RSA-AES128-GCM-SHA256"}

    def test_each_refused_version_carries_its_surface_status(self, run_guard, pytester, pg_hardened):
        report = pytester.path / "aurora.json"
        run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", f"--aurora-report={report}")
        document = validated(report)
        tls12 = next(i for i in items_named(document, "tls_version_refused") if i["parameter"] == "TLSv1.2")
        assert tls12["outcome"] == "passed"
        assert tls12["facts"]["surface"]["status"] == "refused"
        assert tls12["facts"]["surface"]["accepted_suites"] == []

    def test_plaintext_answers_and_the_servers_transport_rule_are_data(self, run_guard, pytester, pg_hardened,
                                                                       ca_bundle, monkeypatch):
        report = pytester.path / "aurora.json"
        monkeypatch.setenv("AURORA_GUARD_PASSWORD", pg_hardened.password)
        run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", f"--aurora-user={pg_hardened.user}",
                  f"--aurora-dbname={pg_hardened.database}", f"--aurora-ca-bundle={ca_bundle}",
                  f"--aurora-report={report}", "-k", "plaintext or verified")
        document = validated(report)
        (plaintext,) = items_named(document, "plaintext_refused")
        attempts = plaintext["facts"]["plaintext_attempts"]
        assert {a["kind"] for a in attempts} == {"REFUSED_FOR_TRANSPORT"}
        assert any(a["random_identity"] for a in attempts)
        assert any(a["user"] == pg_hardened.user and not a["random_identity"] for a in attempts)
        # Self-managed PostgreSQL has no rds.force_ssl: recorded as absent, not as off.
        assert plaintext["facts"]["transport_setting"] == {"name": "rds.force_ssl", "value": None, "enforced": None}
        (verified,) = items_named(document, "driver_verified_session")
        assert verified["facts"]["driver"]["kind"] == "CONNECTED"
        assert verified["facts"]["driver"]["session"] == {"encrypted": True, "version": "TLSv1.3",
                                                          "suite": verified["facts"]["driver"]["session"]["suite"]}
        assert verified["facts"]["driver"]["session"]["suite"].startswith("TLS_")

    def test_the_certificate_path_is_data_with_fingerprints(self, run_guard, pytester, pg_hardened, ca_bundle):
        report = pytester.path / "aurora.json"
        run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", f"--aurora-ca-bundle={ca_bundle}",
                  f"--aurora-report={report}", "-k", "certificate")
        (certificate,) = items_named(validated(report), "certificate_trusted")
        assert certificate["outcome"] == "passed"
        leaf, root = certificate["facts"]["certificates"][0], certificate["facts"]["certificates"][-1]
        assert "127.0.0.1" in " ".join(leaf["sans"])
        assert len(leaf["sha256"].replace(":", "")) == 64
        assert root["subject"] == certificate["facts"]["anchor"]
        assert certificate["facts"]["problems"] == []

    def test_every_item_names_the_hipaa_sections_it_supports(self, run_guard, pytester, pg_hardened):
        report = pytester.path / "aurora.json"
        run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", f"--aurora-report={report}")
        for item in validated(report)["items"]:
            assert any("164.312" in control for control in item["hipaa_controls"]), item["check"]

    def test_the_settings_in_effect_list_the_allowlists_actual_suites(self, run_guard, pytester, pg_hardened):
        report = pytester.path / "aurora.json"
        run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", f"--aurora-report={report}")
        settings = validated(report)["settings"]
        assert settings["tls_floor"] == "TLSv1.3"
        assert [s["iana"] for s in settings["cipher_allowlist"]["suites"]] == ["TLS_AES_128_GCM_SHA256",
                                                                              "TLS_AES_256_GCM_SHA384"]
        assert settings["cipher_allowlist"]["source"] == "default"

    def test_the_ci_identity_is_recorded(self, run_guard, pytester, pg_hardened, monkeypatch):
        monkeypatch.setenv("GITHUB_REPOSITORY", "clinic/records")
        monkeypatch.setenv("GITHUB_SHA", "0123abcd")
        monkeypatch.setenv("GITHUB_RUN_ID", "42")
        report = pytester.path / "aurora.json"
        run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", f"--aurora-report={report}", "-k", "plaintext")
        assert validated(report)["ran_in"] == {"system": "github_actions", "GITHUB_REPOSITORY": "clinic/records",
                                               "GITHUB_SHA": "0123abcd", "GITHUB_RUN_ID": "42"}

    def test_the_password_never_reaches_the_report(self, run_guard, pytester, pg_hardened, ca_bundle, monkeypatch):
        monkeypatch.setenv("AURORA_GUARD_PASSWORD", pg_hardened.password)
        report = pytester.path / "aurora.json"
        run = run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", f"--aurora-user={pg_hardened.user}",
                        f"--aurora-dbname={pg_hardened.database}", f"--aurora-ca-bundle={ca_bundle}",
                        f"--aurora-report={report}")
        assert run.result.ret == pytest.ExitCode.OK, run.output
        for written in (report, report.with_suffix(".md")):
            assert pg_hardened.password not in written.read_text()
        assert validated(report)["settings"]["credentials"]["password_configured"] is True

    def test_under_xdist_the_controller_writes_one_report_with_every_workers_items(
        self, pytester, pg_weak, pg_hardened
    ):
        report = pytester.path / "aurora.json"
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "-p", "xdist.plugin", "-n", "2", f"--aurora-endpoint={pg_weak.endpoint}",
            f"--aurora-endpoint={pg_hardened.endpoint}", f"--aurora-report={report}")
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        document = validated(report)
        assert len(document["items"]) == 18  # nine credential-free checks on each endpoint
        assert sorted(p.name for p in pytester.path.iterdir() if p.name.startswith(("aurora", ".aurora"))) == [
            "aurora.json", "aurora.md"]

    @pytest.mark.parametrize(("value", "said"), [
        ("report.txt", "must end in .json"),
        ("no/such/dir/report.json", "does not exist; create it first"),
    ])
    def test_a_report_path_that_cannot_be_written_is_a_usage_error_before_any_traffic(self, run_guard, value, said):
        run = run_guard("--aurora-endpoint=postgresql://127.0.0.1:1", f"--aurora-report={value}")
        assert run.result.ret == pytest.ExitCode.USAGE_ERROR
        assert said in run.output


class TestMarkdownAndJobSummary:
    def test_the_markdown_names_every_failed_control_with_its_fix_and_hipaa_section(self, run_guard, pytester,
                                                                                    pg_weak):
        report = pytester.path / "aurora.json"
        run_guard(f"--aurora-endpoint={pg_weak.endpoint}", f"--aurora-report={report}")
        document = validated(report)
        markdown = report.with_suffix(".md").read_text()
        assert markdown.startswith("## aurora-guard: promotion BLOCKED")
        failed = [i for i in document["items"] if i["outcome"] != "passed"]
        assert failed
        for item in failed:
            name = f"{item['check']}[{item['parameter']}]" if item["parameter"] else item["check"]
            assert f"**{name}** on `{pg_weak.endpoint}`" in markdown
        assert "supports: HIPAA 45 CFR 164.312(e)(1)" in markdown
        assert "fix: " in markdown

    def test_the_github_job_summary_gets_the_markdown_appended(self, run_guard, pytester, pg_hardened, monkeypatch):
        summary = pytester.path / "step_summary.md"
        summary.write_text("earlier step\n")
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
        run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", "-k", "plaintext")
        text = summary.read_text()
        assert text.startswith("earlier step\n## aurora-guard: promotion ALLOWED")
        assert "| `plaintext_refused` | ✔ |" in text


class TestDecisionLine:
    def test_a_weak_endpoint_blocks_promotion_counting_what_failed(self, run_guard, pg_weak):
        run = run_guard(f"--aurora-endpoint={pg_weak.endpoint}")
        line = next(line for line in run.output.splitlines() if line.startswith("aurora-guard: promotion"))
        assert line.startswith("aurora-guard: promotion BLOCKED (")
        assert " failed" in line

    def test_a_hardened_endpoint_allows_promotion(self, run_guard, pg_hardened, ca_bundle):
        run = run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", f"--aurora-ca-bundle={ca_bundle}")
        assert "aurora-guard: promotion ALLOWED (9 passed)" in run.output

    def test_an_unreachable_endpoint_blocks_promotion_as_inconclusive(self, run_guard):
        run = run_guard("--aurora-endpoint=postgresql://127.0.0.1:1")
        assert "aurora-guard: promotion BLOCKED (9 inconclusive)" in run.output

    def test_a_required_run_that_judged_nothing_is_blocked_and_says_why(self, run_guard, pytester, pg_hardened):
        pytester.makepyfile(test_project="def test_app():\n    pass\n")
        run = run_guard("--aurora-require", f"--aurora-endpoint={pg_hardened.endpoint}", "-k", "test_app")
        assert "aurora-guard: promotion BLOCKED (9 required item(s) not judged)" in run.output
