"""--aurora-connect-to: TCP goes to ADDRESS while SNI and certificate hostname checks use NAME."""

from __future__ import annotations

import pytest

from pytest_aurora_guard.control_plane.targets import per_address
from pytest_aurora_guard.errors import ConfigurationError
from pytest_aurora_guard.settings.endpoints import apply_connect_to, parse_connect_to, parse_endpoint
from tests.guard_helpers import CREDENTIAL_FREE, DRIVER

NAME = "db.aurora-guard.test"  # in the test server certificate (tests/support/pki.py)


def test_a_rule_routes_the_named_endpoint_and_keeps_the_name_for_tls() -> None:
    rule = parse_connect_to(f"{NAME}:5432=127.0.0.1:15432")
    routed = apply_connect_to(parse_endpoint(f"postgresql://{NAME}"), (rule,))
    assert (routed.dial_host, routed.dial_port) == ("127.0.0.1", 15432)
    assert routed.server_name == NAME
    assert routed.label == f"postgresql://{NAME}:5432 via 127.0.0.1:15432"


def test_a_rule_without_ports_keeps_the_endpoint_port_and_matches_any_port() -> None:
    routed = apply_connect_to(parse_endpoint(f"mysql://{NAME}:3307"), (parse_connect_to(f"{NAME}=10.0.0.5"),))
    assert (routed.dial_host, routed.dial_port) == ("10.0.0.5", 3307)


def test_a_rule_for_another_port_or_name_leaves_the_endpoint_alone() -> None:
    endpoint = parse_endpoint(f"postgresql://{NAME}")
    rules = (parse_connect_to(f"{NAME}:6543=127.0.0.1:1"), parse_connect_to("other.aurora-guard.test=127.0.0.1"))
    assert apply_connect_to(endpoint, rules) == endpoint


def test_the_first_matching_rule_wins_as_in_curl() -> None:
    rules = (parse_connect_to(f"{NAME}=127.0.0.1:1"), parse_connect_to(f"{NAME}=127.0.0.1:2"))
    assert apply_connect_to(parse_endpoint(f"postgresql://{NAME}"), rules).dial_port == 1


def test_an_ipv6_address_is_written_in_brackets() -> None:
    routed = apply_connect_to(parse_endpoint(f"postgresql://{NAME}"), (parse_connect_to(f"{NAME}=[::1]:5432"),))
    assert routed.dial_host == "::1"
    assert "::" not in routed.node_label


@pytest.mark.parametrize("text", ["no-equals-sign", f"{NAME}=", f"={NAME}", f"{NAME}=127.0.0.1:99999",
                                  f"{NAME}=::1", "bad name=127.0.0.1"])
def test_a_malformed_rule_is_refused(text: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_connect_to(text)


def test_a_name_with_several_addresses_is_one_endpoint_per_address() -> None:
    endpoint = parse_endpoint(f"postgresql://{NAME}")
    expanded = per_address(endpoint, resolve=lambda host, port: ["10.0.0.1", "10.0.0.2"])
    assert [(e.dial_host, e.server_name) for e in expanded] == [("10.0.0.1", NAME), ("10.0.0.2", NAME)]
    assert len({e.node_label for e in expanded}) == 2


def test_a_name_with_one_address_stays_one_unrouted_endpoint() -> None:
    endpoint = parse_endpoint(f"postgresql://{NAME}")
    assert per_address(endpoint, resolve=lambda host, port: ["10.0.0.1"]) == [endpoint]


def test_a_bad_rule_in_the_environment_is_a_usage_error_naming_it(run_guard, monkeypatch) -> None:
    monkeypatch.setenv("AURORA_GUARD_CONNECT_TO", "nonsense")
    run = run_guard(f"--aurora-endpoint=postgresql://{NAME}")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "AURORA_GUARD_CONNECT_TO" in run.output


def test_every_check_runs_against_the_address_under_the_name(run_guard, pg_hardened, ca_bundle, monkeypatch):
    monkeypatch.setenv("AURORA_GUARD_PASSWORD", pg_hardened.password)
    run = run_guard(f"--aurora-endpoint=postgresql://{NAME}",
                    f"--aurora-connect-to={NAME}:5432=127.0.0.1:{pg_hardened.port}",
                    f"--aurora-user={pg_hardened.user}", f"--aurora-ca-bundle={ca_bundle}", "-v")
    assert run.outcomes() == dict.fromkeys(sorted(CREDENTIAL_FREE | DRIVER), "passed")
    assert f"aurora-guard[postgresql@{NAME}:5432 via 127.0.0.1:{pg_hardened.port}]::plaintext_refused" in run.output


def test_the_certificate_is_checked_against_the_name_not_the_address(run_guard, pg_hardened, ca_bundle,
                                                                     monkeypatch):
    # 127.0.0.1 is in the server certificate; db.example.invalid is not: the check must fail.
    monkeypatch.setenv("AURORA_GUARD_PASSWORD", pg_hardened.password)
    run = run_guard("--aurora-endpoint=postgresql://db.example.invalid",
                    f"--aurora-connect-to=db.example.invalid=127.0.0.1:{pg_hardened.port}",
                    f"--aurora-user={pg_hardened.user}", f"--aurora-ca-bundle={ca_bundle}",
                    "-k", "driver_verified_session")
    assert run.outcome_of("driver_verified_session") == "failed"
    assert "the server certificate did not verify" in run.output


def test_mysql_verifies_the_name_too(run_guard, mariadb_hardened, ca_bundle, monkeypatch):
    monkeypatch.setenv("AURORA_GUARD_PASSWORD", mariadb_hardened.password)
    base = [f"--aurora-user={mariadb_hardened.user}", f"--aurora-ca-bundle={ca_bundle}", "-k", "driver_verified"]
    good = run_guard(f"--aurora-endpoint=mysql://{NAME}",
                     f"--aurora-connect-to={NAME}=127.0.0.1:{mariadb_hardened.port}", *base)
    assert good.outcome_of("driver_verified_session") == "passed"
    bad = run_guard("--aurora-endpoint=mysql://db.example.invalid",
                    f"--aurora-connect-to=db.example.invalid=127.0.0.1:{mariadb_hardened.port}", *base)
    assert bad.outcome_of("driver_verified_session") == "failed"
