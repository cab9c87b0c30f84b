"""How fast is the gate, and how many connections does it open? Prints figures; asserts nothing.

    python -m benchmarks.bench_gate [--rounds 5] [--endpoints 1]

For each round it starts nothing new: one hardened PostgreSQL (the test suite's launcher) is
gated ``--rounds`` times through the library (all built-in checks, with and without
credentials, by IP literal and by DNS name), timing the verdicts and counting connections two
ways: the probe's own counter and the server's ``log_connections`` lines, which is the ground
truth. By DNS name the hellos send SNI, so each below-floor version is also asked without it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from pytest_aurora_guard.checks import planned_checks
from pytest_aurora_guard.probe import ProbeRun
from pytest_aurora_guard.settings.config import GuardSettings
from pytest_aurora_guard.settings.credentials import Secret
from pytest_aurora_guard.settings.endpoints import parse_endpoint
from tests.support.pki import make_pki
from tests.support.postgres import PgProfile, RunningPostgres, start_postgres


def server_connections(server: RunningPostgres) -> int:
    log = (server.directory / "server.log").read_text(errors="replace")
    return log.count("connection received:")


def gate_once(settings: GuardSettings) -> tuple[float, int, list[str]]:
    started = time.perf_counter()
    run = ProbeRun(settings)
    try:
        plan = planned_checks(settings)
        run.prefetch({e: [k for spec, v in plan for k in spec.observations(settings, v)] for e in settings.endpoints})
        outcomes = [spec.judge(run.probe(e), v).outcome.value for e in settings.endpoints for spec, v in plan]
        elapsed = time.perf_counter() - started
        return elapsed, sum(p.connections for p in run.probes.values()), outcomes
    finally:
        run.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--endpoints", type=int, default=1, help="hardened servers gated at once")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        pki = make_pki(Path(work))
        servers = [start_postgres(PgProfile.HARDENED, pki) for _ in range(args.endpoints)]
        try:
            for label, with_user, host in (("credential-free", False, "127.0.0.1"),
                                           ("with --aurora-user", True, "127.0.0.1"),
                                           ("credential-free, by DNS name", False, "localhost"),
                                           ("with --aurora-user, by DNS name", True, "localhost")):
                base = GuardSettings(
                    endpoints=tuple(parse_endpoint(f"postgresql://{host}:{s.port}") for s in servers),
                    user=servers[0].user if with_user else None, dbname=servers[0].database,
                    password=Secret(servers[0].password) if with_user else None, ca_bundle=pki.ca_cert,
                )
                if with_user and args.endpoints > 1:
                    continue  # each server has its own password; the credentialed run uses one server
                times, counted, logged = [], [], []
                for _ in range(args.rounds):
                    before = sum(server_connections(s) for s in servers)
                    elapsed, connections, outcomes = gate_once(base)
                    time.sleep(0.05)  # let the server flush its log line for the last connection
                    logged.append(sum(server_connections(s) for s in servers) - before)
                    times.append(elapsed)
                    counted.append(connections)
                    assert set(outcomes) == {"passed"}, outcomes
                checks = len(outcomes)
                print(f"{label}: {args.endpoints} hardened endpoint(s), {checks} checks, all passed")
                print(f"  wall time per gate: median {statistics.median(times) * 1000:.1f} ms, "
                      f"min {min(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms over {args.rounds} rounds")
                print(f"  connections per gate: probe counter {statistics.median(counted):.0f}, "
                      f"server log {statistics.median(logged):.0f}")
        finally:
            for server in servers:
                server.stop()


if __name__ == "__main__":
    main()
