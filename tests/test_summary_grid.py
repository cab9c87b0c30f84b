"""The closing summary as a grid (issue 13 item 5): controls by endpoints, one word per cell, from
synthetic verdicts. Whole runs against real servers are in test_plugin_behaviour and test_waivers."""

from __future__ import annotations

from typing import Any

from pytest_aurora_guard.checks import Outcome, Verdict
from pytest_aurora_guard.evidence.document import item_document
from pytest_aurora_guard.evidence.markdown import render_markdown
from pytest_aurora_guard.evidence.records import DRIFT_CHECK, ItemKind, ItemRecord
from pytest_aurora_guard.report import GRID_WIDTH, WIDTH, summary_lines

PG = "postgresql://10.0.0.1:5432"
MY = "mysql://10.0.0.2:3306"
LONG = "postgresql://orders.cluster-c9akciq32abc.eu-west-1.rds.amazonaws.com:5432"
CLUSTER = "cluster prod-pg (aurora-postgresql 16.4, eu-west-1)"


def checked(endpoint: str, check: str, outcome: Outcome = Outcome.PASSED, summary: str = "fine") -> ItemRecord:
    node = endpoint.replace("://", "@")
    return ItemRecord(f"aurora-guard[{node}]::{check}", ItemKind.ENDPOINT_CHECK,
                      Verdict(check, endpoint, outcome, summary))


def cluster_checked(item: str, outcome: Outcome = Outcome.PASSED, summary: str = "fine") -> ItemRecord:
    return ItemRecord(f"aurora-guard[prod-pg]::{item}", ItemKind.CLUSTER_CHECK,
                      Verdict(item.split("[")[0], CLUSTER, outcome, summary))


def baseline(label: str, outcome: Outcome = Outcome.PASSED, summary: str = "match") -> ItemRecord:
    return ItemRecord(f"aurora-guard-engine-defaults::{label}", ItemKind.ENGINE_DEFAULTS,
                      Verdict(DRIFT_CHECK, f"engine defaults {label}", outcome, summary))


def row(lines: list[str], first_cell: str) -> list[str]:
    (found,) = [line.split() for line in lines if line.split()[:1] == [first_cell]]
    return found


def markdown_rows(records: list[ItemRecord]) -> list[str]:
    """The control column of the Markdown report's table, for the same records."""
    document: dict[str, Any] = {
        "items": [item_document(r) for r in records], "decision": {"promotion": "blocked", "line": "-"},
        "settings": {"tls_floor": "TLSv1.3", "cipher_allowlist": {"source": "default", "suites": []}},
        "started_at": "-", "finished_at": "-", "ran_in": {"system": "local"}}
    return [line.split("`")[1] for line in render_markdown(document).splitlines() if line.startswith("| `")]


class TestCells:
    def test_each_outcome_is_one_word_the_blocking_ones_in_capitals(self):
        lines = summary_lines([checked(PG, "plaintext_refused"), checked(PG, "certificate_trusted", Outcome.FAILED),
                               checked(PG, "tls_floor_accepted", Outcome.INCONCLUSIVE),
                               checked(PG, "accepted_suites_allowed", Outcome.WAIVED)])
        assert [row(lines, control)[1] for control in ("plaintext_refused", "certificate_trusted",
                                                       "tls_floor_accepted", "accepted_suites_allowed")] == [
            "passed", "FAILED", "error", "WAIVED"]

    def test_a_check_that_does_not_apply_to_an_endpoint_is_a_dash(self):
        lines = summary_lines([checked(PG, "plaintext_refused"), checked(MY, "plaintext_refused"),
                               checked(MY, "driver_plaintext_refused")])
        assert row(lines, "driver_plaintext_refused")[1:] == ["-", "passed"]

    def test_the_grid_is_plain_ascii(self):
        lines = summary_lines([checked(LONG, "plaintext_refused", Outcome.FAILED, "plaintext accepted")])
        assert all(line.isascii() for line in lines)


class TestColumns:
    def test_short_endpoint_labels_head_their_columns(self):
        lines = summary_lines([checked(PG, "plaintext_refused"), checked(MY, "plaintext_refused")])
        assert row(lines, "control") == ["control", PG, MY]

    def test_labels_that_fit_keep_every_column_in_one_grid(self):
        control, mysql = "tls_version_refused[TLSv1.2]", "mysql://10.0.0.20:3306"  # exactly GRID_WIDTH wide
        lines = summary_lines([checked(PG, control), checked(mysql, control)])
        assert lines == [f"control{' ' * 23}{PG}  {mysql}", f"{control}  passed{' ' * 22}passed"]
        assert len(lines[0]) == GRID_WIDTH

    def test_long_labels_are_numbered_with_a_legend_above_the_grid(self):
        lines = summary_lines([checked(LONG, "plaintext_refused"), checked(PG, "plaintext_refused")])
        assert lines[:3] == [f"[1] {LONG}", f"[2] {PG}", "control            [1]     [2]"]
        assert max(len(line) for line in lines) <= GRID_WIDTH

    def test_more_endpoints_than_fit_are_cut_into_blocks_each_within_the_width(self):
        endpoints = [f"postgresql://10.0.0.{n}:5432" for n in range(1, 13)]
        lines = summary_lines([checked(e, c) for e in endpoints for c in ("plaintext_refused", "certificate_trusted")])
        heads = [line for line in lines if line.startswith("control")]
        assert len(heads) > 1
        assert [cell for head in heads for cell in head.split()[1:]] == [f"[{n}]" for n in range(1, 13)]
        assert sum(line.startswith("certificate_trusted") for line in lines) == len(heads)
        assert [line for line in lines if line.startswith("[")] == [f"[{n}] {e}" for n, e in enumerate(endpoints, 1)]
        assert max(len(line) for line in lines if not line.startswith("[")) <= GRID_WIDTH


class TestNamesAndOrder:
    def test_controls_are_named_and_ordered_as_the_markdown_report_names_them(self):
        records = [checked(PG, "plaintext_refused"), checked(PG, "tls_version_refused[TLSv1.2]", Outcome.FAILED),
                   checked(PG, "tls_version_refused[TLSv1.0]"), checked(MY, "driver_plaintext_refused"),
                   cluster_checked("parameters_enforce_tls[rds.force_ssl]"), cluster_checked("storage_encrypted")]
        lines = summary_lines(records)
        grid_rows = [line.split()[0] for line in lines
                     if line.split()[0] not in ("control", "cluster", "first") and not line.startswith("[")]
        assert grid_rows == markdown_rows(records)
        assert "tls_version_refused[TLSv1.2]" in grid_rows


class TestFirstProblem:
    def test_each_endpoint_with_a_blocking_item_gets_its_first_problem_under_the_grid(self):
        lines = summary_lines([checked(PG, "plaintext_refused"),
                               checked(MY, "plaintext_refused", Outcome.INCONCLUSIVE, "no answer in 10 s"),
                               checked(MY, "certificate_trusted", Outcome.FAILED, "expired")])
        assert [line for line in lines if line.startswith("first problem")] == [
            f"first problem of {MY}: plaintext_refused: no answer in 10 s"]

    def test_the_same_first_problem_of_several_endpoints_is_said_once(self):
        endpoints = [f"postgresql://10.0.0.{n}:5432" for n in range(1, 4)]
        lines = summary_lines([checked(e, "tls_floor_accepted", Outcome.FAILED, "TLSv1.3 refused") for e in endpoints])
        assert [line for line in lines if line.startswith("first problem")] == [
            "first problem of [1], [2], [3]: tls_floor_accepted: TLSv1.3 refused"]

    def test_a_waived_failure_is_no_first_problem(self):
        lines = summary_lines([checked(PG, "accepted_suites_allowed", Outcome.WAIVED, "3DES accepted")])
        assert not any(line.startswith("first problem") for line in lines)

    def test_a_long_problem_is_cut_to_one_line_of_the_project_width(self):
        lines = summary_lines([checked(PG, "accepted_suites_allowed", Outcome.FAILED, "suite; " * 50)])
        (line,) = [line for line in lines if line.startswith("first problem")]
        assert len(line) == WIDTH
        assert line.endswith("...")


class TestOtherSections:
    def test_each_engine_default_baseline_is_one_line_with_its_state_and_why_it_blocks(self):
        lines = summary_lines([baseline("eu-west-1/aurora-postgresql16"),
                               baseline("eu-west-1/aurora-mysql8.0", Outcome.FAILED, "ssl_cipher changed")])
        assert lines == ["engine defaults eu-west-1/aurora-postgresql16  passed",
                         "engine defaults eu-west-1/aurora-mysql8.0      FAILED  ssl_cipher changed"]

    def test_cluster_controls_have_their_own_grid_numbered_after_the_endpoints(self):
        lines = summary_lines([checked(LONG, "plaintext_refused"),
                               cluster_checked("parameters_enforce_tls[ssl_min_protocol_version]"),
                               cluster_checked("storage_encrypted", Outcome.FAILED, "not encrypted at rest")])
        assert lines[lines.index(f"[2] {CLUSTER}") + 1].split() == ["cluster", "control", "[2]"]
        assert row(lines, "storage_encrypted") == ["storage_encrypted", "FAILED"]
        assert lines[-1] == "first problem of [2]: storage_encrypted: not encrypted at rest"

    def test_nothing_judged_is_no_summary(self):
        assert summary_lines([]) == []
