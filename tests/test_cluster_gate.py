"""The cluster gate end to end: a fake RDS account over real HTTP, endpoints routed to real servers."""

from __future__ import annotations

import pytest

from tests.cluster_accounts import connect_to, good_pg, names_of, pending_mysql, weak_pg
from tests.fake_rds import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from tests.fake_rds_account import FakeAccount
from tests.guard_helpers import CREDENTIAL_FREE, GuardRun

pytest_plugins = ["tests.drift_fixtures", "tests.cluster_fixtures"]


def by_node(run: GuardRun) -> dict[str, str]:
    """Outcome per full node id ('passed', 'failed', 'error')."""
    out: dict[str, str] = {}
    for report in run.result.reprec.getreports("pytest_runtest_logreport"):  # type: ignore[attr-defined]
        if report.when == "setup" and report.failed:
            out[report.nodeid] = "error"
        elif report.when == "call":
            out[report.nodeid] = report.outcome
    return out


def trust(ca_bundle) -> list[str]:
    """The test CA for instance names, and for proxy names (which chain to Amazon Trust Services in AWS)."""
    return [f"--aurora-ca-bundle={ca_bundle}", f"--aurora-proxy-ca-bundle={ca_bundle}"]


def not_passed(run: GuardRun) -> dict[str, str]:
    return {node: outcome for node, outcome in by_node(run).items() if outcome != "passed"}


class TestGoodCluster:
    @pytest.fixture
    def run(self, run_guard, account: FakeAccount, pg_hardened, ca_bundle) -> GuardRun:
        cluster = good_pg(account)
        return run_guard("--aurora-cluster=prod-pg", "--aws-region=us-east-1", *trust(ca_bundle),
                         *connect_to(names_of(cluster, account).values(), pg_hardened.port))

    def test_every_endpoint_and_every_check_passes(self, run):
        assert not_passed(run) == {}
        assert run.result.ret == pytest.ExitCode.OK

    def test_every_endpoint_aws_lists_is_probed_with_ids_naming_cluster_and_endpoint(self, run, pg_hardened):
        via = f"via 127.0.0.1:{pg_hardened.port}"
        assert {node.split("::")[0] for node in by_node(run)} == {
            f"aurora-guard[prod-pg/writer {via}]", f"aurora-guard[prod-pg/reader {via}]",
            f"aurora-guard[prod-pg/custom analytics {via}]",
            f"aurora-guard[prod-pg/instance prod-pg-1 {via}]", f"aurora-guard[prod-pg/instance prod-pg-2 {via}]",
            f"aurora-guard[prod-pg/proxy prod-pg-proxy {via}]", f"aurora-guard[prod-pg/proxy prod-pg-proxy ro {via}]",
            "aurora-guard[prod-pg]",
        }

    def test_each_endpoint_gets_every_wire_check(self, run, pg_hardened):
        nodes = by_node(run)
        instance = f"aurora-guard[prod-pg/instance prod-pg-2 via 127.0.0.1:{pg_hardened.port}]"
        assert {n.split("::")[1] for n in nodes if n.startswith(instance + "::")} == CREDENTIAL_FREE
        assert f"{instance}::tls_version_refused[TLSv1.2]" in nodes

    def test_the_control_plane_items_are_grouped_under_the_cluster(self, run):
        assert {n.split("::")[1] for n in by_node(run) if n.startswith("aurora-guard[prod-pg]::")} == {
            "endpoints_listed", "parameters_enforce_tls[rds.force_ssl]",
            "parameters_enforce_tls[ssl_min_protocol_version]", "parameters_in_effect", "storage_encrypted",
            "instance_ca_current", "proxy_requires_tls[prod-pg-proxy]", "config_matches_wire[prod-pg-1]",
            "config_matches_wire[prod-pg-2]",
        }

    def test_the_summary_reports_iam_authentication_as_a_fact(self, run):
        assert "IAM database authentication enabled" in run.output
        assert "prod-pg (aurora-postgresql 16.4, us-east-1): 2 instance(s), 7 endpoint(s) probed" in run.output

    def test_api_calls_grow_with_pages_not_with_endpoints(self, run, account: FakeAccount):
        # 1 page each, the group's 233 parameters over 3 pages, one target lookup for the one proxy.
        assert dict(account.calls) == {
            "DescribeDBClusters": 1, "DescribeDBInstances": 1, "DescribeDBClusterEndpoints": 1,
            "DescribeCertificates": 1, "DescribeDBClusterParameters": 3, "DescribeDBProxies": 1,
            "DescribeDBProxyEndpoints": 1, "DescribeDBProxyTargets": 1,
        }


class TestWeakCluster:
    @pytest.fixture
    def run(self, run_guard, account: FakeAccount, pg_in_between) -> GuardRun:
        cluster = weak_pg(account)
        return run_guard("--aurora-cluster=weak-pg", "--aws-region=us-east-1",
                         *connect_to(names_of(cluster, account).values(), pg_in_between.port))

    def test_each_weakness_is_exactly_one_control_plane_failure(self, run):
        control = {n.split("::")[1]: o for n, o in not_passed(run).items() if n.startswith("aurora-guard[weak-pg]::")}
        assert control == {
            "parameters_enforce_tls[rds.force_ssl]": "failed",
            "parameters_enforce_tls[ssl_min_protocol_version]": "failed",
            "storage_encrypted": "failed",
            "instance_ca_current": "failed",
            "proxy_requires_tls[weak-pg-proxy]": "failed",
        }

    def test_the_failures_say_what_to_change(self, run):
        assert "rds.force_ssl=0: the cluster accepts unencrypted connections" in run.output
        assert "set rds.force_ssl=1 in the DB cluster parameter group 'weak-pg-params'" in run.output
        assert "ssl_min_protocol_version=TLSv1.2 allows TLSv1.2, below the floor TLSv1.3" in run.output
        assert "weak-pg-1 uses rds-ca-2019, not one of rds-ca-rsa2048-g1, rds-ca-rsa4096-g1, rds-ca-ecc384-g1" in (
            run.output)
        assert "server certificate expired on 2024-08-22" in run.output
        assert "the cluster's storage is not encrypted at rest" in run.output
        assert "aws rds modify-db-proxy --db-proxy-name weak-pg-proxy --require-tls" in run.output

    def test_the_wire_agrees_with_the_group_so_the_cross_check_passes(self, run):
        assert by_node(run)["aurora-guard[weak-pg]::config_matches_wire[weak-pg-1]"] == "passed"

    def test_the_summary_has_a_grid_of_the_cluster_controls_after_the_endpoints_grid(self, run):
        run.result.stdout.re_match_lines([
            r"\[1\] weak-pg/writer \(postgresql://weak-pg\.cluster-.*",
            r"\[4\] weak-pg/proxy weak-pg-proxy .*",
            r"control\s+\[1\]\s+\[2\]\s+\[3\]\s+\[4\]",
            r"tls_version_refused\[TLSv1\.2\]\s+FAILED\s+FAILED\s+FAILED\s+FAILED",
            r"first problem of \[1\], \[2\], \[3\], \[4\]: tls_version_refused\[TLSv1\.2\]: TLSv1\.2 accepted.*",
            r"\[5\] cluster weak-pg \(aurora-postgresql 15\.4, us-east-1\)",
            r"cluster control\s+\[5\]",
            r"parameters_enforce_tls\[rds\.force_ssl\]\s+FAILED",
            r"config_matches_wire\[weak-pg-1\]\s+passed",
            r"first problem of \[5\]: parameters_enforce_tls\[rds\.force_ssl\]: rds\.force_ssl=0.*",
            r"aurora-guard clusters \(\d+ RDS API call\(s\)\):",
        ])


class TestPendingRebootReader:
    @pytest.fixture
    def run(self, run_guard, account: FakeAccount, mariadb_hardened, mariadb_in_between) -> GuardRun:
        cluster = pending_mysql(account)
        names = names_of(cluster, account)
        reader = names.pop("instance orders-my-2")
        return run_guard("--aurora-cluster=orders-my", "--aws-region=us-east-1",
                         *connect_to([reader], mariadb_in_between.port),
                         *connect_to(names.values(), mariadb_hardened.port))

    def test_parameters_in_effect_names_the_reader_and_the_parameters_waiting_for_its_reboot(self, run):
        assert by_node(run)["aurora-guard[orders-my]::parameters_in_effect"] == "failed"
        assert ("pending-reboot: orders-my-2 still run(s) the previous values of 'orders-my-params'; parameters "
                "that wait for the reboot: tls_ciphersuites, tls_version") in run.output

    def test_the_cross_check_names_the_instance_that_contradicts_the_group(self, run):
        assert by_node(run)["aurora-guard[orders-my]::config_matches_wire[orders-my-2]"] == "failed"
        assert ("the group says tls_version=TLSv1.3 but instance orders-my-2 at mysql://"
                "orders-my-2.c9akciq32.us-east-1.rds.amazonaws.com:3306") in run.output
        assert "accepted TLSv1.2 (the instance is pending-reboot: it still runs earlier values)" in run.output

    def test_the_group_itself_is_fine(self, run):
        nodes = by_node(run)
        for name in ("require_secure_transport", "tls_version", "tls_ciphersuites"):
            assert nodes[f"aurora-guard[orders-my]::parameters_enforce_tls[{name}]"] == "passed"

    def test_without_a_probe_account_the_writer_cannot_confirm_plaintext_is_refused(self, run):
        # MariaDB checks the password before require_secure_transport: no evidence without credentials.
        assert by_node(run)["aurora-guard[orders-my]::config_matches_wire[orders-my-1]"] == "error"


class TestAccessDenied:
    def test_a_denied_proxy_listing_is_an_error_on_the_proxy_item_only(self, run_guard, account, pg_hardened,
                                                                        ca_bundle):
        cluster = good_pg(account)
        account.denied.add("DescribeDBProxies")
        names = names_of(cluster, account)
        run = run_guard("--aurora-cluster=prod-pg", "--aws-region=us-east-1", *trust(ca_bundle),
                        *connect_to(names.values(), pg_hardened.port))
        assert not_passed(run) == {"aurora-guard[prod-pg]::proxy_requires_tls": "error"}
        assert "allow rds:DescribeDBProxies for the identity the run uses" in run.output
        assert "not authorized to perform: rds:DescribeDBProxies" in run.output
        assert ACCESS_KEY_ID not in run.output
        assert SECRET_ACCESS_KEY not in run.output

    def test_a_denied_cluster_listing_is_an_error_not_a_green_run(self, run_guard, account):
        good_pg(account)
        account.denied.add("DescribeDBClusters")
        run = run_guard("--aurora-cluster=prod-pg", "--aws-region=us-east-1")
        assert by_node(run) == {"aurora-guard[clusters]::clusters_matched[us-east-1]": "error"}
        assert "Allow the action rds:DescribeDBClusters" in run.output


class TestNothingToGate:
    def test_a_cluster_that_does_not_exist_fails(self, run_guard, account):
        run = run_guard("--aurora-cluster=no-such-cluster", "--aws-region=us-east-1")
        assert by_node(run) == {"aurora-guard[clusters]::cluster_found[no-such-cluster]": "failed",
                                "aurora-guard[clusters]::clusters_matched": "failed"}
        assert run.result.ret == pytest.ExitCode.TESTS_FAILED

    def test_discovery_that_matches_nothing_fails(self, run_guard, account):
        good_pg(account)
        run = run_guard("--aurora-discover", "--aurora-discover-filter=tag:data=none", "--aws-region=us-east-1")
        assert by_node(run) == {"aurora-guard[clusters]::clusters_matched": "failed"}
        assert "no Aurora cluster matched in us-east-1" in run.output

    def test_a_cluster_without_a_region_is_a_usage_error(self, run_guard, account, monkeypatch):
        monkeypatch.delenv("AWS_REGION")
        run = run_guard("--aurora-cluster=prod-pg")
        assert run.result.ret == pytest.ExitCode.USAGE_ERROR
        assert "need a region" in run.output

    def test_a_malformed_cluster_id_is_a_usage_error(self, run_guard, account):
        run = run_guard("--aurora-cluster=prod.cluster-abc.rds.amazonaws.com", "--aws-region=us-east-1")
        assert run.result.ret == pytest.ExitCode.USAGE_ERROR
        assert "is not a DB cluster identifier" in run.output


class TestDiscovery:
    def test_filters_select_clusters_by_id_glob_and_tag(self, run_guard, account, pg_hardened, pg_in_between):
        good_pg(account)
        weak_pg(account)
        run = run_guard("--aurora-discover", "--aurora-discover-filter=id=*-pg",
                        "--aurora-discover-filter=tag:data=ephi", "--aws-region=us-east-1", "--collect-only", "-q")
        collected = run.result.stdout.str()
        assert "aurora-guard[prod-pg]::storage_encrypted" in collected
        assert "weak-pg" not in collected


@pytest.mark.parametrize(("args", "says"), [
    (["--aurora-cluster=prod-pg", "--aurora-discover"], "not both"),
    (["--aurora-cluster=prod-pg", "--aurora-discover-filter=id=prod-*"], "--aurora-discover is not"),
    (["--aurora-discover", "--aurora-discover-filter=owner=me"], "write id=GLOB"),
    (["--aurora-cluster=prod-pg", "--aurora-cert-min-days=-1"], "whole number of days"),
    (["--aurora-cluster=prod-pg", "--aurora-allowed-ca=rds ca"], "is not an RDS CA identifier"),
])
def test_cluster_settings_are_checked_before_any_call(run_guard, account, args, says):
    run = run_guard(*args, "--aws-region=us-east-1")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert says in run.output
    assert sum(account.calls.values()) == 0


def test_under_xdist_a_cluster_s_endpoints_and_cross_checks_share_one_worker(run_guard, pytester, account):
    # --dist loadgroup keeps an xdist_group on one worker: the cross-check then reads the probes the
    # instance's own checks made instead of probing the instance again elsewhere.
    good_pg(account)
    pytester.makeconftest("""
        def pytest_collection_finish(session):
            for item in session.items:
                print("GROUP", item.nodeid, item.get_closest_marker("xdist_group").args[0])
    """)
    run = run_guard("-p", "xdist.plugin", "--aurora-cluster=prod-pg", "--aws-region=us-east-1", "--collect-only",
                    "-q", "-s")
    groups = {line.split()[-1] for line in run.result.stdout.lines if line.startswith("GROUP aurora-guard[prod-pg")}
    assert groups == {"prod-pg"}


@pytest.mark.parametrize("where", ["env", "ini"])
def test_clusters_and_routes_can_come_from_the_environment_or_the_ini_file(run_guard, pytester, monkeypatch,
                                                                            account, where):
    good_pg(account)
    route = "prod-pg-1.c9akciq32.us-east-1.rds.amazonaws.com=127.0.0.1:1"
    if where == "env":
        monkeypatch.setenv("AURORA_GUARD_CLUSTER", "prod-pg")
        monkeypatch.setenv("AURORA_GUARD_CONNECT_TO", route)
    else:
        pytester.makeini(f"[pytest]\naurora_clusters =\n    prod-pg\naurora_connect_to =\n    {route}\n")
    run = run_guard("--aws-region=us-east-1", "--collect-only", "-q")
    assert "aurora-guard[prod-pg/instance prod-pg-1 via 127.0.0.1:1]::plaintext_refused" in run.result.stdout.str()
    assert "aurora-guard[prod-pg]::parameters_in_effect" in run.result.stdout.str()
