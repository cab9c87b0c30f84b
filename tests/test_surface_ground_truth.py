"""The enumerated TLS surface of real PostgreSQL and MariaDB servers equals openssl s_client's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pymysql
import pytest

from pytest_aurora_guard.probe import ProbeRun
from pytest_aurora_guard.settings.config import GuardSettings
from pytest_aurora_guard.settings.endpoints import parse_endpoint
from pytest_aurora_guard.tls.ciphers import REGISTRY
from pytest_aurora_guard.tls.surface import CONFIRM_SUITES_PER_HELLO, MAX_SUITES_PER_HELLO, TlsSurface, VersionStatus
from pytest_aurora_guard.tls.versions import TlsVersion
from tests.s_client import ALL_VERSIONS, s_client_ground_truth
from tests.support.mariadb import RunningMariaDb
from tests.support.postgres import RunningPostgres

SERVERS = {
    # fixture name: the s_client -starttls protocol
    "pg_weak": "postgres",
    "pg_in_between": "postgres",
    "pg_hardened": "postgres",
    "pg_p521_old_tls": "postgres",
    "mariadb_weak": "mysql",
    "mariadb_in_between": "mysql",
    "mariadb_hardened": "mysql",
}


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server_and_truth(request: pytest.FixtureRequest) -> Iterator[tuple[str, object, TlsSurface, Connections]]:
    server = request.getfixturevalue(request.param)
    truth = s_client_ground_truth((server.host, server.port), starttls=SERVERS[request.param])
    run = ProbeRun(GuardSettings(endpoints=(parse_endpoint(server.endpoint),), timeout=5))
    try:
        before = connections_seen_by(server)
        probe = run.probe(run.settings.endpoints[0])
        surface = probe.surface()
        counted = probe.connections
        seen = connections_seen_by(server) - before - (0 if isinstance(server, RunningPostgres) else 1)
        yield request.param, truth, surface, Connections(counted, seen)
    finally:
        run.close()


@dataclass(frozen=True)
class Connections:
    counted: int  # by the probe
    seen: int  # by the server


def connections_seen_by(server: RunningPostgres | RunningMariaDb) -> int:
    """The server's own count of the connections it has accepted so far (for MariaDB, the one that
    asks included: between two calls, the second call's connection is counted once)."""
    if isinstance(server, RunningPostgres):
        time.sleep(0.2)  # PostgreSQL writes the log line as it accepts
        return (server.directory / "server.log").read_text(errors="replace").count("connection received:")
    # Connections counts every attempt, successful or not, this one included.
    connection = pymysql.connect(unix_socket=str(server.socket_path), user="root")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW GLOBAL STATUS LIKE 'Connections'")
            row = cursor.fetchone()
    finally:
        connection.close()
    assert row is not None
    return int(row[1])


def test_every_version_is_accepted_or_refused_on_positive_evidence(server_and_truth):
    _, _, surface, _ = server_and_truth
    for version_surface in surface.versions:
        assert version_surface.status is not VersionStatus.INCONCLUSIVE, version_surface.reason
        assert version_surface.complete, version_surface.reason


def test_the_enumerated_suites_equal_s_clients_suite_for_suite(server_and_truth):
    name, truth, surface, _ = server_and_truth
    for version in ALL_VERSIONS:
        found = frozenset(surface.for_version(version).accepted_suites)
        assert found == truth[version], (name, version.label, sorted(found ^ truth[version]))


def test_sslv3_is_refused_by_every_server(server_and_truth):
    _, _, surface, _ = server_and_truth
    assert surface.for_version(TlsVersion.SSLv3).status is VersionStatus.REFUSED


def test_the_probe_counts_every_connection_the_server_saw(server_and_truth):
    _, _, _, connections = server_and_truth
    assert connections.counted == connections.seen


def test_connections_are_accepted_suites_refused_hellos_and_one_openssl_witness_per_version(server_and_truth):
    # Both sides counted independently of the probe: suites from s_client, connections from the server.
    _, truth, _, connections = server_and_truth
    accepted = sum(len(truth[version]) for version in ALL_VERSIONS)
    witnesses = 3  # TLS 1.0, 1.1 and 1.2; SSLv3 has none, TLS 1.3's is the modern handshake
    refused_hellos = connections.seen - accepted - witnesses
    # A version's refusals: its big hellos, then every suite they refused again 32 at a time (or,
    # for one short hello, that hello once more): never fewer than one, never more than both passes.
    most = sum(-(-len(REGISTRY.for_version(v)) // MAX_SUITES_PER_HELLO)
               + -(-len(REGISTRY.for_version(v)) // CONFIRM_SUITES_PER_HELLO) + 1 for v in ALL_VERSIONS)
    assert len(ALL_VERSIONS) <= refused_hellos <= most, (connections, accepted)
