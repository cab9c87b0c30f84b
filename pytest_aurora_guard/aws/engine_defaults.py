"""Read AWS's engine defaults for a DB parameter group family, every page of them.

Plain boto3: the standard session honours the credential chain, ``AWS_PROFILE``, the shared
config file and ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_RDS`` (botocore's
``EnvironmentProvider`` looks the service variable up first, then the global one). Every
botocore failure is turned into an :class:`~pytest_aurora_guard.errors.AwsApiError` subclass
whose message says what was asked, of which endpoint, what came back and what to change, with
the credentials' own values scrubbed from it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Optional

from ..errors import AwsApiError, UnknownEngineFamilyError
from .client import RdsClients

OPERATION = "DescribeEngineDefaultClusterParameters"

# MaxRecords must lie in 20..100 (service-2.json doc string); the maximum costs fewest calls.
PAGE_SIZE = 100
# Aurora families have 300-500 parameters (4-5 pages); 50 pages means a paginator gone wrong.
MAX_PAGES = 50

# botocore (1.43) reads only AWS_DEFAULT_REGION; AWS_REGION is what the other SDKs and the
# AWS CLI read, so we honour it first (boto/boto3#3620).
REGION_ENV_VARS = ("AWS_REGION", "AWS_DEFAULT_REGION")

@dataclass(frozen=True)
class EngineParameter:
    """One ``Parameter`` element as RDS sent it; ``None`` wherever RDS left the field out."""

    name: str
    value: Optional[str]
    allowed_values: Optional[str]
    source: Optional[str]
    apply_type: Optional[str]
    data_type: Optional[str]
    is_modifiable: Optional[bool]
    apply_method: Optional[str]
    minimum_engine_version: Optional[str]
    description: Optional[str]


@dataclass(frozen=True)
class FetchedEngineDefaults:
    """Every parameter of one family in one region, and what it cost to read them."""

    region: str
    family: str
    endpoint: str
    parameters: tuple[EngineParameter, ...]
    pages: int


def default_region(environ: Mapping[str, str] = os.environ) -> Optional[str]:
    """The region the user's AWS setup names: ``AWS_REGION``, then botocore's own lookup."""
    for name in REGION_ENV_VARS:
        value = environ.get(name, "").strip()
        if value:
            return value
    import boto3  # only now: most runs never need the region lookup
    import botocore.exceptions

    try:
        region: Optional[str] = boto3.session.Session().region_name
    except botocore.exceptions.BotoCoreError:  # e.g. AWS_PROFILE names no profile
        return None
    return region


class EngineDefaultsReader:
    """Fetches engine defaults through one boto3 session and one RDS client per region."""

    def __init__(self, clients: Optional[RdsClients] = None) -> None:
        self._clients = clients or RdsClients()

    def fetch(self, region: str, family: str) -> FetchedEngineDefaults:
        """Read every page of ``DescribeEngineDefaultClusterParameters`` for ``family``.

        Raises an ``AwsApiError`` subclass on any failure; never returns partial data.
        """
        where = f"{OPERATION} for family {family!r} in region {region}"
        parameters: list[EngineParameter] = []
        pages = 0
        def unknown_family(code: str, answer: str) -> Optional[AwsApiError]:
            if code != "InvalidParameterValue":
                return None
            return UnknownEngineFamilyError(
                f"{answer} Check the family name {family!r} against `aws rds "
                f"describe-db-engine-versions --region {region} --query "
                f"'DBEngineVersions[].DBParameterGroupFamily'`, and fix --aurora-engine-family, "
                "aurora_engine_families or the baseline file name."
            )

        with self._clients.calling(where, OPERATION, unknown_family):
            client = self._clients.client(region, OPERATION)
        endpoint = str(client.meta.endpoint_url)
        where = f"{where} at {endpoint}"
        with self._clients.calling(where, OPERATION, unknown_family):
            paginator = client.get_paginator("describe_engine_default_cluster_parameters")
            seen_markers: set[str] = set()
            for page in paginator.paginate(DBParameterGroupFamily=family, PaginationConfig={"PageSize": PAGE_SIZE}):
                pages += 1
                parameters.extend(_parse_page(page, family, where, pages))
                _check_progress(page, seen_markers, where, pages)
        if not parameters:
            # A retired or misspelled family can come back as an empty EngineDefaults
            # (botocore's examples-1.json shows exactly that for "aurora5.6").
            raise UnknownEngineFamilyError(
                f"{where} returned no parameters at all ({pages} page(s)). RDS does not know "
                f"this family here: check the spelling against `aws rds "
                f"describe-db-engine-versions --region {region} --query "
                f"'DBEngineVersions[].DBParameterGroupFamily'`."
            )
        return FetchedEngineDefaults(region, family, endpoint, tuple(parameters), pages)


def _check_progress(page: Mapping[str, Any], seen: set[str], where: str, number: int) -> None:
    """Stop a paginator that would never end: a Marker seen before, or far more pages than any family has.

    botocore only notices the same token twice in a row; a cycle (A, B, A) or an ever-new Marker
    would loop until the job's timeout, with every parameter counted several times.
    """
    defaults = page.get("EngineDefaults")
    marker = defaults.get("Marker") if isinstance(defaults, Mapping) else None  # output token EngineDefaults.Marker
    if isinstance(marker, str) and marker:
        if marker in seen:
            raise AwsApiError(
                f"{where}: page {number} sent Marker {marker[:80]!r} again, so the pages would never end; "
                "nothing was compared. RDS (or whatever answers at this endpoint) is misbehaving: retry later, "
                "and check AWS_ENDPOINT_URL_RDS / AWS_ENDPOINT_URL if set."
            )
        seen.add(marker)
        if number >= MAX_PAGES:
            raise AwsApiError(
                f"{where}: still paginating after {number} pages of {PAGE_SIZE} (no Aurora family has more than a "
                f"few hundred parameters); stopped, nothing was compared. Check AWS_ENDPOINT_URL_RDS / "
                "AWS_ENDPOINT_URL, if set."
            )


def _parse_page(page: Mapping[str, Any], family: str, where: str, number: int) -> Iterator[EngineParameter]:
    """Check one page's shape instead of trusting it: an unexpected body is an error, never []."""
    defaults = page.get("EngineDefaults")
    if not isinstance(defaults, Mapping):
        raise AwsApiError(f"{where}: page {number} has no EngineDefaults element: {page!r:.300}")
    answered_family = defaults.get("DBParameterGroupFamily")
    if answered_family not in (None, family):
        raise AwsApiError(f"{where}: page {number} describes family {answered_family!r}, not {family!r}.")
    raw_parameters = defaults.get("Parameters", [])
    if not isinstance(raw_parameters, list):
        raise AwsApiError(f"{where}: page {number} has malformed Parameters: {raw_parameters!r:.300}")
    for raw in raw_parameters:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("ParameterName"), str):
            raise AwsApiError(f"{where}: page {number} has a parameter without a name: {raw!r:.300}")
        yield EngineParameter(
            name=raw["ParameterName"],
            value=_optional(raw, "ParameterValue", str, where),
            allowed_values=_optional(raw, "AllowedValues", str, where),
            source=_optional(raw, "Source", str, where),
            apply_type=_optional(raw, "ApplyType", str, where),
            data_type=_optional(raw, "DataType", str, where),
            is_modifiable=_optional(raw, "IsModifiable", bool, where),
            apply_method=_optional(raw, "ApplyMethod", str, where),
            minimum_engine_version=_optional(raw, "MinimumEngineVersion", str, where),
            description=_optional(raw, "Description", str, where),
        )


def _optional(raw: Mapping[str, Any], key: str, kind: type[Any], where: str) -> Any:
    value = raw.get(key)
    if value is not None and not isinstance(value, kind):
        raise AwsApiError(
            f"{where}: parameter {raw.get('ParameterName')!r} has {key}={value!r}, expected {kind.__name__}."
        )
    return value
