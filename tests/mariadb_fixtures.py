"""Real MariaDB servers (standing in for Aurora MySQL), started only when a test asks for one.

A plugin module: list it in tests/conftest.py's ``pytest_plugins``. Each server is started
once per session (per xdist worker) and stopped at session end.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.mariadb import MariaDbProfile, RunningMariaDb, start_mariadb
from tests.support.pki import TestPki


def _mariadb(profile: MariaDbProfile, pki: TestPki) -> Iterator[RunningMariaDb]:
    with start_mariadb(profile, pki) as server:
        yield server


@pytest.fixture(scope="session")
def mariadb_hardened(test_pki: TestPki) -> Iterator[RunningMariaDb]:
    """require_secure_transport=ON; TLS 1.3 only."""
    yield from _mariadb(MariaDbProfile.HARDENED, test_pki)


@pytest.fixture(scope="session")
def mariadb_weak(test_pki: TestPki) -> Iterator[RunningMariaDb]:
    """Plaintext allowed; TLS 1.0 and up with ALL:@SECLEVEL=0."""
    yield from _mariadb(MariaDbProfile.WEAK, test_pki)


@pytest.fixture(scope="session")
def mariadb_in_between(test_pki: TestPki) -> Iterator[RunningMariaDb]:
    """Plaintext refused; TLS 1.2 allowed with two ECDHE-GCM suites."""
    yield from _mariadb(MariaDbProfile.IN_BETWEEN, test_pki)


@pytest.fixture(scope="session")
def mariadb_no_tls(test_pki: TestPki) -> Iterator[RunningMariaDb]:
    """No certificate: the greeting lacks CLIENT_SSL."""
    yield from _mariadb(MariaDbProfile.NO_TLS, test_pki)
