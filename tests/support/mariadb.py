"""Real MariaDB servers on loopback, in the configurations the guard must tell apart.

MariaDB stands in for Aurora MySQL: same protocol, same ``require_secure_transport`` and
``tls_version`` settings. Used by the test suite's session fixtures and by the demo command
(``python -m tests.support.mariadb hardened weak``), so nothing here depends on pytest.
Debian's MariaDB 10.11; run as the ``mysql`` OS user when we are root.
"""

from __future__ import annotations

import atexit
import enum
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pymysql

from .pki import TestPki, make_pki
from .servers_common import (
    MaskedPassword,
    chown_tree,
    copy_private,
    free_port,
    is_root,
    tail,
    write_openssl_conf,
)
from .watchdog import Watchdog, watch

OS_USER = "mysql"
GUARD_USER = "guard"
GUARD_DATABASE = "guard"
DEFAULT_BASE_DIR = Path("/tmp")
STARTUP_TIMEOUT = 60.0
# sun_path holds 108 bytes including the NUL; stay well under it.
_MAX_SOCKET_PATH = 100


class MariaDbProfile(enum.Enum):
    """Server configurations: the names say what the guard must conclude about them."""

    HARDENED = "hardened"  # plaintext refused, TLS 1.3 only, allowlisted TLS 1.3 suites
    WEAK = "weak"  # plaintext allowed, TLS 1.0 and up, every cipher OpenSSL still has
    IN_BETWEEN = "in_between"  # plaintext refused, TLS 1.2 allowed with two ECDHE-GCM suites
    NO_TLS = "no_tls"  # no certificate: the greeting lacks CLIENT_SSL
    CERTIFICATES = "certificates"  # as HARDENED, but loads whatever certificate it is given (RSA-1024, SHA-1)

    @property
    def offers_tls(self) -> bool:
        return self is not MariaDbProfile.NO_TLS


_PROFILE_OPTIONS: dict[MariaDbProfile, tuple[str, ...]] = {
    MariaDbProfile.HARDENED: ("--require-secure-transport=ON", "--tls-version=TLSv1.3"),
    MariaDbProfile.WEAK: (
        "--require-secure-transport=OFF",
        "--tls-version=TLSv1.0,TLSv1.1,TLSv1.2,TLSv1.3",
        # OpenSSL 3 refuses TLS 1.0/1.1 at the default security level (facts §9).
        "--ssl-cipher=ALL:@SECLEVEL=0",
    ),
    MariaDbProfile.IN_BETWEEN: (
        "--require-secure-transport=ON",
        "--tls-version=TLSv1.2,TLSv1.3",
        "--ssl-cipher=ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384",
    ),
    MariaDbProfile.NO_TLS: ("--require-secure-transport=OFF",),
    MariaDbProfile.CERTIFICATES: ("--require-secure-transport=ON", "--tls-version=TLSv1.3"),
}

# Small and quick: these servers hold one user and take a handful of connections.
_SMALL_SERVER_OPTIONS = (
    "--innodb-buffer-pool-size=16M",
    "--innodb-log-file-size=4M",
    "--skip-log-bin",
)
_RUNTIME_OPTIONS = (
    *_SMALL_SERVER_OPTIONS,
    "--bind-address=127.0.0.1",
    "--skip-name-resolve",
    "--innodb-temp-data-file-path=ibtmp1:1M:autoextend",
    # The TLS probes abort many handshakes on purpose; don't let the server block 127.0.0.1
    # for "too many connection errors" (ERROR 1129) halfway through a test run.
    "--max-connect-errors=1000000",
)


class MariaDbUnavailable(RuntimeError):
    """The MariaDB server binaries are not installed, or a server would not start."""


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        raise MariaDbUnavailable(
            f"{name} not found; install the MariaDB server with: apt-get install -y mariadb-server"
        )
    return found


@dataclass
class RunningMariaDb:
    profile: MariaDbProfile
    host: str
    port: int
    user: str
    password: MaskedPassword
    database: str
    ca_cert: Path
    server_version: str
    startup_seconds: float  # install from the template, start, wait until ready, create the user
    directory: Path
    socket_path: Path
    error_log: Path
    _process: subprocess.Popen[bytes] = field(repr=False)
    _watchdog: Watchdog = field(repr=False)

    @property
    def endpoint(self) -> str:
        return f"mysql://{self.host}:{self.port}"

    def stop(self) -> None:
        """Shut the server down (SIGTERM, then SIGKILL after 30 s) and delete its files."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=30)
        shutil.rmtree(self.directory, ignore_errors=True)
        self._watchdog.release()

    def __enter__(self) -> RunningMariaDb:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_template: Optional[Path] = None


def _install_template() -> Path:
    """mariadb-install-db once per process; each server copies the result, which is quicker."""
    global _template
    if _template is None or not (_template / "mysql").is_dir():
        base = Path(tempfile.mkdtemp(prefix="agmdb-tpl-", dir=DEFAULT_BASE_DIR))
        atexit.register(shutil.rmtree, base, True)
        watch(paths=[base])  # also when this process is killed, which skips atexit
        data = base / "data"
        data.mkdir()
        if is_root():
            chown_tree(base, OS_USER)
        argv = [
            _binary("mariadb-install-db"), "--no-defaults",
            "--auth-root-authentication-method=normal", f"--datadir={data}",
            "--skip-test-db", "--skip-name-resolve", *_SMALL_SERVER_OPTIONS,
        ]
        if is_root():
            argv.append(f"--user={OS_USER}")
        installed = subprocess.run(argv, check=False, capture_output=True, timeout=120)
        if installed.returncode != 0:
            output = (installed.stdout + installed.stderr).decode(errors="replace")
            raise MariaDbUnavailable(f"mariadb-install-db failed:\n{output[-3000:]}")
        _template = data
    return _template


def start_mariadb(
    profile: MariaDbProfile,
    pki: TestPki,
    base_dir: Path = DEFAULT_BASE_DIR,
    attempts: int = 3,
) -> RunningMariaDb:
    """Start a MariaDB server on 127.0.0.1 in ``profile``, with a ``guard`` user, and wait for it.

    ``base_dir`` must be enterable by the ``mysql`` OS user when we are root (pytest's own
    temporary directories are not) and short enough for a unix-socket path.
    """
    started_at = time.monotonic()
    template = _install_template()
    mariadbd = _binary("mariadbd")
    last_log = ""
    for _ in range(attempts):
        directory = Path(tempfile.mkdtemp(prefix=f"agmdb-{profile.value[:4]}-", dir=base_dir))
        socket_path = directory / "mysqld.sock"
        if len(str(socket_path)) > _MAX_SOCKET_PATH:
            shutil.rmtree(directory, ignore_errors=True)
            raise ValueError(f"{base_dir} is too long for a unix-socket path; use a shorter one")
        data = directory / "data"
        shutil.copytree(template, data, symlinks=True)
        tls_options = _install_pki(directory, pki) if profile.offers_tls else []
        if is_root():
            chown_tree(directory, OS_USER)
        error_log = directory / "error.log"
        port = free_port()
        argv = [
            mariadbd, "--no-defaults", f"--datadir={data}", f"--port={port}",
            f"--socket={socket_path}", f"--pid-file={directory / 'mysqld.pid'}",
            f"--log-error={error_log}", *_RUNTIME_OPTIONS, *tls_options, *_PROFILE_OPTIONS[profile],
        ]
        if is_root():
            argv.insert(2, f"--user={OS_USER}")
        env = dict(os.environ)
        if profile in (MariaDbProfile.HARDENED, MariaDbProfile.IN_BETWEEN, MariaDbProfile.CERTIFICATES):
            weak = profile is MariaDbProfile.CERTIFICATES
            env["OPENSSL_CONF"] = str(write_openssl_conf(directory, OS_USER, weak_certificates=weak))
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        watchdog = watch(pid=process.pid, paths=[directory])
        if _wait_until_ready(process, socket_path):
            try:
                password = MaskedPassword(secrets.token_urlsafe(18))
                version = _create_guard_user(socket_path, password)
            except BaseException:
                _terminate(process)
                shutil.rmtree(directory, ignore_errors=True)
                watchdog.release()
                raise
            return RunningMariaDb(
                profile=profile, host="127.0.0.1", port=port, user=GUARD_USER, password=password,
                database=GUARD_DATABASE, ca_cert=pki.ca_cert, server_version=version,
                startup_seconds=time.monotonic() - started_at, directory=directory,
                socket_path=socket_path, error_log=error_log, _process=process, _watchdog=watchdog,
            )
        _terminate(process)
        watchdog.release()
        last_log = tail(error_log)
        shutil.rmtree(directory, ignore_errors=True)
        if "already in use" not in last_log:
            break  # only a port taken between free_port() and bind() is worth another try
    raise MariaDbUnavailable(f"MariaDB ({profile.value}) did not start:\n{last_log}")


def _install_pki(directory: Path, pki: TestPki) -> list[str]:
    """Copy the certificates where the ``mysql`` user can read them; return the server options."""
    tls = directory / "tls"
    tls.mkdir()
    ca = copy_private(pki.ca_cert, tls / "ca.pem", OS_USER, 0o644)
    cert = copy_private(pki.server_cert, tls / "server.pem", OS_USER, 0o644)
    key = copy_private(pki.server_key, tls / "server.key", OS_USER, 0o600)
    return [f"--ssl-ca={ca}", f"--ssl-cert={cert}", f"--ssl-key={key}"]


def _wait_until_ready(process: subprocess.Popen[bytes], socket_path: Path) -> bool:
    """True once root can log in over the unix socket; False if the server exits or hangs."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if socket_path.exists():
            try:
                root = pymysql.connect(unix_socket=str(socket_path), user="root", connect_timeout=2)
            except pymysql.err.OperationalError:
                pass
            else:
                root.close()
                return True
        time.sleep(0.05)
    return False


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=30)


def _create_guard_user(socket_path: Path, password: str) -> str:
    """Create ``guard`` for 127.0.0.1 and ``%``; close root's password-less TCP logins.

    Returns the server version. Errors are re-raised without the server's message, which
    could quote the statement and with it the password.
    """
    statements: list[tuple[str, tuple[str, ...]]] = [
        (f"CREATE DATABASE {GUARD_DATABASE}", ()),
    ]
    for host in ("127.0.0.1", "%"):
        statements += [
            (
                "CREATE USER %s@%s IDENTIFIED VIA mysql_native_password USING PASSWORD(%s)",
                (GUARD_USER, host, password),
            ),
            (f"GRANT ALL ON {GUARD_DATABASE}.* TO %s@%s", (GUARD_USER, host)),
        ]
    connection = pymysql.connect(unix_socket=str(socket_path), user="root", autocommit=True)
    try:
        with connection.cursor() as cursor:
            # mariadb-install-db also makes root@127.0.0.1, @::1 and @<hostname>, all without
            # a password; only root@localhost (the unix socket) is needed.
            cursor.execute("SELECT host FROM mysql.user WHERE user='root' AND host <> 'localhost'")
            statements[:0] = [("DROP USER 'root'@%s", (str(row[0]),)) for row in cursor.fetchall()]
            for number, (statement, args) in enumerate(statements, start=1):
                try:
                    cursor.execute(statement, args or None)
                except pymysql.Error as exc:
                    code = exc.args[0] if exc.args else "?"
                    raise MariaDbUnavailable(
                        f"setting up the {GUARD_USER} user failed at statement {number} "
                        f"with MariaDB error {code}"
                    ) from None
            cursor.execute("SELECT VERSION()")
            row = cursor.fetchone()
    finally:
        connection.close()
    return str(row[0]) if row else ""


def main(argv: list[str]) -> int:
    """Start the named profiles (all by default), print how to reach them, stop on Enter."""
    names = argv or [p.value for p in MariaDbProfile]
    try:
        profiles = [MariaDbProfile(name) for name in names]
    except ValueError:
        choices = "|".join(p.value for p in MariaDbProfile)
        print(f"usage: python -m tests.support.mariadb [{choices}]...")
        return 2
    pki = make_pki(Path(tempfile.mkdtemp(prefix="agmdb-pki-")))
    servers: list[RunningMariaDb] = []
    try:
        for profile in profiles:
            server = start_mariadb(profile, pki)
            servers.append(server)
            options = server.directory / "client.cnf"  # the password stays out of the terminal
            descriptor = os.open(options, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(
                    f"[client]\nhost={server.host}\nport={server.port}\nuser={server.user}\n"
                    f"password={server.password}\n"
                )
                if profile.offers_tls:
                    file.write(f"ssl-ca={server.ca_cert}\n")
            print(
                f"{profile.value:<11} {server.endpoint}  {server.server_version}  "
                f"started in {server.startup_seconds:.2f} s  "
                f"connect: mariadb --defaults-file={options}"
            )
        input("Press Enter to stop the servers. ")
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(pki.directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
