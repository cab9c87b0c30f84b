"""Every pytest run in a project that installs us imports the plugin: an inert run must not pay for
the gate, and a TLS-only gate must not pay for AWS (the figures: benchmarks/bench_startup.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("boto3", "botocore", "deepdiff", "cryptography", "psycopg", "pymysql")
PROBE = """
import sys, pytest
pytest.main(sys.argv[1:] + ["-q", "-p", "no:cacheprovider", "-p", "no:randomly"])
print("LOADED=" + __import__("json").dumps(sorted(m for m in {heavy} if m in sys.modules)))
"""


def loaded_after(tmp_path: Path, *args: str) -> list[str]:
    (tmp_path / "test_app.py").write_text("def test_app():\n    pass\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, env=env)
    line = next(line for line in result.stdout.splitlines() if line.startswith("LOADED="))
    return json.loads(line.removeprefix("LOADED="))


def test_an_inert_run_imports_none_of_the_gates_dependencies(tmp_path):
    assert loaded_after(tmp_path) == []


def test_a_tls_only_run_imports_no_aws_code(tmp_path):
    loaded = loaded_after(tmp_path, "--aurora-endpoint=postgresql://127.0.0.1:9", "--aurora-timeout=1")
    assert "boto3" not in loaded
    assert "botocore" not in loaded
    assert "cryptography" in loaded  # the gate did run (the certificate rules use it)
