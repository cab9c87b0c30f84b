"""The drift gate's rules, exactly: what counts as a change, the words a reviewer reads for each one,
and the strictness of baseline files and settings (issue 14). No sockets: defaults built in the
test, files under tmp_path. Messages are compared whole, because they are what a person reads
when the gate stops a promotion.
"""

from __future__ import annotations

import json
import locale
import os
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_aurora_guard.drift.baselines import (
    DEFAULT_TRACKED_PARAMETERS,
    FamilyDefaults,
    ParameterDefault,
    TrackedParameter,
    WriteOutcome,
    check_family_name,
    discover_baselines,
    load_baseline,
    parse_tracked_parameters,
    tracked_parameters_for,
    validate_family,
    write_baseline,
)
from pytest_aurora_guard.drift.gate import (
    Change,
    ChangeKind,
    DriftReport,
    FetchOutcome,
    GateSettings,
    Target,
    UpdateRecord,
    _not_shipped,
    _prefix,
    compare,
    render_missing,
    review_lines,
    targets_for,
    update_command,
)
from pytest_aurora_guard.errors import BaselineError, ConfigurationError, MissingBaselineError
from pytest_aurora_guard.tls.allowlist import CipherAllowlist
from tests.test_baselines import engine_parameter, pg_defaults
from tests.test_drift_compare import ALLOWLIST, TARGET, defaults, rendered

AES128 = "ECDHE-RSA-AES128-GCM-SHA256"  # in ALLOWLIST
AES256 = "ECDHE-RSA-AES256-GCM-SHA384"  # in ALLOWLIST
CHACHA = "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"  # outside it
TRIPLE_DES = "DES-CBC3-SHA"  # outside it
AES128_TEXT = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (OpenSSL ECDHE-RSA-AES128-GCM-SHA256, 0xC0,0x2F)"
AES256_TEXT = "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (OpenSSL ECDHE-RSA-AES256-GCM-SHA384, 0xC0,0x30)"
CHACHA_TEXT = "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 (OpenSSL ECDHE-RSA-CHACHA20-POLY1305, 0xCC,0xA8)"
TRIPLE_DES_TEXT = "TLS_RSA_WITH_3DES_EDE_CBC_SHA (OpenSSL DES-CBC3-SHA, 0x00,0x0A)"
OUTSIDE = "  NOT IN THE CIPHER ALLOWLIST"
HIGH_TEXT = (
    "HIGH (not a suite name this plugin knows, e.g. an OpenSSL keyword such as HIGH; "
    "it cannot be checked against the allowlist: review it by hand)"
)
HEAD = (
    "AWS changed the engine defaults of aurora-postgresql11 in us-east-1; they no longer match the "
    "baseline baselines/b.json:"
)
COMMAND_TEXT = "pytest --update-cipher-baseline --aws-region us-east-1 --aurora-engine-family aurora-postgresql11"
TAIL = (
    "",
    "A person must review these changes (and the cipher allowlist). Once accepted, record the new "
    "defaults and commit the baseline diff:",
    f"  {COMMAND_TEXT}",
)
SSL_CIPHERS_SUMMARY = (
    f"AllowedValues [{AES128}, {AES256}], ApplyMethod 'pending-reboot', ApplyType 'dynamic', DataType 'list', "
    "IsModifiable True, MinimumEngineVersion '11.8', Source 'engine-default', default value (ParameterValue) "
    "(no value)"
)


def drift_text(*lines: str) -> str:
    """The whole explanation: the heading, these lines, then the review request and the command."""
    return "\n".join((HEAD, *lines, *TAIL))


def with_fields(baseline: FamilyDefaults, name: str, **fields: Any) -> FamilyDefaults:
    """``baseline`` with these fields of parameter ``name`` changed, unchecked (from_json would check)."""
    return replace(baseline, parameters=tuple(
        replace(p, default=replace(p.default, **fields)) if p.name == name and p.default else p
        for p in baseline.parameters
    ))


def with_force_ssl(baseline: FamilyDefaults, **fields: Any) -> FamilyDefaults:
    """``baseline`` with these fields of rds.force_ssl (a parameter that is not a cipher list) changed."""
    return with_fields(baseline, "rds.force_ssl", **fields)


def without(baseline: FamilyDefaults, name: str) -> FamilyDefaults:
    """``baseline`` with the parameter ``name`` not returned by AWS (recorded as null)."""
    return replace(baseline, parameters=tuple(
        TrackedParameter(p.name, None) if p.name == name else p for p in baseline.parameters
    ))


def refusal(call: Callable[[], object]) -> str:
    """The message of the ConfigurationError ``call`` raises."""
    with pytest.raises(ConfigurationError) as raised:
        call()
    return str(raised.value)


def report_of(*changes: Change) -> DriftReport:
    return DriftReport(TARGET, changes)


# -- what counts as a change ---------------------------------------------------------------------


def test_identical_defaults_are_a_report_on_the_target_with_no_change() -> None:
    assert compare(defaults(), defaults()) == DriftReport(TARGET, ())


def test_a_lone_allowed_value_replaced_by_another_is_one_addition_and_one_removal() -> None:
    report = compare(defaults(allowed_values=(TRIPLE_DES,)), defaults(allowed_values=(AES128,)))

    assert report == DriftReport(TARGET, (
        Change("ssl_ciphers", ChangeKind.ALLOWED_ADDED, values=(AES128,)),
        Change("ssl_ciphers", ChangeKind.ALLOWED_REMOVED, values=(TRIPLE_DES,)),
    ))


def test_field_changes_are_listed_by_parameter_then_field_name() -> None:
    report = compare(defaults(value="a"), defaults(value="b", apply_type="static"))

    assert report.changes == (
        Change("rds.force_ssl", ChangeKind.FIELD_CHANGED, "apply_type", "dynamic", "static"),
        Change("ssl_ciphers", ChangeKind.FIELD_CHANGED, "apply_type", "dynamic", "static"),
        Change("ssl_ciphers", ChangeKind.FIELD_CHANGED, "value", "a", "b"),
    )


def test_a_parameter_aws_stops_returning_carries_what_it_was() -> None:
    baseline = defaults()

    report = compare(baseline, without(baseline, "ssl_ciphers"))

    assert report.changes == (
        Change("ssl_ciphers", ChangeKind.DISAPPEARED, old=baseline.parameters_json()["ssl_ciphers"]),
    )


def test_a_parameter_tracked_now_but_not_in_the_baseline_carries_what_aws_serves() -> None:
    current = defaults()

    report = compare(replace(current, parameters=current.parameters[:1]), current)

    assert report.changes == (
        Change("ssl_ciphers", ChangeKind.NEWLY_TRACKED, new=current.parameters_json()["ssl_ciphers"]),
    )


def test_a_parameter_in_the_baseline_but_no_longer_tracked_carries_what_was_recorded() -> None:
    baseline = defaults()

    report = compare(baseline, replace(baseline, parameters=baseline.parameters[:1]))

    assert report.changes == (
        Change("ssl_ciphers", ChangeKind.NO_LONGER_TRACKED, old=baseline.parameters_json()["ssl_ciphers"]),
    )


def test_a_repeated_allowed_value_dropped_is_still_drift_of_the_whole_file() -> None:
    baseline = defaults(allowed_values=(AES128, AES128, AES256))
    current = defaults()

    report = compare(baseline, current)

    assert report.changes == (
        Change("(file)", ChangeKind.OTHER, None, baseline.parameters_json(), current.parameters_json()),
    )
    assert rendered(report) == drift_text(
        "  the file as a whole: an AllowedValues entry is listed more than once on one side (the same values "
        "either way); the update rewrites the lists as AWS serves them",
    )


def test_a_difference_outside_the_schema_is_still_drift_and_names_where_it_is() -> None:
    # A value that is a list is not in the schema (from_json refuses it); if one reaches the
    # comparison anyway, each difference is reported with its path instead of being dropped.
    baseline = with_force_ssl(with_fields(defaults(), "ssl_ciphers", value=["a"]), value=["1"])
    current = with_force_ssl(with_fields(defaults(), "ssl_ciphers", value=["b"]), value=[None])

    report = compare(baseline, current)

    assert report.changes == (
        Change("rds.force_ssl", ChangeKind.OTHER, "['rds.force_ssl', 'value', 0]", "1", None),
        Change("ssl_ciphers", ChangeKind.OTHER, "['ssl_ciphers', 'value', 0]", "a", "b"),
    )
    assert rendered(report) == drift_text(
        "  rds.force_ssl: ['rds.force_ssl', 'value', 0] differs: '1' → (no value)",
        "  ssl_ciphers: ['ssl_ciphers', 'value', 0] differs: 'a' → 'b'",
    )


# -- the explanation -----------------------------------------------------------------------------


def test_the_update_command_is_exactly_the_pytest_invocation_for_the_target() -> None:
    assert update_command(TARGET) == COMMAND_TEXT


def test_suites_gained_are_listed_with_the_outsiders_called_out_once_more_before_the_command() -> None:
    current = defaults(allowed_values=(AES128, AES256, CHACHA, "HIGH", TRIPLE_DES))

    assert rendered(compare(defaults(), current)) == drift_text(
        "  ssl_ciphers: AllowedValues gained 3 cipher suites:",
        f"    + {TRIPLE_DES_TEXT}{OUTSIDE}",
        f"    + {HIGH_TEXT}",
        f"    + {CHACHA_TEXT}{OUTSIDE}",
        "",
        "Not in the cipher allowlist (test policy): TLS_RSA_WITH_3DES_EDE_CBC_SHA, HIGH, "
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256. Decide whether your policy accepts them before anything else.",
    )


def test_a_suite_lost_is_listed_but_never_called_an_outsider() -> None:
    baseline = defaults(allowed_values=(AES128, AES256, TRIPLE_DES))

    assert rendered(compare(baseline, defaults())) == drift_text(
        "  ssl_ciphers: AllowedValues lost 1 cipher suite:",
        f"    - {TRIPLE_DES_TEXT}",
    )


def test_values_gained_by_a_parameter_that_is_not_a_cipher_list_are_quoted_as_given() -> None:
    current = with_force_ssl(defaults(), allowed_values=("0", "1", "2", "3"))

    assert rendered(compare(defaults(), current)) == drift_text(
        "  rds.force_ssl: AllowedValues gained 2 values:",
        "    + '2'",
        "    + '3'",
    )


def test_a_value_lost_by_a_parameter_that_is_not_a_cipher_list_is_quoted_as_given() -> None:
    current = with_force_ssl(defaults(), allowed_values=("1",))

    assert rendered(compare(defaults(), current)) == drift_text(
        "  rds.force_ssl: AllowedValues lost 1 value:",
        "    - '0'",
    )


def test_a_new_default_cipher_list_shows_each_suite_enabled_and_disabled() -> None:
    baseline = defaults(value=f"{AES128},{TRIPLE_DES}")
    current = defaults(value=f"{AES128}, {CHACHA},HIGH")

    assert rendered(compare(baseline, current)) == drift_text(
        f"  ssl_ciphers: default value (ParameterValue) changed: '{AES128},{TRIPLE_DES}' → '{AES128}, {CHACHA},HIGH'",
        f"    + {HIGH_TEXT}",
        f"    + {CHACHA_TEXT}{OUTSIDE}",
        f"    - {TRIPLE_DES_TEXT}",
        "",
        "Not in the cipher allowlist (test policy): HIGH, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256. "
        "Decide whether your policy accepts them before anything else.",
    )


def test_a_metadata_change_of_a_cipher_list_lists_no_suites() -> None:
    current = with_force_ssl(defaults(apply_type="static"), apply_type="dynamic")

    assert rendered(compare(defaults(), current)) == drift_text(
        "  ssl_ciphers: ApplyType changed: 'dynamic' → 'static'",
    )


def test_allowed_values_appearing_where_there_were_none_are_shown_as_a_list() -> None:
    baseline = with_force_ssl(defaults(), allowed_values=None)

    assert rendered(compare(baseline, defaults())) == drift_text(
        "  rds.force_ssl: AllowedValues changed: (no value) → [0, 1]",
    )


def test_an_appearing_cipher_list_shows_every_suite_it_allows_or_enables() -> None:
    current = defaults(value=f"{AES128},{CHACHA}")

    report = compare(without(current, "ssl_ciphers"), current)

    assert rendered(report) == drift_text(
        "  ssl_ciphers: parameter appeared (AWS now returns it): "
        f"AllowedValues [{AES128}, {AES256}], ApplyMethod 'pending-reboot', ApplyType 'dynamic', DataType 'list', "
        "IsModifiable True, MinimumEngineVersion '11.8', Source 'engine-default', default value (ParameterValue) "
        f"'{AES128},{CHACHA}'",
        f"    + {AES128_TEXT}",
        f"    + {AES256_TEXT}",
        f"    + {CHACHA_TEXT}{OUTSIDE}",
        "",
        "Not in the cipher allowlist (test policy): TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256. "
        "Decide whether your policy accepts them before anything else.",
    )


def test_an_appearing_parameter_that_is_not_a_cipher_list_is_summarised_only() -> None:
    current = with_force_ssl(defaults(), allowed_values=())

    report = compare(without(current, "rds.force_ssl"), current)

    assert rendered(report) == drift_text(
        "  rds.force_ssl: parameter appeared (AWS now returns it): AllowedValues [] (empty), ApplyMethod "
        "'pending-reboot', ApplyType 'dynamic', DataType 'list', IsModifiable True, MinimumEngineVersion '11.8', "
        "Source 'engine-default', default value (ParameterValue) '0'",
    )


def test_a_disappearing_parameter_is_summarised_as_it_was() -> None:
    baseline = defaults()

    assert rendered(compare(baseline, without(baseline, "ssl_ciphers"))) == drift_text(
        f"  ssl_ciphers: parameter disappeared (AWS no longer returns it); it was {SSL_CIPHERS_SUMMARY}",
    )


def test_tracking_changes_say_which_side_lacks_the_parameter() -> None:
    baseline = defaults()
    fewer = replace(baseline, parameters=baseline.parameters[:1])

    assert rendered(compare(fewer, baseline)) == drift_text(
        "  ssl_ciphers: tracked now, but the baseline does not record it",
    )
    assert rendered(compare(baseline, fewer)) == drift_text(
        "  ssl_ciphers: recorded in the baseline, but no longer tracked",
    )


def test_a_tls13_suite_whose_openssl_name_is_its_iana_name_is_named_once() -> None:
    current = defaults(allowed_values=(AES128, AES256, "TLS_AES_128_GCM_SHA256"))

    assert rendered(compare(defaults(), current)) == drift_text(
        "  ssl_ciphers: AllowedValues gained 1 cipher suite:",
        f"    + TLS_AES_128_GCM_SHA256 (0x13,0x01){OUTSIDE}",
        "",
        "Not in the cipher allowlist (test policy): TLS_AES_128_GCM_SHA256. "
        "Decide whether your policy accepts them before anything else.",
    )


def test_fields_without_an_aws_name_are_shown_under_their_own_name_or_a_question_mark() -> None:
    report = report_of(
        Change("p", ChangeKind.FIELD_CHANGED, "description", "old words", "new words"),
        Change("q", ChangeKind.FIELD_CHANGED, None, 1, 2),
        Change("r", ChangeKind.APPEARED, new={"description": None, "value": "x"}),
        Change("s", ChangeKind.DISAPPEARED, old="not an object"),
    )

    assert rendered(report) == drift_text(
        "  p: description changed: 'old words' → 'new words'",
        "  q: ? changed: 1 → 2",
        "  r: parameter appeared (AWS now returns it): description (no value), default value (ParameterValue) 'x'",
        "  s: parameter disappeared (AWS no longer returns it); it was 'not an object'",
    )


def test_a_missing_baseline_says_the_gate_never_creates_one_and_how_to() -> None:
    text = render_missing(TARGET, Path("baselines/us-east-1/aurora-postgresql11.json"), COMMAND_TEXT)

    assert text == (
        "No baseline for aurora-postgresql11 in us-east-1: baselines/us-east-1/aurora-postgresql11.json does not "
        "exist. The drift gate never creates one on its own. Review AWS's current defaults, record them and "
        f"commit the file:\n  {COMMAND_TEXT}"
    )


# -- the review of an update ---------------------------------------------------------------------


def test_a_new_baseline_is_reviewed_for_the_suites_its_default_values_enable_outside_the_allowlist() -> None:
    current = defaults(value=f"{AES128},HIGH, {CHACHA},HIGH")

    assert review_lines(None, without(current, "rds.force_ssl"), ALLOWLIST) == (
        "  not in the cipher allowlist (test policy): HIGH, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    )


def test_a_new_baseline_ignores_values_of_parameters_that_are_not_cipher_lists() -> None:
    current = with_force_ssl(defaults(value=AES128), value="HIGH")

    assert review_lines(None, current, ALLOWLIST) == ()


def test_a_new_baseline_with_a_cipher_list_aws_did_not_return_has_nothing_to_review() -> None:
    assert review_lines(None, without(defaults(), "ssl_ciphers"), ALLOWLIST) == ()


def test_a_new_baseline_is_not_reviewed_for_outsiders_without_an_allowlist() -> None:
    assert review_lines(None, defaults(value=f"{AES128},HIGH"), None) == ()


@pytest.mark.parametrize(
    ("allowlist", "flagged"),
    [pytest.param(ALLOWLIST, OUTSIDE, id="allowlist"), pytest.param(None, "", id="no-allowlist")],
)
def test_an_updated_baseline_is_reviewed_in_the_drift_reports_words_flagging_only_against_an_allowlist(
    allowlist: CipherAllowlist | None, flagged: str
) -> None:
    baseline = defaults(value=AES128)
    current = defaults(value=f"{AES128},{CHACHA},{TRIPLE_DES},HIGH")
    outsiders = (
        "  not in the cipher allowlist (test policy): TLS_RSA_WITH_3DES_EDE_CBC_SHA, HIGH, "
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    )

    assert review_lines(baseline, current, allowlist) == (
        f"  ssl_ciphers: default value (ParameterValue) changed: '{AES128}' → '{AES128},{CHACHA},{TRIPLE_DES},HIGH'",
        f"    + {TRIPLE_DES_TEXT}{flagged}",
        f"    + {HIGH_TEXT}",
        f"    + {CHACHA_TEXT}{flagged}",
        *(outsiders if allowlist else ()),
    )


def test_an_unchanged_baseline_has_nothing_to_review() -> None:
    assert review_lines(defaults(value=CHACHA), defaults(value=CHACHA), ALLOWLIST) == ()


# -- which baselines, which parameters -----------------------------------------------------------


def test_the_targets_are_every_family_in_every_region_plus_every_committed_baseline_sorted_once() -> None:
    targets = targets_for(
        ["aurora-postgresql16", "aurora-mysql8.0"],
        ["us-west-2", "eu-west-1"],
        [("us-west-2", "aurora-mysql8.0"), ("ap-south-1", "aurora-postgresql11"), ("eu-west-1", "aurora-mysql5.7")],
    )

    assert targets == (
        Target("ap-south-1", "aurora-postgresql11"),
        Target("eu-west-1", "aurora-mysql5.7"),
        Target("eu-west-1", "aurora-mysql8.0"),
        Target("eu-west-1", "aurora-postgresql16"),
        Target("us-west-2", "aurora-mysql8.0"),
        Target("us-west-2", "aurora-postgresql16"),
    )


def test_the_longest_family_prefix_names_the_tracked_list_and_none_matching_is_empty() -> None:
    table = {"aurora-postgresql": ("a",), "aurora-postgresql1": ("b",), "aurora-mysql": ("c",)}

    assert _prefix("aurora-postgresql16", table) == "aurora-postgresql1"
    assert _prefix("aurora-postgresql9.6", table) == "aurora-postgresql"
    assert _prefix("docdb5.0", table) == ""


def test_a_worker_the_controller_shipped_nothing_to_says_why_it_does_not_call_aws() -> None:
    # What DriftGate answers on a pytest-xdist worker (reader=None) for a target it was not sent.
    assert _not_shipped(TARGET) == (
        "the pytest-xdist controller sent no engine defaults for us-east-1/aurora-postgresql11; this worker "
        "does not call AWS itself. Run without -n, or report this as a bug."
    )


def test_a_known_or_committed_family_or_a_new_major_of_a_tracked_prefix_is_accepted() -> None:
    for family in ("aurora5.6", "aurora-mysql8.0", "aurora-postgresql18", "aurora-mysql8.4"):
        assert check_family_name(family, DEFAULT_TRACKED_PARAMETERS) == family
    assert check_family_name("custom-family", DEFAULT_TRACKED_PARAMETERS, ["custom-family"]) == "custom-family"


def test_a_misspelt_family_is_refused_with_the_closest_known_name() -> None:
    assert refusal(lambda: check_family_name("aurora-postgres16", DEFAULT_TRACKED_PARAMETERS)) == (
        "'aurora-postgres16' is not a DB parameter group family AWS or the committed baselines know; "
        "did you mean aurora-postgresql16?"
    )


def test_a_misspelt_family_may_be_closest_to_a_committed_baseline() -> None:
    assert refusal(lambda: check_family_name("custom-familie", DEFAULT_TRACKED_PARAMETERS, ["custom-family"])) == (
        "'custom-familie' is not a DB parameter group family AWS or the committed baselines know; "
        "did you mean custom-family?"
    )


def test_a_tracked_prefix_with_a_version_that_is_not_a_number_is_refused() -> None:
    for family in ("aurora-postgresql18beta", "aurora-mysql8.0.1", "aurora-mysql-8.0"):
        with pytest.raises(ConfigurationError):
            check_family_name(family, DEFAULT_TRACKED_PARAMETERS)


def test_a_family_no_tracked_list_applies_to_names_the_prefixes_and_the_families() -> None:
    assert refusal(lambda: tracked_parameters_for("docdb5.0", DEFAULT_TRACKED_PARAMETERS)) == (
        "no tracked-parameter list applies to family 'docdb5.0' (known prefixes: aurora-mysql, aurora-postgresql; "
        "families: aurora-mysql5.7, aurora-mysql8.0, aurora-postgresql10, aurora-postgresql11, aurora-postgresql12, "
        "aurora-postgresql13, aurora-postgresql14, aurora-postgresql15, aurora-postgresql16, aurora-postgresql17, "
        "aurora5.6); add a line '<prefix>: <parameter>, ...' to the ini key aurora_tracked_parameters"
    )


def test_a_misspelt_family_no_tracked_list_applies_to_gets_a_did_you_mean() -> None:
    assert refusal(lambda: tracked_parameters_for("aurora-postgres16", DEFAULT_TRACKED_PARAMETERS)) == (
        "no tracked-parameter list applies to family 'aurora-postgres16' (known prefixes: aurora-mysql, "
        "aurora-postgresql; did you mean aurora-postgresql16?); add a line '<prefix>: <parameter>, ...' to the "
        "ini key aurora_tracked_parameters"
    )


def test_tracked_parameter_lines_skip_blank_lines_and_split_names_on_commas() -> None:
    table = parse_tracked_parameters(["", "aurora-mysql: tls_version,ssl_cipher", "  ", "docdb: a"], "ini")

    assert table == {**DEFAULT_TRACKED_PARAMETERS, "aurora-mysql": ("tls_version", "ssl_cipher"), "docdb": ("a",)}


def test_the_first_colon_of_a_tracked_parameters_line_ends_the_prefix() -> None:
    assert parse_tracked_parameters(["docdb: a:b"], "ini")["docdb"] == ("a:b",)


@pytest.mark.parametrize("line", [": ssl_ciphers", "aurora-postgresql:", "aurora-postgresql ssl_ciphers"])
def test_a_tracked_parameters_line_needs_a_prefix_a_colon_and_a_name(line: str) -> None:
    assert refusal(lambda: parse_tracked_parameters([line], "ini key aurora_tracked_parameters")) == (
        f"ini key aurora_tracked_parameters: {line!r} is not '<family prefix>: <parameter>, <parameter>' "
        "(e.g. 'aurora-postgresql: ssl_ciphers, rds.force_ssl')"
    )


def test_a_family_name_that_is_not_a_file_name_aws_uses_is_refused_with_examples() -> None:
    assert refusal(lambda: validate_family("Aurora_PostgreSQL")) == (
        "'Aurora_PostgreSQL' is not a DB parameter group family name (expected something like "
        "aurora-postgresql16 or aurora-mysql8.0)"
    )


# -- what AWS sent, as a baseline records it -----------------------------------------------------


def test_every_field_aws_sent_is_recorded_except_the_description() -> None:
    parameter = engine_parameter(
        "ssl_ciphers", value="v", allowed_values="b, a", source="system", apply_type="static", data_type="list",
        is_modifiable=False, apply_method="immediate", minimum_engine_version="11.9",
    )

    assert ParameterDefault.from_engine_parameter(parameter) == ParameterDefault(
        value="v", allowed_values=("a", "b"), source="system", apply_type="static", data_type="list",
        is_modifiable=False, apply_method="immediate", minimum_engine_version="11.9",
    )


def test_untracked_parameters_are_skipped_wherever_they_come_in_the_answer() -> None:
    fetched = [engine_parameter("unrelated"), engine_parameter("rds.force_ssl", value="1")]

    defaults_ = FamilyDefaults.from_engine_parameters("us-east-1", "aurora-postgresql11", fetched, ["rds.force_ssl"])

    assert defaults_.parameters == (
        TrackedParameter("rds.force_ssl", ParameterDefault.from_engine_parameter(fetched[1])),
    )


def test_a_parameter_returned_twice_alike_is_recorded_once() -> None:
    twice = [engine_parameter("rds.force_ssl", value="1")] * 2

    defaults_ = FamilyDefaults.from_engine_parameters("us-east-1", "aurora-postgresql11", twice, ["rds.force_ssl"])

    assert defaults_.parameters == (
        TrackedParameter("rds.force_ssl", ParameterDefault.from_engine_parameter(twice[0])),
    )


def test_a_parameter_returned_twice_with_different_contents_is_refused() -> None:
    twice = [engine_parameter("rds.force_ssl", value="1"), engine_parameter("rds.force_ssl", value="0")]

    with pytest.raises(BaselineError) as raised:
        FamilyDefaults.from_engine_parameters("us-east-1", "aurora-postgresql11", twice, ["rds.force_ssl"])

    assert str(raised.value) == (
        "RDS returned tracked parameter 'rds.force_ssl' of aurora-postgresql11 in us-east-1 twice with different "
        "contents; refusing to pick one. Rerun; if it persists, compare with "
        "`aws rds describe-engine-default-cluster-parameters`."
    )


def test_text_that_is_not_ascii_is_written_as_itself() -> None:
    assert '"value": "café"' in pg_defaults(value="café").render()


# -- reading baseline files ----------------------------------------------------------------------


def baseline_file(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "us-east-1" / "aurora-postgresql11.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(BaselineError) as raised:
        load_baseline(path, "us-east-1", "aurora-postgresql11")
    return str(raised.value)


def test_a_missing_baseline_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "us-east-1" / "aurora-postgresql11.json"

    with pytest.raises(MissingBaselineError) as raised:
        load_baseline(path, "us-east-1", "aurora-postgresql11")

    assert str(raised.value) == f"no baseline file at {path}"


def test_a_baseline_that_is_not_utf8_cannot_be_read(tmp_path: Path) -> None:
    path = baseline_file(tmp_path, b"\xff{}")

    assert load_error(path) == (
        f"cannot read baseline {path}: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
    )


def test_corrupt_json_says_where_and_how_to_recover(tmp_path: Path) -> None:
    path = baseline_file(tmp_path, '{"schema_version": 1,\n  "family": }\n')

    assert load_error(path) == (
        f"baseline {path} is not valid JSON (line 2, column 13: Expecting value); restore it from git or "
        "regenerate it with `pytest --update-cipher-baseline`"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("[]", "expected a JSON object at the top, found list", id="not-an-object"),
        pytest.param(
            '{"schema_version": "1"}',
            "schema_version is '1', this plugin reads 1; regenerate the file with `pytest --update-cipher-baseline`",
            id="schema-version",
        ),
        pytest.param(
            '{"schema_version": 1, "region": "us-east-1", "family": 11, "parameters": {"p": null}}',
            "region and family must be strings",
            id="family-not-a-string",
        ),
        pytest.param(
            '{"schema_version": 1, "region": ["us-east-1"], "family": "aurora-postgresql11", '
            '"parameters": {"p": null}}',
            "region and family must be strings",
            id="region-not-a-string",
        ),
        pytest.param(
            '{"schema_version": 1, "region": "us-east-1", "family": "aurora-postgresql11", "parameters": []}',
            "parameters must be a non-empty object",
            id="parameters-not-an-object",
        ),
    ],
)
def test_a_baseline_outside_the_schema_is_refused_saying_what_is_wrong(tmp_path: Path, text: str, problem: str) -> None:
    path = baseline_file(tmp_path, text)

    assert load_error(path) == f"baseline {path}: {problem}"


def test_allowed_values_that_are_not_strings_are_refused(tmp_path: Path) -> None:
    data = pg_defaults(allowed_values="a").to_json()
    data["parameters"]["ssl_ciphers"]["allowed_values"] = ["a", 1]
    path = baseline_file(tmp_path, json.dumps(data))

    assert load_error(path) == f"baseline {path}: parameter 'ssl_ciphers': allowed_values must be a list of strings"


def test_every_recorded_field_is_read_back(tmp_path: Path) -> None:
    defaults_ = FamilyDefaults.from_engine_parameters("us-east-1", "aurora-postgresql11", [engine_parameter(
        "ssl_ciphers", value="v", allowed_values="a", source="system", apply_type="static", data_type="list",
        is_modifiable=False, apply_method="immediate", minimum_engine_version="11.9",
    )], ["ssl_ciphers"])
    path = baseline_file(tmp_path, defaults_.render())

    assert load_baseline(path, "us-east-1", "aurora-postgresql11") == defaults_


# -- finding baseline files ----------------------------------------------------------------------


def touch(root: Path, *relatives: str) -> None:
    for relative in relatives:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text("{}", encoding="utf-8")


def test_hidden_json_files_and_folders_are_skipped_not_refused(tmp_path: Path) -> None:
    touch(tmp_path, ".aurora-postgresql11.json", ".git/x/y.json", "us-east-1/.aurora-postgresql11.json",
          "us-east-1/aurora-postgresql11.json")

    assert discover_baselines(tmp_path) == [("us-east-1", "aurora-postgresql11")]


def test_every_misplaced_baseline_is_named_in_one_error(tmp_path: Path) -> None:
    touch(tmp_path, "aurora-postgresql11.json", "us-east-1/aurora-postgresql11.json",
          "us-east-1/old/aurora-postgresql11.json", "useast1/aurora-mysql8.0.json")

    assert refusal(lambda: discover_baselines(tmp_path)) == (
        f"baseline files the drift gate would not check (move them to <region>/<family>.json, or out of {tmp_path}):\n"
        f"  {tmp_path}/aurora-postgresql11.json: expected {tmp_path}/<region>/<family>.json, found it directly in "
        "the baseline directory\n"
        f"  {tmp_path}/us-east-1/old/aurora-postgresql11.json: expected {tmp_path}/<region>/<family>.json, found it "
        "nested deeper\n"
        f"  {tmp_path}/useast1/aurora-mysql8.0.json: not at <region>/<family>.json: 'useast1' is not an AWS region "
        "name (expected something like us-east-1)"
    )


# -- writing baseline files ----------------------------------------------------------------------


def watch(monkeypatch: pytest.MonkeyPatch, name: str, seen: Callable[..., object]) -> None:
    """``os.<name>`` still does its work, after showing its arguments to ``seen``."""
    real = getattr(os, name)

    def watched(*args: Any) -> Any:
        seen(*args)
        return real(*args)

    monkeypatch.setattr(os, name, watched)


def test_a_baseline_is_written_into_folders_that_do_not_exist_yet(tmp_path: Path) -> None:
    path = tmp_path / "team" / "baselines" / "us-east-1" / "aurora-postgresql11.json"

    write_baseline(path, pg_defaults())

    assert load_baseline(path, "us-east-1", "aurora-postgresql11") == pg_defaults()


def test_an_updated_baseline_keeps_the_permissions_it_had(tmp_path: Path) -> None:
    path = tmp_path / "us-east-1" / "aurora-postgresql11.json"
    write_baseline(path, pg_defaults())
    path.chmod(0o640)

    write_baseline(path, pg_defaults(value="changed"))

    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_the_new_content_goes_to_a_hidden_temporary_file_next_to_the_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "us-east-1" / "aurora-postgresql11.json"
    renamed: list[Path] = []
    watch(monkeypatch, "replace", lambda src, dst: renamed.append(Path(src)))

    write_baseline(path, pg_defaults())
    monkeypatch.undo()

    [temporary] = renamed
    assert temporary.parent == path.parent
    assert temporary.name.startswith(".aurora-postgresql11.json.")
    assert temporary.name.endswith(".tmp")


def test_an_interrupt_just_after_the_rename_leaves_the_new_file_and_is_not_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "us-east-1" / "aurora-postgresql11.json"
    real_replace = os.replace

    def replaced_then_interrupted(src: Any, dst: Any) -> None:
        real_replace(src, dst)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", replaced_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_baseline(path, pg_defaults())
    monkeypatch.undo()

    assert path.read_text(encoding="utf-8") == pg_defaults().render()


@pytest.fixture
def ascii_locale() -> Iterator[None]:
    """The process's text encoding is ASCII, as on a runner with LANG=C and no UTF-8 coercion."""
    previous = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, previous)


@pytest.mark.usefixtures("ascii_locale")
def test_a_baseline_is_written_and_read_as_utf8_whatever_the_locale(tmp_path: Path) -> None:
    path = tmp_path / "us-east-1" / "aurora-postgresql11.json"

    write_baseline(path, pg_defaults(value="café"))

    assert load_baseline(path, "us-east-1", "aurora-postgresql11") == pg_defaults(value="café")


def test_the_rename_is_made_durable_by_syncing_the_file_then_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "us-east-1" / "aurora-postgresql11.json"
    synced: list[str] = []
    watch(monkeypatch, "fsync", lambda fd: synced.append("directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"))

    write_baseline(path, pg_defaults())
    monkeypatch.undo()

    assert synced == ["file", "directory"]


# -- what the pytest-xdist controller ships to its workers ---------------------------------------


def test_a_fetch_outcome_crosses_to_a_worker_unchanged() -> None:
    outcome = FetchOutcome(TARGET, pg_defaults(), pages=3, unreturned=("ssl_max_protocol_version",))

    wire = outcome.to_wire()

    assert wire == {
        "region": "us-east-1",
        "family": "aurora-postgresql11",
        "defaults": pg_defaults().to_json(),
        "pages": 3,
        "error": None,
        "unreturned": ["ssl_max_protocol_version"],
    }
    assert FetchOutcome.from_wire(json.loads(json.dumps(wire))) == outcome


def test_a_failed_fetch_crosses_to_a_worker_with_its_error() -> None:
    outcome = FetchOutcome(TARGET, error="AWS said no")

    wire = outcome.to_wire()

    assert wire == {"region": "us-east-1", "family": "aurora-postgresql11", "defaults": None, "pages": 0,
                    "error": "AWS said no", "unreturned": []}
    assert FetchOutcome.from_wire(json.loads(json.dumps(wire))) == outcome


def test_defaults_a_worker_cannot_read_are_refused_naming_the_target() -> None:
    wire = {**FetchOutcome(TARGET).to_wire(), "defaults": []}

    with pytest.raises(BaselineError) as raised:
        FetchOutcome.from_wire(wire)

    assert str(raised.value) == "us-east-1/aurora-postgresql11: expected a JSON object at the top, found list"


def test_an_update_record_crosses_to_a_worker_unchanged() -> None:
    record = UpdateRecord(TARGET, Path("baselines/us-east-1/aurora-postgresql11.json"), WriteOutcome.UPDATED,
                          review=("  ssl_ciphers: tracked now, but the baseline does not record it",))

    wire = record.to_wire()

    assert wire == {
        "region": "us-east-1",
        "family": "aurora-postgresql11",
        "path": "baselines/us-east-1/aurora-postgresql11.json",
        "outcome": "updated",
        "error": None,
        "review": ["  ssl_ciphers: tracked now, but the baseline does not record it"],
    }
    assert UpdateRecord.from_wire(json.loads(json.dumps(wire))) == record
    assert record.changed


def test_a_failed_update_crosses_to_a_worker_with_its_error() -> None:
    record = UpdateRecord(TARGET, Path("b.json"), error="nothing written: AWS said no")

    wire = record.to_wire()

    assert wire == {"region": "us-east-1", "family": "aurora-postgresql11", "path": "b.json", "outcome": None,
                    "error": "nothing written: AWS said no", "review": []}
    assert UpdateRecord.from_wire(json.loads(json.dumps(wire))) == record
    assert not record.changed


# -- the run's settings --------------------------------------------------------------------------


def test_the_settings_name_the_baseline_file_and_the_update_command_with_their_options(tmp_path: Path) -> None:
    settings = GateSettings((TARGET,), tmp_path, update=False, tracked=DEFAULT_TRACKED_PARAMETERS,
                            command_options=("--cipher-baseline-dir", "my baselines"))

    assert settings.baseline_file(TARGET) == tmp_path / "us-east-1" / "aurora-postgresql11.json"
    assert settings.update_command(TARGET) == f"{COMMAND_TEXT} --cipher-baseline-dir 'my baselines'"


def test_aws_is_asked_only_for_an_update_or_a_baseline_that_exists(tmp_path: Path) -> None:
    check = GateSettings((TARGET,), tmp_path, update=False, tracked=DEFAULT_TRACKED_PARAMETERS)
    update = replace(check, update=True)

    assert (check.needs_fetch(TARGET), update.needs_fetch(TARGET)) == (False, True)
    write_baseline(check.baseline_file(TARGET), pg_defaults())
    assert (check.needs_fetch(TARGET), update.needs_fetch(TARGET)) == (True, True)
