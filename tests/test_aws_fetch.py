"""The RDS reader, through real boto3 and real HTTP to the Query-protocol fake."""

from __future__ import annotations

from pathlib import Path

import boto3
import botocore.exceptions
import pytest

from pytest_aurora_guard.aws.engine_defaults import PAGE_SIZE, EngineDefaultsReader, default_region
from pytest_aurora_guard.errors import (
    AwsAccessDeniedError,
    AwsApiError,
    AwsCredentialsError,
    AwsThrottledError,
    UnknownEngineFamilyError,
)
from tests.fake_rds import (
    ACCESS_KEY_ID,
    FAMILY,
    PG11_PAGES,
    REGION,
    SECRET_ACCESS_KEY,
    SESSION_TOKEN,
    FakeRds,
    filler,
    parameter,
)

pytest_plugins = ["tests.drift_fixtures"]


def fetch(family: str = FAMILY, region: str = REGION):  # type: ignore[no-untyped-def]
    return EngineDefaultsReader().fetch(region, family)


def test_every_page_is_read_with_exactly_one_call_per_page(pg11: FakeRds) -> None:
    fetched = fetch()

    assert fetched.pages == PG11_PAGES
    assert pg11.calls_for(FAMILY) == PG11_PAGES
    assert len(fetched.parameters) == 250
    assert {"ssl_ciphers", "rds.force_ssl", "ssl_max_protocol_version"} <= {p.name for p in fetched.parameters}


def test_pages_are_requested_with_the_largest_page_size_and_the_previous_marker(
    pg11: FakeRds,
) -> None:
    fetch()

    assert [r.get("MaxRecords") for r in pg11.requests] == [str(PAGE_SIZE)] * PG11_PAGES
    assert [r.get("Marker") for r in pg11.requests] == [None, f"{FAMILY}|100", f"{FAMILY}|200"]


def test_an_absent_parameter_value_is_none_and_an_empty_one_stays_empty(aws_env: FakeRds) -> None:
    aws_env.serve(FAMILY, [parameter("ssl_ciphers"), parameter("ssl", ParameterValue="")])

    by_name = {p.name: p for p in fetch().parameters}

    assert by_name["ssl_ciphers"].value is None
    assert by_name["ssl"].value == ""


def test_the_region_is_the_one_asked_for(aws_env: FakeRds) -> None:
    aws_env.serve(FAMILY, filler(3), region="eu-west-1")

    fetched = fetch(region="eu-west-1")

    assert fetched.region == "eu-west-1"
    assert aws_env.calls_for(FAMILY, region="eu-west-1") == 1


def test_the_global_endpoint_variable_is_honoured_too(aws_env: FakeRds, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_RDS")
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env.url)
    aws_env.serve(FAMILY, filler(3))

    assert fetch().endpoint.startswith(aws_env.url)


def test_throttling_is_retried_by_botocore_and_then_succeeds(pg11: FakeRds) -> None:
    pg11.throttle(FAMILY, times=1)

    fetched = fetch()

    assert fetched.pages == PG11_PAGES
    assert pg11.calls_for(FAMILY) == PG11_PAGES + 1


def test_throttling_that_outlasts_the_retries_says_how_to_retry_more(pg11: FakeRds) -> None:
    pg11.throttle(FAMILY, times=10, code="ThrottlingException")

    with pytest.raises(AwsThrottledError) as raised:
        fetch()

    message = str(raised.value)
    assert "after 2 attempt(s)" in message
    assert "ThrottlingException" in message
    assert "AWS_MAX_ATTEMPTS" in message
    assert pg11.calls_for(FAMILY) == 2


def test_access_denied_names_the_action_to_allow(pg11: FakeRds) -> None:
    pg11.deny("AccessDenied")

    with pytest.raises(AwsAccessDeniedError) as raised:
        fetch()

    assert "rds:DescribeEngineDefaultClusterParameters" in str(raised.value)
    assert "HTTP 403 AccessDenied" in str(raised.value)


def test_an_unknown_family_is_reported_as_such(aws_env: FakeRds) -> None:
    with pytest.raises(UnknownEngineFamilyError) as raised:
        fetch("aurora-postgresql99")

    message = str(raised.value)
    assert "InvalidParameterValue" in message
    assert "'aurora-postgresql99'" in message
    assert "describe-db-engine-versions" in message


def test_a_family_served_without_parameters_is_an_unknown_family_not_an_empty_pass(
    aws_env: FakeRds,
) -> None:
    aws_env.serve("aurora5.6", [])

    with pytest.raises(UnknownEngineFamilyError, match="returned no parameters"):
        fetch("aurora5.6")


def test_missing_credentials_fail_before_any_call(aws_env: FakeRds, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    aws_env.serve(FAMILY, filler(3))

    with pytest.raises(AwsCredentialsError, match="no AWS credentials"):
        fetch()

    assert aws_env.requests == []


def test_refused_credentials_say_to_refresh_them(pg11: FakeRds) -> None:
    pg11.deny("InvalidClientTokenId", "The security token included in the request is invalid.")

    with pytest.raises(AwsCredentialsError, match="refresh them"):
        fetch()


def test_credentials_echoed_by_the_server_are_scrubbed_from_the_message(
    pg11: FakeRds, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    pg11.deny(
        "SignatureDoesNotMatch",
        f"key {ACCESS_KEY_ID} secret {SECRET_ACCESS_KEY} token {SESSION_TOKEN} and another ASIAEXAMPLEEXAMPLE12",
    )

    with pytest.raises(AwsCredentialsError, match="The credentials were refused") as raised:
        fetch()

    message = str(raised.value)
    for secret in (ACCESS_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN, "ASIAEXAMPLEEXAMPLE12"):
        assert secret not in message
    assert "[redacted]" in message


def test_an_unparseable_answer_is_an_error(pg11: FakeRds) -> None:
    pg11.raw_reply = (200, "<html>captive portal</html>")

    with pytest.raises(AwsApiError, match="the answer is not an RDS Query-protocol response") as raised:
        fetch()
    assert type(raised.value) is AwsApiError  # none of the subclasses that say what to change


def test_a_server_error_is_an_error_that_says_nothing_was_written(pg11: FakeRds) -> None:
    pg11.deny("InternalFailure", "boom", status=500)

    with pytest.raises(AwsApiError, match="Nothing was compared or written") as raised:
        fetch()
    assert type(raised.value) is AwsApiError


def test_aws_region_wins_over_aws_default_region() -> None:
    assert default_region({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-1"}) == ("eu-west-1")
    assert default_region({"AWS_DEFAULT_REGION": "us-east-2"}) == "us-east-2"


def test_a_named_profile_supplies_credentials_and_region(
    aws_env: FakeRds, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
        monkeypatch.delenv(name)
    (tmp_path / "credentials").write_text(
        f"[drift]\naws_access_key_id = {ACCESS_KEY_ID}\naws_secret_access_key = x\n",
        encoding="utf-8",
    )
    (tmp_path / "config").write_text("[profile drift]\nregion = eu-west-1\n", encoding="utf-8")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_PROFILE", "drift")
    aws_env.serve(FAMILY, filler(3), region="eu-west-1")

    region = default_region()
    assert region == "eu-west-1"
    assert fetch(region=region).pages == 1


def test_a_profile_that_does_not_exist_is_a_credentials_error(
    aws_env: FakeRds, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")

    with pytest.raises(AwsCredentialsError, match="AWS_PROFILE"):
        fetch()


def test_adaptive_retry_mode_also_rides_out_throttling(aws_env: FakeRds, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    aws_env.serve(FAMILY, filler(3))
    aws_env.throttle(FAMILY, times=1)

    assert fetch().pages == 1
    assert aws_env.calls_for(FAMILY) == 2


def test_the_scrubber_never_shows_the_secrets_it_holds(pg11: FakeRds) -> None:
    reader = EngineDefaultsReader()
    reader.fetch(REGION, FAMILY)

    assert SECRET_ACCESS_KEY not in repr(vars(reader))


# -- the fake itself keeps AWS's rules -----------------------------------------------------------


@pytest.mark.parametrize("max_records", [19, 101])
def test_the_fake_refuses_a_page_size_outside_20_to_100_as_aws_does(pg11: FakeRds, max_records: int) -> None:
    client = boto3.session.Session().client("rds", region_name=REGION)

    with pytest.raises(botocore.exceptions.ClientError) as raised:
        client.describe_engine_default_cluster_parameters(DBParameterGroupFamily=FAMILY, MaxRecords=max_records)

    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_the_fake_omits_the_marker_on_the_last_page(pg11: FakeRds) -> None:
    client = boto3.session.Session().client("rds", region_name=REGION)

    last = client.describe_engine_default_cluster_parameters(DBParameterGroupFamily=FAMILY, Marker=f"{FAMILY}|200")

    assert "Marker" not in last["EngineDefaults"]
    assert len(last["EngineDefaults"]["Parameters"]) == 50
