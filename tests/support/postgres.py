"""Real PostgreSQL servers on loopback, in the configurations the guard must tell apart.

Used by the test suite's session fixtures and by the README's demo command, so nothing here
depends on pytest. Debian's PostgreSQL; run as the ``postgres`` OS user when we are root.
"""

from __future__ import annotations

import enum
import glob
import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import psycopg

from .pki import TestPki
from .servers_common import (
    MaskedPassword,
    as_user,
    chown_tree,
    copy_private,
    free_port,
    is_root,
    server_dir,
    tail,
    write_openssl_conf,
)
from .watchdog import Watchdog, watch

OS_USER = "postgres"
GUARD_USER = "guard"
GUARD_DATABASE = "guard"


class PgProfile(enum.Enum):
    """Server configurations: the names say what the guard must conclude about them."""

    HARDENED = "hardened"  # hostssl only + hostnossl reject, TLS 1.3 only, allowlisted TLS 1.3 suites
    WEAK = "weak"  # plaintext allowed, TLS 1.0 and up, every cipher
    IN_BETWEEN = "in_between"  # plaintext refused, TLS 1.2 allowed with two ECDHE-GCM suites
    NO_TLS = "no_tls"  # ssl=off: answers 'N' to SSLRequest
    CERTIFICATES = "certificates"  # as HARDENED, but loads whatever certificate it is given (RSA-1024, SHA-1)
    # TLS 1.0-1.2 whose only ECDHE group is secp521r1: accepted old TLS that a hello offering
    # fewer groups than OpenSSL's client misreads as refused (issue 15).
    P521_OLD_TLS = "p521_old_tls"
    # Plaintext refused for every database but one that exists (a per-database pg_hba line):
    # only a probe that lists the connectable databases can tell.
    PER_DATABASE = "per_database"
    # Plaintext refused, and the probe identity refused over TLS as well: the plaintext refusal
    # then says nothing about the transport.
    TLS_REJECTS_PROBE = "tls_rejects_probe"
    # Plaintext refused, TLS 1.2 at most (ssl_max_protocol_version): a verified session lands below
    # a TLS 1.3 floor.
    TLS12_MAX = "tls12_max"


_HBA_TLS_ONLY = """\
local all all trust
hostnossl all all 0.0.0.0/0 reject
hostnossl all all ::/0 reject
hostssl all all 127.0.0.1/32 scram-sha-256
hostssl all all ::1/128 scram-sha-256
"""
PLAINTEXT_DATABASE = "legacy"
_HBA_PLAINTEXT_FOR_ONE_DATABASE = f"""\
local all all trust
hostnossl {PLAINTEXT_DATABASE} all 127.0.0.1/32 scram-sha-256
hostnossl all all 0.0.0.0/0 reject
hostssl all all 127.0.0.1/32 scram-sha-256
"""
PROBE_USER = "pytest_aurora_guard_probe"  # the guard's probe identity without --aurora-user
_HBA_TLS_REJECTS_PROBE = f"""\
local all all trust
hostnossl all all 0.0.0.0/0 reject
hostssl all {PROBE_USER} 127.0.0.1/32 reject
hostssl all all 127.0.0.1/32 scram-sha-256
"""
_HBA_ANY_TRANSPORT = """\
local all all trust
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
"""

_PROFILE_SETTINGS: dict[PgProfile, tuple[dict[str, str], str]] = {
    PgProfile.HARDENED: ({"ssl": "on", "ssl_min_protocol_version": "'TLSv1.3'"}, _HBA_TLS_ONLY),
    PgProfile.WEAK: (
        {"ssl": "on", "ssl_min_protocol_version": "'TLSv1'", "ssl_ciphers": "'ALL:@SECLEVEL=0'"},
        _HBA_ANY_TRANSPORT,
    ),
    PgProfile.IN_BETWEEN: (
        {
            "ssl": "on",
            "ssl_min_protocol_version": "'TLSv1.2'",
            "ssl_ciphers": "'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384'",
        },
        _HBA_TLS_ONLY,
    ),
    PgProfile.NO_TLS: ({"ssl": "off"}, _HBA_ANY_TRANSPORT),
    PgProfile.CERTIFICATES: ({"ssl": "on", "ssl_min_protocol_version": "'TLSv1.3'"}, _HBA_TLS_ONLY),
    PgProfile.P521_OLD_TLS: (
        {"ssl": "on", "ssl_min_protocol_version": "'TLSv1'", "ssl_ciphers": "'ECDHE:@SECLEVEL=0'",
         "ssl_ecdh_curve": "'secp521r1'"},
        _HBA_TLS_ONLY,
    ),
    PgProfile.PER_DATABASE: ({"ssl": "on", "ssl_min_protocol_version": "'TLSv1.3'"}, _HBA_PLAINTEXT_FOR_ONE_DATABASE),
    PgProfile.TLS_REJECTS_PROBE: ({"ssl": "on", "ssl_min_protocol_version": "'TLSv1.3'"}, _HBA_TLS_REJECTS_PROBE),
    PgProfile.TLS12_MAX: (
        {"ssl": "on", "ssl_min_protocol_version": "'TLSv1.2'", "ssl_max_protocol_version": "'TLSv1.2'"},
        _HBA_TLS_ONLY,
    ),
}


def postgres_bindir() -> Path:
    """The newest Debian PostgreSQL server binaries (``postgresql-NN`` package)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=_major_version)
    if not candidates:
        raise RuntimeError(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; "
            "install them with: apt-get install -y postgresql"
        )
    return Path(candidates[-1]).parent


def _major_version(path: str) -> int:
    return int(Path(path).parent.parent.name)


@dataclass
class RunningPostgres:
    profile: PgProfile
    host: str
    port: int
    user: str
    password: MaskedPassword
    database: str
    ca_cert: Path
    directory: Path
    socket_dir: Path
    _bindir: Path = field(repr=False)
    _watchdog: Watchdog = field(repr=False)

    @property
    def endpoint(self) -> str:
        return f"postgresql://{self.host}:{self.port}"

    def stop(self) -> None:
        subprocess.run(
            as_user(OS_USER, [str(self._bindir / "pg_ctl"), "-D", str(self.directory / "data"),
                              "-m", "immediate", "-w", "stop"]),
            check=False, capture_output=True, timeout=60,
        )
        shutil.rmtree(self.directory, ignore_errors=True)
        self._watchdog.release()

    def __enter__(self) -> RunningPostgres:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_template: Optional[Path] = None


def _initdb_template(bindir: Path) -> Path:
    """initdb once per process; each server copies it, which is much faster than initdb."""
    global _template
    if _template is None or not (_template / "PG_VERSION").exists():
        base = server_dir("agpg-tpl-", OS_USER)
        data = base / "data"
        subprocess.run(
            as_user(OS_USER, [str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                              "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]),
            check=True, capture_output=True, timeout=120,
        )
        watch(paths=[base])  # removed when this process ends, however it ends
        _template = data
    return _template


def start_postgres(profile: PgProfile, pki: TestPki, attempts: int = 3, *,
                   settings: Optional[dict[str, str]] = None,
                   openssl: Optional[dict[str, str]] = None, client_ca: bool = True) -> RunningPostgres:
    """Start a server of ``profile``; ``settings`` replace the profile's postgresql.conf TLS lines
    and ``openssl`` the OpenSSL configuration lines it gets through OPENSSL_CONF (random
    configurations use both). ``client_ca=False`` leaves out ssl_ca_file, so the server sends no
    CertificateRequest (which makes sslyze wait ~5 s probing client authentication)."""
    bindir = postgres_bindir()
    template = _initdb_template(bindir)
    last_error = ""
    for _ in range(attempts):
        directory = server_dir(f"agpg-{profile.value[:4]}-", OS_USER)
        data = directory / "data"
        shutil.copytree(template, data, symlinks=True)
        socket_dir = directory / "s"
        socket_dir.mkdir()
        port = free_port()
        _write_config(data, socket_dir, port, profile, pki, settings, client_ca)
        if is_root():
            chown_tree(directory, OS_USER)
        data.chmod(0o700)
        log = directory / "server.log"
        env = dict(os.environ)
        if openssl is not None:
            env["OPENSSL_CONF"] = str(write_openssl_conf(directory, OS_USER, lines=openssl))
        elif profile in (PgProfile.HARDENED, PgProfile.IN_BETWEEN, PgProfile.CERTIFICATES,
                         PgProfile.P521_OLD_TLS, PgProfile.PER_DATABASE):
            env["OPENSSL_CONF"] = str(write_openssl_conf(directory, OS_USER,
                                                         weak_certificates=profile is PgProfile.CERTIFICATES))
        started = subprocess.run(
            as_user(OS_USER, [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                              "start"]),
            check=False, capture_output=True, timeout=90, env=env,
        )
        if started.returncode == 0:
            # SIGQUIT is PostgreSQL's immediate shutdown, what stop() asks pg_ctl for.
            watchdog = watch(pidfile=data / "postmaster.pid", paths=[directory], sig=signal.SIGQUIT)
            password = MaskedPassword(secrets.token_urlsafe(18))
            _create_guard_role(socket_dir, port, password,
                               extra_databases=(PLAINTEXT_DATABASE,) if profile is PgProfile.PER_DATABASE else ())
            return RunningPostgres(
                profile=profile, host="127.0.0.1", port=port, user=GUARD_USER, password=password,
                database=GUARD_DATABASE, ca_cert=pki.ca_cert, directory=directory,
                socket_dir=socket_dir, _bindir=bindir, _watchdog=watchdog,
            )
        last_error = tail(log)
        shutil.rmtree(directory, ignore_errors=True)
        time.sleep(0.2)  # most likely another process took the port between bind and listen
    raise RuntimeError(f"PostgreSQL ({profile.value}) did not start:\n{last_error}")


def _write_config(data: Path, socket_dir: Path, port: int, profile: PgProfile, pki: TestPki,
                  tls_settings: Optional[dict[str, str]], client_ca: bool) -> None:
    settings, hba = _PROFILE_SETTINGS[profile]
    settings = tls_settings if tls_settings is not None else settings
    cert = copy_private(pki.server_cert, data / "server.crt", OS_USER, 0o644)
    key = copy_private(pki.server_key, data / "server.key", OS_USER, 0o600)
    ca = copy_private(pki.ca_cert, data / "root.crt", OS_USER, 0o644)
    lines = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(port),
        "unix_socket_directories": f"'{socket_dir}'",
        "max_connections": "30",
        "shared_buffers": "16MB",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "password_encryption": "'scram-sha-256'",
        "ssl_cert_file": f"'{cert}'",
        "ssl_key_file": f"'{key}'",
        "ssl_ca_file": f"'{ca}'" if client_ca else "''",
        "log_connections": "on",
        **settings,
    }
    with (data / "postgresql.conf").open("a") as conf:
        conf.write("\n# written by tests/support/postgres.py\n")
        for key_name, value in lines.items():
            conf.write(f"{key_name} = {value}\n")
    (data / "pg_hba.conf").write_text(hba)


def _create_guard_role(socket_dir: Path, port: int, password: str, extra_databases: tuple[str, ...] = ()) -> None:
    with psycopg.connect(host=str(socket_dir), port=port, user="postgres", dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                psycopg.sql.Identifier(GUARD_USER), psycopg.sql.Literal(password)
            )
        )
        for database in (GUARD_DATABASE, *extra_databases):
            conn.execute(
                psycopg.sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    psycopg.sql.Identifier(database), psycopg.sql.Identifier(GUARD_USER)
                )
            )
