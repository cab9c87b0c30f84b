"""The control-plane rules on parameters, storage, certificates and proxies, mutation by mutation: the exact
verdict each kind of AWS answer gives.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Optional

import pytest

from pytest_aurora_guard.aws.clusters import (
    CertificateFacts,
    ClusterFacts,
    ClusterInventory,
    Facts,
    Fetched,
    InstanceFacts,
    Member,
    ParameterFacts,
    ParameterGroupFacts,
    ProxyFacts,
    Unavailable,
)
from pytest_aurora_guard.checks import INTEGRITY, TRANSMISSION_SECURITY, Outcome, Verdict
from pytest_aurora_guard.control_plane.checks import (
    AT_REST,
    _major,
    _Make,
    _now,
    _tls_parameters,
    _value_text,
    cluster_where,
    judge_endpoints_listed,
    judge_instance_ca,
    judge_parameter,
    judge_parameters_in_effect,
    judge_proxy,
    judge_storage_encrypted,
)
from pytest_aurora_guard.control_plane.targets import ClusterTarget
from pytest_aurora_guard.settings.config import GuardSettings
from pytest_aurora_guard.settings.endpoints import Endpoint, Engine
from pytest_aurora_guard.tls.allowlist import CipherAllowlist
from pytest_aurora_guard.tls.ciphers import REGISTRY
from pytest_aurora_guard.tls.versions import TlsVersion

WHERE = "cluster db (aurora-postgresql 16.4, us-east-1)"
NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
NEXT_YEAR = NOW.replace(year=2027)
SETTINGS = GuardSettings()
TLS12_FLOOR = GuardSettings(min_tls=TlsVersion.TLSv1_2)
KMS_KEY = "arn:aws:kms:us-east-1:1:key/k"
DENIED = "AccessDenied: not authorized to perform this operation"
IN_GROUP = "in the DB cluster parameter group 'db-params'"
EMPTY: Facts[Any] = Fetched(())
NO_CA: Facts[Any] = Fetched({})
DEFAULT_ALLOWLIST = "2 suites from default: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384"


def param(name: str, value: Optional[str], source: Optional[str] = "user", apply_type: Optional[str] = "dynamic",
          apply_method: Optional[str] = "immediate", allowed_values: Optional[str] = None) -> ParameterFacts:
    return ParameterFacts(name, value, source, apply_type, apply_method, allowed_values)


def group(*params: ParameterFacts) -> Fetched[ParameterGroupFacts]:
    return Fetched(ParameterGroupFacts("db-params", {p.name: p for p in params}, 1))


def inventory(*params: ParameterFacts, engine: str = "aurora-postgresql", version: Optional[str] = "16.4",
              members: tuple[Member, ...] = (Member("db-1", True, "in-sync"),),
              parameters: Optional[Facts[ParameterGroupFacts]] = None, instances: Facts[Any] = EMPTY,
              endpoints: Facts[Any] = EMPTY, certificates: Facts[Any] = NO_CA, proxies: Facts[Any] = EMPTY,
              **cluster: Any) -> ClusterInventory:
    """A cluster as RDS describes it; ``cluster`` overrides ClusterFacts fields."""
    facts = ClusterFacts(cluster_id="db", region="us-east-1", engine=engine, engine_version=version, port=5432,
                         writer_endpoint=None, reader_endpoint=None, parameter_group="db-params",
                         storage_encrypted=True, kms_key_id=KMS_KEY, iam_auth=False, status="available",
                         members=members)
    return ClusterInventory(replace(facts, **cluster), instances, endpoints,
                            parameters if parameters is not None else group(*params), certificates, proxies)


def verdict(check: str, outcome: Outcome, summary: str, attempted: Sequence[str], answered: Sequence[str],
            remedy: Optional[str] = None, controls: tuple[str, ...] = TRANSMISSION_SECURITY) -> Verdict:
    return Verdict(check, WHERE, outcome, summary, tuple(attempted), tuple(answered), remedy, controls)


# -- the verdict maker and the cluster's name ----------------------------------------------------------------

class TestMake:
    def test_a_verdict_carries_the_check_the_place_and_the_transmission_controls_by_default(self):
        made = _Make("storage_encrypted", WHERE)(Outcome.FAILED, "not encrypted", ["asked"], ["said"], "encrypt it")
        assert made == Verdict("storage_encrypted", WHERE, Outcome.FAILED, "not encrypted", ("asked",), ("said",),
                               "encrypt it", TRANSMISSION_SECURITY)

    def test_a_pass_carries_no_remedy(self):
        made = _Make("storage_encrypted", WHERE, AT_REST)(Outcome.PASSED, "encrypted", ["asked"], ["said"], "noop")
        assert made == Verdict("storage_encrypted", WHERE, Outcome.PASSED, "encrypted", ("asked",), ("said",), None,
                               AT_REST)

    def test_an_inconclusive_verdict_keeps_its_remedy(self):
        made = _Make("x", WHERE)(Outcome.INCONCLUSIVE, "unknown", (), (), "rerun")
        assert made.remedy == "rerun"

    def test_a_call_that_did_not_answer_is_inconclusive_naming_the_call_and_the_action_to_allow(self):
        made = _Make("instance_ca_current", WHERE, AT_REST).unavailable(
            Unavailable("DescribeDBInstances", DENIED), ["list the instances"])
        assert made == Verdict("instance_ca_current", WHERE, Outcome.INCONCLUSIVE,
                               "no evidence: DescribeDBInstances did not answer", ("list the instances",), (DENIED,),
                               "allow rds:DescribeDBInstances for the identity the run uses, then rerun", AT_REST)


class TestClusterWhere:
    def test_names_the_cluster_its_engine_and_version_and_region(self):
        assert cluster_where(inventory()) == WHERE

    @pytest.mark.parametrize("version", [None, ""])
    def test_leaves_out_a_version_rds_did_not_send(self, version: Optional[str]):
        assert cluster_where(inventory(version=version)) == "cluster db (aurora-postgresql, us-east-1)"


# -- endpoints_listed ----------------------------------------------------------------------------------------

LISTED_ATTEMPTED = ("DescribeDBClusters, DescribeDBInstances and DescribeDBClusterEndpoints for the cluster",)


def endpoint(host: str, title: str) -> Endpoint:
    return Endpoint(host=host, port=5432, engine=Engine.POSTGRESQL, raw=host, title=title)


def target(role: str, name: str, instance_id: Optional[str], *hosts: str) -> ClusterTarget:
    return ClusterTarget(role, name, instance_id, tuple(endpoint(h, f"db/{role}") for h in hosts))


WRITER = target("writer", "db", None, "db.cluster-x.test")
DB_1 = target("instance", "db-1", "db-1", "db-1.x.test")
DB_2 = target("instance", "db-2", "db-2", "db-2.x.test", "db-2b.x.test")
TWO_MEMBERS = (Member("db-1", True, "in-sync"), Member("db-2", False, "in-sync"))
WRITER_LINE = "writer db: db/writer (postgresql://db.cluster-x.test:5432)"
DB_1_LINE = "instance db-1: db/instance (postgresql://db-1.x.test:5432)"
DB_2_LINE = ("instance db-2: db/instance (postgresql://db-2.x.test:5432), "
             "db/instance (postgresql://db-2b.x.test:5432)")


def listed(outcome: Outcome, summary: str, answered: Sequence[str], remedy: Optional[str] = None) -> Verdict:
    return verdict("endpoints_listed", outcome, summary, LISTED_ATTEMPTED, answered, remedy)


class TestEndpointsListed:
    def test_passes_when_every_member_instance_has_an_endpoint_among_them(self):
        got = judge_endpoints_listed(inventory(members=TWO_MEMBERS), (WRITER, DB_1, DB_2), WHERE)
        assert got == listed(Outcome.PASSED, "3 endpoint(s), every one of the 2 member instance(s) among them",
                             [WRITER_LINE, DB_1_LINE, DB_2_LINE])

    def test_is_inconclusive_naming_the_members_without_an_endpoint(self):
        members = (*TWO_MEMBERS, Member("db-3", False, "in-sync"))
        got = judge_endpoints_listed(inventory(members=members), (WRITER, DB_1), WHERE)
        assert got == listed(Outcome.INCONCLUSIVE, "member instance(s) without an endpoint to probe: db-2, db-3",
                             [WRITER_LINE, DB_1_LINE],
                             "rerun once every member is available (an instance being created has no endpoint yet)")

    def test_says_no_endpoint_when_no_member_has_one(self):
        got = judge_endpoints_listed(inventory(), (), WHERE)
        assert got == listed(Outcome.INCONCLUSIVE, "member instance(s) without an endpoint to probe: db-1",
                             ["no endpoint"],
                             "rerun once every member is available (an instance being created has no endpoint yet)")

    def test_is_inconclusive_when_the_cluster_has_no_member_instance(self):
        got = judge_endpoints_listed(inventory(members=()), (WRITER,), WHERE)
        assert got == listed(Outcome.INCONCLUSIVE, "the cluster has no member instance to probe", [WRITER_LINE],
                             "add an instance to the cluster, or stop gating it")

    def test_says_no_endpoint_when_the_cluster_has_neither_member_nor_endpoint(self):
        got = judge_endpoints_listed(inventory(members=()), (), WHERE)
        assert got == listed(Outcome.INCONCLUSIVE, "the cluster has no member instance to probe", ["no endpoint"],
                             "add an instance to the cluster, or stop gating it")

    def test_is_inconclusive_when_the_instances_are_not_listed(self):
        inv = inventory(instances=Unavailable("DescribeDBInstances", DENIED))
        assert judge_endpoints_listed(inv, (WRITER, DB_1), WHERE) == listed(
            Outcome.INCONCLUSIVE, "no evidence: DescribeDBInstances did not answer", [DENIED],
            "allow rds:DescribeDBInstances for the identity the run uses, then rerun")

    def test_is_inconclusive_when_the_cluster_endpoints_are_not_listed(self):
        inv = inventory(endpoints=Unavailable("DescribeDBClusterEndpoints", DENIED))
        assert judge_endpoints_listed(inv, (WRITER, DB_1), WHERE) == listed(
            Outcome.INCONCLUSIVE, "no evidence: DescribeDBClusterEndpoints did not answer", [DENIED],
            "allow rds:DescribeDBClusterEndpoints for the identity the run uses, then rerun")


# -- which parameters are judged, and how a parameter is shown ------------------------------------------------

class TestTlsParameters:
    def test_postgresql_at_a_tls13_floor_leaves_out_the_tls12_suites(self):
        assert _tls_parameters(Engine.POSTGRESQL, SETTINGS) == ["rds.force_ssl", "ssl_min_protocol_version"]

    def test_postgresql_below_a_tls13_floor_judges_the_tls12_suites(self):
        assert _tls_parameters(Engine.POSTGRESQL, TLS12_FLOOR) == [
            "rds.force_ssl", "ssl_min_protocol_version", "ssl_ciphers"]

    def test_mysql_at_a_tls13_floor_leaves_out_the_tls12_suites(self):
        assert _tls_parameters(Engine.MYSQL, SETTINGS) == ["require_secure_transport", "tls_version",
                                                            "tls_ciphersuites"]

    def test_mysql_below_a_tls13_floor_judges_the_tls12_suites(self):
        assert _tls_parameters(Engine.MYSQL, TLS12_FLOOR) == [
            "require_secure_transport", "tls_version", "ssl_cipher", "tls_ciphersuites"]


class TestMajor:
    @pytest.mark.parametrize(("version", "major"), [("16.4", 16), ("17", 17), ("8.0.mysql_aurora.3.05.2", 8),
                                                    (None, None), ("", None), ("latest", None)])
    def test_is_the_leading_number_of_the_engine_version(self, version: Optional[str], major: Optional[int]):
        assert _major(version) == major


class TestValueText:
    def test_a_parameter_the_group_did_not_list(self):
        assert _value_text(None) == "not in the group's answer"

    def test_a_value_with_its_source_and_apply_method(self):
        assert _value_text(param("rds.force_ssl", "1", "user", "dynamic", "immediate")) == (
            "rds.force_ssl='1' (Source user, ApplyMethod immediate)")

    def test_no_value_and_unsent_fields_are_said(self):
        assert _value_text(param("rds.force_ssl", None, None, None, None)) == (
            "rds.force_ssl=(no value) (Source ?, ApplyMethod ?)")


# -- parameters_enforce_tls[...] -------------------------------------------------------------------------------

def judge(name: str, inv: ClusterInventory, settings: GuardSettings = SETTINGS) -> Verdict:
    return judge_parameter(inv, name, settings, WHERE)


def enforced(name: str, outcome: Outcome, summary: str, answered: Sequence[str],
             remedy: Optional[str] = None) -> Verdict:
    return verdict(f"parameters_enforce_tls[{name}]", outcome, summary, [
        "DescribeDBClusterParameters for 'db-params' (every page, every Source), the group attached to db"],
        answered, remedy)


def test_a_parameter_group_that_did_not_answer_is_inconclusive_naming_the_call():
    inv = inventory(parameters=Unavailable("DescribeDBClusterParameters", DENIED))
    assert judge("rds.force_ssl", inv) == enforced(
        "rds.force_ssl", Outcome.INCONCLUSIVE, "no evidence: DescribeDBClusterParameters did not answer", [DENIED],
        "allow rds:DescribeDBClusterParameters for the identity the run uses, then rerun")


FORCE_SSL_INCONCLUSIVE_REMEDY = f"set rds.force_ssl=1 {IN_GROUP}"
FORCE_SSL_FAILED_REMEDY = f"set rds.force_ssl=1 {IN_GROUP} (dynamic: no reboot needed)"


class TestForceSsl:
    def test_passes_when_set_to_1(self):
        assert judge("rds.force_ssl", inventory(param("rds.force_ssl", "1"))) == enforced(
            "rds.force_ssl", Outcome.PASSED, "rds.force_ssl=1: plaintext connections are refused",
            ["rds.force_ssl='1' (Source user, ApplyMethod immediate)"])

    def test_fails_when_set_to_0(self):
        assert judge("rds.force_ssl", inventory(param("rds.force_ssl", "0"))) == enforced(
            "rds.force_ssl", Outcome.FAILED, "rds.force_ssl=0: the cluster accepts unencrypted connections",
            ["rds.force_ssl='0' (Source user, ApplyMethod immediate)"], FORCE_SSL_FAILED_REMEDY)

    def test_is_inconclusive_when_neither_0_nor_1(self):
        assert judge("rds.force_ssl", inventory(param("rds.force_ssl", "on"))) == enforced(
            "rds.force_ssl", Outcome.INCONCLUSIVE, "rds.force_ssl='on' is neither 0 nor 1",
            ["rds.force_ssl='on' (Source user, ApplyMethod immediate)"], FORCE_SSL_INCONCLUSIVE_REMEDY)

    def test_fails_without_a_value_before_postgresql_17_whose_default_is_0(self):
        inv = inventory(param("rds.force_ssl", None, "engine-default"))
        assert judge("rds.force_ssl", inv) == enforced(
            "rds.force_ssl", Outcome.FAILED, "rds.force_ssl=0: the cluster accepts unencrypted connections",
            ["rds.force_ssl=(no value) (Source engine-default, ApplyMethod immediate)",
             "no value in the group: Aurora PostgreSQL 16 defaults to rds.force_ssl=0"], FORCE_SSL_FAILED_REMEDY)

    def test_passes_without_a_value_from_postgresql_17_whose_default_is_1(self):
        inv = inventory(version="17.2")
        assert judge("rds.force_ssl", inv) == enforced(
            "rds.force_ssl", Outcome.PASSED, "rds.force_ssl=1: plaintext connections are refused",
            ["not in the group's answer", "no value in the group: Aurora PostgreSQL 17 defaults to rds.force_ssl=1"])

    def test_passes_without_a_value_after_postgresql_17(self):
        assert judge("rds.force_ssl", inventory(version="18.0")).outcome is Outcome.PASSED

    def test_is_inconclusive_without_a_value_when_the_engine_version_is_unknown(self):
        assert judge("rds.force_ssl", inventory(version=None)) == enforced(
            "rds.force_ssl", Outcome.INCONCLUSIVE, "rds.force_ssl has no value and the engine version is unknown, so "
            "its default (1 from Aurora PostgreSQL 17, 0 before) cannot be told", ["not in the group's answer"],
            f"set rds.force_ssl=1 explicitly {IN_GROUP}")


SECURE_TRANSPORT_FAILED_REMEDY = f"set require_secure_transport=ON {IN_GROUP} (dynamic: no reboot needed)"


def secure_transport(value: Optional[str]) -> Verdict:
    return judge("require_secure_transport", inventory(param("require_secure_transport", value),
                                                       engine="aurora-mysql"))


class TestSecureTransport:
    @pytest.mark.parametrize("value", ["ON", "on", "1"])
    def test_passes_when_on(self, value: str):
        assert secure_transport(value) == enforced(
            "require_secure_transport", Outcome.PASSED, f"require_secure_transport={value}: plaintext connections "
            "are refused", [f"require_secure_transport={value!r} (Source user, ApplyMethod immediate)"])

    @pytest.mark.parametrize("value", ["OFF", "off", "0"])
    def test_fails_when_off(self, value: str):
        assert secure_transport(value) == enforced(
            "require_secure_transport", Outcome.FAILED, f"require_secure_transport={value}: the cluster accepts "
            "unencrypted connections", [f"require_secure_transport={value!r} (Source user, ApplyMethod immediate)"],
            SECURE_TRANSPORT_FAILED_REMEDY)

    def test_is_inconclusive_when_neither_on_nor_off(self):
        assert secure_transport("yes") == enforced(
            "require_secure_transport", Outcome.INCONCLUSIVE, "require_secure_transport='yes' is neither ON nor OFF",
            ["require_secure_transport='yes' (Source user, ApplyMethod immediate)"],
            f"set require_secure_transport=ON {IN_GROUP}")

    def test_fails_without_a_value_since_the_default_is_off(self):
        assert secure_transport(None) == enforced(
            "require_secure_transport", Outcome.FAILED, "require_secure_transport=OFF: the cluster accepts "
            "unencrypted connections", ["require_secure_transport=(no value) (Source user, ApplyMethod immediate)",
                                        "no value in the group: Aurora MySQL defaults to require_secure_transport=OFF"],
            SECURE_TRANSPORT_FAILED_REMEDY)

    def test_fails_when_the_group_does_not_list_it_since_the_default_is_off(self):
        inv = inventory(engine="aurora-mysql")
        assert judge("require_secure_transport", inv) == enforced(
            "require_secure_transport", Outcome.FAILED, "require_secure_transport=OFF: the cluster accepts "
            "unencrypted connections", ["not in the group's answer",
                                        "no value in the group: Aurora MySQL defaults to require_secure_transport=OFF"],
            SECURE_TRANSPORT_FAILED_REMEDY)


def versions(name: str, value: Optional[str], settings: GuardSettings = SETTINGS) -> Verdict:
    engine = "aurora-postgresql" if name == "ssl_min_protocol_version" else "aurora-mysql"
    return judge(name, inventory(param(name, value, apply_type="static"), engine=engine), settings)


def shown(name: str, value: str) -> list[str]:
    return [f"{name}={value!r} (Source user, ApplyMethod immediate)"]


PG_FLOOR_REMEDY = f"set ssl_min_protocol_version=TLSv1.3 {IN_GROUP}"
MYSQL_LIST_REMEDY = f"set tls_version=TLSv1.3 {IN_GROUP} (static: reboot every instance after the change)"


class TestPostgresqlVersionFloor:
    def test_passes_at_the_floor(self):
        assert versions("ssl_min_protocol_version", "TLSv1.3") == enforced(
            "ssl_min_protocol_version", Outcome.PASSED, "ssl_min_protocol_version=TLSv1.3: nothing below the floor "
            "TLSv1.3", shown("ssl_min_protocol_version", "TLSv1.3"))

    def test_fails_when_it_refuses_the_floor_itself_as_tls_floor_accepted_would_on_the_wire(self):
        assert versions("ssl_min_protocol_version", "TLSv1.3", TLS12_FLOOR) == enforced(
            "ssl_min_protocol_version", Outcome.FAILED, "ssl_min_protocol_version=TLSv1.3 does not allow the floor "
            "TLSv1.2", shown("ssl_min_protocol_version", "TLSv1.3"), f"set ssl_min_protocol_version=TLSv1.2 {IN_GROUP}")

    def test_passes_at_a_lower_floor_it_allows(self):
        assert versions("ssl_min_protocol_version", "TLSv1.2", TLS12_FLOOR).outcome is Outcome.PASSED

    def test_fails_naming_every_version_it_allows_below_the_floor(self):
        assert versions("ssl_min_protocol_version", "TLSv1") == enforced(
            "ssl_min_protocol_version", Outcome.FAILED, "ssl_min_protocol_version=TLSv1 allows TLSv1.0, TLSv1.1, "
            "TLSv1.2, below the floor TLSv1.3", shown("ssl_min_protocol_version", "TLSv1"), PG_FLOOR_REMEDY)

    def test_the_remedy_names_the_floor_as_postgresql_spells_it(self):
        settings = GuardSettings(min_tls=TlsVersion.TLSv1_0)
        assert versions("ssl_min_protocol_version", "SSLv3", settings) == enforced(
            "ssl_min_protocol_version", Outcome.FAILED, "ssl_min_protocol_version=SSLv3 allows SSLv3, below the "
            "floor TLSv1.0", shown("ssl_min_protocol_version", "SSLv3"),
            f"set ssl_min_protocol_version=TLSv1 {IN_GROUP}")

    def test_is_inconclusive_when_it_names_more_than_one_version(self):
        assert versions("ssl_min_protocol_version", "TLSv1.2,TLSv1.3") == enforced(
            "ssl_min_protocol_version", Outcome.INCONCLUSIVE, "ssl_min_protocol_version='TLSv1.2,TLSv1.3' cannot be "
            "read as TLS versions", shown("ssl_min_protocol_version", "TLSv1.2,TLSv1.3"), PG_FLOOR_REMEDY)

    def test_is_inconclusive_when_the_group_does_not_list_it(self):
        assert judge("ssl_min_protocol_version", inventory()) == enforced(
            "ssl_min_protocol_version", Outcome.INCONCLUSIVE, "ssl_min_protocol_version has no value in the group, "
            "so the versions it allows are not shown", ["not in the group's answer"], PG_FLOOR_REMEDY)

    def test_is_inconclusive_when_it_has_no_value(self):
        assert versions("ssl_min_protocol_version", None) == enforced(
            "ssl_min_protocol_version", Outcome.INCONCLUSIVE, "ssl_min_protocol_version has no value in the group, "
            "so the versions it allows are not shown",
            ["ssl_min_protocol_version=(no value) (Source user, ApplyMethod immediate)"], PG_FLOOR_REMEDY)


class TestMysqlVersionList:
    @pytest.mark.parametrize("value", ["TLSv1.3", " TLSv1.3,", "TLSv1.3:TLSv1.3"])
    def test_passes_when_it_lists_only_the_floor(self, value: str):
        assert versions("tls_version", value) == enforced(
            "tls_version", Outcome.PASSED, f"tls_version={value}: nothing below the floor TLSv1.3",
            shown("tls_version", value))

    @pytest.mark.parametrize("value", ["TLSv1.2,TLSv1.3", "TLSv1.2:TLSv1.3", "TLSv1.2 TLSv1.3", ",TLSv1.2, TLSv1.3"])
    def test_passes_at_a_tls12_floor_whatever_separates_the_versions(self, value: str):
        assert versions("tls_version", value, TLS12_FLOOR) == enforced(
            "tls_version", Outcome.PASSED, f"tls_version={value}: nothing below the floor TLSv1.2",
            shown("tls_version", value))

    def test_fails_naming_the_versions_below_the_floor(self):
        assert versions("tls_version", "TLSv1.1,TLSv1.2,TLSv1.3") == enforced(
            "tls_version", Outcome.FAILED, "tls_version=TLSv1.1,TLSv1.2,TLSv1.3 allows TLSv1.1, TLSv1.2, below the "
            "floor TLSv1.3", shown("tls_version", "TLSv1.1,TLSv1.2,TLSv1.3"), MYSQL_LIST_REMEDY)

    def test_fails_when_it_refuses_the_floor_itself(self):
        assert versions("tls_version", "TLSv1.3", TLS12_FLOOR) == enforced(
            "tls_version", Outcome.FAILED, "tls_version=TLSv1.3 does not allow the floor TLSv1.2",
            shown("tls_version", "TLSv1.3"),
            f"set tls_version=TLSv1.2,TLSv1.3 {IN_GROUP} (static: reboot every instance after the change)")

    def test_the_remedy_never_lists_a_version_below_tls12_even_under_a_lower_floor(self):
        settings = GuardSettings(min_tls=TlsVersion.TLSv1_1)
        assert versions("tls_version", "TLSv1.0", settings).remedy == (
            f"set tls_version=TLSv1.2,TLSv1.3 {IN_GROUP} (static: reboot every instance after the change)")

    @pytest.mark.parametrize("value", ["TLSv9", "", " , "])
    def test_is_inconclusive_when_it_names_no_version_we_know(self, value: str):
        assert versions("tls_version", value) == enforced(
            "tls_version", Outcome.INCONCLUSIVE, f"tls_version={value!r} cannot be read as TLS versions",
            shown("tls_version", value), MYSQL_LIST_REMEDY)

    def test_is_inconclusive_when_the_group_does_not_list_it(self):
        assert judge("tls_version", inventory(engine="aurora-mysql")) == enforced(
            "tls_version", Outcome.INCONCLUSIVE, "tls_version has no value in the group, so the versions it allows "
            "are not shown", ["not in the group's answer"], MYSQL_LIST_REMEDY)


RSA_CBC = "TLS_RSA_WITH_AES_128_CBC_SHA (AES128-SHA, 0x00,0x2F)"
RSA_CBC_256 = "TLS_RSA_WITH_AES_256_CBC_SHA (AES256-SHA, 0x00,0x35)"


def suites(value: Optional[str], allowed_values: Optional[str] = None, settings: GuardSettings = SETTINGS,
           name: str = "tls_ciphersuites") -> Verdict:
    facts = param(name, value, "engine-default" if value is None else "user", allowed_values=allowed_values)
    return judge(name, inventory(facts, engine="aurora-mysql"), settings)


def suites_remedy(name: str = "tls_ciphersuites", allowlist: str = DEFAULT_ALLOWLIST) -> str:
    return f"set {name} {IN_GROUP} to allowlisted suites only ({allowlist})"


class TestSuites:
    @pytest.mark.parametrize("value", ["TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384",
                                       "TLS_AES_128_GCM_SHA256: TLS_AES_256_GCM_SHA384,"])
    def test_passes_when_every_suite_is_allowlisted(self, value: str):
        assert suites(value) == enforced(
            "tls_ciphersuites", Outcome.PASSED, "every suite tls_ciphersuites allows is allowlisted (2)",
            shown("tls_ciphersuites", value))

    def test_fails_naming_each_suite_outside_the_allowlist(self):
        value = "TLS_AES_128_GCM_SHA256,AES128-SHA,TLS_RSA_WITH_AES_256_CBC_SHA"
        assert suites(value) == enforced(
            "tls_ciphersuites", Outcome.FAILED, "tls_ciphersuites allows 2 suite(s) outside the allowlist (default): "
            f"{RSA_CBC}; {RSA_CBC_256}", shown("tls_ciphersuites", value), suites_remedy())

    def test_fails_on_a_suite_outside_the_allowlist_even_beside_an_unknown_name(self):
        value = "NOT_A_SUITE,AES128-SHA"
        assert suites(value) == enforced(
            "tls_ciphersuites", Outcome.FAILED, "tls_ciphersuites allows 1 suite(s) outside the allowlist (default): "
            f"{RSA_CBC}", shown("tls_ciphersuites", value), suites_remedy())

    def test_the_failure_and_remedy_name_the_allowlist_in_force(self):
        allowlist = CipherAllowlist((REGISTRY.lookup("TLS_AES_256_GCM_SHA384"),), "--aurora-cipher-allowlist")
        settings = GuardSettings(min_tls=TlsVersion.TLSv1_2, allowlist=allowlist)
        assert suites("TLS_AES_128_GCM_SHA256", settings=settings, name="ssl_cipher") == enforced(
            "ssl_cipher", Outcome.FAILED, "ssl_cipher allows 1 suite(s) outside the allowlist "
            "(--aurora-cipher-allowlist): TLS_AES_128_GCM_SHA256 (0x13,0x01)", shown("ssl_cipher",
                                                                                      "TLS_AES_128_GCM_SHA256"),
            suites_remedy("ssl_cipher", "1 suites from --aurora-cipher-allowlist: TLS_AES_256_GCM_SHA384"))

    def test_is_inconclusive_naming_the_suites_the_registry_does_not_know(self):
        value = "TLS_AES_128_GCM_SHA256,NOT_A_SUITE,ALSO_NOT"
        assert suites(value) == enforced(
            "tls_ciphersuites", Outcome.INCONCLUSIVE, "tls_ciphersuites names suites the registry does not know: "
            "NOT_A_SUITE, ALSO_NOT", shown("tls_ciphersuites", value), suites_remedy())

    @pytest.mark.parametrize("value", ["", " ,: "])
    def test_is_inconclusive_when_empty(self, value: str):
        assert suites(value) == enforced("tls_ciphersuites", Outcome.INCONCLUSIVE, "tls_ciphersuites is empty",
                                         shown("tls_ciphersuites", value), suites_remedy())

    def test_without_a_value_the_allowed_values_are_in_effect(self):
        assert suites(None, "TLS_AES_128_GCM_SHA256,AES128-SHA") == enforced(
            "tls_ciphersuites", Outcome.FAILED, "tls_ciphersuites allows 1 suite(s) outside the allowlist (default): "
            f"{RSA_CBC}", ["tls_ciphersuites=(no value) (Source engine-default, ApplyMethod immediate)",
                           "no value: the engine default is every allowed suite, "
                           "AllowedValues=TLS_AES_128_GCM_SHA256,AES128-SHA"], suites_remedy())

    def test_without_a_value_passes_when_every_allowed_value_is_allowlisted(self):
        assert suites(None, "TLS_AES_256_GCM_SHA384").outcome is Outcome.PASSED

    @pytest.mark.parametrize("allowed_values", [None, ""])
    def test_is_inconclusive_without_a_value_or_allowed_values(self, allowed_values: Optional[str]):
        assert suites(None, allowed_values) == enforced(
            "tls_ciphersuites", Outcome.INCONCLUSIVE, "tls_ciphersuites has no value and no AllowedValues, so the "
            "suites in effect are not shown",
            ["tls_ciphersuites=(no value) (Source engine-default, ApplyMethod immediate)"], suites_remedy())

    def test_is_inconclusive_when_the_group_does_not_list_it(self):
        assert judge("tls_ciphersuites", inventory(engine="aurora-mysql")) == enforced(
            "tls_ciphersuites", Outcome.INCONCLUSIVE, "tls_ciphersuites is not in the group's answer",
            ["not in the group's answer"], suites_remedy())


# -- parameters_in_effect --------------------------------------------------------------------------------------

IN_EFFECT_ATTEMPTED = ("DescribeDBClusters: DBClusterMembers[].DBClusterParameterGroupStatus of db",)
REBOOT_REMEDY = "reboot db-2, db-3 (aws rds reboot-db-instance --db-instance-identifier ...), then rerun"
PENDING = (Member("db-1", True, "in-sync"), Member("db-2", False, "pending-reboot"),
           Member("db-3", False, "pending-reboot"))
PENDING_LINES = ("db-1 (writer): in-sync", "db-2: pending-reboot", "db-3: pending-reboot")


def in_effect(outcome: Outcome, summary: str, answered: Sequence[str], remedy: Optional[str] = None) -> Verdict:
    return verdict("parameters_in_effect", outcome, summary, IN_EFFECT_ATTEMPTED, answered, remedy)


def pending_summary(waiting: str) -> str:
    return f"pending-reboot: db-2, db-3 still run(s) the previous values of 'db-params'; parameters that wait for " \
           f"the reboot: {waiting}"


class TestParametersInEffect:
    def test_passes_when_every_member_is_in_sync(self):
        members = (Member("db-1", True, "in-sync"), Member("db-2", False, "in-sync"))
        assert judge_parameters_in_effect(inventory(members=members), WHERE) == in_effect(
            Outcome.PASSED, "every member (2) is in-sync with 'db-params'", ["db-1 (writer): in-sync", "db-2: in-sync"])

    def test_is_inconclusive_without_members(self):
        assert judge_parameters_in_effect(inventory(members=()), WHERE) == in_effect(
            Outcome.INCONCLUSIVE, "the cluster has no members", ["no DBClusterMembers"],
            "add an instance to the cluster")

    def test_is_inconclusive_naming_each_member_not_in_sync(self):
        members = (Member("db-1", True, "in-sync"), Member("db-2", False, "applying"), Member("db-3", False, None))
        assert judge_parameters_in_effect(inventory(members=members), WHERE) == in_effect(
            Outcome.INCONCLUSIVE, "not every member is in-sync: db-2 is applying, db-3 is not reported",
            ["db-1 (writer): in-sync", "db-2: applying", "db-3: (not sent)"],
            "rerun once RDS has applied the parameter group (status in-sync)")

    def test_fails_naming_the_members_pending_reboot_and_the_static_parameters_set_by_the_user(self):
        inv = inventory(param("tls_version", "TLSv1.3", apply_type="static"),
                        param("rds.force_ssl", "1", apply_method="pending-reboot"),
                        param("max_connections", "100", "user", "dynamic", "immediate"),
                        param("shared_buffers", "1GB", "engine-default", "static", "pending-reboot"),
                        param("ssl_ciphers", "X", "system", "static", "immediate"),
                        members=(*PENDING, Member("db-4", False, "applying")))
        assert judge_parameters_in_effect(inv, WHERE) == in_effect(
            Outcome.FAILED, pending_summary("rds.force_ssl, tls_version"), [*PENDING_LINES, "db-4: applying"],
            REBOOT_REMEDY)

    def test_a_pending_reboot_without_static_user_parameters_says_the_change_may_be_older(self):
        inv = inventory(param("max_connections", "100"), members=PENDING)
        assert judge_parameters_in_effect(inv, WHERE) == in_effect(
            Outcome.FAILED, pending_summary("none set by the user is static (the change may predate this group)"),
            PENDING_LINES, REBOOT_REMEDY)

    def test_a_pending_reboot_without_the_parameter_list_says_which_call_to_allow(self):
        inv = inventory(members=PENDING, parameters=Unavailable("DescribeDBClusterParameters", DENIED))
        assert judge_parameters_in_effect(inv, WHERE) == in_effect(
            Outcome.FAILED, pending_summary("not known (DescribeDBClusterParameters did not answer: allow "
                                            "rds:DescribeDBClusterParameters)"), PENDING_LINES, REBOOT_REMEDY)


# -- storage_encrypted -----------------------------------------------------------------------------------------

def storage(outcome: Outcome, summary: str, answered: str, remedy: Optional[str] = None) -> Verdict:
    return verdict("storage_encrypted", outcome, summary, ["DescribeDBClusters: StorageEncrypted and KmsKeyId of db"],
                   [answered], remedy, AT_REST)


class TestStorageEncrypted:
    def test_passes_naming_the_kms_key(self):
        assert judge_storage_encrypted(inventory(), WHERE) == storage(
            Outcome.PASSED, f"storage encrypted with KMS key {KMS_KEY}", f"StorageEncrypted=True, KmsKeyId={KMS_KEY}")

    def test_passes_when_rds_names_no_key(self):
        assert judge_storage_encrypted(inventory(kms_key_id=None), WHERE) == storage(
            Outcome.PASSED, "storage encrypted with KMS key (not named)", "StorageEncrypted=True, KmsKeyId=(none)")

    def test_fails_when_not_encrypted_with_how_to_move_to_an_encrypted_copy(self):
        assert judge_storage_encrypted(inventory(storage_encrypted=False, kms_key_id=None), WHERE) == storage(
            Outcome.FAILED, "the cluster's storage is not encrypted at rest", "StorageEncrypted=False, KmsKeyId=(none)",
            "encryption cannot be turned on in place: snapshot the cluster, restore the snapshot with "
            "--storage-encrypted --kms-key-id KEY into a new cluster, and move traffic to it")

    def test_is_inconclusive_when_rds_does_not_say(self):
        assert judge_storage_encrypted(inventory(storage_encrypted=None), WHERE) == storage(
            Outcome.INCONCLUSIVE, "RDS did not say whether the storage is encrypted",
            f"StorageEncrypted=None, KmsKeyId={KMS_KEY}", "check the cluster in the RDS console; rerun")


# -- instance_ca_current ---------------------------------------------------------------------------------------

CA_ATTEMPTED = ("DescribeDBInstances: CACertificateIdentifier and CertificateDetails of every instance",
                "DescribeCertificates: the CAs' own ValidTill")
CERTIFICATES = (*TRANSMISSION_SECURITY, *INTEGRITY)
CA = "rds-ca-rsa2048-g1"
ROTATE = ("aws rds modify-db-instance --db-instance-identifier ID --ca-certificate-identifier rds-ca-rsa2048-g1 "
          "--apply-immediately (clients need the RDS global-bundle.pem)")
RERUN_FOR_CERTIFICATE = "rerun once RDS reports each instance's certificate (a new instance may not have it yet)"
LIMIT = NOW + datetime.timedelta(days=30)


def server(ident: str = "db-1", ca: Optional[str] = CA, till: Optional[datetime.datetime] = NEXT_YEAR
           ) -> InstanceFacts:
    return InstanceFacts(ident, "db", "aurora-postgresql", f"{ident}.x.test", 5432, "available", ca, ca, till,
                         till is not None, True)


def line(ident: str = "db-1", ca: str = CA, till: str = "2027-12-01T00:00:00+00:00") -> str:
    return f"{ident}: CACertificateIdentifier={ca}, CertificateDetails.ValidTill={till}"


CA_FAR_FROM_ITS_END: Facts[Any] = Fetched({CA: CertificateFacts(CA, NEXT_YEAR.replace(year=2040))})


def ca_judged(*instances: InstanceFacts, settings: GuardSettings = SETTINGS,
              certificates: Facts[Any] = CA_FAR_FROM_ITS_END) -> Verdict:
    return judge_instance_ca(inventory(instances=Fetched(instances), certificates=certificates), settings, WHERE, NOW)


def ca_verdict(outcome: Outcome, summary: str, answered: Sequence[str], remedy: Optional[str] = None) -> Verdict:
    return verdict("instance_ca_current", outcome, summary, CA_ATTEMPTED, answered, remedy, CERTIFICATES)


class TestInstanceCa:
    def test_passes_when_every_instance_has_an_allowed_ca_and_a_certificate_valid_long_enough(self):
        assert ca_judged(server(), server("db-2", "rds-ca-ecc384-g1")) == ca_verdict(
            Outcome.PASSED, "every instance (2) uses an allowed CA and a certificate valid for more than 30 days",
            [line(), line("db-2", "rds-ca-ecc384-g1")])

    def test_passes_with_a_certificate_valid_exactly_the_minimum_days(self):
        assert ca_judged(server(till=LIMIT)).outcome is Outcome.PASSED

    def test_fails_naming_an_instance_whose_ca_is_not_allowed(self):
        assert ca_judged(server(ca="rds-ca-2019")) == ca_verdict(
            Outcome.FAILED, "db-1 uses rds-ca-2019, not one of rds-ca-rsa2048-g1, rds-ca-rsa4096-g1, rds-ca-ecc384-g1",
            [line(ca="rds-ca-2019")], ROTATE)

    def test_the_remedy_names_the_first_allowed_ca(self):
        settings = GuardSettings(allowed_cas=("rds-ca-ecc384-g1", "rds-ca-rsa4096-g1"))
        assert ca_judged(server(), settings=settings) == ca_verdict(
            Outcome.FAILED, "db-1 uses rds-ca-rsa2048-g1, not one of rds-ca-ecc384-g1, rds-ca-rsa4096-g1", [line()],
            "aws rds modify-db-instance --db-instance-identifier ID --ca-certificate-identifier rds-ca-ecc384-g1 "
            "--apply-immediately (clients need the RDS global-bundle.pem)")

    def test_fails_when_the_server_certificate_expires_within_the_minimum_days(self):
        till = NOW + datetime.timedelta(days=29, hours=23)
        assert ca_judged(server(till=till)) == ca_verdict(
            Outcome.FAILED, "db-1: server certificate expires on 2026-12-30 (less than 30 days from now)",
            [line(till="2026-12-30T23:00:00+00:00")], ROTATE)

    def test_a_certificate_valid_until_now_still_expires_rather_than_expired(self):
        assert ca_judged(server(till=NOW)).summary == (
            "db-1: server certificate expires on 2026-12-01 (less than 30 days from now)")

    def test_fails_saying_a_certificate_already_expired(self):
        till = NOW - datetime.timedelta(seconds=1)
        assert ca_judged(server(till=till)) == ca_verdict(
            Outcome.FAILED, "db-1: server certificate expired on 2026-11-30 (less than 30 days from now)",
            [line(till="2026-11-30T23:59:59+00:00")], ROTATE)

    def test_the_minimum_days_are_configurable(self):
        settings = GuardSettings(cert_min_days=400)
        assert ca_judged(server(), settings=settings) == ca_verdict(
            Outcome.FAILED, "db-1: server certificate expires on 2027-12-01 (less than 400 days from now)", [line()],
            ROTATE)

    def test_fails_when_the_ca_itself_ends_within_the_minimum_days(self):
        ending = Fetched({CA: CertificateFacts(CA, LIMIT - datetime.timedelta(seconds=1))})
        assert ca_judged(server(), certificates=ending) == ca_verdict(
            Outcome.FAILED, "db-1: its CA rds-ca-rsa2048-g1 is valid only until 2026-12-30", [line()], ROTATE)

    @pytest.mark.parametrize("ca_till", [LIMIT, None])
    def test_a_ca_valid_the_minimum_days_or_without_a_date_is_no_failure(self, ca_till: Optional[datetime.datetime]):
        assert ca_judged(server(), certificates=Fetched({CA: CertificateFacts(CA, ca_till)})).outcome is Outcome.PASSED

    def test_every_failure_of_every_instance_is_named(self):
        ending = Fetched({"rds-ca-2019": CertificateFacts("rds-ca-2019", NOW)})
        assert ca_judged(server(ca="rds-ca-2019", till=NOW), server("db-2"), certificates=ending) == ca_verdict(
            Outcome.FAILED, "db-1 uses rds-ca-2019, not one of rds-ca-rsa2048-g1, rds-ca-rsa4096-g1, "
            "rds-ca-ecc384-g1; db-1: its CA rds-ca-2019 is valid only until 2026-12-01; db-1: server certificate "
            "expires on 2026-12-01 (less than 30 days from now)",
            [line(ca="rds-ca-2019", till="2026-12-01T00:00:00+00:00"), line("db-2")], ROTATE)

    def test_a_failure_outweighs_what_rds_did_not_send(self):
        got = ca_judged(server(ca=None), server("db-2", ca="rds-ca-2019"))
        assert (got.outcome, got.summary) == (
            Outcome.FAILED, "db-2 uses rds-ca-2019, not one of rds-ca-rsa2048-g1, rds-ca-rsa4096-g1, rds-ca-ecc384-g1")

    def test_is_inconclusive_naming_what_rds_did_not_send(self):
        assert ca_judged(server(ca=None, till=None), server("db-2")) == ca_verdict(
            Outcome.INCONCLUSIVE, "db-1: RDS sent no CACertificateIdentifier; db-1: RDS sent no "
            "CertificateDetails.ValidTill", [line(ca="(not sent)", till="(not sent)"), line("db-2")],
            RERUN_FOR_CERTIFICATE)

    def test_is_inconclusive_when_no_instance_is_listed(self):
        assert ca_judged() == ca_verdict(Outcome.INCONCLUSIVE, "no instance listed", [], RERUN_FOR_CERTIFICATE)

    def test_the_cas_own_dates_missing_are_said_and_the_instances_still_judged(self):
        got = ca_judged(server(), certificates=Unavailable("DescribeCertificates", DENIED))
        assert got == ca_verdict(
            Outcome.PASSED, "every instance (1) uses an allowed CA and a certificate valid for more than 30 days",
            [line(), f"DescribeCertificates: {DENIED}"])

    def test_is_inconclusive_when_the_instances_are_not_listed(self):
        inv = inventory(instances=Unavailable("DescribeDBInstances", DENIED))
        assert judge_instance_ca(inv, SETTINGS, WHERE, NOW) == ca_verdict(
            Outcome.INCONCLUSIVE, "no evidence: DescribeDBInstances did not answer", [DENIED],
            "allow rds:DescribeDBInstances for the identity the run uses, then rerun")


def test_now_is_the_current_time_in_utc():
    before = datetime.datetime.now(datetime.timezone.utc)
    now = _now()
    assert now.tzinfo is datetime.timezone.utc
    assert before <= now <= datetime.datetime.now(datetime.timezone.utc)


# -- proxy_requires_tls[...] -----------------------------------------------------------------------------------

def proxied(require_tls: Optional[bool]) -> Verdict:
    proxies = (ProxyFacts("other", "MYSQL", True, "available", ()),
               ProxyFacts("pgx", "POSTGRESQL", require_tls, "modifying", ()))
    return judge_proxy(inventory(proxies=Fetched(proxies)), "pgx", WHERE)


def proxy_verdict(outcome: Outcome, summary: str, require_tls: str, remedy: Optional[str] = None) -> Verdict:
    return verdict("proxy_requires_tls[pgx]", outcome, summary,
                   ["DescribeDBProxies: RequireTLS of pgx (linked by DescribeDBProxyTargets)"],
                   [f"RequireTLS={require_tls}, EngineFamily=POSTGRESQL, Status=modifying"], remedy)


class TestProxy:
    def test_passes_when_the_proxy_requires_tls(self):
        assert proxied(True) == proxy_verdict(Outcome.PASSED, "RDS Proxy pgx requires TLS", "True")

    def test_fails_when_the_proxy_accepts_plaintext_clients(self):
        assert proxied(False) == proxy_verdict(
            Outcome.FAILED, "RDS Proxy pgx accepts unencrypted client connections (RequireTLS=false)", "False",
            "aws rds modify-db-proxy --db-proxy-name pgx --require-tls")

    def test_is_inconclusive_when_rds_does_not_say(self):
        assert proxied(None) == proxy_verdict(Outcome.INCONCLUSIVE, "RDS did not say whether pgx requires TLS",
                                              "None", "rerun; check the proxy in the RDS console")
