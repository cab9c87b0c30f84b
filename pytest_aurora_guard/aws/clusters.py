"""What the RDS API says about Aurora clusters: members, endpoints, parameter group, CAs, proxies.

Calls grow with pages, not with clusters: per region one paginated ``DescribeDBClusters``,
``DescribeDBInstances``, ``DescribeDBClusterEndpoints``, ``DescribeCertificates``,
``DescribeDBProxies`` and ``DescribeDBProxyEndpoints``; then one ``DescribeDBClusterParameters``
walk per distinct cluster parameter group and one ``DescribeDBProxyTargets`` per proxy of the
cluster's engine family (the only call that links a proxy to its cluster).

A call that fails does not fail the inventory: its facts are an :class:`Unavailable` carrying
the error, so only the checks that needed them are errors, each naming the call and the IAM
action to grant, while everything else is still judged.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Optional, TypeVar, Union

from ..errors import AwsApiError
from .client import RdsClients

T = TypeVar("T")

# MaxRecords: 20..100 for the Describe* calls (service-2.json); the maximum costs fewest calls.
PAGE_SIZE = 100
# RDS rejects a filter with more values than this (the documented limit for db-cluster-id lists).
FILTER_VALUES = 100

# Every call the cluster gate makes, with the IAM action it needs (the README's policy).
CALLS = (
    "DescribeDBClusters",
    "DescribeDBInstances",
    "DescribeDBClusterEndpoints",
    "DescribeDBClusterParameters",
    "DescribeCertificates",
    "DescribeDBProxies",
    "DescribeDBProxyEndpoints",
    "DescribeDBProxyTargets",
)


@dataclass(frozen=True)
class Unavailable:
    """A fact the API did not give us: which call, and the error that says what to grant."""

    operation: str
    error: str

    @property
    def iam_action(self) -> str:
        return f"rds:{self.operation}"


@dataclass(frozen=True)
class Fetched(Generic[T]):
    value: T


Facts = Union[Fetched[T], Unavailable]


@dataclass(frozen=True)
class Member:
    instance_id: str
    is_writer: bool
    parameter_group_status: Optional[str]  # "in-sync", "pending-reboot", "applying"; None if RDS left it out


@dataclass(frozen=True)
class ClusterFacts:
    cluster_id: str
    region: str
    engine: str  # "aurora-postgresql", "aurora-mysql"
    engine_version: Optional[str]
    port: Optional[int]
    writer_endpoint: Optional[str]
    reader_endpoint: Optional[str]
    parameter_group: Optional[str]
    storage_encrypted: Optional[bool]
    kms_key_id: Optional[str]
    iam_auth: Optional[bool]
    status: Optional[str]
    members: tuple[Member, ...]
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InstanceFacts:
    instance_id: str
    cluster_id: Optional[str]
    engine: Optional[str]
    address: Optional[str]
    port: Optional[int]
    status: Optional[str]
    ca_identifier: Optional[str]
    certificate_ca: Optional[str]  # CertificateDetails.CAIdentifier
    certificate_valid_till: Optional[datetime.datetime]  # CertificateDetails.ValidTill
    has_certificate_details: bool
    storage_encrypted: Optional[bool]


@dataclass(frozen=True)
class ClusterEndpointFacts:
    endpoint_id: str
    cluster_id: str
    address: Optional[str]
    endpoint_type: str  # WRITER, READER, CUSTOM
    status: Optional[str]


@dataclass(frozen=True)
class ParameterFacts:
    name: str
    value: Optional[str]
    source: Optional[str]
    apply_type: Optional[str]
    apply_method: Optional[str]
    allowed_values: Optional[str] = None


@dataclass(frozen=True)
class ParameterGroupFacts:
    name: str
    parameters: Mapping[str, ParameterFacts]
    pages: int

    def get(self, name: str) -> Optional[ParameterFacts]:
        return self.parameters.get(name)


@dataclass(frozen=True)
class CertificateFacts:
    identifier: str
    valid_till: Optional[datetime.datetime]


@dataclass(frozen=True)
class ProxyEndpointFacts:
    name: str
    address: Optional[str]
    is_default: bool


@dataclass(frozen=True)
class ProxyFacts:
    name: str
    engine_family: Optional[str]  # POSTGRESQL, MYSQL, SQLSERVER
    require_tls: Optional[bool]
    status: Optional[str]
    endpoints: tuple[ProxyEndpointFacts, ...]


@dataclass(frozen=True)
class ClusterInventory:
    """Everything known about one cluster; each part either fetched or unavailable with the reason."""

    cluster: ClusterFacts
    instances: Facts[tuple[InstanceFacts, ...]]
    endpoints: Facts[tuple[ClusterEndpointFacts, ...]]
    parameters: Facts[ParameterGroupFacts]
    certificates: Facts[Mapping[str, CertificateFacts]]
    proxies: Facts[tuple[ProxyFacts, ...]]


@dataclass(frozen=True)
class RegionInventory:
    region: str
    clusters: tuple[ClusterInventory, ...]
    missing: tuple[str, ...]  # named clusters RDS does not list in this region
    skipped: tuple[str, ...]  # clusters that matched but are not Aurora (engine given)


ClusterSelector = Callable[[str, Mapping[str, str]], bool]


class ClusterInventoryReader:
    """Reads the inventory of a region's clusters through one shared :class:`RdsClients`."""

    def __init__(self, clients: Optional[RdsClients] = None) -> None:
        self.clients = clients or RdsClients()

    def read(self, region: str, cluster_ids: Sequence[str] = (), select: Optional[ClusterSelector] = None
             ) -> RegionInventory:
        """``cluster_ids`` named clusters; with none, every cluster ``select`` accepts (discovery).

        Raises ``AwsApiError`` only when DescribeDBClusters itself fails: without it there is
        nothing to gate. Every later call's failure is kept as :class:`Unavailable`.
        """
        filters = _id_filters("db-cluster-id", cluster_ids)
        raw_clusters = [c for f in filters for c in self._pages(region, "DescribeDBClusters", "describe_db_clusters",
                                                                 "DBClusters", Filters=f)]
        clusters: list[ClusterFacts] = []
        skipped: list[str] = []
        for raw in raw_clusters:
            facts = _cluster(raw, region)
            if not facts.engine.startswith("aurora"):
                skipped.append(f"{facts.cluster_id} ({facts.engine})")
                continue
            if cluster_ids or select is None or select(facts.cluster_id, facts.tags):
                clusters.append(facts)
        found = {c.cluster_id for c in clusters} | {s.split(" ")[0] for s in skipped}
        missing = tuple(c for c in cluster_ids if c not in found)
        if not clusters:
            return RegionInventory(region, (), missing, tuple(skipped))

        ids = [c.cluster_id for c in clusters]
        instances = self._facts("DescribeDBInstances", lambda: tuple(
            _instance(raw) for f in _id_filters("db-cluster-id", ids)
            for raw in self._pages(region, "DescribeDBInstances", "describe_db_instances", "DBInstances", Filters=f)))
        endpoints = self._facts("DescribeDBClusterEndpoints", lambda: tuple(
            _cluster_endpoint(raw) for raw in self._pages(region, "DescribeDBClusterEndpoints",
                                                          "describe_db_cluster_endpoints", "DBClusterEndpoints")))
        certificates: Facts[Mapping[str, CertificateFacts]] = self._facts("DescribeCertificates", lambda: {
            cert.identifier: cert for cert in (
                _certificate(raw) for raw in self._pages(region, "DescribeCertificates", "describe_certificates",
                                                         "Certificates"))})
        groups: dict[str, Facts[ParameterGroupFacts]] = {}
        for cluster in clusters:
            group = cluster.parameter_group
            if group is not None and group not in groups:
                groups[group] = self._facts("DescribeDBClusterParameters",
                                            lambda g=group: self._parameter_group(region, g))  # type: ignore[misc]
        proxies_by_cluster = self._proxies(region, clusters)

        inventories = []
        for cluster in clusters:
            parameters: Facts[ParameterGroupFacts] = (
                groups[cluster.parameter_group] if cluster.parameter_group is not None
                else Unavailable("DescribeDBClusters", "RDS named no DBClusterParameterGroup for the cluster"))
            inventories.append(ClusterInventory(
                cluster=cluster,
                instances=_only(instances, lambda i, c=cluster.cluster_id: i.cluster_id == c),  # type: ignore[misc]
                endpoints=_only(endpoints, lambda e, c=cluster.cluster_id: e.cluster_id == c),  # type: ignore[misc]
                parameters=parameters,
                certificates=certificates,
                proxies=proxies_by_cluster(cluster.cluster_id),
            ))
        return RegionInventory(region, tuple(inventories), missing, tuple(skipped))

    # -- calls -----------------------------------------------------------------------------

    def _pages(self, region: str, operation: str, method: str, key: str, **kwargs: Any) -> Iterator[Mapping[str, Any]]:
        where = f"{operation} in region {region}"
        with self.clients.calling(where, operation):
            client = self.clients.client(region, operation)
            paginator = client.get_paginator(method)  # type: ignore[call-overload]
            for number, page in enumerate(paginator.paginate(**kwargs, PaginationConfig={"PageSize": PAGE_SIZE}), 1):
                items = page.get(key, [])
                if not isinstance(items, list):
                    raise AwsApiError(f"{where}: page {number} has malformed {key}: {items!r:.300}")
                for item in items:
                    if not isinstance(item, Mapping):
                        raise AwsApiError(f"{where}: page {number} has a malformed {key} entry: {item!r:.300}")
                    yield item

    def _facts(self, operation: str, read: Callable[[], T]) -> Facts[T]:
        try:
            return Fetched(read())
        except AwsApiError as exc:
            return Unavailable(operation, str(exc))

    def _parameter_group(self, region: str, group: str) -> ParameterGroupFacts:
        parameters: dict[str, ParameterFacts] = {}
        pages = 0
        where = f"DescribeDBClusterParameters for group {group!r} in region {region}"
        with self.clients.calling(where, "DescribeDBClusterParameters"):
            client = self.clients.client(region, "DescribeDBClusterParameters")
            paginator = client.get_paginator("describe_db_cluster_parameters")
            # No Source filter: every parameter, engine defaults included, as the group applies them.
            for page in paginator.paginate(DBClusterParameterGroupName=group,
                                           PaginationConfig={"PageSize": PAGE_SIZE}):
                pages += 1
                for raw in page.get("Parameters", []):
                    name = raw.get("ParameterName")
                    if not isinstance(name, str):
                        raise AwsApiError(f"{where}: page {pages} has a parameter without a name: {raw!r:.300}")
                    parameters[name] = ParameterFacts(name, _str(raw, "ParameterValue"), _str(raw, "Source"),
                                                      _str(raw, "ApplyType"), _str(raw, "ApplyMethod"),
                                                      _str(raw, "AllowedValues"))
        return ParameterGroupFacts(group, parameters, pages)

    def _proxies(self, region: str, clusters: Sequence[ClusterFacts]
                 ) -> Callable[[str], Facts[tuple[ProxyFacts, ...]]]:
        families = {_proxy_family(c.engine) for c in clusters}
        listed = self._facts("DescribeDBProxies", lambda: tuple(
            self._pages(region, "DescribeDBProxies", "describe_db_proxies", "DBProxies")))
        if isinstance(listed, Unavailable):
            return lambda _: listed
        candidates = [raw for raw in listed.value if raw.get("EngineFamily") in families]
        if not candidates:
            return lambda _: Fetched(())
        extra = self._facts("DescribeDBProxyEndpoints", lambda: tuple(
            self._pages(region, "DescribeDBProxyEndpoints", "describe_db_proxy_endpoints", "DBProxyEndpoints")))
        linked: dict[str, list[ProxyFacts]] = {}
        for raw in candidates:
            name = str(raw.get("DBProxyName"))
            targets = self._facts("DescribeDBProxyTargets", lambda n=name: tuple(  # type: ignore[misc]
                self._pages(region, "DescribeDBProxyTargets", "describe_db_proxy_targets", "Targets", DBProxyName=n)))
            if isinstance(targets, Unavailable):
                return lambda _, t=targets: t  # type: ignore[misc]
            if isinstance(extra, Unavailable):
                return lambda _, e=extra: e  # type: ignore[misc]
            proxy = _proxy(raw, [e for e in extra.value if e.get("DBProxyName") == name])
            for cluster_id in {str(t.get("TrackedClusterId")) for t in targets.value if t.get("TrackedClusterId")}:
                linked.setdefault(cluster_id, []).append(proxy)
        return lambda cluster_id: Fetched(tuple(linked.get(cluster_id, ())))


def _only(facts: Facts[tuple[T, ...]], keep: Callable[[T], bool]) -> Facts[tuple[T, ...]]:
    if isinstance(facts, Unavailable):
        return facts
    return Fetched(tuple(item for item in facts.value if keep(item)))


def _id_filters(name: str, ids: Sequence[str]) -> list[list[dict[str, Any]]]:
    """One Filters argument per chunk of ids (none: one unfiltered call)."""
    if not ids:
        return [[]]
    return [[{"Name": name, "Values": list(ids[i:i + FILTER_VALUES])}] for i in range(0, len(ids), FILTER_VALUES)]


def _proxy_family(engine: str) -> str:
    return "POSTGRESQL" if "postgres" in engine else "MYSQL"


def _str(raw: Mapping[str, Any], key: str) -> Optional[str]:
    value = raw.get(key)
    return None if value is None else str(value)


def _bool(raw: Mapping[str, Any], key: str) -> Optional[bool]:
    value = raw.get(key)
    return value if isinstance(value, bool) else None


def _int(raw: Mapping[str, Any], key: str) -> Optional[int]:
    value = raw.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _cluster(raw: Mapping[str, Any], region: str) -> ClusterFacts:
    cluster_id = raw.get("DBClusterIdentifier")
    if not isinstance(cluster_id, str):
        raise AwsApiError(f"DescribeDBClusters in region {region}: a cluster without an identifier: {raw!r:.300}")
    members = tuple(
        Member(str(m.get("DBInstanceIdentifier")), bool(m.get("IsClusterWriter")),
               _str(m, "DBClusterParameterGroupStatus"))
        for m in raw.get("DBClusterMembers", []) if isinstance(m, Mapping)
    )
    tags = {str(t.get("Key")): str(t.get("Value", "")) for t in raw.get("TagList", []) if isinstance(t, Mapping)}
    return ClusterFacts(
        cluster_id=cluster_id, region=region, engine=str(raw.get("Engine", "")),
        engine_version=_str(raw, "EngineVersion"), port=_int(raw, "Port"),
        writer_endpoint=_str(raw, "Endpoint"), reader_endpoint=_str(raw, "ReaderEndpoint"),
        parameter_group=_str(raw, "DBClusterParameterGroup"), storage_encrypted=_bool(raw, "StorageEncrypted"),
        kms_key_id=_str(raw, "KmsKeyId"), iam_auth=_bool(raw, "IAMDatabaseAuthenticationEnabled"),
        status=_str(raw, "Status"), members=members, tags=tags,
    )


def _instance(raw: Mapping[str, Any]) -> InstanceFacts:
    given = raw.get("Endpoint")
    endpoint: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    details = raw.get("CertificateDetails")
    has_details = isinstance(details, Mapping)
    valid_till = details.get("ValidTill") if isinstance(details, Mapping) else None
    return InstanceFacts(
        instance_id=str(raw.get("DBInstanceIdentifier")), cluster_id=_str(raw, "DBClusterIdentifier"),
        engine=_str(raw, "Engine"), address=_str(endpoint, "Address"), port=_int(endpoint, "Port"),
        status=_str(raw, "DBInstanceStatus"), ca_identifier=_str(raw, "CACertificateIdentifier"),
        certificate_ca=_str(details, "CAIdentifier") if isinstance(details, Mapping) else None,
        certificate_valid_till=valid_till if isinstance(valid_till, datetime.datetime) else None,
        has_certificate_details=has_details, storage_encrypted=_bool(raw, "StorageEncrypted"),
    )


def _cluster_endpoint(raw: Mapping[str, Any]) -> ClusterEndpointFacts:
    return ClusterEndpointFacts(
        endpoint_id=str(raw.get("DBClusterEndpointIdentifier")), cluster_id=str(raw.get("DBClusterIdentifier")),
        address=_str(raw, "Endpoint"), endpoint_type=str(raw.get("EndpointType", "")).upper(),
        status=_str(raw, "Status"),
    )


def _certificate(raw: Mapping[str, Any]) -> CertificateFacts:
    valid_till = raw.get("ValidTill")
    return CertificateFacts(str(raw.get("CertificateIdentifier")),
                            valid_till if isinstance(valid_till, datetime.datetime) else None)


def _proxy(raw: Mapping[str, Any], extra: Iterable[Mapping[str, Any]]) -> ProxyFacts:
    endpoints = [ProxyEndpointFacts("default", _str(raw, "Endpoint"), True)]
    endpoints += [ProxyEndpointFacts(str(e.get("DBProxyEndpointName")), _str(e, "Endpoint"), bool(e.get("IsDefault")))
                  for e in extra if not e.get("IsDefault")]
    return ProxyFacts(name=str(raw.get("DBProxyName")), engine_family=_str(raw, "EngineFamily"),
                      require_tls=_bool(raw, "RequireTLS"), status=_str(raw, "Status"), endpoints=tuple(endpoints))
