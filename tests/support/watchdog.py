"""Servers the suite or the demo started die with it, even when pytest is killed with SIGKILL.

``watch()`` starts a small child process holding the read end of a pipe whose write end only the
starting process has. When that process ends for any reason (normal exit, Ctrl-C, SIGTERM from a
CI runner, SIGKILL, an OOM kill), the kernel closes the write end, the watchdog reads end-of-file,
signals the server, escalates to SIGKILL if it lingers, and removes the server's files. A server
stopped the normal way releases its watchdog first. The child runs in its own session, so a
Ctrl-C to the terminal's process group cannot stop it before it has done its work.

This file is also the watchdog program itself (stdlib only, run by path).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

RELEASED = b"released\n"
GRACE_SECONDS = 10.0
# Every watchdog not yet released. Held here because its pipe must stay open until this process
# ends, and a dropped Popen of a running child is a ResourceWarning (an error in the suite).
_UNRELEASED: list[Watchdog] = []


class Watchdog:
    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process

    def release(self) -> None:
        """The server was stopped normally: the watchdog exits without touching anything."""
        if self._process.stdin is not None and not self._process.stdin.closed:
            try:
                self._process.stdin.write(RELEASED)
                self._process.stdin.close()
            except BrokenPipeError:
                pass
        self._process.wait(timeout=30)
        if self in _UNRELEASED:
            _UNRELEASED.remove(self)


def watch(*, pid: Optional[int] = None, pidfile: Optional[Path] = None, process_group: Optional[int] = None,
          paths: Sequence[Path] = (), sig: int = signal.SIGTERM) -> Watchdog:
    """Stop a server when this process ends: by ``pid``, by the pid in the first line of ``pidfile``
    (PostgreSQL's postmaster.pid, read when needed), or by ``process_group``; then delete ``paths``."""
    argv = [sys.executable, str(Path(__file__).resolve()), str(int(sig)),
            str(pid or 0), str(pidfile or ""), str(process_group or 0), *map(str, paths)]
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    watchdog = Watchdog(process)
    _UNRELEASED.append(watchdog)
    return watchdog


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pid_from(pidfile: str) -> int:
    try:
        return int(Path(pidfile).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _signal(pid: int, group: int, sig: int) -> None:
    try:
        if group:
            os.killpg(group, sig)
        elif pid:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def main(argv: list[str]) -> int:
    sig, pid, pidfile, group, paths = int(argv[0]), int(argv[1]), argv[2], int(argv[3]), argv[4:]
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    received = sys.stdin.buffer.read()  # returns at end-of-file: the starting process is gone
    if received == RELEASED:
        return 0
    target = pid or (_pid_from(pidfile) if pidfile else 0)
    _signal(target, group, sig)
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline and ((target and _alive(target)) or (group and _group_alive(group))):
        time.sleep(0.1)
    _signal(target, group, signal.SIGKILL)
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
