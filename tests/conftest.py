"""Session fixtures: one throwaway PKI, and real servers started only when a test asks for one."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest

from tests.support.pki import TestPki, make_pki
from tests.support.postgres import PgProfile, RunningPostgres, start_postgres
from tests.tls_peers import Peer, RawPeer

pytest_plugins = ["tests.guard_helpers", "tests.mariadb_fixtures"]


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


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
def pg_no_tls(test_pki: TestPki) -> Iterator[RunningPostgres]:
    """ssl=off: answers 'N' to SSLRequest."""
    yield from _postgres(PgProfile.NO_TLS, test_pki)


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
