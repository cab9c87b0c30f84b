"""Servers started by the suite or the demo stop when the process that started them is killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

STARTERS = {
    "postgresql": "from tests.support.postgres import PgProfile as P, start_postgres as start",
    "mariadb": "from tests.support.mariadb import MariaDbProfile as P, start_mariadb as start",
}
STARTED = """
import sys, time
from pathlib import Path
from tests.support.pki import make_pki
{starter}
server = start(P.HARDENED, make_pki(Path(sys.argv[1])))
print(server.port, server.directory, flush=True)
{after}
"""


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _start(engine: str, tmp_path: Path, after: str) -> tuple[subprocess.Popen[str], int, Path]:
    code = STARTED.format(starter=STARTERS[engine], after=after)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "pki")], stdout=subprocess.PIPE,
                               text=True, cwd=ROOT, env=env)
    assert process.stdout is not None
    port, directory = process.stdout.readline().split()
    return process, int(port), Path(directory)


def _gone(port: int, directory: Path, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _accepts(port) and not directory.exists():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("engine", sorted(STARTERS))
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_starter_leaves_no_server_running(engine, how, tmp_path):
    process, port, directory = _start(engine, tmp_path, "time.sleep(600)")
    try:
        assert _accepts(port)
        process.send_signal(how)
        process.wait(timeout=10)
        assert _gone(port, directory), f"{engine} still serves on {port} or left {directory}"
    finally:
        process.kill()
        process.wait()
        process.stdout.close()


def test_a_server_stopped_normally_releases_its_watchdog(tmp_path):
    process, port, directory = _start("postgresql", tmp_path, "server.stop(); print('stopped', flush=True)")
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "stopped"
    assert process.wait(timeout=30) == 0
    process.stdout.close()
    assert not _accepts(port)
    assert not directory.exists()


def test_a_killed_s_server_peer_does_not_outlive_its_starter(tmp_path):
    code = f"""
import sys, time
from pathlib import Path
sys.path.insert(0, {str(ROOT)!r})
from tests.support.pki import make_pki
from tests.tls_peers import OpenSslServer
with OpenSslServer(make_pki(Path(sys.argv[1]))) as server:
    print(server.port, flush=True)
    time.sleep(600)
"""
    process = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                               cwd=ROOT)
    assert process.stdout is not None
    port = int(process.stdout.readline())
    assert _accepts(port)
    process.kill()
    process.wait(timeout=10)
    process.stdout.close()
    assert _gone(port, tmp_path / "no-directory")
