"""The whole gate against the peer scanners, every tool timed the same way: a whole cold
process, median of interleaved rounds, connections counted from the server's own log.

    python3 -m benchmarks.bench_surface [--rounds 5] [--before PATH] [--sslyze PATH]

Starts two local PostgreSQL servers, hardened (TLS 1.3 only, allowlisted suites) and weak
(plaintext allowed, TLS 1.0-1.3, ALL:@SECLEVEL=0), both without ssl_ca_file so that no tool
is slowed by a CertificateRequest (sslyze otherwise spends ~5 s on client-certificate
detection). Then, round after round, in a rotating order, it runs each tool as its
documentation recommends for a STARTTLS PostgreSQL port:

- pytest-aurora-guard: ``python3 -m pytest --aurora-endpoint=postgresql://HOST:PORT`` in an
  empty directory (all credential-free checks); ``--before PATH`` adds the same command with
  the package from another checkout, e.g. ``git worktree add --detach /tmp/before 57b1f37``;
- sslscan 2: ``sslscan --starttls-psql HOST:PORT``;
- nmap: ``--script ssl-enum-ciphers`` with a services file naming the port ``postgresql``
  (``--datadir``; that is what makes the script speak STARTTLS) instead of ``-sV``, whose
  service probes wait ~6 s for a banner PostgreSQL never sends;
- sslyze 6 (``--sslyze`` or on PATH; install it in a throwaway venv): the cipher-suite scan
  commands only (``--sslv2 ... --tlsv1_3``), which is its suite enumeration.

Prints a Markdown table; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tests.support.pki import make_pki
from tests.support.postgres import PgProfile, RunningPostgres, start_postgres


@dataclass(frozen=True)
class Tool:
    name: str
    argv: list[str]
    env: Optional[dict[str, str]] = None


def tools(port: int, work: Path, before: Optional[Path], sslyze: Optional[str]) -> list[Tool]:
    repo = Path(__file__).resolve().parent.parent
    target = f"127.0.0.1:{port}"
    gate = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:benchmark",
            f"--aurora-endpoint=postgresql://{target}"]
    found = [Tool("pytest-aurora-guard", gate, {**os.environ, "PYTHONPATH": str(repo)})]
    if before is not None:
        found.append(Tool("pytest-aurora-guard before", gate, {**os.environ, "PYTHONPATH": str(before)}))
    if shutil.which("sslscan"):
        found.append(Tool("sslscan", ["sslscan", "--starttls-psql", "--no-colour", target]))
    if shutil.which("nmap"):
        # A data directory holding only nmap-services: nmap reads every other file from its own
        # (``--servicedb`` would imply -F, which refuses -p).
        datadir = work / f"nmap-{port}"
        datadir.mkdir()
        (datadir / "nmap-services").write_text(f"postgresql\t{port}/tcp\t0.5\n")
        found.append(Tool("nmap ssl-enum-ciphers", ["nmap", "-Pn", "-n", "--datadir", str(datadir), "--script",
                                                   "ssl-enum-ciphers", "-p", str(port), "127.0.0.1"]))
    if sslyze:
        found.append(Tool("sslyze", [sslyze, "--starttls", "postgres", "--sslv2", "--sslv3", "--tlsv1", "--tlsv1_1",
                                     "--tlsv1_2", "--tlsv1_3", "--mozilla_config", "disable", target]))
    return found


def logged_connections(server: RunningPostgres) -> int:
    return (server.directory / "server.log").read_text(errors="replace").count("connection received:")


def run_once(server: RunningPostgres, tool: Tool, work: Path) -> tuple[float, int, int]:
    before = logged_connections(server)
    empty = Path(tempfile.mkdtemp(dir=work))  # the gate runs where there is no conftest or ini
    started = time.perf_counter()
    done = subprocess.run(tool.argv, cwd=empty, env=tool.env, capture_output=True, timeout=600, check=False)
    elapsed = time.perf_counter() - started
    time.sleep(0.3)  # the server logs each connection as it accepts it
    return elapsed, logged_connections(server) - before, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", type=Path, help="a checkout of pytest-aurora-guard to compare with")
    parser.add_argument("--sslyze", default=os.environ.get("SSLYZE") or shutil.which("sslyze"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        pki = make_pki(work / "pki")
        rows = []
        for profile in (PgProfile.HARDENED, PgProfile.WEAK):
            with start_postgres(profile, pki, client_ca=False) as server:
                candidates = tools(server.port, work, args.before, args.sslyze)
                seen: dict[str, list[tuple[float, int, int]]] = {t.name: [] for t in candidates}
                for round_number in range(args.rounds):
                    shift = round_number % len(candidates)
                    for tool in candidates[shift:] + candidates[:shift]:
                        seen[tool.name].append(run_once(server, tool, work))
                for tool in candidates:
                    times = [t for t, _, _ in seen[tool.name]]
                    connections = sorted({c for _, c, _ in seen[tool.name]})
                    codes = sorted({r for _, _, r in seen[tool.name]})
                    rows.append((profile.value, tool.name, "/".join(map(str, connections)),
                                 statistics.median(times), min(times), max(times), codes))
    print(f"| server | tool | connections | median wall time | min-max | exit codes |  ({args.rounds} rounds)")
    print("|---|---|---|---|---|---|")
    for server_name, name, connections, median, low, high, codes in rows:
        print(f"| {server_name} | {name} | {connections} | {median:.2f} s | {low:.2f}-{high:.2f} s | {codes} |")


if __name__ == "__main__":
    main()
