"""The cluster gate on a fleet: 1, 10 and 100 endpoints. Prints figures; asserts nothing.

    python -m benchmarks.bench_fleet [--sizes 1 10 100] [--rounds 3]

A fake RDS account (tests/fake_rds_account.py, real HTTP, real boto3) lists N instance endpoints
spread over max(1, N // 10) clusters sharing one cluster parameter group, and every name is routed
with --aurora-connect-to to one hardened PostgreSQL (the test suite's launcher). Each round runs the
whole gate through the library: RDS API inventory, every wire check on every endpoint, every
control-plane item. Figures: wall time, connections (the probes' counter and the server's
log_connections lines), and RDS API calls (the client's count: one per page). The clusters have no
writer/reader endpoints so that N is exact; each would add one probed endpoint.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from pytest_aurora_guard.checks import planned_checks
from pytest_aurora_guard.control_plane.gate import plan_clusters
from pytest_aurora_guard.probe import ProbeRun
from pytest_aurora_guard.settings.config import GuardSettings
from pytest_aurora_guard.settings.endpoints import parse_connect_to
from tests.fake_rds import ACCESS_KEY_ID, SECRET_ACCESS_KEY, FakeRds, running_fake_rds
from tests.fake_rds_account import Cluster, FakeAccount, Instance, cluster_parameter, full_group, instance_name
from tests.support.pki import make_pki
from tests.support.postgres import PgProfile, RunningPostgres, start_postgres


def server_connections(server: RunningPostgres) -> int:
    return (server.directory / "server.log").read_text(errors="replace").count("connection received:")


def fleet(size: int) -> FakeAccount:
    account = FakeAccount()
    clusters = max(1, size // 10)
    account.groups["fleet-params"] = full_group([cluster_parameter("rds.force_ssl", "1"),
                                                 cluster_parameter("ssl_min_protocol_version", "TLSv1.3")])
    for c in range(clusters):
        count = size // clusters + (1 if c < size % clusters else 0)
        instances = [Instance(f"fleet-{c:02d}-{i:02d}", writer=i == 0) for i in range(count)]
        account.clusters.append(Cluster(f"fleet-{c:02d}", "aurora-postgresql", "16.4", "fleet-params", instances,
                                        cluster_endpoints=False))
    return account


def gate_once(fake: FakeRds, size: int, port: int) -> tuple[float, int, int, int, set[str]]:
    fake.account = fleet(size)
    names = [instance_name(i.instance_id) for c in fake.account.clusters for i in c.instances]
    settings = GuardSettings(clusters=tuple(c.cluster_id for c in fake.account.clusters),
                             connect_to=tuple(parse_connect_to(f"{n}=127.0.0.1:{port}") for n in names))
    started = time.perf_counter()
    plan = plan_clusters(settings, ["us-east-1"])
    targets = plan.endpoints()
    run = ProbeRun(settings, targets)
    try:
        wire = planned_checks(settings)
        wanted: dict = {e: [k for spec, v in wire for k in spec.observations(settings, v)] for e in targets}
        for cluster in plan.clusters:
            for check in cluster.checks:
                for endpoint, keys in check.needs.items():
                    wanted.setdefault(endpoint, []).extend(keys)
        run.prefetch(wanted)
        outcomes = {spec.judge(run.probe(e), v).outcome.value for e in targets for spec, v in wire}
        outcomes |= {check.rule(run.probe).outcome.value for c in plan.clusters for check in c.checks}
        elapsed = time.perf_counter() - started
        return elapsed, len(targets), sum(p.connections for p in run.probes.values()), plan.api_calls, outcomes
    finally:
        run.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, running_fake_rds() as fake:
        nowhere = str(Path(work) / "none")
        os.environ.update(AWS_ACCESS_KEY_ID=ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
                          AWS_ENDPOINT_URL_RDS=fake.url, AWS_EC2_METADATA_DISABLED="true",
                          AWS_CONFIG_FILE=nowhere, AWS_SHARED_CREDENTIALS_FILE=nowhere)
        server = start_postgres(PgProfile.HARDENED, make_pki(Path(work)))
        try:
            medians = {}
            for size in args.sizes:
                times, logged = [], []
                for _ in range(args.rounds):
                    before = server_connections(server)
                    elapsed, endpoints, counted, calls, outcomes = gate_once(fake, size, server.port)
                    time.sleep(0.1)  # let the server flush its last log lines
                    logged.append(server_connections(server) - before)
                    times.append(elapsed)
                assert outcomes == {"passed"}, outcomes
                medians[size] = statistics.median(times)
                clusters = len(fake.account.clusters) if fake.account else 0
                print(f"{endpoints} endpoint(s) in {clusters} cluster(s): wall median {medians[size]:.2f} s "
                      f"(min {min(times):.2f}, max {max(times):.2f}, {args.rounds} rounds); connections "
                      f"{counted} (server log {statistics.median(logged):.0f}); RDS API calls {calls}")
            if len(medians) > 1:
                small, large = min(medians), max(medians)
                print(f"ratio wall({large})/wall({small}) = {medians[large] / medians[small]:.1f}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
