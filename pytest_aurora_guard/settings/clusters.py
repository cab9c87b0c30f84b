"""How users name Aurora clusters: identifiers, discovery filters, and the CA policy for their instances."""

from __future__ import annotations

import enum
import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError

# RDS DB cluster identifiers: 1-63 letters, digits or hyphens, starting with a letter, no two
# consecutive hyphens, not ending in one (CreateDBCluster, DBClusterIdentifier constraints).
# RDS stores them lower-case, so they are compared lower-case.
_CLUSTER_ID = re.compile(r"^[a-z](?:[a-z0-9]|-(?!-)){0,62}$")

DEFAULT_CERT_MIN_DAYS = 30
# The RDS CAs that rotate server certificates automatically; rds-ca-2019 expired in August 2024.
DEFAULT_ALLOWED_CAS = ("rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1")


def parse_cluster_id(text: str) -> str:
    cluster = text.strip().lower()
    if not _CLUSTER_ID.match(cluster) or cluster.endswith("-"):
        raise ConfigurationError(
            f"{text!r} is not a DB cluster identifier (1-63 letters, digits and single hyphens, starting "
            "with a letter); give the identifier `aws rds describe-db-clusters` shows, not an endpoint"
        )
    return cluster


class FilterKind(enum.Enum):
    ID = "id"
    TAG = "tag"


@dataclass(frozen=True)
class DiscoverFilter:
    """``id=GLOB`` or ``tag:KEY=VALUE``; a cluster is taken when every filter matches."""

    kind: FilterKind
    key: str
    value: str
    raw: str

    def matches(self, cluster_id: str, tags: Mapping[str, str]) -> bool:
        if self.kind is FilterKind.ID:
            return fnmatch.fnmatchcase(cluster_id, self.value.lower())
        return tags.get(self.key) == self.value


def parse_discover_filter(text: str) -> DiscoverFilter:
    raw = text.strip()
    name, sep, value = raw.partition("=")
    if sep and name == "id" and value:
        return DiscoverFilter(FilterKind.ID, "id", value, raw)
    if sep and name.startswith("tag:") and len(name) > 4:
        return DiscoverFilter(FilterKind.TAG, name[4:], value, raw)
    raise ConfigurationError(
        f"discovery filter {raw!r}: write id=GLOB (e.g. id=prod-*) or tag:KEY=VALUE (e.g. tag:data=ephi)"
    )


def parse_cert_min_days(value: Any) -> int:
    text = str(value).strip()
    if not text.isdigit() or not 0 <= int(text) <= 3650:
        raise ConfigurationError(f"{value!r}: give a whole number of days from 0 to 3650")
    return int(text)


def parse_allowed_cas(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, (list, tuple)) else str(value).replace("\n", ",").split(",")
    cas = tuple(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))
    if not cas:
        raise ConfigurationError(f"{value!r}: name at least one CA identifier, e.g. rds-ca-rsa2048-g1")
    for ca in cas:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$", ca):
            raise ConfigurationError(f"{ca!r} is not an RDS CA identifier (e.g. rds-ca-rsa2048-g1)")
    return cas
