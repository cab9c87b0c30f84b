"""--aurora-secret-id: the probe account from a Secrets Manager secret (moto's server mode, real HTTP).

The driver checks then run against the suite's real PostgreSQL with no password in the environment,
and the password appears nowhere in the output, the tracebacks' locals or the junit XML.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from pytest_aurora_guard.aws.secrets import fetch_db_secret, secret_region
from pytest_aurora_guard.errors import AwsApiError, ConfigurationError
from pytest_aurora_guard.settings.credentials import Secret, parse_db_secret
from tests.guard_helpers import CREDENTIAL_FREE, DRIVER
from tests.moto_server import moto_server

REGION = "us-east-1"


@pytest.fixture
def secrets_manager(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[Any]:
    """boto3 pointed at moto's Secrets Manager with dummy credentials; yields a client to create secrets."""
    monkeypatch.setenv("AWS_REGION", REGION)
    with moto_server(monkeypatch, tmp_path) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", url)
        yield boto3.client("secretsmanager", region_name=REGION)


def _secret(client: Any, name: str, value: dict[str, Any]) -> str:
    return str(client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"])


class TestAgainstARealServer:
    def test_the_driver_checks_run_with_no_password_in_the_environment(self, run_guard, secrets_manager,
                                                                       pg_hardened, ca_bundle, tmp_path):
        arn = _secret(secrets_manager, "prod/guard", {"username": pg_hardened.user, "password": pg_hardened.password})
        junit = tmp_path / "junit.xml"
        run = run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", f"--aurora-secret-id={arn}",
                        f"--aurora-dbname={pg_hardened.database}", f"--aurora-ca-bundle={ca_bundle}",
                        "-l", "--tb=long", "-rA", f"--junitxml={junit}")
        assert run.outcomes() == dict.fromkeys(sorted(CREDENTIAL_FREE | DRIVER), "passed")
        assert f"password from Secrets Manager secret {arn!r}" in run.output
        assert pg_hardened.password not in run.output
        assert pg_hardened.password not in junit.read_text()

    def test_host_port_dbname_and_engine_in_the_secret_name_the_endpoint(self, run_guard, secrets_manager,
                                                                        pg_hardened, ca_bundle):
        _secret(secrets_manager, "prod/guard-full", {
            "engine": "postgres", "host": pg_hardened.host, "port": pg_hardened.port, "dbname": pg_hardened.database,
            "username": pg_hardened.user, "password": pg_hardened.password})
        run = run_guard("--aurora-secret-id=prod/guard-full", f"--aurora-ca-bundle={ca_bundle}", "-k", "driver")
        assert run.outcomes() == dict.fromkeys(sorted(DRIVER), "passed")
        assert f"endpoints postgresql://{pg_hardened.host}:{pg_hardened.port}" in run.output

    def test_a_wrong_password_in_the_secret_is_an_error_that_does_not_show_it(self, run_guard, secrets_manager,
                                                                              pg_hardened, ca_bundle):
        marker = "Secret-Marker-0a1b2c3d-not-the-password"
        _secret(secrets_manager, "prod/wrong", {"username": pg_hardened.user, "password": marker})
        run = run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", "--aurora-secret-id=prod/wrong",
                        f"--aurora-dbname={pg_hardened.database}", f"--aurora-ca-bundle={ca_bundle}",
                        "-k", "driver_verified", "-l", "--tb=long")
        assert run.outcome_of("driver_verified_session") == "error"
        assert marker not in run.output


class TestUsageErrors:
    def test_a_user_given_alongside_must_agree_with_the_secret(self, run_guard, secrets_manager):
        _secret(secrets_manager, "prod/guard", {"username": "guard_probe", "password": "p-4f9e1d"})
        run = run_guard("--aurora-endpoint=127.0.0.1:5432", "--aurora-secret-id=prod/guard", "--aurora-user=admin")
        assert run.result.ret == pytest.ExitCode.USAGE_ERROR
        assert "--aurora-user ('admin') does not agree with the username in Secrets Manager secret 'prod/guard'" \
            in run.output
        assert "p-4f9e1d" not in run.output

    def test_a_matching_user_is_fine(self, run_guard, secrets_manager):
        _secret(secrets_manager, "prod/guard", {"username": "guard_probe", "password": "p-4f9e1d"})
        run = run_guard("--aurora-endpoint=127.0.0.1:5432", "--aurora-secret-id=prod/guard",
                        "--aurora-user=guard_probe", "--collect-only", "-q")
        assert run.result.ret == pytest.ExitCode.OK

    def test_a_password_from_the_environment_too_is_ambiguous(self, run_guard, secrets_manager, monkeypatch):
        _secret(secrets_manager, "prod/guard", {"username": "guard_probe", "password": "p-4f9e1d"})
        monkeypatch.setenv("AURORA_GUARD_PASSWORD", "other")
        run = run_guard("--aurora-endpoint=127.0.0.1:5432", "--aurora-secret-id=prod/guard")
        assert run.result.ret == pytest.ExitCode.USAGE_ERROR
        assert "--aurora-secret-id and AURORA_GUARD_PASSWORD both give the probe account's password" in run.output

    def test_a_missing_secret_is_a_usage_error_naming_it(self, run_guard, secrets_manager):
        run = run_guard("--aurora-endpoint=127.0.0.1:5432", "--aurora-secret-id=prod/nothing-here")
        assert run.result.ret == pytest.ExitCode.USAGE_ERROR
        assert "GetSecretValue for Secrets Manager secret 'prod/nothing-here' in us-east-1" in run.output
        assert "ResourceNotFoundException" in run.output

    def test_a_secret_outside_rds_layout_is_refused_without_showing_it(self, run_guard, secrets_manager):
        secrets_manager.create_secret(Name="prod/plain", SecretString="hunter2-plain-text")
        run = run_guard("--aurora-endpoint=127.0.0.1:5432", "--aurora-secret-id=prod/plain")
        assert run.result.ret == pytest.ExitCode.USAGE_ERROR
        assert "Secrets Manager secret 'prod/plain' is not JSON" in run.output
        assert "hunter2" not in run.output

    def test_the_environment_variable_is_a_mirror(self, run_guard, secrets_manager, monkeypatch):
        monkeypatch.setenv("AURORA_GUARD_SECRET_ID", "prod/absent")
        run = run_guard("--aurora-endpoint=127.0.0.1:5432")
        assert run.result.ret == pytest.ExitCode.USAGE_ERROR
        assert "secret 'prod/absent'" in run.output


def test_the_region_is_the_arns_else_the_environment(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert secret_region("arn:aws:secretsmanager:us-west-2:123456789012:secret:prod/guard-AbCdEf") == "us-west-2"
    assert secret_region("prod/guard") == "eu-west-1"


def test_the_fetched_account_holds_its_password_as_a_secret(secrets_manager):
    _secret(secrets_manager, "prod/guard", {"username": "u", "password": "p-77aa", "port": "3306"})
    account = fetch_db_secret("prod/guard")
    assert account.password == Secret("p-77aa")
    assert account.port == 3306
    assert "p-77aa" not in repr(account)


def test_no_credentials_is_an_aws_error_not_a_crash(secrets_manager, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(AwsApiError, match="no AWS credentials"):
        fetch_db_secret("prod/guard")


@pytest.mark.parametrize(("text", "says"), [
    ('["a list"]', "not an object"),
    ('{"username": "u"}', "no non-empty string 'password'"),
    ('{"username": "", "password": "x"}', "no non-empty string 'username'"),
    ('{"username": "u", "password": "x", "port": "five"}', "'port' is not a port number"),
    ('{"username": "u", "password": "x", "host": 5}', "'host' must be a string"),
])
def test_each_malformed_field_is_named(text, says):
    with pytest.raises(ConfigurationError, match=says):
        parse_db_secret(Secret(text), "the secret")
