"""Which cluster checks are planned for an inventory, what the parameter group claims about the wire, and how a
claim is set against what the wire showed: the exact verdict for each combination.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Optional, cast

from pytest_aurora_guard.aws.clusters import ClusterInventory, Fetched, ProxyFacts, Unavailable
from pytest_aurora_guard.checks import Outcome, Verdict
from pytest_aurora_guard.control_plane.checks import (
    ClusterCheck,
    GroupClaims,
    ProbeLookup,
    _claim_needs,
    group_claims,
    judge_config_matches_wire,
    judge_endpoints_listed,
    judge_instance_ca,
    judge_parameter,
    judge_parameters_in_effect,
    judge_proxy,
    judge_storage_encrypted,
    plan_cluster_checks,
)
from pytest_aurora_guard.control_plane.targets import ClusterTarget
from pytest_aurora_guard.settings.config import GuardSettings
from pytest_aurora_guard.settings.endpoints import Endpoint, Engine
from pytest_aurora_guard.tls.versions import TlsVersion
from tests.recorded import Recorded, with_credentials
from tests.test_cluster_checks import instance, inventory

V = TlsVersion
SETTINGS = GuardSettings()
FAR = datetime.datetime(2099, 1, 1, tzinfo=datetime.timezone.utc)  # a certificate no run outlives
WHERE = "cluster db (aurora-postgresql 16.4, us-east-1)"


def endpoint(host: str, title: str, address: Optional[str] = None) -> Endpoint:
    return Endpoint(host=host, port=5432, engine=Engine.POSTGRESQL, raw=host, address=address,
                    address_port=5432 if address else None, title=title)


WRITER = ClusterTarget("writer", "db", None, (endpoint("db.cluster-x.rds.test", "db/writer"),))
DB1_A = endpoint("db-1.x.rds.test", "db/instance db-1", "10.0.0.1")
DB1_B = endpoint("db-1.x.rds.test", "db/instance db-1", "10.0.0.2")
DB1 = ClusterTarget("instance", "db-1", "db-1", (DB1_A, DB1_B))
PROXY = ClusterTarget("proxy", "pgproxy", None, (endpoint("pgproxy.proxy-x.rds.test", "db/proxy pgproxy"),))
PROXIES = (ProxyFacts("pgproxy", "POSTGRESQL", True, "available", ()),
           ProxyFacts("legacy", "POSTGRESQL", False, "available", ()))
CLAIMED_NEEDS = ("plaintext", "modern", ("surface", V.SSLv3), ("surface", V.TLSv1_0), ("surface", V.TLSv1_1))


def cluster(params: Optional[dict[str, Any]] = None, **parts: Any) -> ClusterInventory:
    """A PostgreSQL 16.4 cluster of one in-sync instance db-1, behind the proxies pgproxy and legacy."""
    claims = {"rds.force_ssl": "1", "ssl_min_protocol_version": "TLSv1.2"} if params is None else params
    built = inventory(params=claims, instances=Fetched((instance(till=FAR),)))
    return replace(built, **{"proxies": Fetched(PROXIES), **parts})


def lookup(recordings: Mapping[Endpoint, Recorded]) -> ProbeLookup:
    """The probes of the run, one recording per endpoint; asking for another endpoint fails the test."""
    return cast("ProbeLookup", recordings.__getitem__)


def no_probe(endpoint: Endpoint) -> Any:
    raise AssertionError(f"a rule over AWS's answers read the probe of {endpoint.label}")


def planned(checks: list[ClusterCheck]) -> list[tuple[str, str, Mapping[Endpoint, tuple[Any, ...]]]]:
    return [(check.check, check.item_name, check.needs) for check in checks]


# -- plan_cluster_checks ----------------------------------------------------------------------------

class TestPlan:
    def test_lists_every_item_in_report_order_with_the_probes_each_reads(self):
        plan = plan_cluster_checks(cluster(), (WRITER, DB1, PROXY), SETTINGS)
        assert planned(plan) == [
            ("endpoints_listed", "endpoints_listed", {}),
            ("parameters_enforce_tls", "parameters_enforce_tls[rds.force_ssl]", {}),
            ("parameters_enforce_tls", "parameters_enforce_tls[ssl_min_protocol_version]", {}),
            ("parameters_in_effect", "parameters_in_effect", {}),
            ("storage_encrypted", "storage_encrypted", {}),
            ("instance_ca_current", "instance_ca_current", {}),
            ("proxy_requires_tls", "proxy_requires_tls[pgproxy]", {}),
            ("proxy_requires_tls", "proxy_requires_tls[legacy]", {}),
            ("config_matches_wire", "config_matches_wire[db-1]", {DB1_A: CLAIMED_NEEDS, DB1_B: CLAIMED_NEEDS}),
        ]

    def test_plans_the_suite_parameters_when_the_floor_allows_suites_of_tls_12(self):
        plan = plan_cluster_checks(cluster(), (DB1,), GuardSettings(min_tls=V.TLSv1_2))
        assert [check.item_name for check in plan if check.check == "parameters_enforce_tls"] == [
            "parameters_enforce_tls[rds.force_ssl]", "parameters_enforce_tls[ssl_min_protocol_version]",
            "parameters_enforce_tls[ssl_ciphers]"]

    def test_confronts_every_instance_with_the_group_and_no_other_endpoint(self):
        db2 = ClusterTarget("instance", "db-2", "db-2", (endpoint("db-2.x.rds.test", "db/instance db-2"),))
        plan = plan_cluster_checks(cluster(), (WRITER, DB1, PROXY, db2), SETTINGS)
        assert [check.item_name for check in plan if check.check == "config_matches_wire"] == [
            "config_matches_wire[db-1]", "config_matches_wire[db-2]"]

    def test_each_item_is_judged_by_its_own_rule_on_this_cluster(self):
        inv, targets = cluster(), (WRITER, DB1, PROXY)
        probes = lookup({DB1_A: Recorded(configured=DB1_A), DB1_B: Recorded(configured=DB1_B)})
        verdicts = [check.rule(probes) for check in plan_cluster_checks(inv, targets, SETTINGS)]
        assert verdicts == [
            judge_endpoints_listed(inv, targets, WHERE),
            judge_parameter(inv, "rds.force_ssl", SETTINGS, WHERE),
            judge_parameter(inv, "ssl_min_protocol_version", SETTINGS, WHERE),
            judge_parameters_in_effect(inv, WHERE),
            judge_storage_encrypted(inv, WHERE),
            judge_instance_ca(inv, SETTINGS, WHERE, datetime.datetime.now(datetime.timezone.utc)),
            judge_proxy(inv, "pgproxy", WHERE),
            judge_proxy(inv, "legacy", WHERE),
            judge_config_matches_wire(inv, DB1, probes, where=WHERE),
        ]
        assert {verdict.endpoint for verdict in verdicts} == {WHERE}

    def test_rules_over_aws_answers_alone_read_no_probe(self):
        plan = plan_cluster_checks(cluster(), (WRITER,), SETTINGS)
        assert [check.rule(no_probe).check for check in plan] == [
            "endpoints_listed", "parameters_enforce_tls[rds.force_ssl]",
            "parameters_enforce_tls[ssl_min_protocol_version]", "parameters_in_effect", "storage_encrypted",
            "instance_ca_current", "proxy_requires_tls[pgproxy]", "proxy_requires_tls[legacy]"]

    def test_proxies_rds_did_not_list_are_one_error_naming_the_call_and_the_action(self):
        inv = cluster(proxies=Unavailable("DescribeDBProxies", "AccessDenied: rds:DescribeDBProxies"))
        plan = plan_cluster_checks(inv, (WRITER,), SETTINGS)
        proxy_items = [check for check in plan if check.check == "proxy_requires_tls"]
        assert planned(proxy_items) == [("proxy_requires_tls", "proxy_requires_tls", {})]
        assert proxy_items[0].rule(no_probe) == Verdict(
            "proxy_requires_tls", WHERE, Outcome.INCONCLUSIVE, "no evidence: DescribeDBProxies did not answer",
            ("list the RDS Proxies in front of the cluster",), ("AccessDenied: rds:DescribeDBProxies",),
            "allow rds:DescribeDBProxies for the identity the run uses, then rerun")

    def test_the_marker_is_the_check_name_whatever_the_item(self):
        item = plan_cluster_checks(cluster(), (DB1,), SETTINGS)[1]
        assert (item.item_name, item.marker) == ("parameters_enforce_tls[rds.force_ssl]",
                                                 "aurora_parameters_enforce_tls")


# -- group_claims -----------------------------------------------------------------------------------

BELOW_12 = (V.SSLv3, V.TLSv1_0, V.TLSv1_1)
BELOW_13 = (*BELOW_12, V.TLSv1_2)


def pg_claims(version: str = "16.4", **params: Any) -> Optional[GroupClaims]:
    return group_claims(inventory(version=version, params=params))


def mysql_claims(**params: Any) -> Optional[GroupClaims]:
    return group_claims(inventory(engine="aurora-mysql", version="8.0.mysql_aurora.3.05.2", params=params))


class TestPostgresqlClaims:
    def test_force_ssl_1_and_a_floor_claim_plaintext_refused_and_every_version_below_the_floor(self):
        assert pg_claims(**{"rds.force_ssl": "1", "ssl_min_protocol_version": "TLSv1.2"}) == GroupClaims(
            "rds.force_ssl=1", BELOW_12, "ssl_min_protocol_version=TLSv1.2")

    def test_force_ssl_0_claims_nothing_even_from_version_17(self):
        assert pg_claims("17.2", **{"rds.force_ssl": "0"}) == GroupClaims(None, (), None)

    def test_no_force_ssl_value_claims_the_default_of_version_17(self):
        assert pg_claims("17.2", **{"rds.force_ssl": None}) == GroupClaims("rds.force_ssl=1", (), None)

    def test_no_force_ssl_value_claims_nothing_before_version_17(self):
        assert pg_claims("16.4", **{"rds.force_ssl": None}) == GroupClaims(None, (), None)

    def test_no_force_ssl_and_no_engine_version_claims_nothing(self):
        assert pg_claims("") == GroupClaims(None, (), None)

    def test_force_ssl_0_and_no_engine_version_claims_nothing(self):
        assert pg_claims("", **{"rds.force_ssl": "0"}) == GroupClaims(None, (), None)

    def test_a_floor_of_tls_13_claims_tls_12_refused_too(self):
        assert pg_claims(ssl_min_protocol_version="TLSv1.3") == GroupClaims(
            None, BELOW_13, "ssl_min_protocol_version=TLSv1.3")

    def test_an_unreadable_floor_claims_no_version(self):
        assert pg_claims(**{"rds.force_ssl": "1", "ssl_min_protocol_version": "TLSv9"}) == GroupClaims(
            "rds.force_ssl=1", (), None)

    def test_a_floor_naming_two_versions_claims_no_version(self):
        assert pg_claims(ssl_min_protocol_version="TLSv1.2,TLSv1.3") == GroupClaims(None, (), None)

    def test_a_floor_without_a_value_claims_no_version(self):
        assert pg_claims(ssl_min_protocol_version=None) == GroupClaims(None, (), None)


class TestMysqlClaims:
    def test_require_secure_transport_on_and_a_version_list_claim_plaintext_and_the_unlisted_versions(self):
        assert mysql_claims(require_secure_transport="ON", tls_version="TLSv1.2,TLSv1.3") == GroupClaims(
            "require_secure_transport=ON", BELOW_12, "tls_version=TLSv1.2,TLSv1.3")

    def test_require_secure_transport_1_claims_plaintext_refused_as_written(self):
        assert mysql_claims(require_secure_transport="1") == GroupClaims("require_secure_transport=1", (), None)

    def test_require_secure_transport_is_read_whatever_its_case(self):
        assert mysql_claims(require_secure_transport="on") == GroupClaims("require_secure_transport=on", (), None)

    def test_require_secure_transport_off_claims_nothing(self):
        assert mysql_claims(require_secure_transport="OFF", tls_version="TLSv1.3") == GroupClaims(
            None, BELOW_13, "tls_version=TLSv1.3")

    def test_require_secure_transport_without_a_value_claims_nothing(self):
        assert mysql_claims(require_secure_transport=None) == GroupClaims(None, (), None)

    def test_no_parameter_at_all_claims_nothing(self):
        assert mysql_claims() == GroupClaims(None, (), None)

    def test_the_postgresql_names_mean_nothing_on_mysql(self):
        assert mysql_claims(**{"rds.force_ssl": "1", "ssl_min_protocol_version": "TLSv1.3"}) == GroupClaims(
            None, (), None)


def test_a_group_rds_did_not_answer_for_claims_nothing_known():
    assert group_claims(cluster(parameters=Unavailable("DescribeDBClusterParameters", "AccessDenied"))) is None


# -- _claim_needs -----------------------------------------------------------------------------------

class TestClaimNeeds:
    def test_no_known_claims_need_no_probe(self):
        assert _claim_needs(None, SETTINGS) == ()

    def test_plaintext_and_versions_need_the_plaintext_attempts_the_contrast_and_each_surface(self):
        assert _claim_needs(GroupClaims("rds.force_ssl=1", (V.SSLv3, V.TLSv1_0), "x"), SETTINGS) == (
            "plaintext", "modern", ("surface", V.SSLv3), ("surface", V.TLSv1_0))

    def test_plaintext_with_credentials_needs_the_driver_attempts_too(self):
        assert _claim_needs(GroupClaims("rds.force_ssl=1", (), None), with_credentials()) == (
            "plaintext", "modern", "driver_plaintext", "driver_verified")

    def test_versions_alone_need_only_their_surfaces(self):
        assert _claim_needs(GroupClaims(None, (V.TLSv1_1,), "x"), with_credentials()) == (("surface", V.TLSv1_1),)
