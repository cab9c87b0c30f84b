"""The MySQL gate against real MariaDB 10.11 servers standing in for Aurora MySQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.guard_helpers import CREDENTIAL_FREE, DRIVER
from tests.support.mariadb import RunningMariaDb


def with_credentials(monkeypatch: pytest.MonkeyPatch, server: RunningMariaDb, ca: Path) -> list[str]:
    monkeypatch.setenv("AURORA_GUARD_PASSWORD", server.password)
    return [f"--aurora-endpoint={server.endpoint}", f"--aurora-user={server.user}", f"--aurora-ca-bundle={ca}"]


class TestHardenedMariaDb:
    def test_every_check_passes_with_a_probe_account(self, run_guard, mariadb_hardened, ca_bundle, monkeypatch):
        run = run_guard(*with_credentials(monkeypatch, mariadb_hardened, ca_bundle))
        assert run.outcomes() == dict.fromkeys(sorted(CREDENTIAL_FREE | DRIVER), "passed")

    def test_plaintext_passes_on_the_global_require_secure_transport_read_over_verified_tls(
        self, run_guard, mariadb_hardened, ca_bundle, monkeypatch
    ):
        run = run_guard(*with_credentials(monkeypatch, mariadb_hardened, ca_bundle), "-rA", "-k", "plaintext_refused")
        assert run.outcome_of("plaintext_refused") == "passed"
        assert run.outcome_of("driver_plaintext_refused") == "passed"
        assert "the server's global require_secure_transport = ON, read over a verified TLS session" \
            in run.verdict_text("plaintext_refused")

    def test_without_credentials_plaintext_is_an_error_asking_for_a_probe_account(self, run_guard, mariadb_hardened,
                                                                                 ca_bundle):
        run = run_guard(f"--aurora-endpoint={mariadb_hardened.endpoint}", f"--aurora-ca-bundle={ca_bundle}")
        expected = dict.fromkeys(sorted(CREDENTIAL_FREE), "passed")
        expected["plaintext_refused"] = "error"
        assert run.outcomes() == expected
        assert "no evidence covering every account was available" in run.output
        assert "give a probe account with --aurora-user" in run.output

    def test_wrong_credentials_are_an_error_not_a_pass(self, run_guard, mariadb_hardened, ca_bundle, monkeypatch):
        args = with_credentials(monkeypatch, mariadb_hardened, ca_bundle)
        monkeypatch.setenv("AURORA_GUARD_PASSWORD", "wrong-password")
        run = run_guard(*args, "-k", "plaintext_refused")
        assert run.outcome_of("plaintext_refused") == "error"
        assert "ERROR 1045" in run.output
        assert "no evidence covering every account was available" in run.output


class TestWeakMariaDb:
    @pytest.fixture
    def run(self, run_guard, mariadb_weak, ca_bundle, monkeypatch):
        return run_guard(*with_credentials(monkeypatch, mariadb_weak, ca_bundle))

    def test_fails_exactly_the_expected_checks(self, run):
        assert run.outcomes() == {
            "accepted_suites_allowed": "failed",
            "certificate_trusted": "passed",
            "driver_below_floor_refused": "failed",
            "driver_plaintext_refused": "failed",
            "driver_verified_session": "passed",
            "negotiated_cipher_allowed": "passed",
            "plaintext_refused": "failed",
            "tls_floor_accepted": "passed",
            "tls_version_refused[SSLv3]": "passed",
            "tls_version_refused[TLSv1.0]": "failed",
            "tls_version_refused[TLSv1.1]": "failed",
            "tls_version_refused[TLSv1.2]": "failed",
        }

    def test_plaintext_failure_cites_the_global_setting_and_says_what_to_set(self, run):
        assert "the server's global require_secure_transport = OFF: plaintext is allowed" in run.output
        assert "set require_secure_transport=ON in the DB cluster parameter group" in run.output

    def test_version_failures_name_the_mysql_parameter(self, run):
        assert "set tls_version=TLSv1.3 in the DB cluster parameter group" in run.output


class TestInBetweenMariaDb:
    def test_only_the_tls12_checks_fail(self, run_guard, mariadb_in_between, ca_bundle, monkeypatch):
        run = run_guard(*with_credentials(monkeypatch, mariadb_in_between, ca_bundle))
        expected = dict.fromkeys(sorted(CREDENTIAL_FREE | DRIVER), "passed")
        expected["tls_version_refused[TLSv1.2]"] = "failed"
        expected["driver_below_floor_refused"] = "failed"
        expected["accepted_suites_allowed"] = "failed"
        assert run.outcomes() == expected


class TestMariaDbWithoutTls:
    def test_every_tls_check_fails_naming_the_missing_client_ssl_flag(self, run_guard, mariadb_no_tls):
        run = run_guard(f"--aurora-endpoint={mariadb_no_tls.endpoint}")
        outcomes = run.outcomes()
        assert {k: v for k, v in outcomes.items() if k != "plaintext_refused"} == dict.fromkeys(
            sorted(CREDENTIAL_FREE - {"plaintext_refused"}), "failed")
        assert outcomes["plaintext_refused"] != "passed"
        assert "does not advertise CLIENT_SSL" in run.output


class TestWrongEngine:
    def test_a_mariadb_server_given_as_postgresql_is_named_and_nothing_passes(self, run_guard, mariadb_hardened):
        run = run_guard(f"--aurora-endpoint=postgresql://127.0.0.1:{mariadb_hardened.port}")
        assert set(run.outcomes().values()) == {"error"}
        assert "it is a MySQL-compatible server: configure it as mysql://HOST:PORT" in run.output

    def test_a_postgresql_server_given_as_mysql_is_named_and_nothing_passes(self, run_guard, pg_hardened):
        run = run_guard(f"--aurora-endpoint=mysql://127.0.0.1:{pg_hardened.port}", "--aurora-timeout=5")
        assert set(run.outcomes().values()) == {"error"}
        assert "it is a PostgreSQL server; configure it as postgresql://HOST:PORT" in run.output

    def test_without_a_scheme_the_engine_is_detected_on_the_wire(self, run_guard, pg_hardened, mariadb_hardened):
        run = run_guard(f"--aurora-endpoint=127.0.0.1:{pg_hardened.port}",
                        f"--aurora-endpoint=127.0.0.1:{mariadb_hardened.port}", "-k", "tls_version_refused")
        assert set(run.outcomes().values()) == {"passed"}
        assert run.result.ret == pytest.ExitCode.OK
