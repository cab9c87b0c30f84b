"""Session fixtures: one throwaway PKI, and real servers started only when a test asks for one."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest

import pytest_aurora_guard.session  # noqa: F401  (see below)
from pytest_aurora_guard.settings.ci import CI_VARIABLES
from tests.fake_rds_account import SUFFIX
from tests.support.pki import TestPki, make_pki
from tests.support.postgres import PgProfile, RunningPostgres, start_postgres
from tests.tls_peers import Peer, RawPeer

pytest_plugins = ["tests.guard_helpers", "tests.mariadb_fixtures"]

# Variables a nested run must not inherit from whoever runs the suite: the guard's own settings
# (an unknown one is a usage error), CI markers (CI itself runs this suite with CI=true, and update
# mode behaves differently there), PYTEST_ADDOPTS, and the libpq defaults a driver would pick up.
_CALLER_ENV_PREFIXES = ("AURORA_GUARD_",)
_CALLER_ENV = (*CI_VARIABLES, "PYTEST_ADDOPTS", "PGPASSWORD", "PGSSLMODE", "PGUSER", "PGDATABASE")


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester whose nested runs load this plugin and nothing else installed in the environment.

    An unrelated plugin installed globally (pytest-benchmark breaks nested runs under xdist) must
    not change what the suite sees: autoloading is off, the plugin is named through PYTEST_PLUGINS
    (honoured by in-process and subprocess runs, and by xdist workers, on every pytest version),
    and a test that needs xdist in its nested run passes ``-p xdist.plugin`` itself.
    """
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    # pytester's in-process runs drop the modules first imported inside them; the plugin imports
    # the gate lazily, so without the import above each nested run would get fresh copies of some
    # modules (and their enums) next to the suite's own, and compare members that never match.
    monkeypatch.setenv("PYTEST_PLUGINS", "pytest_aurora_guard.plugin")
    for name in list(os.environ):
        if name.startswith(_CALLER_ENV_PREFIXES) or name in _CALLER_ENV:
            monkeypatch.delenv(name)
    return pytester


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    # Wildcards as a real Aurora certificate carries them, for the fake account's names (cluster gate tests).
    rds_names = [f"*.{label}{SUFFIX}" for label in ("", "cluster-", "cluster-ro-", "cluster-custom-", "proxy-")]
    return make_pki(tmp_path_factory.mktemp("pki"), rds_names)


def _postgres(profile: PgProfile, pki: TestPki) -> Iterator[RunningPostgres]:
    server = start_postgres(profile, pki)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_hardened(test_pki: TestPki) -> Iterator[RunningPostgres]:
    """hostssl-only pg_hba with an explicit hostnossl reject line; TLS 1.3 only."""
    yield from _postgres(PgProfile.HARDENED, test_pki)


@pytest.fixture(scope="session")
def pg_weak(test_pki: TestPki) -> Iterator[RunningPostgres]:
    """Plaintext allowed; TLS 1.0 and up with ALL:@SECLEVEL=0."""
    yield from _postgres(PgProfile.WEAK, test_pki)


@pytest.fixture(scope="session")
def pg_in_between(test_pki: TestPki) -> Iterator[RunningPostgres]:
    """Plaintext refused; TLS 1.2 allowed with two ECDHE-GCM suites."""
    yield from _postgres(PgProfile.IN_BETWEEN, test_pki)


@pytest.fixture(scope="session")
def pg_p521_old_tls(test_pki: TestPki) -> Iterator[RunningPostgres]:
    """TLS 1.0-1.3, ECDHE suites only, and secp521r1 the only ECDHE group (issue 15)."""
    yield from _postgres(PgProfile.P521_OLD_TLS, test_pki)


@pytest.fixture(scope="session")
def pg_no_tls(test_pki: TestPki) -> Iterator[RunningPostgres]:
    """ssl=off: answers 'N' to SSLRequest."""
    yield from _postgres(PgProfile.NO_TLS, test_pki)


@pytest.fixture(scope="session")
def pg_per_database(test_pki: TestPki) -> Iterator[RunningPostgres]:
    """Plaintext refused for every database except the existing 'legacy' one."""
    yield from _postgres(PgProfile.PER_DATABASE, test_pki)


@pytest.fixture(scope="session")
def pg_tls_rejects_probe(test_pki: TestPki) -> Iterator[RunningPostgres]:
    """Plaintext refused, and pg_hba rejects the probe identity over TLS too; TLS 1.3 only."""
    yield from _postgres(PgProfile.TLS_REJECTS_PROBE, test_pki)


@pytest.fixture(scope="session")
def pg_tls12_max(test_pki: TestPki) -> Iterator[RunningPostgres]:
    """Plaintext refused; TLS 1.2 only (ssl_max_protocol_version=TLSv1.2)."""
    yield from _postgres(PgProfile.TLS12_MAX, test_pki)


@pytest.fixture
def raw_peer() -> Iterator[Peer]:
    """Start hand-written TLS peers on loopback; each is stopped after the test."""
    peers: list[RawPeer] = []

    def start(behaviour: Callable[[socket.socket], object]) -> RawPeer:
        peer = RawPeer(behaviour).__enter__()
        peers.append(peer)
        return peer

    yield start
    for peer in peers:
        peer.__exit__(None, None, None)


@pytest.fixture
def ca_bundle(test_pki: TestPki) -> Path:
    return test_pki.ca_cert
