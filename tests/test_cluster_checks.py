"""The control-plane rules on what AWS might answer, edge cases included: defaults, missing fields, odd values."""

from __future__ import annotations

import datetime
from dataclasses import replace
from typing import Any, Optional

import pytest

from pytest_aurora_guard.aws.clusters import (
    CertificateFacts,
    ClusterFacts,
    ClusterInventory,
    Fetched,
    InstanceFacts,
    Member,
    ParameterFacts,
    ParameterGroupFacts,
    ProxyFacts,
    Unavailable,
)
from pytest_aurora_guard.checks import Outcome
from pytest_aurora_guard.control_plane.checks import (
    judge_instance_ca,
    judge_parameter,
    judge_parameters_in_effect,
    judge_proxy,
    judge_storage_encrypted,
)
from pytest_aurora_guard.settings.config import GuardSettings
from pytest_aurora_guard.tls.versions import TlsVersion

NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
NEXT_YEAR = NOW.replace(year=2027)
SETTINGS = GuardSettings()


def inventory(engine: str = "aurora-postgresql", version: str = "16.4", params: Optional[dict[str, Any]] = None,
              members: tuple[Member, ...] = (Member("db-1", True, "in-sync"),),
              instances: Any = None, **cluster: Any) -> ClusterInventory:
    facts = ClusterFacts(cluster_id="db", region="us-east-1", engine=engine, engine_version=version, port=5432,
                         writer_endpoint=None, reader_endpoint=None, parameter_group="db-params",
                         storage_encrypted=True, kms_key_id="arn:aws:kms:us-east-1:1:key/k", iam_auth=False,
                         status="available", members=members)
    facts = replace(facts, **cluster)
    group = {name: ParameterFacts(name, *value) if isinstance(value, tuple) else ParameterFacts(
        name, value, "user", "dynamic", "immediate") for name, value in (params or {}).items()}
    return ClusterInventory(facts, instances if instances is not None else Fetched(()), Fetched(()),
                            Fetched(ParameterGroupFacts("db-params", group, 1)), Fetched({}), Fetched(()))


def instance(ca: Optional[str] = "rds-ca-rsa2048-g1", till: Optional[datetime.datetime] = NEXT_YEAR
             ) -> InstanceFacts:
    return InstanceFacts("db-1", "db", "aurora-postgresql", "db-1.x", 5432, "available", ca, ca, till,
                         till is not None, True)


def judge(name: str, inv: ClusterInventory, settings: GuardSettings = SETTINGS) -> Any:
    return judge_parameter(inv, name, settings, "cluster db")


class TestForceSsl:
    @pytest.mark.parametrize(("version", "outcome"), [("16.4", Outcome.FAILED), ("17.2", Outcome.PASSED)])
    def test_no_value_means_the_default_of_the_major_version(self, version, outcome):
        verdict = judge("rds.force_ssl", inventory(version=version, params={"rds.force_ssl": None}))
        assert verdict.outcome is outcome
        assert "defaults to rds.force_ssl=" in " ".join(verdict.answered)

    def test_no_value_and_no_engine_version_is_inconclusive(self):
        verdict = judge("rds.force_ssl", inventory(version="", params={}))
        assert verdict.outcome is Outcome.INCONCLUSIVE

    def test_an_odd_value_is_inconclusive(self):
        assert judge("rds.force_ssl", inventory(params={"rds.force_ssl": "yes"})).outcome is Outcome.INCONCLUSIVE


class TestVersions:
    def test_a_pg_floor_below_ours_fails_naming_the_versions(self):
        verdict = judge("ssl_min_protocol_version", inventory(params={"ssl_min_protocol_version": "TLSv1.2"}))
        assert verdict.outcome is Outcome.FAILED
        assert "allows TLSv1.2, below the floor TLSv1.3" in verdict.summary

    def test_a_missing_pg_floor_is_said_not_assumed(self):
        verdict = judge("ssl_min_protocol_version", inventory(params={}))
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert "not in the group's answer" in verdict.answered[0]

    def test_an_unreadable_tls_version_is_inconclusive(self):
        verdict = judge("tls_version", inventory(engine="aurora-mysql", params={"tls_version": "TLSv9"}))
        assert verdict.outcome is Outcome.INCONCLUSIVE

    def test_a_mysql_list_with_tls12_fails_when_the_floor_is_tls13(self):
        verdict = judge("tls_version", inventory(engine="aurora-mysql", params={"tls_version": "TLSv1.2,TLSv1.3"}))
        assert verdict.outcome is Outcome.FAILED
        assert "set tls_version=TLSv1.3" in (verdict.remedy or "")

    def test_a_mysql_list_passes_at_a_tls12_floor(self):
        settings = GuardSettings(min_tls=TlsVersion.TLSv1_2)
        inv = inventory(engine="aurora-mysql", params={"tls_version": "TLSv1.2,TLSv1.3"})
        assert judge("tls_version", inv, settings).outcome is Outcome.PASSED


class TestSecureTransport:
    def test_a_missing_value_is_the_documented_default_off(self):
        verdict = judge("require_secure_transport", inventory(engine="aurora-mysql", params={}))
        assert verdict.outcome is Outcome.FAILED
        assert "defaults to require_secure_transport=OFF" in " ".join(verdict.answered)

    @pytest.mark.parametrize("value", ["ON", "1", "on"])
    def test_on_passes(self, value):
        inv = inventory(engine="aurora-mysql", params={"require_secure_transport": value})
        assert judge("require_secure_transport", inv).outcome is Outcome.PASSED


class TestSuites:
    def test_an_engine_default_cipher_list_is_every_allowed_value(self):
        settings = GuardSettings(min_tls=TlsVersion.TLSv1_2)
        inv = inventory(params={"ssl_ciphers": (None, "engine-default", "dynamic", "pending-reboot",
                                                "TLS_RSA_WITH_AES_128_CBC_SHA,TLS_AES_128_GCM_SHA256")})
        verdict = judge("ssl_ciphers", inv, settings)
        assert verdict.outcome is Outcome.FAILED
        assert "TLS_RSA_WITH_AES_128_CBC_SHA" in verdict.summary
        assert "the engine default is every allowed suite" in " ".join(verdict.answered)

    def test_colon_separated_tls13_suites_within_the_allowlist_pass(self):
        suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"
        inv = inventory(engine="aurora-mysql", params={"tls_ciphersuites": suites})
        assert judge("tls_ciphersuites", inv).outcome is Outcome.PASSED

    def test_an_unknown_suite_name_is_inconclusive(self):
        inv = inventory(engine="aurora-mysql", params={"tls_ciphersuites": "TLS_AES_128_GCM_SHA256,NOT_A_SUITE"})
        verdict = judge("tls_ciphersuites", inv)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert "NOT_A_SUITE" in verdict.summary


class TestInEffect:
    def test_applying_is_inconclusive_not_a_pass(self):
        inv = inventory(members=(Member("db-1", True, "applying"),))
        assert judge_parameters_in_effect(inv, "cluster db").outcome is Outcome.INCONCLUSIVE

    def test_a_status_rds_did_not_send_is_inconclusive(self):
        inv = inventory(members=(Member("db-1", True, None),))
        verdict = judge_parameters_in_effect(inv, "cluster db")
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert "not reported" in verdict.summary

    def test_pending_reboot_without_the_parameter_list_still_names_the_instance(self):
        inv = replace(inventory(members=(Member("db-2", False, "pending-reboot"),)),
                      parameters=Unavailable("DescribeDBClusterParameters", "AccessDenied"))
        verdict = judge_parameters_in_effect(inv, "cluster db")
        assert verdict.outcome is Outcome.FAILED
        assert "db-2" in verdict.summary
        assert "allow rds:DescribeDBClusterParameters" in verdict.summary


class TestCertificates:
    def test_a_certificate_expiring_within_the_minimum_days_fails(self):
        inv = inventory(instances=Fetched((instance(till=NOW + datetime.timedelta(days=10)),)))
        verdict = judge_instance_ca(inv, SETTINGS, "cluster db", NOW)
        assert verdict.outcome is Outcome.FAILED
        assert "expires on 2026-12-11 (less than 30 days from now)" in verdict.summary

    def test_a_missing_valid_till_is_said_not_assumed(self):
        inv = inventory(instances=Fetched((instance(till=None),)))
        verdict = judge_instance_ca(inv, SETTINGS, "cluster db", NOW)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert "RDS sent no CertificateDetails.ValidTill" in verdict.summary

    def test_a_ca_itself_near_its_end_fails(self):
        inv = replace(inventory(instances=Fetched((instance(),))),
                      certificates=Fetched({"rds-ca-rsa2048-g1": CertificateFacts("rds-ca-rsa2048-g1", NOW)}))
        assert judge_instance_ca(inv, SETTINGS, "cluster db", NOW).outcome is Outcome.FAILED

    def test_the_allowed_set_is_configurable(self):
        inv = inventory(instances=Fetched((instance(ca="rds-ca-rsa4096-g1"),)))
        settings = GuardSettings(allowed_cas=("rds-ca-ecc384-g1",))
        assert judge_instance_ca(inv, settings, "cluster db", NOW).outcome is Outcome.FAILED

    def test_denied_instances_are_an_error_naming_the_action(self):
        inv = inventory(instances=Unavailable("DescribeDBInstances", "AccessDenied ..."))
        verdict = judge_instance_ca(inv, SETTINGS, "cluster db", NOW)
        assert verdict.outcome is Outcome.INCONCLUSIVE
        assert "allow rds:DescribeDBInstances" in (verdict.remedy or "")


def test_storage_encryption_rds_did_not_report_is_inconclusive():
    assert judge_storage_encrypted(inventory(storage_encrypted=None), "c").outcome is Outcome.INCONCLUSIVE


def test_a_proxy_without_require_tls_reported_is_inconclusive():
    inv = replace(inventory(), proxies=Fetched((ProxyFacts("p", "POSTGRESQL", None, "available", ()),)))
    assert judge_proxy(inv, "p", "c").outcome is Outcome.INCONCLUSIVE
