"""The README's first two commands are what CI runs, and they never install into the system Python."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    """The command lines of the README's first shell block (comments dropped)."""
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block is not None, "README.md has no ```bash block"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_the_readme_opens_with_the_install_and_the_test_command() -> None:
    assert _readme_commands() == [
        "bash scripts/install-deps.sh && .venv/bin/python -m tests.support.demo",
        ".venv/bin/python -m pytest -n auto",
    ]


def test_ci_runs_each_readme_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    for command in _readme_commands():
        assert command in ci, f".ci/run does not run the README's {command!r}"


def test_ci_calls_python_only_through_the_virtualenv() -> None:
    for line in (ROOT / ".ci" / "run").read_text().splitlines():
        code = line.split("#", 1)[0]
        for call in re.findall(r"(\S*python3?)\s+-m", code):
            assert call.endswith("/bin/python"), f".ci/run runs {call!r} outside a virtualenv: {line!r}"


def test_install_deps_installs_packages_only_into_the_virtualenv() -> None:
    script = (ROOT / "scripts" / "install-deps.sh").read_text()
    pip_calls = [line for line in script.splitlines() if re.search(r"\bpip\b.*\binstall\b", line)]
    assert pip_calls, "install-deps.sh installs nothing"
    for line in pip_calls:
        assert line.startswith('"$VENV/bin/python" -m pip install'), line


def test_install_deps_provides_venv_support_for_debians_python() -> None:
    script = (ROOT / "scripts" / "install-deps.sh").read_text()
    assert "python3-venv" in script
    assert '"$PYTHON" -m venv "$VENV"' in script


def test_the_virtualenv_is_not_committed() -> None:
    assert ".venv/" in (ROOT / ".gitignore").read_text().splitlines()
