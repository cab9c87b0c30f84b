"""A plaintext refusal must hold beyond the probe's own identity, and MySQL's must come from
evidence that covers every account (error 3159, the global require_secure_transport, a canary),
never from a 1045 contrast that one account's REQUIRE SSL produces."""

from __future__ import annotations

import secrets
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pymysql
import pytest

from tests.hostile_peers import tcp_peer
from tests.support.mariadb import RunningMariaDb
from tests.support.postgres import PLAINTEXT_DATABASE, RunningPostgres
from tests.test_mysql_gate import with_credentials as mysql_credentials
from tests.test_postgres_gate import with_credentials as pg_credentials

_NO_ENCRYPTION = "no pg_hba.conf entry for host \"127.0.0.1\", user \"{user}\", database \"{database}\", no encryption"


@contextmanager
def pg_refusing(refuses) -> Iterator[tuple[int, list[dict[str, str]]]]:  # type: ignore[no-untyped-def]
    """A PostgreSQL stand-in that says 'N' to SSLRequest and, to a plaintext StartupMessage,
    sends pg_hba's transport refusal when ``refuses(params, attempt)`` is true, else AuthenticationSASL."""
    seen: list[dict[str, str]] = []
    lock = threading.Lock()

    def read_message(conn: socket.socket) -> bytes:
        header = conn.recv(4)
        if len(header) < 4:
            raise ConnectionError("the client hung up")
        return conn.recv(struct.unpack("!I", header)[0] - 4)

    def serve(conn: socket.socket) -> None:
        conn.settimeout(3)
        try:
            body = read_message(conn)
            if body == struct.pack("!I", 80877103):
                conn.sendall(b"N")
                body = read_message(conn)
        except (OSError, ConnectionError, struct.error):
            return
        parts = body[4:].split(b"\0")
        params = {parts[i].decode(): parts[i + 1].decode() for i in range(0, len(parts) - 1, 2) if parts[i]}
        with lock:
            seen.append(params)
            attempt = len(seen)
        if refuses(params, attempt):
            message = _NO_ENCRYPTION.format(user=params.get("user"), database=params.get("database"))
            fields = b"SFATAL\0VFATAL\0C28000\0M" + message.encode() + b"\0\0"
            conn.sendall(b"E" + struct.pack("!I", len(fields) + 4) + fields)
        else:
            mechanisms = b"SCRAM-SHA-256\0\0"
            conn.sendall(b"R" + struct.pack("!II", 8 + len(mechanisms), 10) + mechanisms)

    with tcp_peer(serve) as port:
        yield port, seen


class TestPostgresqlIdentities:
    def test_a_refusal_of_the_configured_identity_only_fails(self, run_guard):
        with pg_refusing(lambda params, _: params.get("user") == "guard") as (port, seen):
            run = run_guard(f"--aurora-endpoint=postgresql://127.0.0.1:{port}", "--aurora-user=guard",
                            "--aurora-password=not-sent", "-k", "plaintext_refused and not driver")
        assert run.outcome_of("plaintext_refused") == "failed"
        assert "plaintext accepted for user 'aurora_guard_" in run.output
        assert {p["user"] for p in seen} > {"guard"}

    def test_a_refusal_of_the_first_attempt_only_fails(self, run_guard):
        with pg_refusing(lambda _, attempt: attempt == 1) as (port, _):
            run = run_guard(f"--aurora-endpoint=postgresql://127.0.0.1:{port}", "-k", "plaintext_refused")
        assert run.outcome_of("plaintext_refused") == "failed"

    def test_each_identity_is_tried_twice_with_random_names_and_application_names(self, run_guard):
        with pg_refusing(lambda params, _: False) as (port, seen):
            run_guard(f"--aurora-endpoint=postgresql://127.0.0.1:{port}", "-k", "plaintext_refused")
        configured = [p for p in seen if p["user"] == "pytest_aurora_guard_probe"]
        randomised = [p for p in seen if p["user"].startswith("aurora_guard_")]
        assert len(configured) >= 2
        assert len(randomised) >= 2
        assert len({p["database"] for p in randomised}) == len(randomised)
        assert len({p["application_name"] for p in seen}) == len(seen)

    def test_the_hardened_server_passes_stating_the_scope(self, run_guard, pg_hardened):
        run = run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", "-rA", "-k", "plaintext_refused")
        assert run.outcome_of("plaintext_refused") == "passed"
        assert "plaintext refused for being unencrypted, for 3 identities across 3 database(s) (4 attempts)" \
            in run.verdict_text("plaintext_refused")


class TestPostgresqlDatabases:
    def test_with_credentials_a_database_that_allows_plaintext_fails(
        self, run_guard, pg_per_database: RunningPostgres, ca_bundle, monkeypatch
    ):
        run = run_guard(*pg_credentials(monkeypatch, pg_per_database, ca_bundle), "-k", "plaintext_refused")
        assert run.outcome_of("plaintext_refused") == "failed"
        assert f"database '{PLAINTEXT_DATABASE}'" in run.output
        assert "the refusal seen elsewhere is a per-database rule, not a global one" in run.output

    def test_without_credentials_the_pass_states_its_narrower_scope(self, run_guard, pg_per_database):
        run = run_guard(f"--aurora-endpoint={pg_per_database.endpoint}", "-rA", "-k", "plaintext_refused")
        assert run.outcome_of("plaintext_refused") == "passed"
        assert "for 3 identities across 3 database(s)" in run.verdict_text("plaintext_refused")

    def test_with_credentials_every_connectable_database_is_tried_and_force_ssl_is_reported_absent(
        self, run_guard, pg_hardened, ca_bundle, monkeypatch
    ):
        run = run_guard(*pg_credentials(monkeypatch, pg_hardened, ca_bundle), "-rA", "-k", "plaintext_refused")
        assert run.outcome_of("plaintext_refused") == "passed"
        text = run.verdict_text("plaintext_refused")
        assert "connectable databases: guard, postgres, template1" in text
        assert "rds.force_ssl does not exist on this server (self-managed, not Aurora)" in text
        assert "across 5 database(s)" in text


def _create_mysql_user(server: RunningMariaDb, user: str, password: str, clause: str = "") -> None:
    connection = pymysql.connect(unix_socket=str(server.socket_path), user="root", autocommit=True)
    try:
        with connection.cursor() as cursor:
            for host in ("127.0.0.1", "%"):
                cursor.execute(f"CREATE USER %s@%s IDENTIFIED BY %s {clause}", (user, host, password))
    finally:
        connection.close()


class TestMySqlAccountScope:
    def test_a_require_ssl_probe_account_on_a_server_allowing_plaintext_fails(
        self, run_guard, mariadb_weak, ca_bundle, monkeypatch
    ):
        user, password = f"probe_{secrets.token_hex(3)}", secrets.token_urlsafe(12)
        _create_mysql_user(mariadb_weak, user, password, "REQUIRE SSL")
        monkeypatch.setenv("AURORA_GUARD_PASSWORD", password)
        run = run_guard(f"--aurora-endpoint={mariadb_weak.endpoint}", f"--aurora-user={user}",
                        f"--aurora-ca-bundle={ca_bundle}", "-k", "plaintext")
        assert run.outcome_of("plaintext_refused") == "failed"
        assert run.outcome_of("driver_plaintext_refused") == "failed"
        assert "require_secure_transport = OFF" in run.output
        assert password not in run.output

    @staticmethod
    def run_with_canary(run_guard, server: RunningMariaDb):  # type: ignore[no-untyped-def]
        user = f"canary_{secrets.token_hex(3)}"
        _create_mysql_user(server, user, "public-canary")
        return run_guard(f"--aurora-endpoint={server.endpoint}", f"--aurora-plaintext-canary-user={user}",
                         "--aurora-plaintext-canary-password=public-canary", "-k", "plaintext_refused")

    def test_a_canary_that_logs_in_without_tls_fails_without_any_probe_account(self, run_guard, mariadb_weak):
        run = self.run_with_canary(run_guard, mariadb_weak)
        assert run.outcome_of("plaintext_refused") == "failed"
        assert "the canary account logged in without TLS" in run.output

    def test_a_canary_refused_with_1045_is_no_evidence(self, run_guard, mariadb_hardened):
        # MariaDB 10.11 checks the password first and answers 1045 even to the right one without TLS.
        run = self.run_with_canary(run_guard, mariadb_hardened)
        assert run.outcome_of("plaintext_refused") == "error"

    def test_the_hardened_server_passes_on_its_global_setting(self, run_guard, mariadb_hardened, ca_bundle,
                                                              monkeypatch):
        run = run_guard(*mysql_credentials(monkeypatch, mariadb_hardened, ca_bundle), "-rA", "-k", "plaintext")
        assert run.outcome_of("plaintext_refused") == "passed"
        text = run.verdict_text("plaintext_refused")
        assert "require_secure_transport = ON, read over a verified TLS session" in text


class TestCanarySettings:
    def test_the_canary_needs_both_halves(self, run_guard):
        run = run_guard("--aurora-endpoint=mysql://127.0.0.1:1", "--aurora-plaintext-canary-user=c")
        assert run.result.ret == pytest.ExitCode.USAGE_ERROR
        assert "give both --aurora-plaintext-canary-user and --aurora-plaintext-canary-password" in run.output

    def test_the_canary_password_may_not_be_the_real_one(self, run_guard, monkeypatch):
        monkeypatch.setenv("AURORA_GUARD_PASSWORD", "same-secret")
        monkeypatch.setenv("AURORA_GUARD_PLAINTEXT_CANARY_PASSWORD", "same-secret")
        run = run_guard("--aurora-endpoint=mysql://127.0.0.1:1", "--aurora-user=guard",
                        "--aurora-plaintext-canary-user=c")
        assert run.result.ret == pytest.ExitCode.USAGE_ERROR
        assert "the canary password equals the probe account's password" in run.output
        assert "same-secret" not in run.output
