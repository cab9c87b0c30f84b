"""--aurora-iam-auth: tokens for the endpoint's own name, port, user and region, only on verified TLS."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import socket
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

from pytest_aurora_guard.aws.iam_tokens import IamTokens, token_region
from pytest_aurora_guard.engines.mysql import _VerifiedCleartext
from pytest_aurora_guard.errors import UnverifiedTransportError
from pytest_aurora_guard.probe import EndpointProbe
from pytest_aurora_guard.settings.config import GuardSettings
from pytest_aurora_guard.settings.credentials import Secret
from pytest_aurora_guard.settings.endpoints import parse_endpoint
from pytest_aurora_guard.tls.handshake import TlsContexts
from tests.fake_rds import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from tests.moto_server import isolate_aws

HOST = "prod-pg.cluster-c9akciq32.eu-west-1.rds.amazonaws.com"


@pytest.fixture
def aws_keys(monkeypatch, tmp_path):
    isolate_aws(monkeypatch, tmp_path)
    monkeypatch.delenv("AWS_REGION", raising=False)


def _sign(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _expected_signature(host: str, port: int, query: list[tuple[str, str]], secret: str) -> str:
    """SigV4 query signing recomputed from the token's own fields (AWS's documented algorithm)."""
    fields = dict(query)
    stamp = fields["X-Amz-Date"]
    scope = fields["X-Amz-Credential"].split("/", 1)[1]
    canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                               for k, v in sorted(query) if k != "X-Amz-Signature")
    canonical = "\n".join(["GET", "/", canonical_query, f"host:{host}:{port}", "", "host",
                           hashlib.sha256(b"").hexdigest()])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    date, region, service, _ = scope.split("/")
    key = _sign(_sign(_sign(_sign(f"AWS4{secret}".encode(), date), region), service), "aws4_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_the_token_is_a_connect_request_for_the_endpoints_name_port_user_and_region(aws_keys):
    endpoint = parse_endpoint(f"postgresql://{HOST}:5433")
    token = IamTokens()(endpoint, "guard_probe")
    assert isinstance(token, Secret)
    url = urlsplit("https://" + token.reveal())
    assert (url.hostname, url.port, url.path) == (HOST, 5433, "/")
    query = parse_qsl(url.query)
    fields = dict(query)
    assert fields["Action"] == "connect"
    assert fields["DBUser"] == "guard_probe"
    assert fields["X-Amz-Expires"] == "900"
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")
    assert fields["X-Amz-Credential"] == f"{ACCESS_KEY_ID}/{day}/eu-west-1/rds-db/aws4_request"
    assert fields["X-Amz-Signature"] == _expected_signature(HOST, 5433, query, SECRET_ACCESS_KEY)


def test_a_routed_endpoint_gets_a_token_for_its_name_not_the_address_dialled(aws_keys):
    from pytest_aurora_guard.settings.endpoints import apply_connect_to, parse_connect_to

    route = parse_connect_to(f"{HOST}=127.0.0.1:6000")
    routed = apply_connect_to(parse_endpoint(f"postgresql://{HOST}:5432"), (route,))
    token = urlsplit("https://" + IamTokens()(routed, "u").reveal())
    assert (token.hostname, token.port) == (HOST, 5432)


@pytest.mark.parametrize(("host", "region"), [
    (HOST, "eu-west-1"),
    ("db.c1.us-gov-west-1.rds.amazonaws.com", "us-gov-west-1"),
    ("db.c1.cn-north-1.rds.amazonaws.com.cn", "cn-north-1"),
])
def test_the_region_comes_from_the_rds_name(host, region):
    assert token_region(host, {}) == region


def test_a_token_is_never_offered_to_the_unverified_attempts():
    settings = GuardSettings(endpoints=(parse_endpoint(f"postgresql://{HOST}"),), user="guard_probe", iam_auth=True)
    made: list[str] = []

    def tokens(endpoint, user):
        made.append(user)
        return Secret("token-marker")

    probe = EndpointProbe(settings.endpoints[0], settings, TlsContexts(), pool=None, tokens=tokens)  # type: ignore[arg-type]
    assert probe.unverified_settings().password is None
    assert made == []
    assert probe.verified_settings().password == Secret("token-marker")


def test_mysql_clear_password_is_refused_on_a_socket_that_is_not_verified_tls():
    left, right = socket.socketpair()
    written: list[bytes] = []

    class Connection:
        _sock = left
        password = b"token-marker"

        def write_packet(self, data: bytes) -> None:
            written.append(data)

    with left, right, pytest.raises(UnverifiedTransportError, match="not TLS"):
        _VerifiedCleartext(Connection()).authenticate(b"")
    assert written == []


class TestSettings:
    def test_iam_auth_needs_the_database_user(self, run_guard):
        run = run_guard("--aurora-endpoint=127.0.0.1:5432", "--aurora-iam-auth")
        assert run.result.ret == pytest.ExitCode.USAGE_ERROR
        assert "--aurora-iam-auth needs --aurora-user" in run.output

    def test_a_password_as_well_is_ambiguous(self, run_guard, monkeypatch):
        monkeypatch.setenv("AURORA_GUARD_PASSWORD", "pw-123")
        run = run_guard("--aurora-endpoint=127.0.0.1:5432", "--aurora-iam-auth", "--aurora-user=guard")
        assert run.result.ret == pytest.ExitCode.USAGE_ERROR
        assert "an IAM token replaces the password" in run.output

    def test_the_header_says_where_the_credentials_come_from(self, run_guard, monkeypatch):
        monkeypatch.setenv("AURORA_GUARD_IAM_AUTH", "true")
        run = run_guard("--aurora-endpoint=127.0.0.1:5432", "--aurora-user=guard", "--collect-only")
        assert run.result.ret == pytest.ExitCode.OK
        assert "password from IAM database authentication tokens" in run.output


def test_against_a_real_server_the_token_goes_only_to_the_verified_login_and_is_never_shown(
        run_guard, aws_keys, monkeypatch, pg_hardened, ca_bundle, tmp_path):
    # The local PostgreSQL knows no IAM: the verified login is refused for its credentials, which
    # shows the token was offered there (over verify-full) and nowhere else, and is never printed.
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    junit = tmp_path / "junit.xml"
    run = run_guard(f"--aurora-endpoint={pg_hardened.endpoint}", "--aurora-iam-auth",
                    f"--aurora-user={pg_hardened.user}", f"--aurora-dbname={pg_hardened.database}",
                    f"--aurora-ca-bundle={ca_bundle}", "-k", "driver",
                    "-l", "--tb=long", f"--junitxml={junit}")
    assert run.outcome_of("driver_verified_session") == "error"
    assert "password authentication failed" in run.output
    assert run.outcome_of("driver_plaintext_refused") == "passed"
    for text in (run.output, junit.read_text()):
        assert "X-Amz-Signature" not in text
        assert "Action=connect" not in text
