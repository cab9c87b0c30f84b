"""Comparing AWS's current defaults with a baseline, and saying what changed in plain words."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pytest_aurora_guard.drift.baselines import FamilyDefaults, TrackedParameter
from pytest_aurora_guard.drift.gate import (
    ChangeKind,
    DriftReport,
    Target,
    compare,
    render_drift,
    update_command,
)
from pytest_aurora_guard.tls.allowlist import CipherAllowlist, parse_allowlist

ALLOWLIST: CipherAllowlist = parse_allowlist(
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "test policy"
)
TARGET = Target("us-east-1", "aurora-postgresql11")
COMMAND = update_command(TARGET)


def defaults(**ssl_ciphers: object) -> FamilyDefaults:
    fields: dict[str, object] = {
        "value": None,
        "allowed_values": ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384"),
        "source": "engine-default",
        "apply_type": "dynamic",
        "data_type": "list",
        "is_modifiable": True,
        "apply_method": "pending-reboot",
        "minimum_engine_version": "11.8",
    }
    fields.update(ssl_ciphers)
    data = {
        "schema_version": 1,
        "region": TARGET.region,
        "family": TARGET.family,
        "parameters": {
            "ssl_ciphers": {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()},
            "rds.force_ssl": {**fields, "allowed_values": ["0", "1"], "value": "0"},
        },
    }
    return FamilyDefaults.from_json(data, "test")


def rendered(report: DriftReport) -> str:
    return render_drift(report, baseline_file=Path("baselines/b.json"), allowlist=ALLOWLIST, command=COMMAND)


def test_identical_defaults_are_no_drift() -> None:
    assert not compare(defaults(), defaults()).drifted


def test_a_suite_added_to_the_allowed_values_is_named_with_both_names_and_its_code() -> None:
    current = defaults(
        allowed_values=(
            "ECDHE-RSA-AES128-GCM-SHA256",
            "ECDHE-RSA-AES256-GCM-SHA384",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        )
    )

    report = compare(defaults(), current)

    assert [(c.parameter, c.kind, c.values) for c in report.changes] == [
        (
            "ssl_ciphers",
            ChangeKind.ALLOWED_ADDED,
            ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",),
        )
    ]
    text = rendered(report)
    assert "ssl_ciphers: AllowedValues gained 1 cipher suite:" in text
    assert (
        "+ TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 (OpenSSL ECDHE-RSA-CHACHA20-POLY1305, "
        "0xCC,0xA8)  NOT IN THE CIPHER ALLOWLIST"
    ) in text
    assert "Not in the cipher allowlist (test policy): TLS_ECDHE_RSA_WITH_CHACHA20" in text


def test_an_added_suite_the_allowlist_accepts_is_not_called_out() -> None:
    baseline = defaults(allowed_values=("ECDHE-RSA-AES256-GCM-SHA384",))

    text = rendered(compare(baseline, defaults()))

    assert "+ TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (OpenSSL ECDHE-RSA-AES128-GCM-SHA256" in text
    assert "NOT IN" not in text
    assert "Not in the cipher allowlist" not in text


def test_a_suite_removed_from_the_allowed_values_is_named() -> None:
    baseline = defaults(
        allowed_values=(
            "DES-CBC3-SHA",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "ECDHE-RSA-AES256-GCM-SHA384",
        )
    )

    report = compare(baseline, defaults())

    assert [(c.kind, c.values) for c in report.changes] == [(ChangeKind.ALLOWED_REMOVED, ("DES-CBC3-SHA",))]
    assert "- TLS_RSA_WITH_3DES_EDE_CBC_SHA (OpenSSL DES-CBC3-SHA, 0x00,0x0A)" in rendered(report)


def test_a_replaced_suite_is_one_removal_and_one_addition() -> None:
    baseline = defaults(allowed_values=("ECDHE-RSA-AES128-GCM-SHA256", "DES-CBC3-SHA"))

    kinds = {(c.kind, c.values) for c in compare(baseline, defaults()).changes}

    assert kinds == {
        (ChangeKind.ALLOWED_REMOVED, ("DES-CBC3-SHA",)),
        (ChangeKind.ALLOWED_ADDED, ("ECDHE-RSA-AES256-GCM-SHA384",)),
    }


def test_a_keyword_that_is_not_a_suite_is_shown_as_given_and_flagged_for_review() -> None:
    current = defaults(allowed_values=("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "HIGH"))

    text = rendered(compare(defaults(), current))

    assert "+ HIGH (not a suite name this plugin knows" in text
    assert "Not in the cipher allowlist (test policy): HIGH" in text


def test_a_default_value_change_shows_old_and_new() -> None:
    baseline = defaults()
    current = replace(
        baseline,
        parameters=tuple(
            replace(p, default=replace(p.default, value="1")) if p.name == "rds.force_ssl" and p.default else p
            for p in baseline.parameters
        ),
    )

    text = rendered(compare(baseline, current))

    assert "rds.force_ssl: default value (ParameterValue) changed: '0' → '1'" in text


def test_a_default_value_appearing_is_a_change_from_no_value() -> None:
    text = rendered(compare(defaults(), defaults(value="ECDHE-RSA-AES128-GCM-SHA256")))

    assert ("ssl_ciphers: default value (ParameterValue) changed: (no value) → 'ECDHE-RSA-AES128-GCM-SHA256'") in text
    assert "+ TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" in text


def test_metadata_changes_are_reported_with_aws_field_names() -> None:
    text = rendered(compare(defaults(), defaults(apply_type="static", is_modifiable=False)))

    assert "ssl_ciphers: ApplyType changed: 'dynamic' → 'static'" in text
    assert "ssl_ciphers: IsModifiable changed: True → False" in text


def test_a_parameter_that_appears_or_disappears_is_said_so() -> None:
    baseline = defaults()
    gone = replace(
        baseline,
        parameters=tuple(TrackedParameter(p.name, None) if p.name == "ssl_ciphers" else p for p in baseline.parameters),
    )

    disappeared = rendered(compare(baseline, gone))
    appeared = rendered(compare(gone, baseline))

    assert "ssl_ciphers: parameter disappeared (AWS no longer returns it)" in disappeared
    assert "ssl_ciphers: parameter appeared (AWS now returns it)" in appeared
    assert "+ TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" in appeared


def test_a_parameter_tracked_now_but_not_in_the_baseline_is_drift() -> None:
    baseline = defaults()
    fewer = replace(baseline, parameters=baseline.parameters[:1])

    report = compare(fewer, baseline)

    assert [c.kind for c in report.changes] == [ChangeKind.NEWLY_TRACKED]


def test_the_explanation_ends_with_the_exact_update_command() -> None:
    text = rendered(compare(defaults(), defaults(source="system")))

    assert text.endswith(
        "\n  pytest --update-cipher-baseline --aws-region us-east-1 --aurora-engine-family aurora-postgresql11"
    )


def test_the_update_command_quotes_what_a_shell_would_split() -> None:
    command = update_command(TARGET, ("--cipher-baseline-dir", "my baselines"))

    assert command.endswith("--cipher-baseline-dir 'my baselines'")
