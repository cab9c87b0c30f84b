"""What a user installs: the licence the metadata declares, and the files the plugin reads at run time."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True)
    (built,) = out.glob("pytest_aurora_guard-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_carries_the_apache_licence_it_declares(wheel: zipfile.ZipFile) -> None:
    (licence,) = [name for name in wheel.namelist() if name.endswith("licenses/LICENSE")]
    assert wheel.read(licence) == (ROOT / "LICENSE").read_bytes()
    assert b"Apache License\n                           Version 2.0" in wheel.read(licence)
    (metadata,) = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
    assert "License-Expression: Apache-2.0" in wheel.read(metadata).decode()


def test_the_wheel_ships_the_report_schema_and_the_suite_registry(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert "pytest_aurora_guard/evidence/schema/report-v1.json" in names
    assert "pytest_aurora_guard/py.typed" in names
    assert any(name.startswith("pytest_aurora_guard/tls/data/") for name in names)
