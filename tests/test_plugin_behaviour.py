"""What users see: inert by default, readable ids, marker selection, header, summary, fixtures."""

from __future__ import annotations

import pytest

from tests.support.servers_common import free_port

PROJECT_TEST = """
def test_the_projects_own_test():
    assert 1 + 1 == 2
"""


class TestInertWithoutEndpoints:
    def test_an_empty_directory_collects_nothing(self, run_guard):
        run = run_guard()
        assert run.result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
        assert "aurora-guard: inactive (no endpoint configured)" in run.output
        assert "aurora-guard summary" not in run.output

    def test_a_projects_own_tests_run_untouched(self, run_guard, pytester):
        pytester.makepyfile(test_project=PROJECT_TEST)
        run = run_guard()
        run.result.assert_outcomes(passed=1)
        assert "aurora-guard: inactive (no endpoint configured)" in run.output
        assert "aurora-guard summary" not in run.output

    def test_policy_settings_alone_do_not_activate_the_guard(self, run_guard, pytester):
        pytester.makeini("[pytest]\naurora_min_tls = TLSv1.2\naurora_timeout = 3\n")
        pytester.makepyfile(test_project=PROJECT_TEST)
        run_guard().result.assert_outcomes(passed=1)

    def test_an_ini_key_given_with_dash_o_activates_the_guard(self, run_guard):
        port = free_port()
        run = run_guard("-o", f"aurora_endpoints=postgresql://127.0.0.1:{port}", "--collect-only")
        assert f"aurora-guard: endpoints postgresql://127.0.0.1:{port}" in run.output
        assert "inactive" not in run.output

    def test_the_settings_fixture_gives_the_defaults(self, run_guard, pytester):
        pytester.makepyfile(test_custom="""
            def test_defaults(aurora_settings, aurora_cipher_allowlist):
                assert aurora_settings.endpoints == ()
                assert aurora_settings.min_tls.label == "TLSv1.3"
                assert aurora_cipher_allowlist.names() == ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"]
        """)
        run_guard().result.assert_outcomes(passed=1)

    def test_tests_asking_for_an_endpoint_are_skipped_with_the_reason(self, run_guard, pytester):
        pytester.makepyfile(test_custom="def test_mine(aurora_endpoint):\n    assert aurora_endpoint\n")
        run = run_guard("-rs")
        run.result.assert_outcomes(skipped=1)
        assert "no --aurora-endpoint configured" in run.output


class TestItems:
    @pytest.fixture
    def endpoint(self) -> str:
        return f"postgresql://127.0.0.1:{free_port()}"

    def test_ids_name_the_endpoint_and_the_check(self, run_guard, endpoint):
        port = endpoint.rsplit(":", 1)[1]
        run = run_guard(f"--aurora-endpoint={endpoint}", "--collect-only", "-q")
        assert run.result.ret == pytest.ExitCode.OK
        for name in ("plaintext_refused", "tls_version_refused[SSLv3]", "tls_version_refused[TLSv1.0]",
                     "tls_version_refused[TLSv1.1]", "tls_version_refused[TLSv1.2]", "tls_floor_accepted",
                     "negotiated_cipher_allowed", "accepted_suites_allowed", "certificate_trusted"):
            assert f"aurora-guard[postgresql@127.0.0.1:{port}]::{name}" in run.output
        assert "9 tests collected" in run.output

    def test_driver_checks_appear_only_with_a_user(self, run_guard, endpoint):
        without = run_guard(f"--aurora-endpoint={endpoint}", "--collect-only", "-q").output
        with_user = run_guard(f"--aurora-endpoint={endpoint}", "--aurora-user=guard", "--aurora-password=x",
                              "--collect-only", "-q").output
        assert "driver_" not in without
        assert "driver_verified_session" in with_user
        assert "12 tests collected" in with_user

    def test_one_marker_per_check_selects_it(self, run_guard, endpoint):
        run = run_guard(f"--aurora-endpoint={endpoint}", "--collect-only", "-q", "-m", "aurora_tls_version_refused")
        assert "4/9 tests collected (5 deselected)" in run.output

    def test_the_common_marker_deselects_the_guard(self, run_guard, pytester, endpoint):
        pytester.makepyfile(test_project=PROJECT_TEST)
        run = run_guard(f"--aurora-endpoint={endpoint}", "-m", "not aurora_guard")
        run.result.assert_outcomes(passed=1, deselected=9)

    def test_keyword_selection_matches_the_check_name(self, run_guard, endpoint):
        run = run_guard(f"--aurora-endpoint={endpoint}", "--collect-only", "-q", "-k", "plaintext")
        assert "1/9 tests collected" in run.output

    def test_strict_markers_accept_the_plugins_markers_on_users_tests(self, run_guard, pytester):
        pytester.makepyfile(test_marked="""
            import pytest

            @pytest.mark.aurora_guard
            @pytest.mark.aurora_plaintext_refused
            @pytest.mark.aurora_storage_encrypted
            @pytest.mark.aurora_engine_defaults
            def test_marked():
                pass
        """)
        run_guard("--strict-markers").result.assert_outcomes(passed=1)

    def test_checks_sit_beside_a_projects_own_tests(self, run_guard, pytester, endpoint):
        pytester.makepyfile(test_project=PROJECT_TEST)
        run = run_guard(f"--aurora-endpoint={endpoint}", "--aurora-timeout=1")
        run.result.assert_outcomes(passed=1, errors=9)

    def test_collecting_makes_no_connection(self, run_guard):
        from tests.hostile_peers import tcp_peer

        accepted: list[object] = []
        with tcp_peer(accepted.append) as port:
            run_guard(f"--aurora-endpoint=postgresql://127.0.0.1:{port}", "--collect-only")
        assert accepted == []


class TestOutput:
    def test_the_header_names_endpoints_floor_and_allowlist_source(self, run_guard):
        port = free_port()
        run = run_guard(f"--aurora-endpoint=postgresql://127.0.0.1:{port}", "--collect-only")
        assert f"aurora-guard: endpoints postgresql://127.0.0.1:{port}" in run.output
        assert "TLS floor TLSv1.3; cipher allowlist 2 suites from default" in run.output

    def test_the_summary_is_a_grid_of_controls_by_endpoints_with_one_word_each(self, run_guard, pg_hardened,
                                                                               pg_in_between, ca_bundle):
        run = run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", f"--aurora-endpoint={pg_in_between.endpoint}",
                        f"--aurora-ca-bundle={ca_bundle}")
        run.result.stdout.re_match_lines([
            r".*aurora-guard summary.*",
            rf"\[1\] {pg_hardened.endpoint}",
            rf"\[2\] {pg_in_between.endpoint}",
            r"control\s+\[1\]\s+\[2\]",
            r"plaintext_refused\s+passed\s+passed",
            r"tls_version_refused\[TLSv1\.2\]\s+passed\s+FAILED",
            r"first problem of \[2\]: tls_version_refused\[TLSv1\.2\]: TLSv1\.2 accepted.*",
            r"aurora-guard: promotion BLOCKED \(2 failed, 16 passed\)",
        ])

    def test_a_failure_says_what_was_tried_answered_and_what_to_change(self, run_guard, pg_weak):
        run = run_guard(f"--aurora-endpoint={pg_weak.endpoint}", "-k", "plaintext")
        run.result.stdout.re_match_lines([
            r"plaintext accepted for user 'pytest_aurora_guard_probe', database 'postgres', "
            r"application_name 'pytest-aurora-guard-\w+': the unencrypted connection reached authentication "
            r"\(and 3 more attempt\(s\)\)",
            r"aurora-guard plaintext_refused FAILED for postgresql://127\.0\.0\.1:\d+",
            r"  tried:    StartupMessage without SSLRequest .*no password is sent",
            r"            StartupMessage without SSLRequest .*no password is sent",
            r"            StartupMessage without SSLRequest \(user 'aurora_guard_\w+', database 'aurora_guard_\w+'.*",
            r"            StartupMessage without SSLRequest \(user 'aurora_guard_\w+', database 'aurora_guard_\w+'.*",
            r"  answered: AuthenticationSASL \(SCRAM-SHA-256\)",
            r"            AuthenticationSASL \(SCRAM-SHA-256\)",
            r"            AuthenticationSASL \(SCRAM-SHA-256\)",
            r"            AuthenticationSASL \(SCRAM-SHA-256\)",
            r"  change:   set rds\.force_ssl=1 in the DB cluster parameter group.*",
            r"  control:  HIPAA 45 CFR 164\.312\(e\)\(1\).*",
        ])

    def test_verdicts_are_recorded_as_junit_properties(self, run_guard, pg_hardened, tmp_path):
        junit = tmp_path / "junit.xml"
        run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", f"--junitxml={junit}", "-k", "plaintext")
        xml = junit.read_text()
        assert 'name="aurora_guard_verdict"' in xml
        assert "&quot;outcome&quot;: &quot;passed&quot;" in xml


class TestSecretsNeverLeak:
    SECRET = "Tr0ub4dor-and-3-horse-staples"

    def test_not_in_output_tracebacks_locals_or_junit(self, run_guard, pytester, pg_hardened, tmp_path):
        pytester.makepyfile(test_custom="""
            def test_fails_with_settings_in_locals(aurora_settings, aurora_endpoint):
                password = aurora_settings.password
                assert password is None, aurora_settings
        """)
        junit = tmp_path / "junit.xml"
        other_ca = tmp_path / "ca.pem"
        from tests.support.pki import make_pki

        other_ca = make_pki(tmp_path / "other").ca_cert
        run = run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", "--aurora-user=guard",
                        f"--aurora-password={self.SECRET}", f"--aurora-ca-bundle={other_ca}",
                        "-vv", "-l", "--tb=long", "-rA", f"--junitxml={junit}")
        assert run.outcome_of("driver_verified_session") == "failed"  # a failure path did run
        user_test = f"test_fails_with_settings_in_locals[postgresql://127.0.0.1:{pg_hardened.port}]"
        assert run.outcome_of(user_test) == "failed"
        assert self.SECRET not in run.output
        assert self.SECRET not in junit.read_text()
        assert "Secret('***')" in run.output

    def test_the_password_is_not_sent_in_the_plaintext_attempts(self, run_guard, pg_weak, ca_bundle, monkeypatch):
        monkeypatch.setenv("AURORA_GUARD_PASSWORD", pg_weak.password)
        run = run_guard(f"--aurora-endpoint={pg_weak.endpoint}", f"--aurora-user={pg_weak.user}",
                        f"--aurora-dbname={pg_weak.database}", f"--aurora-ca-bundle={ca_bundle}",
                        "-k", "driver_plaintext")
        # The weak server would have let the real password in: the decoy is refused instead.
        assert run.outcome_of("driver_plaintext_refused") == "failed"
        assert "password authentication failed" in run.output


class TestUserFixtures:
    def test_a_custom_check_written_with_the_fixtures_runs_against_each_endpoint(
        self, run_guard, pytester, pg_hardened, ca_bundle, monkeypatch
    ):
        pytester.makepyfile(test_custom="""
            import pytest
            from pytest_aurora_guard.tls.handshake import HandshakeCompleted
            from pytest_aurora_guard.tls.versions import TlsVersion

            @pytest.mark.aurora_guard
            def test_negotiates_an_allowlisted_tls13_suite(aurora_probe, aurora_cipher_allowlist):
                from pytest_aurora_guard.tls.ciphers import REGISTRY
                outcome = aurora_probe.modern().outcome
                assert isinstance(outcome, HandshakeCompleted)
                assert outcome.version is TlsVersion.TLSv1_3
                assert REGISTRY.lookup(outcome.cipher_name).code in aurora_cipher_allowlist

            def test_tls12_is_refused_and_only_allowlisted_suites_are_accepted(aurora_tls_surface,
                                                                              aurora_cipher_allowlist):
                from pytest_aurora_guard.tls.surface import VersionStatus
                assert aurora_tls_surface.for_version(TlsVersion.TLSv1_2).status is VersionStatus.REFUSED
                accepted = aurora_tls_surface.for_version(TlsVersion.TLSv1_3).accepted_cipher_suites()
                assert {suite.code for suite in accepted} <= aurora_cipher_allowlist.codes

            def test_the_probe_is_shared_with_the_built_in_checks(aurora_probe):
                assert aurora_probe.modern() is aurora_probe.modern()

            def test_verified_connection_reports_tls13(aurora_connect):
                with aurora_connect() as conn:
                    row = conn.execute("SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
                assert row[0] == "TLSv1.3"
        """)
        monkeypatch.setenv("AURORA_GUARD_PASSWORD", pg_hardened.password)
        run = run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", f"--aurora-user={pg_hardened.user}",
                        f"--aurora-dbname={pg_hardened.database}", f"--aurora-ca-bundle={ca_bundle}")
        run.result.assert_outcomes(passed=16)
