"""Options: validated at parse time, mirrored in env and ini, with CLI > env > ini precedence."""

from __future__ import annotations

import pytest

from tests.support.servers_common import free_port


@pytest.fixture
def closed_endpoint() -> str:
    return f"postgresql://127.0.0.1:{free_port()}"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("::1", "an IPv6 address must be written in brackets"),
        ("http://db.example.com", "unknown scheme 'http'"),
        ("db.example.com:99999", "port 99999 is outside 1-65535"),
        ("db.example.com:abc", "port 'abc' is not a number"),
        ("postgresql://user:hunter2@db.example.com", "do not put credentials in the endpoint URL"),
        ("postgresql://db.example.com/mydb", "only scheme://host[:port] is accepted"),
        ("bad host!", "is not a valid host name"),
    ],
)
def test_a_malformed_endpoint_is_a_usage_error_saying_what_is_wrong(run_guard, value, message):
    run = run_guard(f"--aurora-endpoint={value}")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in run.output
    assert "hunter2" not in run.output


def test_an_endpoint_without_port_or_engine_is_a_usage_error(run_guard):
    run = run_guard("--aurora-endpoint=db.example.com")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "has neither a port nor an engine" in run.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--aurora-min-tls=TLSv1.4"], "is not a TLS version"),
        (["--aurora-min-tls=SSLv3"], "SSLv3 cannot be a floor"),
        (["--aurora-timeout=0"], "the timeout must be more than 0"),
        (["--aurora-timeout=soon"], "is not a number of seconds"),
        (["--aurora-endpoint-budget=0"], "the endpoint budget must be more than 0 and at most 3600 seconds"),
        (["--aurora-endpoint-budget=inf"], "the endpoint budget must be more than 0"),
        (["--aurora-engine=oracle"], "invalid choice: 'oracle'"),
    ],
)
def test_a_malformed_option_is_a_usage_error(run_guard, closed_endpoint, args, message):
    run = run_guard(f"--aurora-endpoint={closed_endpoint}", *args)
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in run.output


def test_an_unknown_cipher_name_is_a_usage_error_naming_it(run_guard, closed_endpoint):
    run = run_guard(f"--aurora-endpoint={closed_endpoint}",
                    "--aurora-cipher-allowlist=TLS_AES_128_GCM_SHA256,NOT-A-CIPHER")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "'NOT-A-CIPHER' is not a known cipher suite name" in run.output


def test_a_malformed_environment_variable_is_a_usage_error_naming_it(run_guard, closed_endpoint, monkeypatch):
    monkeypatch.setenv("AURORA_GUARD_TIMEOUT", "-3")
    run = run_guard(f"--aurora-endpoint={closed_endpoint}")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "AURORA_GUARD_TIMEOUT" in run.output


def test_a_malformed_endpoint_budget_in_the_environment_is_a_usage_error_naming_it(run_guard, closed_endpoint,
                                                                                  monkeypatch):
    monkeypatch.setenv("AURORA_GUARD_ENDPOINT_BUDGET", "two minutes")
    run = run_guard(f"--aurora-endpoint={closed_endpoint}")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "AURORA_GUARD_ENDPOINT_BUDGET: 'two minutes' is not a number of seconds" in run.output


def test_a_malformed_ini_value_is_a_usage_error_naming_the_key(run_guard, pytester, closed_endpoint):
    pytester.makeini(f"[pytest]\naurora_endpoints = {closed_endpoint}\naurora_min_tls = TLSv9\n")
    run = run_guard()
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "ini key aurora_min_tls" in run.output


def test_a_missing_ca_bundle_is_a_usage_error(run_guard, closed_endpoint, tmp_path):
    run = run_guard(f"--aurora-endpoint={closed_endpoint}", f"--aurora-ca-bundle={tmp_path / 'nope.pem'}")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "does not exist" in run.output


def test_a_password_without_a_user_is_a_usage_error(run_guard, closed_endpoint, monkeypatch):
    monkeypatch.setenv("AURORA_GUARD_PASSWORD", "s3cr3t-value")
    run = run_guard(f"--aurora-endpoint={closed_endpoint}")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--aurora-user is not" in run.output
    assert "s3cr3t-value" not in run.output


class TestPrecedence:
    """The report header shows the floor in force, without any network traffic (--collect-only)."""

    @pytest.fixture
    def layered(self, pytester, monkeypatch, closed_endpoint):
        pytester.makeini(f"[pytest]\naurora_endpoints = {closed_endpoint}\naurora_min_tls = TLSv1.2\n")
        return monkeypatch

    def test_ini_applies_when_nothing_else_is_set(self, run_guard, layered):
        assert "TLS floor TLSv1.2" in run_guard("--collect-only").output

    def test_environment_overrides_ini(self, run_guard, layered):
        layered.setenv("AURORA_GUARD_MIN_TLS", "TLSv1.1")
        assert "TLS floor TLSv1.1" in run_guard("--collect-only").output

    def test_command_line_overrides_environment(self, run_guard, layered):
        layered.setenv("AURORA_GUARD_MIN_TLS", "TLSv1.1")
        assert "TLS floor TLSv1.3" in run_guard("--collect-only", "--aurora-min-tls=1.3").output

    def test_endpoints_from_the_environment_are_a_comma_list(self, run_guard, monkeypatch):
        monkeypatch.setenv("AURORA_GUARD_ENDPOINT", "postgresql://127.0.0.1:1,mysql://127.0.0.1:2")
        run = run_guard("--collect-only", "-q")
        assert "aurora-guard[postgresql@127.0.0.1:1]::plaintext_refused" in run.output
        assert "aurora-guard[mysql@127.0.0.1:2]::plaintext_refused" in run.output


def test_a_lower_floor_means_fewer_below_floor_checks(run_guard, closed_endpoint):
    run = run_guard(f"--aurora-endpoint={closed_endpoint}", "--aurora-min-tls=TLSv1.2", "--collect-only", "-q")
    assert "tls_version_refused[TLSv1.0]" in run.output
    assert "tls_version_refused[TLSv1.1]" in run.output
    assert "tls_version_refused[TLSv1.2]" not in run.output


def test_an_allowlist_file_accepts_openssl_and_iana_names_with_comments(run_guard, closed_endpoint, tmp_path):
    allowlist = tmp_path / "ciphers.txt"
    allowlist.write_text("# reviewed 2026-11\nTLS_AES_256_GCM_SHA384\nECDHE-RSA-AES256-GCM-SHA384  # TLS 1.2\n")
    run = run_guard(f"--aurora-endpoint={closed_endpoint}", f"--aurora-cipher-allowlist={allowlist}",
                    "--collect-only")
    assert "2 suites from file" in run.output
    assert "TLS_AES_256_GCM_SHA384, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" in run.output
