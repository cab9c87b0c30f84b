"""From the settings to the cluster gate's plan: which clusters, which endpoints, which control-plane items.

Plain functions over plain data; ``plugin.py`` turns the plan into pytest items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

from ..aws.clusters import ClusterInventory, ClusterInventoryReader, ClusterSelector, Fetched, RegionInventory
from ..checks import Outcome, Verdict
from ..errors import AwsApiError
from ..settings.config import GuardSettings
from ..settings.endpoints import Endpoint
from .checks import ClusterCheck, plan_cluster_checks
from .targets import ClusterTarget, cluster_targets

GATE_WHERE = "aurora clusters"


@dataclass(frozen=True)
class PlannedCluster:
    inventory: ClusterInventory
    targets: tuple[ClusterTarget, ...]
    checks: tuple[ClusterCheck, ...]

    @property
    def cluster_id(self) -> str:
        return self.inventory.cluster.cluster_id

    def facts(self) -> str:
        """Facts an auditor wants next to the verdicts, judged by nothing (IAM DB auth is a choice)."""
        cluster = self.inventory.cluster
        iam = {True: "enabled", False: "disabled", None: "not reported"}[cluster.iam_auth]
        instances = len(cluster.members)
        proxies = (len(self.inventory.proxies.value) if isinstance(self.inventory.proxies, Fetched)
                   else "unknown (DescribeDBProxies did not answer)")
        return (f"{cluster.cluster_id} ({cluster.engine} {cluster.engine_version or '?'}, {cluster.region}): "
                f"{instances} instance(s), {len(self.targets)} endpoint(s) probed, proxies {proxies}; "
                f"IAM database authentication {iam}")


@dataclass(frozen=True)
class ClusterPlan:
    clusters: tuple[PlannedCluster, ...] = ()
    problems: tuple[ClusterCheck, ...] = ()  # run-level items: a region that did not answer, no cluster matched
    api_calls: int = 0

    def endpoints(self) -> list[Endpoint]:
        return [e for c in self.clusters for t in c.targets for e in t.endpoints]


@dataclass
class _Collected:
    regions: list[RegionInventory] = field(default_factory=list)
    failures: list[tuple[str, AwsApiError]] = field(default_factory=list)


def plan_clusters(settings: GuardSettings, regions: Sequence[str],
                  reader: Optional[ClusterInventoryReader] = None) -> ClusterPlan:
    """Read every region once and plan the items; failures become items, never exceptions."""
    reader = reader or ClusterInventoryReader()
    collected = _Collected()
    for region in regions:
        try:
            collected.regions.append(reader.read(region, settings.clusters, _selector(settings)))
        except AwsApiError as exc:
            collected.failures.append((region, exc))
    clusters = tuple(
        PlannedCluster(inventory, targets, tuple(plan_cluster_checks(inventory, targets, settings)))
        for region in collected.regions for inventory in region.clusters
        for targets in [cluster_targets(inventory, settings)]
    )
    problems = [_region_failure(region, exc) for region, exc in collected.failures]
    found = {c.cluster_id for c in clusters}
    asked = ", ".join(regions)
    for cluster_id in settings.clusters:
        if cluster_id not in found and not collected.failures:
            skipped = [s for r in collected.regions for s in r.skipped if s.split(" ")[0] == cluster_id]
            problems.append(_problem(
                f"cluster_found[{cluster_id}]", Outcome.FAILED,
                f"cluster {cluster_id} is not an Aurora cluster: {skipped[0]}" if skipped
                else f"no DB cluster {cluster_id!r} in {asked}",
                (f"DescribeDBClusters filtered on db-cluster-id={cluster_id} in {asked}",),
                (f"RDS listed {len(found)} matching Aurora cluster(s): {', '.join(sorted(found)) or 'none'}",),
                "check the identifier (aws rds describe-db-clusters --query 'DBClusters[].DBClusterIdentifier') "
                "and --aws-region"))
    if not clusters and not collected.failures:
        how = (f"clusters named {', '.join(settings.clusters)}" if settings.clusters else
               "every cluster" + (f" matching {' and '.join(f.raw for f in settings.discover_filters)}"
                                  if settings.discover_filters else ""))
        problems.append(_problem(
            "clusters_matched", Outcome.FAILED, f"no Aurora cluster matched in {asked}: nothing was gated",
            (f"DescribeDBClusters in {asked} for {how}",), ("zero clusters",),
            "fix --aurora-cluster / --aurora-discover-filter or --aws-region: a gate with nothing to gate must not "
            "pass"))
    return ClusterPlan(clusters, tuple(problems), reader.clients.calls)


def _selector(settings: GuardSettings) -> Optional[ClusterSelector]:
    if settings.clusters:
        return None
    filters = settings.discover_filters
    return lambda cluster_id, tags: all(f.matches(cluster_id, tags) for f in filters)


def _region_failure(region: str, exc: AwsApiError) -> ClusterCheck:
    return _problem(f"clusters_matched[{region}]", Outcome.INCONCLUSIVE,
                    f"the clusters of {region} could not be listed: nothing there was gated",
                    (f"DescribeDBClusters in {region}",), (str(exc),),
                    "allow rds:DescribeDBClusters (see the README's IAM policy) and check the region")


def _problem(name: str, outcome: Outcome, summary: str, attempted: tuple[str, ...], answered: tuple[str, ...],
             remedy: str) -> ClusterCheck:
    verdict = Verdict(name, GATE_WHERE, outcome, summary, attempted, answered, remedy)
    return ClusterCheck(name.split("[")[0], name, lambda _: verdict, {})
