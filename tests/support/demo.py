"""The README's first command: start a local hardened PostgreSQL and gate it, as a user would.

Run from the repository root after ``scripts/install-deps.sh``: ``.venv/bin/python -m tests.support.demo``.
It starts the same server the test suite uses (hardened: hostssl only, TLS 1.3 only, with a
throwaway CA), runs ``pytest --aurora-endpoint=…`` in an empty directory, and stops the server.
Extra arguments go to that pytest run (e.g. ``--profile weak`` first to see failures).

Interrupted (Ctrl-C, SIGTERM) it stops the server on the way out; killed outright, the server's
watchdog (``tests.support.watchdog``) stops it and removes the temporary files.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.pki import make_pki
from tests.support.postgres import PgProfile, start_postgres
from tests.support.watchdog import watch


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=[p.value for p in PgProfile], default=PgProfile.HARDENED.value,
                        help="which local server to gate (default: hardened)")
    parser.add_argument("--with-credentials", action="store_true",
                        help="also run the driver-level checks as the server's 'guard' user")
    args, pytest_args = parser.parse_known_args(argv)
    # SIGTERM (a CI runner's cancel) unwinds like Ctrl-C, so the with-blocks below stop the server.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    with tempfile.TemporaryDirectory(prefix="aurora-guard-demo-") as work:
        watch(paths=[Path(work)])
        pki = make_pki(Path(work) / "pki")
        empty = Path(work) / "empty"
        empty.mkdir()
        with start_postgres(PgProfile(args.profile), pki) as server:
            command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                       f"--aurora-endpoint={server.endpoint}", f"--aurora-ca-bundle={pki.ca_cert}"]
            env = dict(os.environ)
            if args.with_credentials:
                command += [f"--aurora-user={server.user}", f"--aurora-dbname={server.database}"]
                env["AURORA_GUARD_PASSWORD"] = server.password
            print(f"$ {' '.join(command[2:] + pytest_args)}   # in an empty directory, against the "
                  f"{args.profile} local server", flush=True)
            return subprocess.call(command + pytest_args, cwd=empty, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
