"""One name, two servers: a front that routes by SNI must not hide a lax server from the gate.

Load balancers and proxies often keep a default certificate and backend for clients that send no
server name (clients connecting by address, or ``openssl s_client -noservername``). A version
below the floor is refused only when it is refused with and without SNI."""

from __future__ import annotations

import pytest

from tests.hostile_peers import sni_router

SELECTED = ("-k", "TLSv1.2 or accepted_suites_allowed")


def _route(pg_with_sni, pg_without_sni):
    return sni_router((pg_with_sni.host, pg_with_sni.port), (pg_without_sni.host, pg_without_sni.port))


class TestLaxServerForClientsWithoutSni:
    """Hellos with SNI go to a TLS 1.3-only PostgreSQL, hellos without to one that accepts TLS 1.2."""

    @pytest.fixture
    def front(self, pg_hardened, pg_in_between):
        with _route(pg_hardened, pg_in_between) as port:
            yield port

    @pytest.fixture
    def run(self, run_guard, front):
        return run_guard(f"--aurora-endpoint=postgresql://localhost:{front}", *SELECTED)

    def test_tls12_fails_naming_the_witness_without_sni(self, run):
        assert run.outcome_of("tls_version_refused[TLSv1.2]") == "failed"
        verdict = run.verdict_text("tls_version_refused[TLSv1.2]")
        assert "TLSv1.2 accepted without SNI" in verdict
        assert "sending no server name (SNI)" in verdict

    def test_the_surface_check_fails_naming_the_suite_without_sni(self, run):
        assert run.outcome_of("accepted_suites_allowed") == "failed"
        assert "at TLSv1.2 without SNI" in run.verdict_text("accepted_suites_allowed")

    def test_the_run_exits_as_failed(self, run):
        assert run.result.ret == pytest.ExitCode.TESTS_FAILED


class TestLaxServerForClientsWithSni:
    """The reverse: hellos without SNI meet the strict server, hellos with SNI the lax one."""

    @pytest.fixture
    def front(self, pg_hardened, pg_in_between):
        with _route(pg_in_between, pg_hardened) as port:
            yield port

    def test_tls12_fails_and_the_run_exits_as_failed(self, run_guard, front):
        run = run_guard(f"--aurora-endpoint=postgresql://localhost:{front}", *SELECTED)
        assert run.outcome_of("tls_version_refused[TLSv1.2]") == "failed"
        assert "TLSv1.2 accepted:" in run.verdict_text("tls_version_refused[TLSv1.2]")
        assert run.result.ret == pytest.ExitCode.TESTS_FAILED


class TestTheSameServerBothWays:
    """The strict server behind the front both ways: the refusal holds, with and without SNI."""

    @pytest.fixture
    def front(self, pg_hardened):
        with _route(pg_hardened, pg_hardened) as port:
            yield port

    def test_tls12_passes_refused_with_and_without_sni(self, run_guard, front):
        run = run_guard(f"--aurora-endpoint=postgresql://localhost:{front}", "-k", "TLSv1.2")
        assert run.outcome_of("tls_version_refused[TLSv1.2]") == "passed"
        assert "TLSv1.2 refused with and without SNI, by two witnesses" in run.verdict_text(
            "tls_version_refused[TLSv1.2]")
