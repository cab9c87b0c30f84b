"""A promotion gate that cannot go green by accident: required mode, misspelt and empty settings,
update mode in CI, and a drift gate that is never silent (issue 10). Each case must not exit 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_aurora_guard.settings.options import OPTION_SPECS, OptionSpec
from pytest_aurora_guard.settings.spelling import known_environment_variables
from tests.fake_rds import FAMILY, REGION, FakeRds
from tests.support.servers_common import free_port

pytest_plugins = ["tests.drift_fixtures"]

USAGE_ERROR = pytest.ExitCode.USAGE_ERROR
PROJECT_TEST = "def test_app():\n    assert True\n"
BASELINE = Path("baselines") / REGION / f"{FAMILY}.json"


def closed_endpoint() -> str:
    return f"postgresql://127.0.0.1:{free_port()}"


# -- required mode -------------------------------------------------------------------------------


class TestRequiredMode:
    def test_require_without_any_target_is_a_usage_error_naming_what_was_looked_at(self, run_guard, pytester):
        pytester.makepyfile(test_project=PROJECT_TEST)
        run = run_guard("--aurora-require")
        assert run.result.ret == USAGE_ERROR
        for looked_at in ("--aurora-endpoint", "AURORA_GUARD_ENDPOINT", "ini key aurora_endpoints",
                          "--aurora-engine-family", "AURORA_GUARD_ENGINE_FAMILY", "ini key aurora_engine_families"):
            assert looked_at in run.output
        assert "no ini file found" in run.output

    @pytest.mark.parametrize("value", ["1", "true", "yes"])
    def test_the_environment_variable_requires_a_target(self, run_guard, pytester, monkeypatch, value):
        pytester.makepyfile(test_project=PROJECT_TEST)
        monkeypatch.setenv("AURORA_GUARD_REQUIRE", value)
        assert run_guard().result.ret == USAGE_ERROR

    def test_the_ini_key_requires_a_target_and_names_the_ini_file(self, run_guard, pytester):
        ini = pytester.makeini("[pytest]\naurora_require = true\n")
        run = run_guard()
        assert run.result.ret == USAGE_ERROR
        assert f"ini file {ini}" in run.output

    def test_a_value_that_is_not_yes_or_no_is_a_usage_error(self, run_guard, monkeypatch):
        monkeypatch.setenv("AURORA_GUARD_REQUIRE", "maybe")
        run = run_guard()
        assert run.result.ret == USAGE_ERROR
        assert "AURORA_GUARD_REQUIRE: 'maybe' is not a yes/no value" in run.output

    def test_require_is_satisfied_by_an_endpoint(self, run_guard, pg_hardened, ca_bundle):
        run = run_guard("--aurora-require", f"--aurora-endpoint={pg_hardened.endpoint}",
                        f"--aurora-ca-bundle={ca_bundle}")
        assert run.result.ret == pytest.ExitCode.OK, run.output
        assert "aurora-guard required mode" not in run.output

    def test_collect_only_from_the_environment_fails_a_required_run_naming_what_was_not_judged(
        self, run_guard, monkeypatch
    ):
        endpoint = closed_endpoint()
        monkeypatch.setenv("PYTEST_ADDOPTS", "--collect-only")
        run = run_guard("--aurora-require", f"--aurora-endpoint={endpoint}")
        assert run.result.ret == pytest.ExitCode.TESTS_FAILED
        assert "--collect-only was given (check PYTEST_ADDOPTS and addopts too)" in run.output
        label = endpoint.replace("postgresql://", "postgresql@")
        assert f"not judged: aurora-guard[{label}]::plaintext_refused" in run.output

    def test_deselecting_the_checks_with_k_fails_a_required_run(self, run_guard, pytester):
        pytester.makepyfile(test_project=PROJECT_TEST)
        run = run_guard("--aurora-require", f"--aurora-endpoint={closed_endpoint()}", "-k", "test_app")
        assert run.result.ret == pytest.ExitCode.TESTS_FAILED
        assert "gate item(s) were configured but not judged" in run.output
        assert "-k 'test_app'" in run.output

    def test_deselecting_with_m_fails_a_required_run(self, run_guard, pytester):
        pytester.makepyfile(test_project=PROJECT_TEST)
        run = run_guard("--aurora-require", f"--aurora-endpoint={closed_endpoint()}", "-m", "not aurora_guard")
        assert run.result.ret == pytest.ExitCode.TESTS_FAILED
        assert "-m 'not aurora_guard'" in run.output

    def test_a_setup_only_run_sees_verdicts_but_enforces_none_so_it_fails(self, run_guard, pg_weak):
        run = run_guard("--aurora-require", f"--aurora-endpoint={pg_weak.endpoint}", "--setup-only")
        assert run.result.ret == pytest.ExitCode.TESTS_FAILED
        assert "--setup-only/--setup-plan" in run.output

    def test_a_conftest_that_removes_the_checks_fails_a_required_run(self, run_guard, pytester):
        pytester.makeconftest(
            "def pytest_collection_modifyitems(items):\n"
            "    items[:] = [i for i in items if 'aurora' not in i.nodeid]\n")
        pytester.makepyfile(test_project=PROJECT_TEST)
        run = run_guard("--aurora-require", f"--aurora-endpoint={closed_endpoint()}")
        assert run.result.ret == pytest.ExitCode.TESTS_FAILED
        assert "removed or never reached" in run.output

    def test_under_xdist_the_controller_counts_the_workers_verdicts(self, pytester, pg_hardened, ca_bundle):
        common = ("-p", "no:cacheprovider", "-p", "xdist.plugin", "-n", "2", "--aurora-require",
                  f"--aurora-endpoint={pg_hardened.endpoint}")
        judged = pytester.runpytest_subprocess(*common, f"--aurora-ca-bundle={ca_bundle}")
        assert judged.ret == pytest.ExitCode.OK, judged.stdout.str()
        selected = pytester.runpytest_subprocess(*common, "-k", "plaintext")
        assert selected.ret == pytest.ExitCode.TESTS_FAILED
        assert "::tls_floor_accepted" in selected.stdout.str()

    def test_without_require_a_deselected_gate_is_the_users_choice(self, run_guard, pytester):
        pytester.makepyfile(test_project=PROJECT_TEST)
        run = run_guard(f"--aurora-endpoint={closed_endpoint()}", "-k", "test_app")
        assert run.result.ret == pytest.ExitCode.OK
        assert "aurora-guard required mode" not in run.output

    @pytest.mark.parametrize("value", [",", " , ", "postgresql://db.example.com,", ",postgresql://db.example.com",
                                       "postgresql://a.example.com,,postgresql://b.example.com"])
    def test_an_endpoint_list_with_an_empty_entry_is_a_usage_error(self, run_guard, monkeypatch, value):
        monkeypatch.setenv("AURORA_GUARD_ENDPOINT", value)
        run = run_guard("--aurora-require")
        assert run.result.ret == USAGE_ERROR
        assert "AURORA_GUARD_ENDPOINT is" in run.output
        assert "has an empty entry" in run.output

    def test_an_engine_family_list_with_an_empty_entry_is_a_usage_error(self, run_guard, monkeypatch):
        monkeypatch.setenv("AURORA_GUARD_ENGINE_FAMILY", "aurora-postgresql16,")
        run = run_guard()
        assert run.result.ret == USAGE_ERROR
        assert "AURORA_GUARD_ENGINE_FAMILY is 'aurora-postgresql16,', which has an empty entry" in run.output

    def test_require_is_satisfied_by_an_engine_family(self, pytester, recorded):
        result = pytester.runpytest_subprocess("--aurora-require", "--aurora-engine-family", FAMILY)
        result.assert_outcomes(passed=1)

    def test_without_require_an_inactive_plugin_says_so_in_the_header(self, run_guard, pytester):
        pytester.makepyfile(test_project=PROJECT_TEST)
        run = run_guard()
        run.result.assert_outcomes(passed=1)
        assert "aurora-guard: inactive (no endpoint configured)" in run.output


# -- misspelt and empty settings -----------------------------------------------------------------


class TestMisspellings:
    def test_an_unknown_environment_variable_is_a_usage_error_with_a_did_you_mean(self, run_guard, pytester,
                                                                                  monkeypatch):
        pytester.makepyfile(test_project=PROJECT_TEST)
        monkeypatch.setenv("AURORA_GUARD_ENDPOINTS", closed_endpoint())
        run = run_guard()
        assert run.result.ret == USAGE_ERROR
        assert "AURORA_GUARD_ENDPOINTS: unknown setting; did you mean AURORA_GUARD_ENDPOINT?" in run.output

    def test_an_unknown_ini_key_is_a_usage_error_with_a_did_you_mean(self, run_guard, pytester):
        ini = pytester.makeini(f"[pytest]\naurora_endpoint = {closed_endpoint()}\n")
        pytester.makepyfile(test_project=PROJECT_TEST)
        run = run_guard()
        assert run.result.ret == USAGE_ERROR
        assert f"ini key aurora_endpoint in {ini}: unknown setting; did you mean aurora_endpoints?" in run.output

    def test_an_unknown_key_in_pyproject_toml_is_caught_too(self, run_guard, pytester):
        pytester.makepyprojecttoml("[tool.pytest.ini_options]\naurora_min_tsl = 'TLSv1.2'\n")
        run = run_guard()
        assert run.result.ret == USAGE_ERROR
        assert "did you mean aurora_min_tls?" in run.output

    def test_every_problem_is_listed_at_once(self, run_guard, monkeypatch):
        monkeypatch.setenv("AURORA_GUARD_ENDPOINTS", "x")
        monkeypatch.setenv("AURORA_GUARD_TIMEOUTS", "3")
        run = run_guard()
        assert run.result.ret == USAGE_ERROR
        assert "did you mean AURORA_GUARD_ENDPOINT?" in run.output
        assert "did you mean AURORA_GUARD_TIMEOUT?" in run.output

    @pytest.mark.parametrize("name", ["AURORA_GUARD_ENDPOINT", "AURORA_GUARD_CIPHER_ALLOWLIST",
                                      "AURORA_GUARD_PASSWORD"])
    def test_a_known_variable_set_but_empty_is_a_usage_error(self, run_guard, pytester, monkeypatch, name):
        pytester.makepyfile(test_project=PROJECT_TEST)
        monkeypatch.setenv(name, "")
        run = run_guard()
        assert run.result.ret == USAGE_ERROR
        assert f"{name} is set but empty" in run.output

    def test_a_known_ini_key_set_but_empty_is_a_usage_error(self, run_guard, pytester):
        pytester.makeini("[pytest]\naurora_cipher_allowlist =\n")
        run = run_guard(f"--aurora-endpoint={closed_endpoint()}")
        assert run.result.ret == USAGE_ERROR
        assert "ini key aurora_cipher_allowlist" in run.output
        assert "is set but empty" in run.output

    def test_an_empty_option_value_is_a_usage_error_not_the_default(self, run_guard):
        run = run_guard(f"--aurora-endpoint={closed_endpoint()}", "--aurora-cipher-allowlist=")
        assert run.result.ret == USAGE_ERROR
        assert "--aurora-cipher-allowlist is given an empty value" in run.output

    def test_a_user_without_any_password_source_is_one_usage_error(self, run_guard):
        run = run_guard(f"--aurora-endpoint={closed_endpoint()}", "--aurora-user=guard")
        assert run.result.ret == USAGE_ERROR
        assert "--aurora-user is set ('guard') but no password is: set AURORA_GUARD_PASSWORD" in run.output

    def test_a_misspelt_engine_family_is_a_usage_error_with_a_did_you_mean(self, pytester, aws_env: FakeRds):
        result = pytester.runpytest_subprocess("--aurora-engine-family", "aurora-postgres16")
        assert result.ret == USAGE_ERROR
        result.stderr.fnmatch_lines(["*'aurora-postgres16'*did you mean aurora-postgresql16?*"])
        assert aws_env.requests == []

    def test_a_family_with_a_wrong_separator_is_a_usage_error(self, pytester, aws_env: FakeRds):
        result = pytester.runpytest_subprocess("--aurora-engine-family", "aurora-mysql-8.0")
        assert result.ret == USAGE_ERROR
        result.stderr.fnmatch_lines(["*did you mean aurora-mysql8.0?*"])

    def test_a_new_major_version_of_a_known_engine_is_accepted(self, pytester, aws_env: FakeRds):
        result = pytester.runpytest_subprocess("--aurora-engine-family", "aurora-postgresql99")
        assert result.ret == pytest.ExitCode.TESTS_FAILED  # no baseline yet: fails with the update command
        assert "--update-cipher-baseline" in result.stdout.str()

    def test_a_setting_defined_anywhere_as_an_option_spec_is_known(self):
        spec = OptionSpec("--aurora-made-up", "AURORA_GUARD_MADE_UP", "aurora_made_up", "for this test")
        try:
            assert "AURORA_GUARD_MADE_UP" in known_environment_variables()
        finally:
            OPTION_SPECS.remove(spec)
        assert "AURORA_GUARD_MADE_UP" not in known_environment_variables()


# -- update mode in CI ---------------------------------------------------------------------------


def add_3des(fake: FakeRds) -> None:
    served = next(p for p in fake.families[(REGION, FAMILY)] if p["ParameterName"] == "ssl_ciphers")
    fake.update_parameter(FAMILY, "ssl_ciphers", AllowedValues=f"{served['AllowedValues']},DES-CBC3-SHA")


class TestUpdateInCi:
    @pytest.mark.parametrize("variable", ["CI", "GITHUB_ACTIONS", "GITLAB_CI", "CODEBUILD_BUILD_ID", "JENKINS_URL"])
    def test_an_update_in_ci_is_refused_and_calls_nothing(self, pytester, recorded, monkeypatch, variable):
        add_3des(recorded)
        before = (pytester.path / BASELINE).read_bytes()
        monkeypatch.setenv(variable, "true")
        result = pytester.runpytest_subprocess("--update-cipher-baseline", "--aurora-engine-family", FAMILY)
        assert result.ret == USAGE_ERROR
        result.stderr.fnmatch_lines([f"*--update-cipher-baseline refuses to run in CI ({variable}=true)*"])
        assert "--aurora-allow-update-in-ci" in result.stderr.str()
        assert (pytester.path / BASELINE).read_bytes() == before
        assert recorded.requests == []

    def test_allowed_in_ci_a_changed_baseline_is_written_but_the_run_fails_listing_it(self, pytester, recorded,
                                                                                      monkeypatch):
        add_3des(recorded)
        monkeypatch.setenv("CI", "true")
        result = pytester.runpytest_subprocess("--update-cipher-baseline", "--aurora-allow-update-in-ci",
                                               "--aurora-engine-family", FAMILY, "-rA")
        result.assert_outcomes(passed=1, failed=1)
        assert "DES-CBC3-SHA" in json.loads((pytester.path / BASELINE).read_text())["parameters"]["ssl_ciphers"][
            "allowed_values"]
        result.stdout.fnmatch_lines([
            "*1 baseline file(s) changed by an update in CI (CI=true, --aurora-allow-update-in-ci)*",
            f"updated {BASELINE}",
            "*ssl_ciphers: AllowedValues gained 1 cipher suite:",
            "*TLS_RSA_WITH_3DES_EDE_CBC_SHA (OpenSSL DES-CBC3-SHA, 0x00,0x0A)  NOT IN THE CIPHER ALLOWLIST",
        ])

    def test_allowed_in_ci_an_unchanged_baseline_passes(self, pytester, recorded, monkeypatch):
        monkeypatch.setenv("CI", "true")
        result = pytester.runpytest_subprocess("--update-cipher-baseline", "--aurora-allow-update-in-ci",
                                               "--aurora-engine-family", FAMILY)
        result.assert_outcomes(passed=2)

    def test_locally_an_update_passes_and_prints_the_change_and_the_allowlist_warning(self, pytester, recorded):
        add_3des(recorded)
        result = pytester.runpytest_subprocess("--update-cipher-baseline", "--aurora-engine-family", FAMILY)
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines([
            f"updated    {BASELINE}",
            "*ssl_ciphers: AllowedValues gained 1 cipher suite:",
            "*DES-CBC3-SHA*NOT IN THE CIPHER ALLOWLIST",
            "Review with: git diff baselines",
        ])


# -- the drift gate is never silent --------------------------------------------------------------


class TestDriftNeverSilent:
    def test_an_explicit_baseline_directory_that_does_not_exist_is_a_usage_error(self, run_guard):
        run = run_guard(f"--aurora-endpoint={closed_endpoint()}", "--cipher-baseline-dir=baselnes")
        assert run.result.ret == USAGE_ERROR
        assert "--cipher-baseline-dir: baseline directory baselnes does not exist" in run.output

    def test_a_missing_ini_baseline_directory_is_a_usage_error_even_while_inert(self, run_guard, pytester):
        pytester.makeini("[pytest]\naurora_baseline_dir = security/baselnes\n")
        run = run_guard()
        assert run.result.ret == USAGE_ERROR
        assert "ini key aurora_baseline_dir: baseline directory" in run.output

    @pytest.mark.parametrize("misplaced", [Path("baselines") / f"{FAMILY}.json",
                                           Path("baselines") / "prod" / REGION / f"{FAMILY}.json",
                                           Path("baselines") / "us-east" / f"{FAMILY}.json"])
    def test_a_json_file_not_at_region_family_is_an_error_naming_it(self, run_guard, pytester, misplaced):
        path = pytester.path / misplaced
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}\n")
        run = run_guard(f"--aurora-endpoint={closed_endpoint()}", "--collect-only")
        assert run.result.ret == USAGE_ERROR
        assert str(path) in run.output

    def test_a_tracked_parameter_aws_does_not_return_stops_the_update(self, pytester, pg11):
        pytester.makeini("[pytest]\naurora_tracked_parameters =\n    aurora-postgresql: ssl_cipher, rds.force_ssl\n")
        result = pytester.runpytest_subprocess("--update-cipher-baseline", "--aurora-engine-family", FAMILY)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*tracks ssl_cipher; did you mean ssl_ciphers? for aurora-postgresql11, "
                                     "but AWS did not return it*nothing written*"])
        assert not (pytester.path / BASELINE).exists()

    @pytest.mark.parametrize(("markers", "said"), [("repeat", "sent Marker*again"),
                                                   ("endless", "still paginating after 50 pages")])
    def test_a_paginator_that_never_ends_is_an_error(self, pytester, recorded, markers, said):
        recorded.markers = markers
        result = pytester.runpytest_subprocess("--aurora-engine-family", FAMILY)
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines([f"*{said}*"])
        assert recorded.calls_for(FAMILY) <= 50

    def test_drift_items_are_counted_and_have_a_row_in_the_summary(self, pytester, recorded):
        result = pytester.runpytest_subprocess("--aurora-engine-family", FAMILY)
        result.stdout.fnmatch_lines([
            "collected 1 item",
            "*aurora-guard summary*",
            f"engine defaults {REGION}/{FAMILY}  passed",
            "aurora-guard: promotion ALLOWED (1 passed)",
        ])

    def test_an_aws_error_is_printed_once(self, pytester, recorded):
        recorded.deny()
        result = pytester.runpytest_subprocess("--aurora-engine-family", FAMILY)
        result.assert_outcomes(errors=1)
        out = result.stdout.str()
        assert "During handling of the above exception" not in out
        assert out.count("is not authorized to perform") == 1
