"""pytest glue for the cluster gate: its options, the regions it reads, its plan, its summary lines.

``plugin.py`` calls :func:`add_options` from ``pytest_addoption``, :func:`configure` from
``pytest_configure`` and :func:`plan` while collecting; the items themselves are made there, next
to the endpoint items, so both kinds share one probe run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Callable

import pytest

from ..errors import ConfigurationError
from ..settings import options as opts
from ..settings.sources import resolve, split_list

if TYPE_CHECKING:
    from ..settings.config import GuardSettings
    from .gate import ClusterPlan

REGIONS_KEY = pytest.StashKey[Sequence[str]]()
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_LINELIST_INI = {opts.CONNECT_TO.ini, opts.CLUSTER.ini, opts.DISCOVER_FILTER.ini}


def add_options(parser: pytest.Parser, add: Callable[..., None]) -> None:
    """Register the cluster gate's options with ``add`` (plugin.py's helper) and their ini keys."""
    add(opts.CONNECT_TO, action="append", default=[], metavar="NAME[:PORT]=ADDRESS[:PORT]")
    add(opts.CLUSTER, action="append", default=[], metavar="CLUSTER_ID")
    add(opts.DISCOVER, action="store_const", const=True, default=None)
    add(opts.DISCOVER_FILTER, action="append", default=[], metavar="id=GLOB|tag:KEY=VALUE")
    add(opts.CERT_MIN_DAYS, default=None, metavar="DAYS")
    add(opts.ALLOWED_CAS, default=None, metavar="CA[,CA...]")
    for spec in opts.CLUSTER_OPTIONS:
        if spec.ini in _LINELIST_INI:
            parser.addini(spec.ini, help=spec.help, type="linelist", default=[])
        else:
            parser.addini(spec.ini, help=spec.help, type="string", default="")


def configure(config: pytest.Config, settings: GuardSettings) -> None:
    """Resolve the regions now, so a cluster gate without one is a usage error (the markers are the entry point's)."""
    if not settings.cluster_gate:
        return
    raw = resolve(config, dest="aurora_aws_regions", flag="--aws-region", env="AURORA_GUARD_AWS_REGION",
                  ini="aurora_aws_regions")
    try:
        regions = split_list(raw.value, raw.source) if raw is not None else []
    except ConfigurationError as exc:
        raise pytest.UsageError(f"aurora-guard: {exc}") from None
    if not regions:
        from ..aws.engine_defaults import default_region  # botocore's profile reading, only for a cluster gate

        region = default_region()
        regions = [region] if region else []
    if not regions:
        raise pytest.UsageError(
            "aurora-guard: --aurora-cluster / --aurora-discover need a region: give --aws-region "
            "(or AURORA_GUARD_AWS_REGION, AWS_REGION, or a region in the AWS profile)")
    for region in regions:
        if not _REGION.match(region):
            source = raw.source if raw is not None else "AWS_REGION / the AWS profile"
            raise pytest.UsageError(f"aurora-guard: {source}: {region!r} is not an AWS region name (e.g. us-east-1)")
    config.stash[REGIONS_KEY] = tuple(dict.fromkeys(regions))


def plan(config: pytest.Config, settings: GuardSettings) -> ClusterPlan:
    from .gate import ClusterPlan, plan_clusters  # the RDS API and the rules, only for a gate that runs

    if not settings.cluster_gate:
        return ClusterPlan()
    return plan_clusters(settings, config.stash[REGIONS_KEY])


def summary_lines(planned: ClusterPlan) -> list[str]:
    if not planned.clusters:
        return []
    lines = [f"aurora-guard clusters ({planned.api_calls} RDS API call(s)):"]
    lines += [f"  {cluster.facts()}" for cluster in planned.clusters]
    return lines


