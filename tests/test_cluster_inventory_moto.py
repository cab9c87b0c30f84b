"""The inventory reader against moto's server mode, where moto answers as AWS does.

moto implements DescribeDBClusters and DescribeDBInstances faithfully enough to check that the
reader understands the shapes a second, independent RDS emulation produces; the calls moto lacks
(DescribeDBClusterEndpoints, DescribeCertificates, full DescribeDBClusterParameters) are served
by tests/fake_rds_account.py in the end-to-end specs.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from pytest_aurora_guard.aws.clusters import ClusterInventoryReader, Fetched
from tests.moto_server import moto_server


@pytest.fixture
def moto_rds(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[str]:
    with moto_server(monkeypatch, tmp_path) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_RDS", url)
        yield url


def test_the_reader_understands_moto_s_clusters_and_instances(moto_rds: str) -> None:
    rds = boto3.client("rds", region_name="us-east-1")
    rds.create_db_cluster(DBClusterIdentifier="moto-pg", Engine="aurora-postgresql", EngineVersion="16.4",
                          MasterUsername="admin_user", MasterUserPassword="not-a-real-secret-1",
                          StorageEncrypted=True, Tags=[{"Key": "data", "Value": "ephi"}])
    for name in ("moto-pg-1", "moto-pg-2"):
        rds.create_db_instance(DBInstanceIdentifier=name, DBClusterIdentifier="moto-pg", Engine="aurora-postgresql",
                               DBInstanceClass="db.r6g.large")
    inventory = ClusterInventoryReader().read("us-east-1", ["moto-pg"])
    assert inventory.missing == ()
    (cluster,) = inventory.clusters
    facts = cluster.cluster
    assert (facts.cluster_id, facts.engine, facts.port, facts.storage_encrypted) == (
        "moto-pg", "aurora-postgresql", 5432, True)
    assert facts.tags == {"data": "ephi"}
    assert (facts.writer_endpoint or "").startswith("moto-pg.cluster-")
    assert sorted(m.instance_id for m in facts.members) == ["moto-pg-1", "moto-pg-2"]
    assert isinstance(cluster.instances, Fetched)
    assert sorted(i.instance_id for i in cluster.instances.value) == ["moto-pg-1", "moto-pg-2"]
    assert all(i.address and i.cluster_id == "moto-pg" for i in cluster.instances.value)


def test_a_cluster_moto_does_not_know_is_reported_missing(moto_rds: str) -> None:
    inventory = ClusterInventoryReader().read("us-east-1", ["nowhere"])
    assert (inventory.clusters, inventory.missing) == ((), ("nowhere",))
