"""Running the plugin as a user would, through pytester, and reading its verdicts back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

# The built-in checks' item names, per endpoint, with the default TLSv1.3 floor.
CREDENTIAL_FREE = {
    "plaintext_refused",
    "tls_version_refused[SSLv3]",
    "tls_version_refused[TLSv1.0]",
    "tls_version_refused[TLSv1.1]",
    "tls_version_refused[TLSv1.2]",
    "tls_floor_accepted",
    "negotiated_cipher_allowed",
    "accepted_suites_allowed",
    "certificate_trusted",
}
DRIVER = {"driver_plaintext_refused", "driver_below_floor_refused", "driver_verified_session"}

@dataclass
class GuardRun:
    result: pytest.RunResult

    @property
    def output(self) -> str:
        return self.result.stdout.str() + self.result.stderr.str()

    def outcome_of(self, check: str) -> str:
        """'passed', 'failed' or 'error' for the item whose node id ends with ``::check``."""
        reports = self.result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
        outcome = None
        for report in reports:
            if report.nodeid.endswith(f"::{check}"):
                if report.when == "setup" and report.failed:
                    return "error"
                if report.when == "call":
                    outcome = report.outcome
        if outcome is None:
            raise AssertionError(f"no item {check!r} ran; output:\n{self.output}")
        return outcome

    def recorded_verdict(self, check: str) -> dict[str, Any]:
        """The verdict recorded (junit property) for the item whose node id ends with ``::check``."""
        for report in self.result.reprec.getreports("pytest_runtest_logreport"):  # type: ignore[attr-defined]
            if report.nodeid.endswith(f"::{check}"):
                for name, value in report.user_properties:
                    if name == "aurora_guard_verdict":
                        return dict(json.loads(value))
        raise AssertionError(f"no verdict recorded for {check!r}; output:\n{self.output}")

    def verdict_text(self, check: str) -> str:
        """Summary, attempts and answers of the verdict recorded for ``check`` (passes print nothing)."""
        verdict = self.recorded_verdict(check)
        return "\n".join([verdict["summary"], *verdict["attempted"], *verdict["answered"]])

    def remedy_of(self, check: str) -> str:
        """The 'change:' advice recorded for ``check``."""
        return str(self.recorded_verdict(check)["remedy"] or "")

    def outcomes(self) -> dict[str, str]:
        names = {
            r.nodeid.split("::")[-1]
            for r in self.result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
        }
        return {name: self.outcome_of(name) for name in sorted(names)}


@pytest.fixture
def run_guard(pytester: pytest.Pytester) -> Any:
    """Run pytest in an empty directory with the given arguments, isolated from the caller's env
    (the ``pytester`` fixture of tests/conftest.py clears it)."""
    def run(*args: str) -> GuardRun:
        return GuardRun(pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly", *args))

    return run
