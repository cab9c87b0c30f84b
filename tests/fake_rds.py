"""A wire-level fake of RDS's DescribeEngineDefaultClusterParameters (AWS Query protocol),
and, when a :class:`~tests.fake_rds_account.FakeAccount` is attached, of the cluster gate's calls.

moto does not implement this call, so the drift gate's tests talk real HTTP to this server on
127.0.0.1 through a real boto3 client (``AWS_ENDPOINT_URL_RDS``). The bodies follow botocore's
RDS service model (``data/rds/2014-10-31/service-2.json``): the output's resultWrapper
``DescribeEngineDefaultClusterParametersResult``, the ``EngineDefaults`` structure with its
``Marker`` and ``Parameters/Parameter`` list, and ``SupportedEngineModes/member`` items; errors
use the Query-protocol ``ErrorResponse`` body of botocore's fixture
``tests/unit/response_parsing/xml/errors/rds-describe-db-instances.xml``.
See ../shared/reference/aurora-tls-facts.md §1.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from tests.fake_rds_account import FakeAccount

ACTION = "DescribeEngineDefaultClusterParameters"
API_VERSION = "2014-10-31"
NAMESPACE = f"http://rds.amazonaws.com/doc/{API_VERSION}/"
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/rds/aws4_request")
_FIELD_ORDER = (
    "ParameterName",
    "ParameterValue",
    "Description",
    "Source",
    "ApplyType",
    "DataType",
    "AllowedValues",
    "IsModifiable",
    "MinimumEngineVersion",
    "ApplyMethod",
    "SupportedEngineModes",
)


def parameter(name: str, **fields: Any) -> dict[str, Any]:
    """A ``Parameter`` as RDS describes it; keyword names are the AWS member names.

    A member left out here is left out of the XML, as RDS does for a parameter without a
    default value (no ``ParameterValue`` element at all).
    """
    unknown = set(fields) - set(_FIELD_ORDER)
    if unknown:
        raise ValueError(f"not members of the Parameter shape: {sorted(unknown)}")
    defaults: dict[str, Any] = {
        "Description": f"{name} (fake)",
        "Source": "engine-default",
        "ApplyType": "dynamic",
        "DataType": "string",
        "IsModifiable": True,
        "ApplyMethod": "pending-reboot",
        "SupportedEngineModes": ["provisioned"],
    }
    return {"ParameterName": name, **defaults, **fields}


def filler(count: int, prefix: str = "fake_untracked_") -> list[dict[str, Any]]:
    """Untracked parameters, so a family spans several pages as real families do (300+)."""
    return [parameter(f"{prefix}{i:03d}", ParameterValue=str(i)) for i in range(count)]


@dataclass
class _Throttle:
    remaining: int
    code: str


@dataclass
class FakeRds:
    """The server's state; tests mutate it between runs. Keys are (region, family)."""

    families: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    requests: list[dict[str, str]] = field(default_factory=list)
    denial: Optional[tuple[int, str, str]] = None  # (HTTP status, code, message) for every call
    raw_reply: Optional[tuple[int, str]] = None  # (HTTP status, body) for every call
    account: Optional[FakeAccount] = None  # the cluster gate's calls (tests/fake_rds_account.py)
    # A broken paginator: "repeat" sends the same Marker on every page, "endless" a new one for ever.
    markers: str = "honest"
    _throttles: dict[tuple[str, str], _Throttle] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def serve(self, family: str, parameters: Sequence[Mapping[str, Any]], region: str = "us-east-1") -> None:
        self.families[(region, family)] = [dict(p) for p in parameters]

    def update_parameter(self, family: str, name: str, region: str = "us-east-1", **fields: Any) -> None:
        """Change members of one served parameter; a member set to None is removed."""
        for served in self.families[(region, family)]:
            if served["ParameterName"] == name:
                for key, value in fields.items():
                    if value is None:
                        served.pop(key, None)
                    else:
                        served[key] = value
                return
        raise KeyError(name)

    def throttle(self, family: str, times: int, region: str = "us-east-1", code: str = "Throttling") -> None:
        self._throttles[(region, family)] = _Throttle(times, code)

    def deny(self, code: str = "AccessDenied", message: str = "", status: int = 403) -> None:
        self.denial = (status, code, message or f"User is not authorized to perform: rds:{ACTION}")

    def calls_for(self, family: str, region: str = "us-east-1") -> int:
        return self.calls[(region, family)]

    def reset_counts(self) -> None:
        with self._lock:
            self.calls.clear()
            self.requests.clear()

    # -- the wire -------------------------------------------------------------------------------

    def handle(self, form: Mapping[str, str], authorization: str) -> tuple[int, str]:
        with self._lock:
            self.requests.append(dict(form))
            action = form.get("Action", "")
            if form.get("Version") != API_VERSION or (action != ACTION and self.account is None):
                return _error(400, "InvalidAction", f"Could not find operation {form.get('Action')}")
            scope = _CREDENTIAL_SCOPE.search(authorization)
            if scope is None:
                return _error(403, "MissingAuthenticationToken", "Request is missing Authentication Token")
            region = scope.group(1)
            if action != ACTION:
                assert self.account is not None
                return self.account.handle(action, form, region)
            family = form.get("DBParameterGroupFamily")
            if not family:
                return _error(400, "MissingParameter", "DBParameterGroupFamily is required")
            key = (region, family)
            self.calls[key] += 1
            if self.raw_reply is not None:
                return self.raw_reply
            if self.denial is not None:
                return _error(*self.denial)
            throttle = self._throttles.get(key)
            if throttle is not None and throttle.remaining > 0:
                throttle.remaining -= 1
                return _error(400, throttle.code, "Rate exceeded")
            max_records = form.get("MaxRecords", "100")
            if not max_records.isdigit() or not 20 <= int(max_records) <= 100:
                return _error(
                    400,
                    "InvalidParameterValue",
                    f"Invalid value {max_records} for MaxRecords. Must be between 20 and 100",
                )
            if key not in self.families:
                return _error(
                    400,
                    "InvalidParameterValue",
                    f"ParameterGroupFamily {family} is not a valid parameter group family",
                )
            served = self.families[key]
            if self.markers == "repeat":
                return 200, _page(family, served[:int(max_records)], f"{family}|stuck")
            if self.markers == "endless":
                return 200, _page(family, served[:int(max_records)], f"{family}|page-{self.calls[key]}")
            start = _offset(form.get("Marker"), family, len(served))
            if start is None:
                return _error(400, "InvalidParameterValue", "The marker is invalid or has expired")
            end = start + int(max_records)
            marker = f"{family}|{end}" if end < len(served) else None
            return 200, _page(family, served[start:end], marker)


def _offset(marker: Optional[str], family: str, size: int) -> Optional[int]:
    if marker is None:
        return 0
    name, _, offset = marker.rpartition("|")
    if name != family or not offset.isdigit() or not 0 < int(offset) < size:
        return None
    return int(offset)


def _page(family: str, parameters: Sequence[Mapping[str, Any]], marker: Optional[str]) -> str:
    items = "".join(f"<Parameter>{_members(p)}</Parameter>" for p in parameters)
    marker_xml = f"<Marker>{escape(marker)}</Marker>" if marker else ""
    return (
        f'<{ACTION}Response xmlns="{NAMESPACE}">'
        f"<{ACTION}Result><EngineDefaults>"
        f"<DBParameterGroupFamily>{escape(family)}</DBParameterGroupFamily>{marker_xml}"
        f"<Parameters>{items}</Parameters>"
        f"</EngineDefaults></{ACTION}Result>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        f"</{ACTION}Response>"
    )


def _members(served: Mapping[str, Any]) -> str:
    out = []
    for key in _FIELD_ORDER:
        if key not in served:
            continue
        value = served[key]
        if key == "SupportedEngineModes":
            inner = "".join(f"<member>{escape(v)}</member>" for v in value)
        elif isinstance(value, bool):
            inner = "true" if value else "false"
        else:
            inner = escape(str(value))
        out.append(f"<{key}>{inner}</{key}>")
    return "".join(out)


def _error(status: int, code: str, message: str) -> tuple[int, str]:
    body = (
        f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>Sender</Type>'
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return status, body


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8")
        form = {key: values[-1] for key, values in parse_qs(body, keep_blank_values=True).items()}
        status, reply = self.server.fake.handle(form, self.headers.get("Authorization", ""))
        payload = reply.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeRds) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


@contextmanager
def running_fake_rds() -> Iterator[FakeRds]:
    """Serve a fresh :class:`FakeRds` on 127.0.0.1:<free port> until the block ends."""
    fake = FakeRds()
    server = _Server(fake)
    host, port = server.server_address[:2]
    fake.url = f"http://{host}:{port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-rds", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- sample data ----------------------------------------------------------------------------------
# Test data *modelled on* ../shared/reference/aurora-tls-facts.md §2.1: the ``ssl_ciphers`` entry
# copies the captured ``aurora-postgresql11`` output (no ParameterValue, 23 AllowedValues in mixed
# naming, MinimumEngineVersion 11.8); the other parameters carry the documented default values
# with plausible metadata. It is not a capture of AWS.

FAMILY = "aurora-postgresql11"
REGION = "us-east-1"

# AWS's documented example credentials: obviously fake, shaped like real ones, so the
# tests can prove that the plugin scrubs them.
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLE-SESSION-TOKEN-never-print-me"

# aurora-postgresql11 ssl_ciphers AllowedValues as AWS has listed them since April 2023.
PG11_SSL_CIPHERS_2023 = (
    "DHE-RSA-AES128-SHA,DHE-RSA-AES128-SHA256,DHE-RSA-AES128-GCM-SHA256,DHE-RSA-AES256-SHA,"
    "DHE-RSA-AES256-SHA256,DHE-RSA-AES256-GCM-SHA384,ECDHE-RSA-AES128-SHA,ECDHE-RSA-AES128-SHA256,"
    "ECDHE-RSA-AES128-GCM-SHA256,ECDHE-RSA-AES256-SHA,ECDHE-RSA-AES256-SHA384,"
    "ECDHE-RSA-AES256-GCM-SHA384,TLS_RSA_WITH_AES_256_GCM_SHA384,TLS_RSA_WITH_AES_256_CBC_SHA,"
    "TLS_RSA_WITH_AES_128_GCM_SHA256,TLS_RSA_WITH_AES_128_CBC_SHA256,TLS_RSA_WITH_AES_128_CBC_SHA,"
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,"
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,"
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
)
# The same parameter's AllowedValues before April 2023 (3DES, anonymous ADH, keyword HIGH).
PG11_SSL_CIPHERS_2022 = (
    "ECDHE-RSA-AES256-GCM-SHA384,ECDHE-RSA-AES256-SHA384,AES256-SHA,AES128-SHA,DES-CBC3-SHA,"
    "ADH-DES-CBC3-SHA,EDH-RSA-DES-CBC3-SHA,EDH-DSS-DES-CBC3-SHA,ADH-AES256-SHA,DHE-RSA-AES256-SHA,"
    "DHE-DSS-AES256-SHA,ADH-AES128-SHA,DHE-RSA-AES128-SHA,DHE-DSS-AES128-SHA,HIGH"
)
# 23 tracked-looking + filler: 250 parameters = 3 pages of MaxRecords 100.
PG11_PAGES = 3
NEW_SUITE = "ECDHE-ECDSA-AES128-GCM-SHA256"  # not in the default allowlist


def add_suite(fake: FakeRds, suite: str) -> None:
    """AWS starts listing ``suite`` in aurora-postgresql11's ssl_ciphers: drift from the baseline."""
    served = next(p for p in fake.families[(REGION, FAMILY)] if p["ParameterName"] == "ssl_ciphers")
    fake.update_parameter(FAMILY, "ssl_ciphers", AllowedValues=f"{served['AllowedValues']},{suite}")


def pg11_parameters(untracked: int = 246) -> list[dict[str, Any]]:
    tracked = [
        parameter(
            "ssl_ciphers",
            Description="Sets the list of allowed TLS ciphers to be used on secure connections.",
            Source="engine-default",
            ApplyType="dynamic",
            DataType="list",
            AllowedValues=PG11_SSL_CIPHERS_2023,
            IsModifiable=True,
            MinimumEngineVersion="11.8",
            ApplyMethod="pending-reboot",
            SupportedEngineModes=["provisioned"],
        ),
        parameter("rds.force_ssl", ParameterValue="0", AllowedValues="0,1", DataType="boolean"),
        parameter(
            "ssl_min_protocol_version",
            ParameterValue="TLSv1.2",
            AllowedValues="TLSv1,TLSv1.1,TLSv1.2,TLSv1.3",
        ),
        parameter("ssl_max_protocol_version", AllowedValues="TLSv1,TLSv1.1,TLSv1.2,TLSv1.3"),
    ]
    # Tracked parameters spread over the pages, as AWS lists parameters alphabetically.
    rest = filler(untracked)
    return [*rest[:90], tracked[0], *rest[90:180], tracked[1], tracked[2], *rest[180:], tracked[3]]
