"""The PostgreSQL gate against real servers: hardened passes, every weakness is caught."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.guard_helpers import CREDENTIAL_FREE, DRIVER
from tests.support.postgres import RunningPostgres


def with_credentials(monkeypatch: pytest.MonkeyPatch, server: RunningPostgres, ca: Path) -> list[str]:
    monkeypatch.setenv("AURORA_GUARD_PASSWORD", server.password)
    return [f"--aurora-endpoint={server.endpoint}", f"--aurora-user={server.user}",
            f"--aurora-dbname={server.database}", f"--aurora-ca-bundle={ca}"]


class TestHardenedServer:
    def test_every_credential_free_check_passes(self, run_guard, pg_hardened, ca_bundle):
        run = run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", f"--aurora-ca-bundle={ca_bundle}")
        assert run.outcomes() == dict.fromkeys(sorted(CREDENTIAL_FREE), "passed")
        assert run.result.ret == pytest.ExitCode.OK

    def test_the_credential_free_gate_costs_forty_five_connections_in_the_servers_own_log(self, run_guard,
                                                                                           pg_hardened, ca_bundle):
        # A refusal counts only from a hello of at most 32 suites: SSLv3 (123 suites): 1 crafted + 4
        # short; TLS 1.0 and 1.1 (172): 1 + 6 short + 1 OpenSSL witness each; TLS 1.2 (355): 1 + 12
        # short + 1 witness; TLS 1.3: 2 accepted + 1 refused + 1 confirmation; the modern handshake
        # (also the floor's and TLS 1.3's OpenSSL witness): 40 for the TLS checks; 4 plaintext
        # attempts (the configured and a random identity, each twice); certificate_trusted's own
        # verified handshake.
        log = pg_hardened.directory / "server.log"
        before = log.read_text(errors="replace").count("connection received:")
        run = run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", f"--aurora-ca-bundle={ca_bundle}")
        assert run.result.ret == pytest.ExitCode.OK
        time.sleep(0.2)  # the server writes its log line as it accepts
        assert log.read_text(errors="replace").count("connection received:") - before == 45

    def test_every_driver_check_passes_with_credentials(self, run_guard, pg_hardened, ca_bundle, monkeypatch):
        run = run_guard(*with_credentials(monkeypatch, pg_hardened, ca_bundle))
        assert run.outcomes() == dict.fromkeys(sorted(CREDENTIAL_FREE | DRIVER), "passed")

    def test_plaintext_pass_cites_the_servers_transport_refusal(self, run_guard, pg_hardened):
        run = run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", "-k", "plaintext_refused")
        assert run.outcome_of("plaintext_refused") == "passed"
        evidence = run.verdict_text("plaintext_refused").splitlines()
        assert evidence[0] == ("plaintext refused for being unencrypted, for 3 identities across 3 database(s) "
                               "(4 attempts); the configured identity reaches authentication over TLS")
        refusals = [line for line in evidence if line.startswith("FATAL: pg_hba.conf rejects connection")]
        assert len(refusals) == 4
        assert all(line.endswith(", no encryption (SQLSTATE 28000)") for line in refusals)
        assert ("the same StartupMessage over TLS (user 'pytest_aurora_guard_probe', database 'postgres'); "
                "no password sent") in evidence
        assert evidence[-1].startswith("AuthenticationSASL (")

    def test_a_floor_of_tls12_needs_tls12_accepted_which_hardened_refuses(self, run_guard, pg_hardened):
        run = run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", "--aurora-min-tls=TLSv1.2")
        assert run.outcome_of("tls_floor_accepted") == "failed"
        assert "a handshake at the floor TLSv1.2 did not succeed" in run.output


class TestWeakServer:
    @pytest.fixture
    def run(self, run_guard, pg_weak):
        return run_guard(f"--aurora-endpoint={pg_weak.endpoint}")

    def test_plaintext_check_fails_because_authentication_was_offered(self, run):
        assert run.outcome_of("plaintext_refused") == "failed"
        assert "AuthenticationSASL (SCRAM-SHA-256)" in run.output
        assert "set rds.force_ssl=1" in run.output

    @pytest.mark.parametrize("version", ["TLSv1.0", "TLSv1.1", "TLSv1.2"])
    def test_each_version_below_the_floor_fails_naming_the_suites_chosen(self, run, version):
        assert run.outcome_of(f"tls_version_refused[{version}]") == "failed"
        assert f"{version} accepted: the server chose TLS_ECDHE_RSA_WITH_AES_256_" in run.output

    def test_sslv3_is_refused_even_though_the_local_openssl_cannot_offer_it(self, run):
        assert run.outcome_of("tls_version_refused[SSLv3]") == "passed"
        evidence = run.verdict_text("tls_version_refused[SSLv3]").splitlines()
        assert evidence[0] == ("SSLv3 refused, on one witness only: the crafted ClientHellos, every suite refused "
                               "again on fresh connections in hellos of at most 32 suites; no second witness is "
                               "available (Python's ssl module and OpenSSL 3 have no SSLv3)")
        assert any(line.startswith("crafted: none of the 123 SSLv3 suites accepted, offered in 1 ClientHello, ")
                   and line.endswith("re-offered 32 at a time in 4 ClientHellos, each answered with fatal alert 40 "
                                     "(handshake_failure)") for line in evidence)
        assert "OpenSSL: the local TLS library cannot offer SSLv3: Python's ssl module and OpenSSL 3 have no SSLv3" \
            in evidence

    def test_the_accepted_surface_names_every_offender_with_version(self, run):
        assert run.outcome_of("accepted_suites_allowed") == "failed"
        assert "the server accepts 89 suite(s) outside the allowlist" in run.output
        assert "            TLSv1.3: TLS_CHACHA20_POLY1305_SHA256 (0x13,0x03)" in run.output  # grouped by version

    def test_failures_say_which_parameter_to_change(self, run):
        assert "set ssl_min_protocol_version=TLSv1.3 in the DB cluster parameter group" in run.output

    def test_tls13_floor_and_negotiated_cipher_still_pass(self, run):
        assert run.outcome_of("tls_floor_accepted") == "passed"
        assert run.outcome_of("negotiated_cipher_allowed") == "passed"

    def test_exit_code_is_tests_failed(self, run):
        assert run.result.ret == pytest.ExitCode.TESTS_FAILED

    def test_driver_plaintext_reaches_password_check_with_a_decoy_password(
        self, run_guard, pg_weak, ca_bundle, monkeypatch
    ):
        run = run_guard(*with_credentials(monkeypatch, pg_weak, ca_bundle), "-k", "driver")
        assert run.outcome_of("driver_plaintext_refused") == "failed"
        assert "password authentication failed" in run.output
        assert pg_weak.password not in run.output

    def test_driver_capped_below_the_floor_gets_a_session(self, run_guard, pg_weak, ca_bundle, monkeypatch):
        run = run_guard(*with_credentials(monkeypatch, pg_weak, ca_bundle), "-k", "driver")
        assert run.outcome_of("driver_below_floor_refused") == "failed"
        assert "capped at TLSv1.2 got a TLS session" in run.output


class TestInBetweenServer:
    def test_only_tls12_and_the_two_suites_it_brings_fail(self, run_guard, pg_in_between, ca_bundle):
        run = run_guard(f"--aurora-endpoint={pg_in_between.endpoint}", f"--aurora-ca-bundle={ca_bundle}")
        expected = dict.fromkeys(sorted(CREDENTIAL_FREE), "passed")
        expected["tls_version_refused[TLSv1.2]"] = "failed"
        expected["accepted_suites_allowed"] = "failed"
        assert run.outcomes() == expected
        assert ("the server accepts 2 suite(s) outside the allowlist (default): "
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (ECDHE-RSA-AES128-GCM-SHA256, 0xC0,0x2F) at TLSv1.2; "
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (ECDHE-RSA-AES256-GCM-SHA384, 0xC0,0x30) at TLSv1.2"
                ) in run.output

    def test_only_the_capped_driver_check_fails(self, run_guard, pg_in_between, ca_bundle, monkeypatch):
        run = run_guard(*with_credentials(monkeypatch, pg_in_between, ca_bundle), "-k", "driver")
        assert run.outcomes() == {
            "driver_below_floor_refused": "failed",
            "driver_plaintext_refused": "passed",
            "driver_verified_session": "passed",
        }


class TestServerWithoutTls:
    def test_every_check_fails_saying_tls_is_off(self, run_guard, pg_no_tls):
        run = run_guard(f"--aurora-endpoint={pg_no_tls.endpoint}")
        assert set(run.outcomes().values()) == {"failed"}
        assert "answered 'N' to SSLRequest: it does not offer TLS at all" in run.output


class TestVerifiedSession:
    def test_a_wrong_ca_bundle_fails_the_verified_session(self, run_guard, pg_hardened, tmp_path, monkeypatch):
        from tests.support.pki import make_pki

        other_ca = make_pki(tmp_path / "other").ca_cert
        run = run_guard(*with_credentials(monkeypatch, pg_hardened, other_ca), "-k", "driver_verified")
        assert run.outcome_of("driver_verified_session") == "failed"
        assert "the server certificate did not verify" in run.output

    def test_a_wrong_password_is_an_error_not_a_pass(self, run_guard, pg_hardened, ca_bundle, monkeypatch):
        args = with_credentials(monkeypatch, pg_hardened, ca_bundle)
        monkeypatch.setenv("AURORA_GUARD_PASSWORD", "not-the-password")
        run = run_guard(*args, "-k", "driver_verified")
        assert run.outcome_of("driver_verified_session") == "error"
        assert "check --aurora-user and AURORA_GUARD_PASSWORD" in run.output

    def test_a_cipher_outside_the_allowlist_fails_in_the_servers_own_view(
        self, run_guard, pg_hardened, ca_bundle, monkeypatch
    ):
        run = run_guard(*with_credentials(monkeypatch, pg_hardened, ca_bundle), "-k", "cipher or verified",
                        "--aurora-cipher-allowlist=TLS_CHACHA20_POLY1305_SHA256")
        assert run.outcome_of("driver_verified_session") == "failed"
        assert run.outcome_of("negotiated_cipher_allowed") == "failed"
        assert "not in the allowlist" in run.output


class TestServerRefusingTheProbeIdentityOverTlsToo:
    """pg_hba rejects the probe identity on every transport: its plaintext refusal proves nothing."""

    def test_a_plaintext_refusal_without_the_tls_contrast_does_not_pass(self, run_guard, pg_tls_rejects_probe):
        run = run_guard(f"--aurora-endpoint={pg_tls_rejects_probe.endpoint}", "-k", "plaintext_refused")
        assert run.outcome_of("plaintext_refused") == "error"
        evidence = run.verdict_text("plaintext_refused").splitlines()
        assert evidence[0] == ("plaintext was refused, but the same identity is refused over TLS as well, so the "
                               "refusal may be about the user or database rather than the transport")
        assert evidence[-1] == ('FATAL: pg_hba.conf rejects connection for host "127.0.0.1", user '
                                '"pytest_aurora_guard_probe", database "postgres", SSL encryption (SQLSTATE 28000)')
        assert "pass --aurora-user/--aurora-dbname naming a role and database that may connect over TLS" in run.output


class TestServerCappedAtTls12:
    """ssl_max_protocol_version=TLSv1.2 under the default TLS 1.3 floor."""

    def test_the_verified_session_fails_citing_the_version_the_server_reports(self, run_guard, pg_tls12_max,
                                                                           ca_bundle, monkeypatch):
        run = run_guard(*with_credentials(monkeypatch, pg_tls12_max, ca_bundle), "-k", "driver_verified_session")
        assert run.outcome_of("driver_verified_session") == "failed"
        evidence = run.verdict_text("driver_verified_session").splitlines()
        assert evidence[0] == "the server reports TLSv1.2, below the floor TLSv1.3"
        assert any(line.startswith("connected; pg_stat_ssl says ssl=True, version=TLSv1.2, cipher=")
                   for line in evidence)
        assert "set ssl_min_protocol_version=TLSv1.3 in the DB cluster parameter group" in run.output


class TestAdviceMatchesWhatWasSeen:
    """The 'change:' line names the place that fixes what was observed, and nothing else."""

    def test_a_tls13_suite_outside_the_allowlist_is_fixed_in_openssl_not_the_floor(self, run_guard, pg_hardened):
        # Hardened refuses TLS 1.0-1.2, so the floor is right; only the TLS 1.3 suite list is wrong.
        run = run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", "-k", "accepted_suites",
                        "--aurora-cipher-allowlist=TLS_AES_256_GCM_SHA384")
        assert run.outcome_of("accepted_suites_allowed") == "failed"
        remedy = run.remedy_of("accepted_suites_allowed")
        assert "Ciphersuites in the openssl.cnf the server loads" in remedy
        assert "ssl_tls13_ciphers" in remedy
        assert "ssl_min_protocol_version" not in remedy
        assert "ssl_ciphers in postgresql.conf" not in remedy  # the TLS 1.2 list changes nothing at TLS 1.3

    def test_suites_below_the_floor_are_fixed_with_the_floor_and_ssl_ciphers(self, run_guard, pg_weak):
        run = run_guard(f"--aurora-endpoint={pg_weak.endpoint}", "-k", "accepted_suites")
        remedy = run.remedy_of("accepted_suites_allowed")
        assert "set ssl_min_protocol_version=TLSv1.3" in remedy
        assert "restrict ssl_ciphers in the DB cluster parameter group" in remedy

    def test_suites_at_the_floor_outside_the_allowlist_do_not_ask_for_a_higher_floor(self, run_guard,
                                                                                      pg_in_between):
        run = run_guard(f"--aurora-endpoint={pg_in_between.endpoint}", "-k", "accepted_suites",
                        "--aurora-min-tls=TLSv1.2")
        assert run.outcome_of("accepted_suites_allowed") == "failed"
        remedy = run.remedy_of("accepted_suites_allowed")
        assert "restrict ssl_ciphers in the DB cluster parameter group" in remedy
        assert "ssl_min_protocol_version" not in remedy

    def test_a_negotiated_tls13_suite_outside_the_allowlist_names_the_tls13_place(self, run_guard, pg_hardened):
        run = run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", "-k", "negotiated",
                        "--aurora-cipher-allowlist=TLS_CHACHA20_POLY1305_SHA256")
        assert run.outcome_of("negotiated_cipher_allowed") == "failed"
        remedy = run.remedy_of("negotiated_cipher_allowed")
        assert remedy.startswith("restrict the TLS 1.3 suites")
        assert "ssl_min_protocol_version" not in remedy
