"""Every pytest run in a project that installs us imports the plugin: an inert run must not pay for
the gate, and a TLS-only gate must not pay for AWS (the figures: benchmarks/bench_startup.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_aurora_guard.plugin import nothing_configured
from pytest_aurora_guard.settings.options import OPTION_SPECS

HEAVY = ("boto3", "botocore", "deepdiff", "cryptography", "psycopg", "pymysql")
# What registering the options and checking their spelling needs; nothing of the gate itself.
INERT_MODULES = {"pytest_aurora_guard", "pytest_aurora_guard.plugin", "pytest_aurora_guard.catalog",
                 "pytest_aurora_guard.errors", "pytest_aurora_guard.settings", "pytest_aurora_guard.settings.options",
                 "pytest_aurora_guard.settings.sources", "pytest_aurora_guard.settings.spelling",
                 "pytest_aurora_guard.control_plane", "pytest_aurora_guard.control_plane.plugin",
                 "pytest_aurora_guard.drift", "pytest_aurora_guard.drift.plugin"}
PROBE = """
import sys, pytest
pytest.main(sys.argv[1:] + ["-q", "-p", "no:cacheprovider", "-p", "no:randomly"])
print("LOADED=" + __import__("json").dumps(sorted(m for m in {heavy} if m in sys.modules)))
print("OURS=" + __import__("json").dumps(sorted(m for m in sys.modules if m.split(".")[0] == "pytest_aurora_guard")))
"""


def _run_probe(tmp_path: Path, *args: str) -> dict[str, list[str]]:
    (tmp_path / "test_app.py").write_text("def test_app():\n    pass\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, env=env)
    found = dict(line.split("=", 1) for line in result.stdout.splitlines() if line.startswith(("LOADED=", "OURS=")))
    assert found, result.stdout + result.stderr
    return {key: json.loads(value) for key, value in found.items()}


def loaded_after(tmp_path: Path, *args: str) -> list[str]:
    return _run_probe(tmp_path, *args)["LOADED"]


def test_an_inert_run_imports_none_of_the_gates_dependencies(tmp_path):
    assert loaded_after(tmp_path) == []


def test_an_inert_run_imports_only_the_options_and_their_spelling_check(tmp_path):
    assert set(_run_probe(tmp_path)["OURS"]) <= INERT_MODULES


def test_a_tls_only_run_imports_no_aws_code(tmp_path):
    loaded = loaded_after(tmp_path, "--aurora-endpoint=postgresql://127.0.0.1:9", "--aurora-timeout=1")
    assert "boto3" not in loaded
    assert "botocore" not in loaded
    assert "cryptography" in loaded  # the gate did run (the certificate rules use it)


class TestNothingConfigured:
    """An inert run skips building the settings; any setting of ours, given anywhere, must not."""

    @pytest.fixture
    def defaults(self, pytestconfig):
        """Every option's value in a run that gives none: this suite's own run gives none of ours."""
        return {spec.dest: pytestconfig.getoption(spec.dest) for spec in OPTION_SPECS if spec.flag}

    def test_defaults_and_foreign_settings_configure_nothing(self, defaults):
        environ = {"PATH": "/usr/bin", "AWS_REGION": "eu-west-1", "AURORA_DSN": "x"}
        assert nothing_configured(defaults, environ, ["addopts", "testpaths"])

    @pytest.mark.parametrize("spec", [spec for spec in OPTION_SPECS if spec.flag], ids=lambda spec: spec.flag)
    def test_every_command_line_option_configures_the_gate(self, spec, defaults):
        given = ["value"] if isinstance(defaults[spec.dest], list) else True
        assert not nothing_configured({**defaults, spec.dest: given}, {}, [])

    @pytest.mark.parametrize("spec", [spec for spec in OPTION_SPECS if spec.env], ids=lambda spec: spec.env)
    def test_every_environment_variable_configures_the_gate(self, spec, defaults):
        assert not nothing_configured(defaults, {spec.env: "value"}, [])

    @pytest.mark.parametrize("spec", [spec for spec in OPTION_SPECS if spec.ini], ids=lambda spec: spec.ini)
    def test_every_ini_key_configures_the_gate(self, spec, defaults):
        assert not nothing_configured(defaults, {}, [spec.ini])

    def test_a_variable_with_our_prefix_in_another_case_takes_the_full_path(self, defaults):
        # The full path's spelling check then names it; the fast path must not hide it.
        assert not nothing_configured(defaults, {"aurora_guard_endpoint": "db:5432"}, [])
