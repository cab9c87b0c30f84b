"""A fake RDS account for the cluster gate: clusters, instances, endpoints, parameter groups, CAs, proxies.

Served through :class:`tests.fake_rds.FakeRds` (real HTTP, real boto3 client, AWS Query protocol).
moto 5.2 has no ``DescribeDBClusterEndpoints`` and no ``DescribeCertificates``, its
``DescribeDBClusterParameters`` returns only user-set values (real AWS returns every parameter,
engine defaults included, over several pages), and one ``AWS_ENDPOINT_URL_RDS`` must answer every
call, so the whole account lives here. Every response body is built from botocore's own RDS
service model (``data/rds/2014-10-31/service-2.json``): element names, list member names
(``DBCluster``, ``member``, ...), the result wrapper, and value types all come from the shapes, and
a field the model does not define is a test error rather than a silently accepted invention.
The account states are modelled on the documented behaviour, not captured from AWS.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional
from xml.sax.saxutils import escape

import botocore.session

API_VERSION = "2014-10-31"
NAMESPACE = f"http://rds.amazonaws.com/doc/{API_VERSION}/"
ACCOUNT_ID = "123456789012"
_MODEL = botocore.session.get_session().get_service_model("rds")

# action -> (the list member holding the items, the request member that pages it)
LISTS = {
    "DescribeDBClusters": "DBClusters",
    "DescribeDBInstances": "DBInstances",
    "DescribeDBClusterEndpoints": "DBClusterEndpoints",
    "DescribeDBClusterParameters": "Parameters",
    "DescribeCertificates": "Certificates",
    "DescribeDBProxies": "DBProxies",
    "DescribeDBProxyEndpoints": "DBProxyEndpoints",
    "DescribeDBProxyTargets": "Targets",
}


def serialize(action: str, result: Mapping[str, Any]) -> str:
    """The Query-protocol XML body for ``action`` built from botocore's output shape."""
    output = _MODEL.operation_model(action).output_shape
    wrapper = output.serialization["resultWrapper"]
    return (f'<{action}Response xmlns="{NAMESPACE}"><{wrapper}>{_members(output, result)}</{wrapper}>'
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></{action}Response>")


def _members(shape: Any, data: Mapping[str, Any]) -> str:
    unknown = set(data) - set(shape.members)
    if unknown:
        raise ValueError(f"not members of {shape.name} in botocore's RDS model: {sorted(unknown)}")
    out = []
    for name, member in shape.members.items():
        if name in data and data[name] is not None:
            tag = member.serialization.get("name", name)
            out.append(f"<{tag}>{_value(member, data[name])}</{tag}>")
    return "".join(out)


def _value(shape: Any, value: Any) -> str:
    kind = shape.type_name
    if kind == "structure":
        return _members(shape, value)
    if kind == "list":
        tag = shape.member.serialization.get("name", "member")
        return "".join(f"<{tag}>{_value(shape.member, item)}</{tag}>" for item in value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"{shape.name} must be a boolean, not {value!r}")
        return "true" if value else "false"
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{shape.name} must be an integer, not {value!r}")
        return str(value)
    if kind == "timestamp":
        if not isinstance(value, datetime.datetime):
            raise ValueError(f"{shape.name} must be a datetime, not {value!r}")
        return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return escape(str(value))


def error_body(code: str, message: str) -> str:
    return (f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>Sender</Type><Code>{escape(code)}</Code>'
            f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")


# -- the account ----------------------------------------------------------------------------------

SUFFIX = "c9akciq32.us-east-1.rds.amazonaws.com"
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
CA_VALIDITY = {  # from the `aws rds describe-certificates` example (us-west-2), see the README's sources
    "rds-ca-2019": datetime.datetime(2024, 8, 22, 17, 8, 50, tzinfo=datetime.timezone.utc),
    "rds-ca-rsa2048-g1": datetime.datetime(2061, 5, 24, 22, 59, tzinfo=datetime.timezone.utc),
    "rds-ca-rsa4096-g1": datetime.datetime(2121, 5, 24, 23, 3, 20, tzinfo=datetime.timezone.utc),
    "rds-ca-ecc384-g1": datetime.datetime(2121, 5, 24, 23, 6, 59, tzinfo=datetime.timezone.utc),
}


def writer_name(cluster_id: str) -> str:
    return f"{cluster_id}.cluster-{SUFFIX}"


def reader_name(cluster_id: str) -> str:
    return f"{cluster_id}.cluster-ro-{SUFFIX}"


def instance_name(instance_id: str) -> str:
    return f"{instance_id}.{SUFFIX}"


def custom_name(endpoint_id: str) -> str:
    return f"{endpoint_id}.cluster-custom-{SUFFIX}"


def proxy_name(proxy: str) -> str:
    return f"{proxy}.proxy-{SUFFIX}"


def cluster_parameter(name: str, value: Optional[str], source: str = "user", apply_type: str = "dynamic",
                      allowed: Optional[str] = None) -> dict[str, Any]:
    return {"ParameterName": name, "ParameterValue": value, "Source": source, "ApplyType": apply_type,
            "DataType": "string", "AllowedValues": allowed, "IsModifiable": True,
            "ApplyMethod": "pending-reboot" if apply_type == "static" else "immediate"}


def full_group(tls: Sequence[dict[str, Any]], filler: int = 230) -> list[dict[str, Any]]:
    """Every parameter of a group as real AWS lists it: hundreds of engine defaults, alphabetical."""
    rest = [cluster_parameter(f"zz_fake_default_{i:03d}", str(i), source="engine-default") for i in range(filler)]
    return sorted([*tls, *rest], key=lambda p: str(p["ParameterName"]))


@dataclass
class Instance:
    instance_id: str
    writer: bool = False
    status: str = "in-sync"  # DBClusterParameterGroupStatus
    ca: str = "rds-ca-rsa2048-g1"
    cert_valid_till: Optional[datetime.datetime] = field(default_factory=lambda: NOW + datetime.timedelta(days=365))
    certificate_details: bool = True


@dataclass
class Cluster:
    cluster_id: str
    engine: str
    engine_version: str
    parameter_group: str
    instances: list[Instance]
    port: int = 5432
    encrypted: bool = True
    iam_auth: bool = False
    custom_endpoints: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    cluster_endpoints: bool = True  # False: no writer/reader endpoint (the fleet benchmark's exact counts)


@dataclass
class Proxy:
    name: str
    cluster_id: str
    engine_family: str
    require_tls: bool = True
    extra_endpoints: tuple[str, ...] = ()


@dataclass
class FakeAccount:
    """The state the fake serves; tests mutate it. ``denied`` actions answer AccessDenied (403)."""

    region: str = "us-east-1"
    clusters: list[Cluster] = field(default_factory=list)
    groups: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    proxies: list[Proxy] = field(default_factory=list)
    denied: set[str] = field(default_factory=set)
    calls: Counter[str] = field(default_factory=Counter)

    def handle(self, action: str, form: Mapping[str, str], region: str) -> tuple[int, str]:
        if action not in LISTS:
            return 400, error_body("InvalidAction", f"Could not find operation {action}")
        self.calls[action] += 1
        if action in self.denied:
            return 403, error_body("AccessDenied", f"User: arn:aws:iam::{ACCOUNT_ID}:user/guard is not authorized "
                                   f"to perform: rds:{action} on resource: arn:aws:rds:{region}:{ACCOUNT_ID}:*")
        max_records = form.get("MaxRecords", "100")
        if not max_records.isdigit() or not 20 <= int(max_records) <= 100:
            return 400, error_body("InvalidParameterValue", f"Invalid value {max_records} for MaxRecords")
        items = [] if region != self.region else getattr(self, f"_{_snake(action)}")(form)
        if isinstance(items, tuple):  # (status, body): a fault
            return items
        start = int(form.get("Marker", "0") or 0)
        end = start + int(max_records)
        result: dict[str, Any] = {LISTS[action]: items[start:end]}
        if end < len(items):
            result["Marker"] = str(end)
        if action == "DescribeCertificates":
            result["DefaultCertificateForNewLaunches"] = "rds-ca-rsa2048-g1"
        return 200, serialize(action, result)

    # -- the answers --------------------------------------------------------------------------

    def _describe_db_clusters(self, form: Mapping[str, str]) -> Any:
        wanted = _filter_values(form, "db-cluster-id")
        one = form.get("DBClusterIdentifier")
        clusters = [c for c in self.clusters if (wanted is None or c.cluster_id in wanted)
                    and (one is None or c.cluster_id == one)]
        if one is not None and not clusters:
            return 404, error_body("DBClusterNotFoundFault", f"DBCluster {one} not found.")
        return [self._cluster(c) for c in clusters]

    def _cluster(self, c: Cluster) -> dict[str, Any]:
        return {
            "DBClusterIdentifier": c.cluster_id, "Engine": c.engine, "EngineVersion": c.engine_version,
            "Status": "available",
            "Endpoint": writer_name(c.cluster_id) if c.cluster_endpoints else None,
            "ReaderEndpoint": reader_name(c.cluster_id) if c.cluster_endpoints else None,
            "CustomEndpoints": [custom_name(e) for e in c.custom_endpoints], "Port": c.port,
            "DBClusterParameterGroup": c.parameter_group, "StorageEncrypted": c.encrypted,
            "KmsKeyId": f"arn:aws:kms:{self.region}:{ACCOUNT_ID}:key/{uuid.uuid5(uuid.NAMESPACE_DNS, c.cluster_id)}"
            if c.encrypted else None,
            "IAMDatabaseAuthenticationEnabled": c.iam_auth, "EngineMode": "provisioned",
            "DBClusterMembers": [{"DBInstanceIdentifier": i.instance_id, "IsClusterWriter": i.writer,
                                  "DBClusterParameterGroupStatus": i.status, "PromotionTier": 1}
                                 for i in c.instances],
            "TagList": [{"Key": k, "Value": v} for k, v in c.tags.items()],
            "DBClusterArn": f"arn:aws:rds:{self.region}:{ACCOUNT_ID}:cluster:{c.cluster_id}",
        }

    def _describe_db_instances(self, form: Mapping[str, str]) -> Any:
        wanted = _filter_values(form, "db-cluster-id")
        out = []
        for c in self.clusters:
            if wanted is not None and c.cluster_id not in wanted:
                continue
            for i in c.instances:
                details = {"CAIdentifier": i.ca, "ValidTill": i.cert_valid_till} if i.certificate_details else None
                out.append({
                    "DBInstanceIdentifier": i.instance_id, "Engine": c.engine, "EngineVersion": c.engine_version,
                    "DBInstanceStatus": "available", "DBClusterIdentifier": c.cluster_id,
                    "Endpoint": {"Address": instance_name(i.instance_id), "Port": c.port},
                    "StorageEncrypted": c.encrypted, "CACertificateIdentifier": i.ca, "CertificateDetails": details,
                    "IAMDatabaseAuthenticationEnabled": c.iam_auth,
                })
        return out

    def _describe_db_cluster_endpoints(self, form: Mapping[str, str]) -> Any:
        one = form.get("DBClusterIdentifier")
        out = []
        for c in self.clusters:
            if one is not None and c.cluster_id != one:
                continue
            listed = (("WRITER", writer_name(c.cluster_id)), ("READER", reader_name(c.cluster_id)))
            for kind, address in listed if c.cluster_endpoints else ():
                out.append({"DBClusterEndpointIdentifier": c.cluster_id, "DBClusterIdentifier": c.cluster_id,
                            "Endpoint": address, "Status": "available", "EndpointType": kind})
            for endpoint_id in c.custom_endpoints:
                out.append({"DBClusterEndpointIdentifier": endpoint_id, "DBClusterIdentifier": c.cluster_id,
                            "Endpoint": custom_name(endpoint_id), "Status": "available", "EndpointType": "CUSTOM",
                            "CustomEndpointType": "ANY"})
        return out

    def _describe_db_cluster_parameters(self, form: Mapping[str, str]) -> Any:
        name = form.get("DBClusterParameterGroupName", "")
        if name not in self.groups:
            return 404, error_body("DBParameterGroupNotFound", f"DBClusterParameterGroup not found: {name}")
        source = form.get("Source")
        return [p for p in self.groups[name] if source is None or p["Source"] == source]

    def _describe_certificates(self, form: Mapping[str, str]) -> Any:
        return [{"CertificateIdentifier": ca, "CertificateType": "CA", "ValidTill": till,
                 "ValidFrom": datetime.datetime(2019 if ca == "rds-ca-2019" else 2021, 5, 24,
                                                tzinfo=datetime.timezone.utc),
                 "CertificateArn": f"arn:aws:rds:{self.region}::cert:{ca}"} for ca, till in CA_VALIDITY.items()]

    def _describe_db_proxies(self, form: Mapping[str, str]) -> Any:
        return [{"DBProxyName": p.name, "Status": "available", "EngineFamily": p.engine_family,
                 "Endpoint": proxy_name(p.name), "RequireTLS": p.require_tls,
                 "DBProxyArn": f"arn:aws:rds:{self.region}:{ACCOUNT_ID}:db-proxy:prx-{p.name}"} for p in self.proxies]

    def _describe_db_proxy_endpoints(self, form: Mapping[str, str]) -> Any:
        one = form.get("DBProxyName")
        out = []
        for p in self.proxies:
            if one is not None and p.name != one:
                continue
            out.append({"DBProxyEndpointName": "default", "DBProxyName": p.name, "Endpoint": proxy_name(p.name),
                        "Status": "available", "TargetRole": "READ_WRITE", "IsDefault": True})
            out += [{"DBProxyEndpointName": e, "DBProxyName": p.name, "Endpoint": proxy_name(f"{p.name}-{e}"),
                     "Status": "available", "TargetRole": "READ_ONLY", "IsDefault": False}
                    for e in p.extra_endpoints]
        return out

    def _describe_db_proxy_targets(self, form: Mapping[str, str]) -> Any:
        name = form.get("DBProxyName")
        proxy = next((p for p in self.proxies if p.name == name), None)
        if proxy is None:
            return 404, error_body("DBProxyNotFoundFault", f"DBProxy {name} not found.")
        return [{"Type": "TRACKED_CLUSTER", "TrackedClusterId": proxy.cluster_id, "RdsResourceId": proxy.cluster_id,
                 "Role": "UNKNOWN"}]


def _snake(action: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", action.replace("DB", "Db")).lower()


def _filter_values(form: Mapping[str, str], name: str) -> Optional[set[str]]:
    """Values of the ``Filters.Filter.N`` whose Name is ``name`` (botocore's Query serialisation)."""
    for key, value in form.items():
        match = re.fullmatch(r"Filters\.Filter\.(\d+)\.Name", key)
        if match and value == name:
            prefix = f"Filters.Filter.{match.group(1)}.Values.Value."
            return {v for k, v in form.items() if k.startswith(prefix)}
    return None
