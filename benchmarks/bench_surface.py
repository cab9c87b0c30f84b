"""Full TLS-surface enumeration: connections and wall time, side by side with peer scanners.

    python -m benchmarks.bench_surface [--rounds 3]

Starts local PostgreSQL servers (hardened: TLS 1.3 only; weak: TLS 1.0-1.3 with
ALL:@SECLEVEL=0) and a hardened MariaDB, enumerates every version and suite with crafted
ClientHellos, and prints the connections opened and the wall time. When sslyze, sslscan or nmap
are on PATH (or sslyze at $SSLYZE), it runs them against the same PostgreSQL servers in the same
run; connections are counted from the server's own log_connections lines, for us and them
alike. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

from pytest_aurora_guard.probe import ProbeRun
from pytest_aurora_guard.settings.config import GuardSettings
from pytest_aurora_guard.settings.endpoints import parse_endpoint
from tests.support.mariadb import MariaDbProfile, start_mariadb
from tests.support.pki import make_pki
from tests.support.postgres import PgProfile, RunningPostgres, start_postgres


def our_enumeration(endpoint: str) -> tuple[float, int, int]:
    """Wall time, connections (our own count) and accepted suites of one full enumeration."""
    run = ProbeRun(GuardSettings(endpoints=(parse_endpoint(endpoint),), timeout=10))
    try:
        probe = run.probe(run.settings.endpoints[0])
        started = time.perf_counter()
        surface = probe.surface()
        elapsed = time.perf_counter() - started
        return elapsed, probe.connections, sum(len(v.accepted_suites) for v in surface.versions)
    finally:
        run.close()


def peer_commands(port: int) -> dict[str, list[str]]:
    commands: dict[str, list[str]] = {}
    sslyze = os.environ.get("SSLYZE") or shutil.which("sslyze")
    if sslyze:
        commands["sslyze"] = [sslyze, "--starttls", "postgres", f"127.0.0.1:{port}"]
    if shutil.which("sslscan"):
        commands["sslscan"] = ["sslscan", "--starttls-psql", "--no-colour", f"127.0.0.1:{port}"]
    if shutil.which("nmap"):
        commands["nmap"] = ["nmap", "-Pn", "-sV", "--script", "ssl-enum-ciphers", "-p", str(port), "127.0.0.1"]
    return commands


def logged_connections(server: RunningPostgres) -> int:
    return (server.directory / "server.log").read_text(errors="replace").count("connection received:")


def measure(server: RunningPostgres, work: Callable[[], object]) -> tuple[float, int]:
    before = logged_connections(server)
    started = time.perf_counter()
    work()
    elapsed = time.perf_counter() - started
    time.sleep(0.2)  # let the server write its last log line
    return elapsed, logged_connections(server) - before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        pki = make_pki(Path(work))
        for profile in (PgProfile.HARDENED, PgProfile.WEAK):
            with start_postgres(profile, pki) as server:
                ours = [our_enumeration(server.endpoint) for _ in range(args.rounds)]
                wall = statistics.median(t for t, _, _ in ours)
                _, logged = measure(server, lambda: our_enumeration(server.endpoint))
                print(f"PostgreSQL {profile.value}: pytest-aurora-guard full surface: {ours[0][2]} suites accepted, "
                      f"{ours[0][1]} connections (server log: {logged}), median {wall * 1000:.0f} ms "
                      f"over {args.rounds} rounds")
                for name, command in peer_commands(server.port).items():
                    peer_time, peer_connections = measure(server, lambda c=command: subprocess.run(
                        c, capture_output=True, timeout=600, check=False))
                    ratio: Optional[str] = (f"{peer_time / wall:.0f}x the time, "
                                            f"{peer_connections / max(1, logged):.1f}x the connections")
                    print(f"    {name}: {peer_connections} connections, {peer_time * 1000:.0f} ms ({ratio})")
        with start_mariadb(MariaDbProfile.HARDENED, pki) as mariadb:
            ours = [our_enumeration(mariadb.endpoint) for _ in range(args.rounds)]
            print(f"MariaDB hardened: pytest-aurora-guard full surface: {ours[0][2]} suites accepted, "
                  f"{ours[0][1]} connections, median {statistics.median(t for t, _, _ in ours) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
