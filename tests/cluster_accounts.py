"""Account states for the cluster gate's tests, and their endpoints routed to the suite's real servers.

Each state is one documented kind of cluster: good, weak, pending-reboot reader, proxy without
RequireTLS. The ``account`` fixture lives in ``tests.cluster_fixtures``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from tests.fake_rds_account import (
    CA_VALIDITY,
    Cluster,
    FakeAccount,
    Instance,
    Proxy,
    cluster_parameter,
    custom_name,
    full_group,
    instance_name,
    proxy_name,
    reader_name,
    writer_name,
)

TLS13_SUITES = "TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384"


def good_pg(account: FakeAccount) -> Cluster:
    cluster = Cluster("prod-pg", "aurora-postgresql", "16.4", "prod-pg-params",
                      [Instance("prod-pg-1", writer=True), Instance("prod-pg-2")], custom_endpoints=("analytics",),
                      iam_auth=True, tags={"data": "ephi"})
    account.clusters.append(cluster)
    account.groups["prod-pg-params"] = full_group([
        cluster_parameter("rds.force_ssl", "1", allowed="0,1"),
        cluster_parameter("ssl_min_protocol_version", "TLSv1.3", allowed="TLSv1,TLSv1.1,TLSv1.2,TLSv1.3"),
        cluster_parameter("ssl_ciphers", None, source="engine-default", allowed=TLS13_SUITES),
    ])
    account.proxies.append(Proxy("prod-pg-proxy", "prod-pg", "POSTGRESQL", extra_endpoints=("ro",)))
    return cluster


def weak_pg(account: FakeAccount) -> Cluster:
    """rds.force_ssl=0, TLS 1.2 allowed, storage unencrypted, the expired rds-ca-2019; a proxy without TLS."""
    cluster = Cluster("weak-pg", "aurora-postgresql", "15.4", "weak-pg-params",
                      [Instance("weak-pg-1", writer=True, ca="rds-ca-2019",
                                cert_valid_till=CA_VALIDITY["rds-ca-2019"])],
                      encrypted=False)
    account.clusters.append(cluster)
    account.groups["weak-pg-params"] = full_group([
        cluster_parameter("rds.force_ssl", "0", allowed="0,1"),
        cluster_parameter("ssl_min_protocol_version", "TLSv1.2", allowed="TLSv1,TLSv1.1,TLSv1.2,TLSv1.3"),
    ])
    account.proxies.append(Proxy("weak-pg-proxy", "weak-pg", "POSTGRESQL", require_tls=False))
    return cluster


def pending_mysql(account: FakeAccount) -> Cluster:
    """tls_version=TLSv1.3 set, but the reader has not rebooted since (pending-reboot)."""
    cluster = Cluster("orders-my", "aurora-mysql", "8.0.mysql_aurora.3.05.2", "orders-my-params",
                      [Instance("orders-my-1", writer=True), Instance("orders-my-2", status="pending-reboot")],
                      port=3306)
    account.clusters.append(cluster)
    account.groups["orders-my-params"] = full_group([
        cluster_parameter("require_secure_transport", "ON", allowed="ON,OFF"),
        cluster_parameter("tls_version", "TLSv1.3", apply_type="static", allowed="TLSv1.2,TLSv1.3,TLSv1.2,TLSv1.3"),
        cluster_parameter("tls_ciphersuites", TLS13_SUITES, apply_type="static"),
    ])
    return cluster


def names_of(cluster: Cluster, account: FakeAccount) -> dict[str, str]:
    """Every endpoint name the fake reports for ``cluster``, by role."""
    names = {"writer": writer_name(cluster.cluster_id), "reader": reader_name(cluster.cluster_id)}
    names.update({f"custom {e}": custom_name(e) for e in cluster.custom_endpoints})
    names.update({f"instance {i.instance_id}": instance_name(i.instance_id) for i in cluster.instances})
    for proxy in account.proxies:
        if proxy.cluster_id == cluster.cluster_id:
            names[f"proxy {proxy.name}"] = proxy_name(proxy.name)
            names.update({f"proxy {proxy.name} {e}": proxy_name(f"{proxy.name}-{e}") for e in proxy.extra_endpoints})
    return names


def connect_to(names: Iterable[str], port: int) -> list[str]:
    return [f"--aurora-connect-to={name}=127.0.0.1:{port}" for name in names]


def days_from_now(days: int) -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)
