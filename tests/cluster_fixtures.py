"""The cluster gate's fixture. Load with ``pytest_plugins = ["tests.drift_fixtures", "tests.cluster_fixtures"]``.

Never import this module directly (pytest must import it to rewrite its asserts); the account
states live in ``tests.cluster_accounts``.
"""

from __future__ import annotations

import pytest

from tests.fake_rds import FakeRds
from tests.fake_rds_account import FakeAccount


@pytest.fixture
def account(aws_env: FakeRds) -> FakeAccount:
    aws_env.account = FakeAccount()
    return aws_env.account
