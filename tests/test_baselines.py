"""Baseline files: deterministic bytes, strict reading, atomic writing."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from pytest_aurora_guard.aws.engine_defaults import EngineParameter
from pytest_aurora_guard.drift.baselines import (
    DEFAULT_TRACKED_PARAMETERS,
    SCHEMA_VERSION,
    FamilyDefaults,
    WriteOutcome,
    baseline_path,
    discover_baselines,
    load_baseline,
    parse_tracked_parameters,
    tracked_parameters_for,
    write_baseline,
)
from pytest_aurora_guard.errors import BaselineError, ConfigurationError, MissingBaselineError

TRACKED = DEFAULT_TRACKED_PARAMETERS["aurora-postgresql"]


def engine_parameter(name: str, **fields: object) -> EngineParameter:
    values: dict[str, object] = {
        "value": None,
        "allowed_values": None,
        "source": "engine-default",
        "apply_type": "dynamic",
        "data_type": "string",
        "is_modifiable": True,
        "apply_method": "pending-reboot",
        "minimum_engine_version": None,
        "description": f"{name} described",
    }
    values.update(fields)
    return EngineParameter(name=name, **values)  # type: ignore[arg-type]


def pg_defaults(**ssl_ciphers_fields: object) -> FamilyDefaults:
    fetched = [
        engine_parameter("ssl_ciphers", data_type="list", **ssl_ciphers_fields),
        engine_parameter("rds.force_ssl", value="0", allowed_values="0,1"),
        engine_parameter("ssl_min_protocol_version", value="TLSv1.2"),
        engine_parameter("unrelated", value="1"),
    ]
    return FamilyDefaults.from_engine_parameters("us-east-1", "aurora-postgresql11", fetched, TRACKED)


def test_the_file_is_sorted_indented_newline_terminated_and_versioned() -> None:
    text = pg_defaults(allowed_values="B,A").render()

    data = json.loads(text)
    assert text.endswith("}\n")
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"
    assert data["schema_version"] == SCHEMA_VERSION
    assert list(data["parameters"]) == sorted(TRACKED)


def test_nothing_volatile_or_untracked_is_recorded() -> None:
    text = pg_defaults().render()

    assert "described" not in text  # AWS rewords descriptions
    assert "unrelated" not in text


def test_allowed_values_are_recorded_as_a_sorted_list() -> None:
    data = json.loads(pg_defaults(allowed_values="ZED, alpha ,Beta").render())

    assert data["parameters"]["ssl_ciphers"]["allowed_values"] == ["Beta", "ZED", "alpha"]


def test_an_absent_value_is_null_and_an_empty_value_is_an_empty_string() -> None:
    absent = json.loads(pg_defaults().render())["parameters"]["ssl_ciphers"]["value"]
    empty = json.loads(pg_defaults(value="").render())["parameters"]["ssl_ciphers"]["value"]

    assert absent is None
    assert empty == ""


def test_a_tracked_parameter_aws_does_not_return_is_recorded_as_null() -> None:
    data = json.loads(pg_defaults().render())

    assert data["parameters"]["ssl_max_protocol_version"] is None


def test_writing_then_loading_gives_back_the_same_defaults(tmp_path: Path) -> None:
    defaults = pg_defaults(allowed_values="ECDHE-RSA-AES128-SHA,HIGH")
    path = baseline_path(tmp_path, "us-east-1", "aurora-postgresql11")

    write_baseline(path, defaults)

    assert path == tmp_path / "us-east-1" / "aurora-postgresql11.json"
    assert load_baseline(path, "us-east-1", "aurora-postgresql11") == defaults


def test_writes_report_created_then_unchanged_then_updated(tmp_path: Path) -> None:
    path = baseline_path(tmp_path, "us-east-1", "aurora-postgresql11")

    first = write_baseline(path, pg_defaults())
    second = write_baseline(path, pg_defaults())
    third = write_baseline(path, pg_defaults(allowed_values="TLS_AES_128_GCM_SHA256"))

    assert (first, second, third) == (
        WriteOutcome.CREATED,
        WriteOutcome.UNCHANGED,
        WriteOutcome.UPDATED,
    )


def test_an_unchanged_baseline_is_not_rewritten(tmp_path: Path) -> None:
    path = baseline_path(tmp_path, "us-east-1", "aurora-postgresql11")
    write_baseline(path, pg_defaults())
    os.utime(path, (1_000_000, 1_000_000))

    write_baseline(path, pg_defaults())

    assert path.stat().st_mtime == 1_000_000


def test_a_new_baseline_gets_ordinary_file_permissions_not_the_temp_files_0600(
    tmp_path: Path,
) -> None:
    path = baseline_path(tmp_path, "us-east-1", "aurora-postgresql11")
    umask = os.umask(0o022)
    try:
        write_baseline(path, pg_defaults())
    finally:
        os.umask(umask)

    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_an_update_interrupted_before_the_rename_leaves_the_old_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = baseline_path(tmp_path, "us-east-1", "aurora-postgresql11")
    write_baseline(path, pg_defaults())
    old = path.read_bytes()

    def interrupted(src: object, dst: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C (or a kill) between the temp file and the rename

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_baseline(path, pg_defaults(allowed_values="TLS_AES_128_GCM_SHA256"))
    monkeypatch.undo()

    assert path.read_bytes() == old
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp file left


def test_a_missing_baseline_is_its_own_error(tmp_path: Path) -> None:
    with pytest.raises(MissingBaselineError):
        load_baseline(tmp_path / "us-east-1" / "x.json", "us-east-1", "x")


def test_corrupt_json_names_the_file_and_the_position(tmp_path: Path) -> None:
    path = tmp_path / "us-east-1" / "aurora-postgresql11.json"
    path.parent.mkdir()
    path.write_text('{"schema_version": 1,\n  "family": }\n', encoding="utf-8")

    with pytest.raises(BaselineError) as raised:
        load_baseline(path, "us-east-1", "aurora-postgresql11")

    assert type(raised.value) is BaselineError  # a file that is there, not MissingBaselineError
    assert str(path) in str(raised.value)
    assert "line 2" in str(raised.value)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(lambda d: d.update(schema_version=2), "schema_version is 2", id="schema"),
        pytest.param(lambda d: d.update(extra=1), "top-level keys", id="extra-key"),
        pytest.param(lambda d: d.update(family="aurora-mysql8.0"), "its path says", id="moved"),
        pytest.param(lambda d: d.update(parameters={}), "non-empty", id="no-parameters"),
        pytest.param(
            lambda d: d["parameters"]["rds.force_ssl"].update(is_modifiable="yes"),
            "is_modifiable must be bool",
            id="field-type",
        ),
        pytest.param(
            lambda d: d["parameters"]["rds.force_ssl"].pop("source"),
            "exactly the keys",
            id="missing-field",
        ),
    ],
)
def test_a_baseline_not_in_the_schema_is_refused_naming_the_file(tmp_path: Path, mutate: object, expected: str) -> None:
    path = baseline_path(tmp_path, "us-east-1", "aurora-postgresql11")
    data = pg_defaults().to_json()
    mutate(data)  # type: ignore[operator]
    path.parent.mkdir()
    path.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(BaselineError) as raised:
        load_baseline(path, "us-east-1", "aurora-postgresql11")

    assert type(raised.value) is BaselineError  # a file that is there, not MissingBaselineError
    assert str(path) in str(raised.value)
    assert expected in str(raised.value)


def test_discovery_finds_region_family_pairs_and_skips_hidden_temp_files(tmp_path: Path) -> None:
    for relative in (
        "us-east-1/aurora-postgresql11.json",
        "us-east-1/.aurora-postgresql11.json.abc.tmp",
        "eu-west-1/aurora-mysql8.0.json",
        "README.md",
    ):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("{}", encoding="utf-8")

    assert discover_baselines(tmp_path) == [
        ("eu-west-1", "aurora-mysql8.0"),
        ("us-east-1", "aurora-postgresql11"),
    ]


def test_a_baseline_in_a_directory_that_is_not_a_region_is_an_error_not_skipped(
    tmp_path: Path,
) -> None:
    (tmp_path / "useast1").mkdir()
    (tmp_path / "useast1" / "aurora-postgresql11.json").write_text("{}", encoding="utf-8")

    with pytest.raises(ConfigurationError, match="useast1"):
        discover_baselines(tmp_path)


def test_no_baseline_directory_means_no_baselines(tmp_path: Path) -> None:
    assert discover_baselines(tmp_path / "absent") == []


def test_region_and_family_names_cannot_escape_the_baseline_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"'\.\./etc' is not an AWS region name"):
        baseline_path(tmp_path, "../etc", "aurora-postgresql11")
    with pytest.raises(ConfigurationError, match=r"'\.\./\.\./x' is not a DB parameter group family name"):
        baseline_path(tmp_path, "us-east-1", "../../x")


def test_the_longest_family_prefix_chooses_the_tracked_parameters() -> None:
    table = parse_tracked_parameters(["aurora-postgresql1: ssl", "aurora-mysql: tls_version"], "ini")

    assert tracked_parameters_for("aurora-postgresql16", table) == ("ssl",)
    assert tracked_parameters_for("aurora-postgresql9.6", table) == TRACKED
    assert tracked_parameters_for("aurora-mysql8.0", table) == ("tls_version",)


def test_a_family_no_tracked_list_applies_to_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="aurora_tracked_parameters"):
        tracked_parameters_for("docdb5.0", DEFAULT_TRACKED_PARAMETERS)


def test_a_malformed_tracked_parameters_line_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="<family prefix>"):
        parse_tracked_parameters(["aurora-postgresql ssl_ciphers"], "ini key x")
