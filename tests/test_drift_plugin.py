"""The drift gate as a user meets it: pytest runs against the Query-protocol fake over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fake_rds import (
    ACCESS_KEY_ID,
    FAMILY,
    NEW_SUITE,
    PG11_PAGES,
    REGION,
    SECRET_ACCESS_KEY,
    SESSION_TOKEN,
    FakeRds,
    add_suite,
    filler,
    parameter,
)

pytest_plugins = ["tests.drift_fixtures"]

ITEM = f"aurora-engine-defaults::{REGION}/{FAMILY}"
BASELINE = Path("baselines") / REGION / f"{FAMILY}.json"
UPDATE_COMMAND = f"pytest --update-cipher-baseline --aws-region {REGION} --aurora-engine-family {FAMILY}"
NEW_SUITE_LINE = (
    "    + TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (OpenSSL ECDHE-ECDSA-AES128-GCM-SHA256, "
    "0xC0,0x2B)  NOT IN THE CIPHER ALLOWLIST"
)


def check(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("--aurora-engine-family", FAMILY, "-rA", *args)


def update(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("--update-cipher-baseline", "--aurora-engine-family", FAMILY, "-rA", *args)


# -- the "done when" ---------------------------------------------------------------------


def test_first_run_fails_update_writes_next_run_passes_new_suite_fails_naming_it(
    pytester: pytest.Pytester, pg11: FakeRds
) -> None:
    first = check(pytester)
    first.assert_outcomes(failed=1)
    first.stdout.fnmatch_lines([f"*No baseline for {FAMILY} in {REGION}*", f"  {UPDATE_COMMAND}"])
    assert pg11.calls_for(FAMILY) == 0  # nothing to compare with, so AWS is not asked

    update(pytester).assert_outcomes(passed=1)
    assert (pytester.path / BASELINE).is_file()
    assert pg11.calls_for(FAMILY) == PG11_PAGES

    pg11.reset_counts()
    check(pytester).assert_outcomes(passed=1)
    assert pg11.calls_for(FAMILY) == PG11_PAGES  # one call per page, nothing more

    add_suite(pg11, NEW_SUITE)
    drifted = check(pytester)
    drifted.assert_outcomes(failed=1)
    drifted.stdout.fnmatch_lines(
        [
            "*ssl_ciphers: AllowedValues gained 1 cipher suite:",
            NEW_SUITE_LINE,
            f"  {UPDATE_COMMAND}",
        ]
    )
    # Count in the failure report only: under CI=true pytest repeats the whole message untruncated
    # in the short test summary.
    failure_report = drifted.stdout.str().split("short test summary info")[0]
    assert failure_report.count("    + ") == 1


# -- activation ----------------------------------------------------------------------------------


def test_a_plain_run_with_only_baselines_committed_stays_inert(pytester: pytest.Pytester, recorded: FakeRds) -> None:
    pytester.makepyfile("def test_app(): pass")

    result = pytester.runpytest_subprocess("-v")

    result.assert_outcomes(passed=1)
    assert "aurora-engine-defaults" not in result.stdout.str()
    assert recorded.requests == []


def test_a_configured_endpoint_activates_the_gate_for_every_baseline_present(
    pytester: pytest.Pytester, recorded: FakeRds
) -> None:
    from tests.support.servers_common import free_port

    result = pytester.runpytest_subprocess(
        f"--aurora-endpoint=postgresql://127.0.0.1:{free_port()}", "-m", "aurora_engine_defaults", "-v"
    )

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*{ITEM} PASSED*"])
    assert recorded.calls_for(FAMILY) == PG11_PAGES


def test_a_family_from_the_environment_activates_the_gate(
    pytester: pytest.Pytester, recorded: FakeRds, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AURORA_GUARD_ENGINE_FAMILY", FAMILY)

    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_every_baseline_present_is_checked_once_the_gate_is_active(
    pytester: pytest.Pytester, recorded: FakeRds
) -> None:
    recorded.serve("aurora-mysql8.0", filler(5), region="eu-west-1")
    pytester.runpytest_subprocess(
        "--update-cipher-baseline",
        "--aurora-engine-family",
        "aurora-mysql8.0",
        "--aws-region",
        "eu-west-1",
    ).assert_outcomes(passed=2)

    result = pytester.runpytest_subprocess(
        "--aurora-engine-family", "aurora-mysql8.0", "--aws-region", "eu-west-1", "-v"
    )

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines_random(
        [f"*{ITEM} PASSED*", "*aurora-engine-defaults::eu-west-1/aurora-mysql8.0 PASSED*"]
    )


def test_ini_settings_resolve_the_baseline_dir_against_the_ini_file(
    pytester: pytest.Pytester, pg11: FakeRds, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(
        f"""
        [pytest]
        aurora_engine_families = {FAMILY}
        aurora_aws_regions = {REGION}
        aurora_baseline_dir = security/engine-defaults
        """
    )
    (pytester.path / "sub").mkdir()
    monkeypatch.chdir(pytester.path / "sub")

    pytester.runpytest_subprocess("--update-cipher-baseline").assert_outcomes(passed=1)

    assert (pytester.path / "security" / "engine-defaults" / REGION / f"{FAMILY}.json").is_file()


def test_the_markers_deselect_the_checks_and_then_aws_is_not_called(
    pytester: pytest.Pytester, recorded: FakeRds
) -> None:
    result = check(pytester, "-m", "not aurora_engine_defaults")

    result.assert_outcomes(deselected=1)
    assert recorded.requests == []


def test_a_family_without_a_region_is_a_usage_error(
    pytester: pytest.Pytester, aws_env: FakeRds, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION")

    result = check(pytester)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no AWS region is set: pass --aws-region*"])


def test_a_malformed_family_name_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--aurora-engine-family", "../../etc")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*is not a DB parameter group family name*"])


def test_an_update_with_nothing_to_update_is_a_usage_error(pytester: pytest.Pytester, aws_env: FakeRds) -> None:
    result = pytester.runpytest_subprocess("--update-cipher-baseline")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*nothing to update*--aurora-engine-family FAMILY*"])


# -- checking ------------------------------------------------------------------------------------


def test_throttling_then_success_passes(pytester: pytest.Pytester, recorded: FakeRds) -> None:
    recorded.throttle(FAMILY, times=1)

    check(pytester).assert_outcomes(passed=1)
    assert recorded.calls_for(FAMILY) == PG11_PAGES + 1


def test_a_changed_default_value_fails_showing_old_and_new(pytester: pytest.Pytester, recorded: FakeRds) -> None:
    recorded.update_parameter(FAMILY, "rds.force_ssl", ParameterValue="1")

    result = check(pytester)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*rds.force_ssl: default value (ParameterValue) changed: '0' → '1'"])


def test_a_removed_suite_fails_naming_it(pytester: pytest.Pytester, recorded: FakeRds) -> None:
    served = next(p for p in recorded.families[(REGION, FAMILY)] if p["ParameterName"] == "ssl_ciphers")
    remaining = [s for s in served["AllowedValues"].split(",") if s != "DHE-RSA-AES128-SHA"]
    recorded.update_parameter(FAMILY, "ssl_ciphers", AllowedValues=",".join(remaining))

    result = check(pytester)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ssl_ciphers: AllowedValues lost 1 cipher suite:",
            "    - TLS_DHE_RSA_WITH_AES_128_CBC_SHA (OpenSSL DHE-RSA-AES128-SHA, 0x00,0x33)",
        ]
    )


def test_a_parameter_that_disappears_fails(pytester: pytest.Pytester, recorded: FakeRds) -> None:
    recorded.families[(REGION, FAMILY)] = [
        p for p in recorded.families[(REGION, FAMILY)] if p["ParameterName"] != "rds.force_ssl"
    ]

    result = check(pytester)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*rds.force_ssl: parameter disappeared*"])


def test_a_corrupt_baseline_errors_naming_the_file(pytester: pytest.Pytester, recorded: FakeRds) -> None:
    path = pytester.path / BASELINE
    path.write_text(path.read_text(encoding="utf-8")[:-10], encoding="utf-8")

    result = check(pytester)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*baseline {path} is not valid JSON*"])


def test_access_denied_while_checking_is_an_error_not_a_pass(pytester: pytest.Pytester, recorded: FakeRds) -> None:
    recorded.deny("AccessDenied")

    result = check(pytester)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*Allow the action rds:DescribeEngineDefaultClusterParameters*"])


def test_no_credential_appears_in_the_output_even_with_debug_logging(
    pytester: pytest.Pytester, recorded: FakeRds, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    recorded.deny("SignatureDoesNotMatch", f"bad signature for {ACCESS_KEY_ID}")

    result = check(pytester, "-o", "log_cli=true", "--log-cli-level=DEBUG", "--log-level=DEBUG")

    result.assert_outcomes(errors=1)
    output = result.stdout.str() + result.stderr.str()
    for secret in (SESSION_TOKEN, SECRET_ACCESS_KEY, ACCESS_KEY_ID):
        assert secret not in output


# -- updating ------------------------------------------------------------------------------------


def test_updated_items_pass_and_say_what_they_did(pytester: pytest.Pytester, pg11: FakeRds) -> None:
    update(pytester, "-v").stdout.fnmatch_lines([f"{ITEM} CREATED*"])
    update(pytester, "-v").stdout.fnmatch_lines([f"{ITEM} UNCHANGED*"])
    add_suite(pg11, NEW_SUITE)
    update(pytester, "-v").stdout.fnmatch_lines([f"{ITEM} UPDATED*"])


def test_the_summary_reports_each_file_created_updated_or_unchanged(
    pytester: pytest.Pytester, recorded: FakeRds
) -> None:
    recorded.serve("aurora-postgresql17", filler(3))
    pytester.runpytest_subprocess(
        "--update-cipher-baseline", "--aurora-engine-family", "aurora-postgresql17"
    ).assert_outcomes(passed=2)
    add_suite(recorded, NEW_SUITE)
    recorded.serve("aurora-postgresql16", [*filler(3), parameter("rds.force_ssl", ParameterValue="1")])

    result = pytester.runpytest_subprocess("--update-cipher-baseline", "--aurora-engine-family", "aurora-postgresql16")

    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*= aurora-guard engine-default baselines =*",
            "updated    baselines/us-east-1/aurora-postgresql11.json",
            "created    baselines/us-east-1/aurora-postgresql16.json",
            "unchanged  baselines/us-east-1/aurora-postgresql17.json",
        ]
    )


def test_the_baseline_records_an_absent_default_value_as_null(pytester: pytest.Pytester, recorded: FakeRds) -> None:
    data = json.loads((pytester.path / BASELINE).read_text(encoding="utf-8"))

    assert data["parameters"]["ssl_ciphers"]["value"] is None
    assert data["parameters"]["ssl_ciphers"]["allowed_values"] == sorted(
        data["parameters"]["ssl_ciphers"]["allowed_values"]
    )
    assert len(data["parameters"]["ssl_ciphers"]["allowed_values"]) == 23


@pytest.mark.parametrize(
    ("arrange", "expected"),
    [
        pytest.param(lambda f, m: f.deny("AccessDenied"), "*rds:Describe*", id="access-denied"),
        pytest.param(lambda f, m: f.throttle(FAMILY, times=99), "*AWS_MAX_ATTEMPTS*", id="throttled"),
        pytest.param(
            lambda f, m: (m.delenv("AWS_ACCESS_KEY_ID"), m.delenv("AWS_SECRET_ACCESS_KEY")),
            "*no AWS credentials*",
            id="no-credentials",
        ),
    ],
)
def test_an_update_that_cannot_read_aws_errors_and_writes_nothing(
    pytester: pytest.Pytester,
    recorded: FakeRds,
    monkeypatch: pytest.MonkeyPatch,
    arrange: object,
    expected: str,
) -> None:
    before = (pytester.path / BASELINE).read_bytes()
    add_suite(recorded, NEW_SUITE)
    arrange(recorded, monkeypatch)  # type: ignore[operator]

    result = update(pytester)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([expected, f"NOT WRITTEN {BASELINE}: nothing written:*"])
    assert (pytester.path / BASELINE).read_bytes() == before


def test_an_update_of_an_unknown_family_errors_and_creates_nothing(pytester: pytest.Pytester, aws_env: FakeRds) -> None:
    result = pytester.runpytest_subprocess("--update-cipher-baseline", "--aurora-engine-family", "aurora-postgresql99")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*InvalidParameterValue*aurora-postgresql99*"])
    assert not (pytester.path / "baselines").exists()


# -- pytest-xdist ----------------------------------------------------------------------------------

# Records every rename onto a .json file (os.replace raises the "os.rename" audit event) and
# which process made it: observation without patching anything.
_WRITE_LOG_CONFTEST = """
import json, os, sys

LOG = os.environ["DRIFT_WRITE_LOG"]

def _record(entry):
    with open(LOG, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\\n")

def _audit(event, args):
    if event == "os.rename" and str(args[1]).endswith(".json"):
        _record({"pid": os.getpid(), "renamed_to": str(args[1])})

sys.addaudithook(_audit)

def pytest_configure(config):
    role = "worker" if hasattr(config, "workerinput") else "controller"
    _record({"pid": os.getpid(), "role": role})
"""


def test_an_update_under_xdist_fetches_once_and_writes_each_file_once_from_the_controller(
    pytester: pytest.Pytester, pg11: FakeRds, monkeypatch: pytest.MonkeyPatch
) -> None:
    pg11.serve("aurora-mysql8.0", filler(130))  # two pages
    log = pytester.path / "writes.jsonl"
    monkeypatch.setenv("DRIFT_WRITE_LOG", str(log))
    pytester.makeconftest(_WRITE_LOG_CONFTEST)

    result = pytester.runpytest_subprocess(
        "-p",
        "xdist.plugin",
        "-n",
        "2",
        "--update-cipher-baseline",
        "--aurora-engine-family",
        FAMILY,
        "--aurora-engine-family",
        "aurora-mysql8.0",
    )

    result.assert_outcomes(passed=2)
    assert pg11.calls_for(FAMILY) == PG11_PAGES
    assert pg11.calls_for("aurora-mysql8.0") == 2
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    controller = {e["pid"] for e in entries if e.get("role") == "controller"}
    workers = {e["pid"] for e in entries if e.get("role") == "worker"}
    writes = [e for e in entries if "renamed_to" in e]
    assert len(controller) == 1
    assert len(workers) == 2
    assert sorted(Path(e["renamed_to"]).name for e in writes) == [
        "aurora-mysql8.0.json",
        f"{FAMILY}.json",
    ]
    assert {e["pid"] for e in writes} == controller


def test_a_check_under_xdist_fails_on_drift_with_one_fetch(pytester: pytest.Pytester, recorded: FakeRds) -> None:
    add_suite(recorded, NEW_SUITE)

    result = pytester.runpytest_subprocess("-p", "xdist.plugin", "-n", "2", "--aurora-engine-family", FAMILY)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([NEW_SUITE_LINE])
    assert recorded.calls_for(FAMILY) == PG11_PAGES
