"""Which endpoints a cluster has, as AWS lists them, ready to be probed like ``--aurora-endpoint`` values."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Callable, Optional

from ..aws.clusters import ClusterInventory, Fetched
from ..errors import ProbeError
from ..settings.config import GuardSettings
from ..settings.endpoints import Endpoint, Engine
from ..wire.net import resolve_addresses

Resolver = Callable[[str, int], list[str]]


@dataclass(frozen=True)
class ClusterTarget:
    """One endpoint of a cluster: its role, AWS's name for it, and what is probed for it."""

    role: str  # "writer", "reader", "custom", "instance", "proxy"
    name: str  # the instance / endpoint / proxy identifier; the cluster's own id for writer and reader
    instance_id: Optional[str]
    endpoints: tuple[Endpoint, ...]  # one per address when the name resolves to several


def cluster_engine(engine: str) -> Engine:
    return Engine.POSTGRESQL if "postgres" in engine else Engine.MYSQL


def cluster_targets(inventory: ClusterInventory, settings: GuardSettings) -> tuple[ClusterTarget, ...]:
    """Writer, reader, custom endpoints, every instance and every proxy endpoint, in that order.

    Each address is routed through --aurora-connect-to and split per DNS address, so a
    round-robin name is probed at every server behind it.
    """
    cluster = inventory.cluster
    engine = cluster_engine(cluster.engine)
    port = cluster.port or engine.default_port
    cid = cluster.cluster_id
    found: list[tuple[str, str, Optional[str], str, int]] = []
    if cluster.writer_endpoint:
        found.append(("writer", cid, None, cluster.writer_endpoint, port))
    if cluster.reader_endpoint:
        found.append(("reader", cid, None, cluster.reader_endpoint, port))
    if isinstance(inventory.endpoints, Fetched):
        for custom in inventory.endpoints.value:
            if custom.endpoint_type == "CUSTOM" and custom.address:
                found.append(("custom", custom.endpoint_id, None, custom.address, port))
    if isinstance(inventory.instances, Fetched):
        for instance in inventory.instances.value:
            if instance.address:
                found.append(("instance", instance.instance_id, instance.instance_id, instance.address,
                              instance.port or port))
    if isinstance(inventory.proxies, Fetched):
        for proxy in inventory.proxies.value:
            for proxy_endpoint in proxy.endpoints:
                if proxy_endpoint.address:
                    name = proxy.name if proxy_endpoint.is_default else f"{proxy.name} {proxy_endpoint.name}"
                    # RDS Proxy listens on the engine's default port whatever the cluster's port is.
                    found.append(("proxy", name, None, proxy_endpoint.address, engine.default_port))
    targets = []
    for role, name, instance_id, address, target_port in found:
        title = f"{cid}/{role}" if role in ("writer", "reader") else f"{cid}/{role} {name}"
        endpoint = Endpoint(host=address, port=target_port, engine=engine, raw=address, title=title)
        targets.append(ClusterTarget(role, name, instance_id, tuple(per_address(settings.routed(endpoint)))))
    return tuple(targets)


def per_address(endpoint: Endpoint, resolve: Resolver = resolve_addresses) -> list[Endpoint]:
    """The endpoint once per address its TCP target resolves to (itself when one, or when DNS fails:
    the probe then reports the DNS failure as an error, never a pass)."""
    if endpoint.dial_port is None:
        return [endpoint]
    try:
        addresses = resolve(endpoint.dial_host, endpoint.dial_port)
    except ProbeError:
        return [endpoint]
    if len(addresses) <= 1:
        return [endpoint]
    return [endpoint.routed(address, endpoint.address_port) for address in addresses]


def expand_all(endpoints: Iterable[Endpoint]) -> list[Endpoint]:
    out: list[Endpoint] = []
    for endpoint in endpoints:
        for expanded in per_address(endpoint):
            if expanded not in out:
                out.append(expanded)
    return out
