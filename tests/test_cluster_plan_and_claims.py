"""Which cluster checks are planned for an inventory, what the parameter group claims about the wire, and how a
claim is set against what the wire showed: the exact verdict for each combination.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Optional, cast

from pytest_aurora_guard.aws.clusters import ClusterInventory, Fetched, Member, ProxyFacts, Unavailable
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
from pytest_aurora_guard.findings import PlaintextKind
from pytest_aurora_guard.settings.config import GuardSettings
from pytest_aurora_guard.settings.endpoints import Endpoint, Engine
from pytest_aurora_guard.tls.versions import TlsVersion
from tests.recorded import Recorded, completed, contrast, plaintext, refused, refused_surface, with_credentials, witness
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


# -- judge_config_matches_wire ----------------------------------------------------------------------

ITEM = "config_matches_wire[db-1]"
DB1_ONLY = endpoint("db-1.x.rds.test", "db/instance db-1")
DB1_SINGLE = ClusterTarget("instance", "db-1", "db-1", (DB1_ONLY,))
AT_A = "db-1 at postgresql://db-1.x.rds.test:5432 via 10.0.0.1:5432"
AT_B = "db-1 at postgresql://db-1.x.rds.test:5432 via 10.0.0.2:5432"
AT_ONLY = "db-1 at postgresql://db-1.x.rds.test:5432"
ATTEMPTED_BOTH = ("the claims of 'db-params' confronted with the probes of instance db-1 (db/instance db-1 "
                  "(postgresql://db-1.x.rds.test:5432 via 10.0.0.1:5432), db/instance db-1 "
                  "(postgresql://db-1.x.rds.test:5432 via 10.0.0.2:5432))",)
ATTEMPTED_ONE = ("the claims of 'db-params' confronted with the probes of instance db-1 (db/instance db-1 "
                 "(postgresql://db-1.x.rds.test:5432))",)
FORCE_SSL = "the group says rds.force_ssl=1"
FLOOR_12 = "the group says ssl_min_protocol_version=TLSv1.2"
PLAINTEXT_REFUSED = ("plaintext refused for being unencrypted, for 1 identity across 1 database(s) (1 attempts); "
                     "the configured identity reaches authentication over TLS")
PLAINTEXT_ACCEPTED = ("plaintext accepted for user 'probe', database 'postgres', application_name "
                      "'pytest-aurora-guard-1': the unencrypted connection reached authentication")
PLAINTEXT_UNSETTLED = "not every unencrypted attempt was refused for being unencrypted, and none was accepted"
TLS11_ACCEPTED = ("TLSv1.1 accepted: the system OpenSSL (Python's ssl) completed a handshake at TLSv1.1 with "
                  "TLS_RSA_WITH_AES_128_CBC_SHA (AES128-SHA, 0x00,0x2F); the crafted ClientHellos were refused "
                  "(every bundle at TLSv1.1 got alert 70 (protocol_version)): the witnesses disagree")
NOT_APPLIED = " (another parameter group, or a change not applied)"
REBOOT = ("reboot db-1 if it is pending-reboot, and check that 'db-params' is the group attached and applied; "
          "then rerun")


def refused_text(version: TlsVersion) -> str:
    return f"{version.label} refused, by two witnesses: the crafted ClientHellos and the system OpenSSL"


def wire(at: Endpoint, plaintext_kind: PlaintextKind = PlaintextKind.REFUSED_FOR_TRANSPORT,
         accepted: Optional[TlsVersion] = None) -> Recorded:
    """One address's probes: plaintext answered with ``plaintext_kind``, every version refused by both
    witnesses except ``accepted``, which the system OpenSSL completed a handshake at."""
    witnesses = {v: witness(v, completed(v, "TLS_RSA_WITH_AES_128_CBC_SHA") if v is accepted else refused())
                 for v in V}
    return Recorded(configured=at, plaintext_findings=(plaintext(plaintext_kind),),
                    modern_handshake=contrast(reached=True), surfaces={v: refused_surface(v) for v in V},
                    witnesses=witnesses)


def confront(params: dict[str, Any], recordings: Mapping[Endpoint, Recorded], target: ClusterTarget = DB1,
             status: Optional[str] = "in-sync") -> Verdict:
    inv = replace(cluster(params), cluster=replace(cluster().cluster, members=(Member("db-1", True, status),)))
    return judge_config_matches_wire(inv, target, lookup(recordings), where=WHERE)


def confirmed(claim: str, at: str, summary: str) -> str:
    return f"{claim}; {at} confirms: {summary}"


class TestConfigMatchesWire:
    def test_passes_when_every_address_confirms_every_claim(self):
        verdict = confront({"rds.force_ssl": "1", "ssl_min_protocol_version": "TLSv1.2"},
                           {DB1_A: wire(DB1_A), DB1_B: wire(DB1_B)})
        assert verdict == Verdict(
            ITEM, WHERE, Outcome.PASSED, "the wire confirms every claim of the group on db-1 (8)",
            ATTEMPTED_BOTH, tuple(line for at in (AT_A, AT_B) for line in (
                confirmed(FORCE_SSL, at, PLAINTEXT_REFUSED),
                *(confirmed(FLOOR_12, at, refused_text(v)) for v in BELOW_12))))

    def test_passes_on_the_plaintext_claim_alone(self):
        verdict = confront({"rds.force_ssl": "1"}, {DB1_ONLY: wire(DB1_ONLY)}, DB1_SINGLE)
        assert verdict == Verdict(
            ITEM, WHERE, Outcome.PASSED, "the wire confirms every claim of the group on db-1 (1)",
            ATTEMPTED_ONE, (confirmed(FORCE_SSL, AT_ONLY, PLAINTEXT_REFUSED),))

    def test_passes_on_the_floor_claim_alone(self):
        verdict = confront({"rds.force_ssl": "0", "ssl_min_protocol_version": "TLSv1.2"},
                           {DB1_ONLY: wire(DB1_ONLY, PlaintextKind.REACHED_AUTHENTICATION)}, DB1_SINGLE)
        assert verdict == Verdict(
            ITEM, WHERE, Outcome.PASSED, "the wire confirms every claim of the group on db-1 (3)",
            ATTEMPTED_ONE, tuple(confirmed(FLOOR_12, AT_ONLY, refused_text(v)) for v in BELOW_12))

    def test_fails_naming_the_address_that_accepted_plaintext_and_the_pending_reboot(self):
        verdict = confront({"rds.force_ssl": "1"}, {DB1_A: wire(DB1_A, PlaintextKind.REACHED_AUTHENTICATION),
                                                    DB1_B: wire(DB1_B)}, status="pending-reboot")
        contradiction = (f"{FORCE_SSL} but instance {AT_A} accepted plaintext (the instance is pending-reboot: it "
                         f"still runs earlier values): {PLAINTEXT_ACCEPTED}")
        assert verdict == Verdict(
            ITEM, WHERE, Outcome.FAILED, contradiction, ATTEMPTED_BOTH,
            (contradiction, confirmed(FORCE_SSL, AT_B, PLAINTEXT_REFUSED)), REBOOT)

    def test_fails_naming_the_version_accepted_below_the_floor_of_an_in_sync_instance(self):
        verdict = confront({"ssl_min_protocol_version": "TLSv1.2"}, {DB1_ONLY: wire(DB1_ONLY, accepted=V.TLSv1_1)},
                           DB1_SINGLE)
        contradiction = f"{FLOOR_12} but instance {AT_ONLY} accepted TLSv1.1{NOT_APPLIED}: {TLS11_ACCEPTED}"
        assert verdict == Verdict(
            ITEM, WHERE, Outcome.FAILED, contradiction, ATTEMPTED_ONE,
            (contradiction, confirmed(FLOOR_12, AT_ONLY, refused_text(V.SSLv3)),
             confirmed(FLOOR_12, AT_ONLY, refused_text(V.TLSv1_0))), REBOOT)

    def test_joins_every_contradiction_and_reads_an_unreported_status_as_not_applied(self):
        verdict = confront({"rds.force_ssl": "1"}, {DB1_A: wire(DB1_A, PlaintextKind.REACHED_AUTHENTICATION),
                                                    DB1_B: wire(DB1_B, PlaintextKind.REACHED_AUTHENTICATION)},
                           status=None)
        contradictions = tuple(f"{FORCE_SSL} but instance {at} accepted plaintext{NOT_APPLIED}: {PLAINTEXT_ACCEPTED}"
                               for at in (AT_A, AT_B))
        assert verdict == Verdict(ITEM, WHERE, Outcome.FAILED, "; ".join(contradictions),
                                  ATTEMPTED_BOTH, contradictions, REBOOT)

    def test_an_instance_that_is_not_a_member_reads_as_not_applied(self):
        db9 = ClusterTarget("instance", "db-9", "db-9", (DB1_ONLY,))
        verdict = confront({"rds.force_ssl": "1"}, {DB1_ONLY: wire(DB1_ONLY, PlaintextKind.REACHED_AUTHENTICATION)},
                           db9)
        assert verdict.summary == (f"{FORCE_SSL} but instance db-9 at postgresql://db-1.x.rds.test:5432 accepted "
                                   f"plaintext{NOT_APPLIED}: {PLAINTEXT_ACCEPTED}")

    def test_is_inconclusive_when_a_claim_could_not_be_confronted_citing_it_before_the_confirmations(self):
        verdict = confront({"rds.force_ssl": "1"}, {DB1_A: wire(DB1_A),
                                                    DB1_B: wire(DB1_B, PlaintextKind.NOT_CONCLUSIVE)})
        assert verdict == Verdict(
            ITEM, WHERE, Outcome.INCONCLUSIVE,
            "1 claim(s) could not be confronted with the wire", ATTEMPTED_BOTH,
            (f"{FORCE_SSL}; {AT_B}: not confirmed ({PLAINTEXT_UNSETTLED})",
             confirmed(FORCE_SSL, AT_A, PLAINTEXT_REFUSED)),
            "see the wire checks of this instance for what evidence was missing")

    def test_is_inconclusive_when_the_group_claims_nothing_to_confront(self):
        verdict = confront({"rds.force_ssl": "0"}, {DB1_ONLY: Recorded(configured=DB1_ONLY)}, DB1_SINGLE)
        assert verdict == Verdict(
            ITEM, WHERE, Outcome.INCONCLUSIVE, "the parameter group claims neither TLS "
            "enforcement nor a version floor, so there is nothing to confront with the wire", ATTEMPTED_ONE,
            ("no claim",), "see parameters_enforce_tls for what to set")

    def test_is_an_error_naming_the_call_and_the_action_when_rds_did_not_answer_for_the_group(self):
        inv = cluster(parameters=Unavailable("DescribeDBClusterParameters", "AccessDenied"))
        verdict = judge_config_matches_wire(inv, DB1_SINGLE, no_probe, where=WHERE)
        assert verdict == Verdict(
            ITEM, WHERE, Outcome.INCONCLUSIVE,
            "no evidence: DescribeDBClusterParameters did not answer", ATTEMPTED_ONE, ("AccessDenied",),
            "allow rds:DescribeDBClusterParameters for the identity the run uses, then rerun")
