"""A refusal is a claim of absence: it needs two independent witnesses, and a run that
contradicts itself fails. Real PostgreSQL servers behind the guard as users run it."""

from __future__ import annotations

import subprocess

import pytest

from tests.hostile_peers import refusing_hellos_over, refusing_hellos_unless_sized, tls_front

BELOW_FLOOR = ("TLSv1.0", "TLSv1.1", "TLSv1.2")


class TestServerWhoseOnlyGroupIsSecp521r1:
    """TLS 1.0-1.3 with ECDHE suites only and ssl_ecdh_curve=secp521r1: `openssl s_client
    -starttls postgres -tls1` connects, so every below-floor check must fail."""

    @pytest.fixture
    def run(self, run_guard, pg_p521_old_tls):
        return run_guard(f"--aurora-endpoint={pg_p521_old_tls.endpoint}")

    @pytest.mark.parametrize("version", BELOW_FLOOR)
    def test_each_version_below_the_floor_fails(self, run, version):
        assert run.outcome_of(f"tls_version_refused[{version}]") == "failed"
        assert f"{version} accepted" in run.output

    def test_the_accepted_surface_fails(self, run):
        assert run.outcome_of("accepted_suites_allowed") == "failed"
        assert "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" in run.output

    def test_the_run_exits_as_failed(self, run):
        assert run.result.ret == pytest.ExitCode.TESTS_FAILED

    def test_selecting_only_the_surface_check_still_fails(self, run_guard, pg_p521_old_tls):
        run = run_guard(f"--aurora-endpoint={pg_p521_old_tls.endpoint}", "-k", "accepted_suites_allowed")
        assert run.outcomes() == {"accepted_suites_allowed": "failed"}


def _openssl_client_suite_count() -> int:
    listing = subprocess.run(["openssl", "ciphers", "-s", "-tls1_2", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
                             capture_output=True, text=True, check=True).stdout
    return len(listing.strip().split(":"))


class TestAFrontThatRefusesBigHellos:
    """A front that refuses every ClientHello larger than OpenSSL's own, before a server that
    accepts TLS 1.2: the crafted enumeration believes no refusal from a big hello, so its short
    hellos find what the server accepts."""

    @pytest.fixture
    def run(self, run_guard, pg_in_between):
        with tls_front((pg_in_between.host, pg_in_between.port),
                       refusing_hellos_over(_openssl_client_suite_count() + 1), postgres=True) as port:
            yield run_guard(f"--aurora-endpoint=postgresql://127.0.0.1:{port}", "-k", "TLSv1.2 or accepted")

    def test_the_version_check_fails_naming_the_short_hellos(self, run):
        assert run.outcome_of("tls_version_refused[TLSv1.2]") == "failed"
        assert "chosen only from a ClientHello of at most 32 suites, after a larger one was refused" in run.output

    def test_the_surface_check_fails_on_the_suites_the_short_hellos_found(self, run):
        assert run.outcome_of("accepted_suites_allowed") == "failed"
        assert ("the server accepts 2 suite(s) outside the allowlist (default): "
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (ECDHE-RSA-AES128-GCM-SHA256, 0xC0,0x2F) at TLSv1.2; "
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384") in run.output


class TestWitnessesThatDisagree:
    """A front that lets only a hello of OpenSSL's own size through, before a server that accepts
    TLS 1.2: every crafted hello, big or small, is refused; the system OpenSSL gets a session."""

    @pytest.fixture
    def run(self, run_guard, pg_in_between):
        size = _openssl_client_suite_count()
        with tls_front((pg_in_between.host, pg_in_between.port),
                       refusing_hellos_unless_sized(range(size, size + 2)), postgres=True) as port:
            yield run_guard(f"--aurora-endpoint=postgresql://127.0.0.1:{port}", "-k", "TLSv1.2 or accepted")

    def test_the_version_check_fails_and_reports_both_observations(self, run):
        assert run.outcome_of("tls_version_refused[TLSv1.2]") == "failed"
        assert "the system OpenSSL (Python's ssl) completed a handshake at TLSv1.2" in run.output
        assert "the witnesses disagree" in run.output
        assert "crafted: none of the" in run.output

    def test_the_surface_check_fails_as_a_contradiction(self, run):
        assert run.outcome_of("accepted_suites_allowed") == "failed"
        assert "the run contradicts itself" in run.output
        assert "which the enumeration of TLSv1.2 did not list" in run.output
