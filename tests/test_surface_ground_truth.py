"""The enumerated TLS surface of real PostgreSQL and MariaDB servers equals openssl s_client's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_aurora_guard.probe import ProbeRun
from pytest_aurora_guard.settings.config import GuardSettings
from pytest_aurora_guard.settings.endpoints import parse_endpoint
from pytest_aurora_guard.tls.surface import TlsSurface, VersionStatus
from pytest_aurora_guard.tls.versions import TlsVersion
from tests.s_client import ALL_VERSIONS, s_client_ground_truth

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
def server_and_truth(request: pytest.FixtureRequest) -> Iterator[tuple[str, object, TlsSurface, int]]:
    server = request.getfixturevalue(request.param)
    truth = s_client_ground_truth((server.host, server.port), starttls=SERVERS[request.param])
    run = ProbeRun(GuardSettings(endpoints=(parse_endpoint(server.endpoint),), timeout=5))
    try:
        probe = run.probe(run.settings.endpoints[0])
        surface = probe.surface()
        yield request.param, truth, surface, probe.connections
    finally:
        run.close()


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


def test_connections_are_accepted_suites_refused_bundles_and_one_openssl_witness_per_version(server_and_truth):
    _, _, surface, connections = server_and_truth
    accepted = sum(len(v.accepted_suites) for v in surface.versions)
    refused_bundles = sum(v.connections - len(v.accepted_suites) for v in surface.versions)
    witnesses = 3  # TLS 1.0, 1.1 and 1.2; SSLv3 has none, TLS 1.3's is the modern handshake
    assert connections == accepted + refused_bundles + witnesses
    assert refused_bundles <= 3 * len(surface.versions)
