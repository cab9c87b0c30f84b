"""Fixtures for the drift gate's tests. Load with ``pytest_plugins = ["tests.drift_fixtures"]``.

Never import this module directly (pytest must import it to rewrite its asserts); the
constants and sample data live in ``tests.fake_rds``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_aurora_guard.aws.engine_defaults import EngineDefaultsReader
from pytest_aurora_guard.drift.baselines import DEFAULT_TRACKED_PARAMETERS, FamilyDefaults, write_baseline
from tests.fake_rds import (
    ACCESS_KEY_ID,
    FAMILY,
    REGION,
    SECRET_ACCESS_KEY,
    FakeRds,
    pg11_parameters,
    running_fake_rds,
)


@pytest.fixture
def fake_rds() -> Iterator[FakeRds]:
    with running_fake_rds() as fake:
        yield fake


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, fake_rds: FakeRds, tmp_path: Path) -> FakeRds:
    """boto3 pointed at the fake with dummy credentials and nothing from this machine's AWS setup.

    AWS_MAX_ATTEMPTS=2 keeps throttling tests to one botocore retry (under a second of backoff).
    """
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_DEFAULT_REGION",
        "AWS_RETRY_MODE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AURORA_GUARD_AWS_REGION",
        "AURORA_GUARD_ENGINE_FAMILY",
        "AURORA_GUARD_BASELINE_DIR",
        "AURORA_GUARD_ENDPOINT",
        "PYTEST_ADDOPTS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL_RDS", fake_rds.url)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    return fake_rds


@pytest.fixture
def pg11(aws_env: FakeRds) -> FakeRds:
    """The fake serving aurora-postgresql11 in us-east-1 over three pages."""
    aws_env.serve(FAMILY, pg11_parameters(), REGION)
    return aws_env


@pytest.fixture
def recorded(pytester: pytest.Pytester, pg11: FakeRds) -> FakeRds:
    """aurora-postgresql11's baseline as the update writes it (fetched in-process over HTTP).

    The update run itself is covered by its own tests; this saves a pytest process per test.
    """
    fetched = EngineDefaultsReader().fetch(REGION, FAMILY)
    tracked = DEFAULT_TRACKED_PARAMETERS["aurora-postgresql"]
    defaults = FamilyDefaults.from_engine_parameters(REGION, FAMILY, fetched.parameters, tracked)
    write_baseline(pytester.path / "baselines" / REGION / f"{FAMILY}.json", defaults)
    pg11.reset_counts()
    return pg11
