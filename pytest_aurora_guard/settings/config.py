"""One frozen settings object, built once from command line, environment and ini.

Precedence: command line > ``AURORA_GUARD_*`` environment variable > ini key. Every value is
validated here, so a typo is a usage error before any network traffic, naming where it was set.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

from ..errors import ConfigurationError
from ..tls.allowlist import CipherAllowlist, default_allowlist, parse_allowlist
from ..tls.versions import TlsVersion
from .clusters import (
    DEFAULT_ALLOWED_CAS,
    DEFAULT_CERT_MIN_DAYS,
    DiscoverFilter,
    parse_allowed_cas,
    parse_cert_min_days,
    parse_cluster_id,
    parse_discover_filter,
)
from .credentials import DbSecret, Secret
from .endpoints import ConnectTo, Endpoint, Engine, apply_connect_to, parse_connect_to, parse_endpoint
from .options import (
    ALLOWED_CAS,
    ALLOWLIST,
    CA_BUNDLE,
    CANARY_PASSWORD,
    CANARY_USER,
    CERT_MIN_DAYS,
    CLUSTER,
    CONNECT_TO,
    DBNAME,
    DISCOVER,
    DISCOVER_FILTER,
    ENDPOINT,
    ENDPOINT_BUDGET,
    ENGINE,
    IAM_AUTH,
    MIN_TLS,
    PASSWORD,
    PROXY_CA_BUNDLE,
    REPORT,
    REQUIRE,
    SARIF,
    SECRET_ID,
    TIMEOUT,
    USER,
    WAIVERS,
    OptionSpec,
)
from .sources import RawSetting, _ConfigLike, ini_relative_path, resolve, split_list

DEFAULT_TIMEOUT = 10.0
# Long enough for the slowest honest endpoint we know (a cross-region MySQL at ~40 connections
# of a few hundred ms each), short enough that a server trickling bytes just inside
# --aurora-timeout on every step cannot hold the pipeline for many minutes.
DEFAULT_ENDPOINT_BUDGET = 120.0
DEFAULT_PROBE_USER = "pytest_aurora_guard_probe"
DEFAULT_DBNAME = "postgres"


@dataclass(frozen=True)
class GuardSettings:
    endpoints: tuple[Endpoint, ...] = ()
    min_tls: TlsVersion = TlsVersion.TLSv1_3
    allowlist: CipherAllowlist = field(default_factory=default_allowlist)
    timeout: float = DEFAULT_TIMEOUT
    endpoint_budget: float = DEFAULT_ENDPOINT_BUDGET
    user: Optional[str] = None
    dbname: Optional[str] = None
    password: Optional[Secret] = None
    ca_bundle: Optional[Path] = None
    proxy_ca_bundle: Optional[Path] = None
    report_path: Optional[Path] = None
    sarif_path: Optional[Path] = None
    waivers_path: Optional[Path] = None  # read and validated by the plugin (evidence.waivers), before traffic
    credentials_source: Optional[str] = None  # where user and password came from, when not the options
    iam_auth: bool = False
    connect_to: tuple[ConnectTo, ...] = ()
    clusters: tuple[str, ...] = ()
    discover: bool = False
    discover_filters: tuple[DiscoverFilter, ...] = ()
    cert_min_days: int = DEFAULT_CERT_MIN_DAYS
    allowed_cas: tuple[str, ...] = DEFAULT_ALLOWED_CAS
    require: bool = False
    canary_user: Optional[str] = None
    canary_password: Optional[str] = None  # public by design: it is sent without TLS

    @property
    def active(self) -> bool:
        """Inert unless an endpoint or a cluster is configured: no network, no items."""
        return bool(self.endpoints) or self.cluster_gate

    @property
    def cluster_gate(self) -> bool:
        """Clusters named or discovery asked for: the gate reads the RDS API."""
        return bool(self.clusters) or self.discover

    def routed(self, endpoint: Endpoint) -> Endpoint:
        """``endpoint`` with the first matching --aurora-connect-to rule applied."""
        return apply_connect_to(endpoint, self.connect_to)

    @property
    def has_credentials(self) -> bool:
        return self.user is not None

    @property
    def probe_user(self) -> str:
        return self.user or DEFAULT_PROBE_USER

    def below_floor(self) -> list[TlsVersion]:
        return self.min_tls.below()


T = TypeVar("T")


def _validated(raw: Optional[RawSetting], parse: Callable[[Any], T], default: T) -> T:
    if raw is None:
        return default
    try:
        return parse(raw.value)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{raw.source}: {exc}") from None


def _listed(raw: Optional[RawSetting], parse: Callable[[str], T]) -> list[T]:
    """Each item of a repeatable setting parsed, an error naming where the bad one was set."""
    if raw is None:
        return []
    out: list[T] = []
    for text in split_list(raw.value, raw.source):
        try:
            out.append(parse(text))
        except ConfigurationError as exc:
            raise ConfigurationError(f"{raw.source}: {exc}") from None
    return out


def _parse_flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{value!r} is not a yes/no value; use true or false")


def _seconds(value: Any, what: str, maximum: float) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{value!r} is not a number of seconds") from None
    if not math.isfinite(seconds) or not 0 < seconds <= maximum:
        raise ConfigurationError(f"{value!r}: {what} must be more than 0 and at most {maximum:g} seconds")
    return seconds


def parse_timeout(value: Any) -> float:
    return _seconds(value, "the timeout", 600)


def parse_endpoint_budget(value: Any) -> float:
    return _seconds(value, "the endpoint budget", 3600)


def parse_min_tls(value: Any) -> TlsVersion:
    version = TlsVersion.parse(str(value))
    if version is TlsVersion.SSLv3:
        raise ConfigurationError("SSLv3 cannot be a floor; use TLSv1.2 or TLSv1.3")
    return version


def build_settings(config: _ConfigLike, environ: Mapping[str, str] = os.environ,
                   fetch_secret: Optional[Callable[[str], DbSecret]] = None) -> GuardSettings:
    """Resolve and validate every setting; raise ConfigurationError naming the offending source.

    ``fetch_secret`` reads --aurora-secret-id (the aws layer's GetSecretValue); it is called last,
    once everything else is valid, so a typo never costs an AWS call.
    """

    def get(spec: OptionSpec) -> Optional[RawSetting]:
        return resolve(config, dest=spec.dest, flag=spec.flag, env=spec.env, ini=spec.ini, environ=environ)

    engine = _validated(get(ENGINE), lambda v: Engine.parse(str(v)), None)
    raw_endpoints = get(ENDPOINT)
    endpoints: list[Endpoint] = []
    if raw_endpoints is not None:
        for text in split_list(raw_endpoints.value, raw_endpoints.source):
            endpoint = _validated(RawSetting(text, raw_endpoints.source),
                                  lambda v: parse_endpoint(str(v), engine), None)
            assert endpoint is not None
            if endpoint.port is None:
                raise ConfigurationError(
                    f"{raw_endpoints.source}: endpoint {text!r} has neither a port nor an engine; write "
                    "postgresql://HOST or mysql://HOST, HOST:PORT, or set --aurora-engine"
                )
            if endpoint not in endpoints:
                endpoints.append(endpoint)

    allowlist_raw = get(ALLOWLIST)
    allowlist = default_allowlist()
    if allowlist_raw is not None:
        base = config.inipath.parent if allowlist_raw.source.startswith("ini") and config.inipath else None
        allowlist = parse_allowlist(str(allowlist_raw.value), allowlist_raw.source, base)

    ca_bundle = _bundle(config, get(CA_BUNDLE))
    proxy_ca_bundle = _bundle(config, get(PROXY_CA_BUNDLE))

    user_raw = get(USER)
    dbname_raw = get(DBNAME)
    password_raw = get(PASSWORD)
    secret_raw = get(SECRET_ID)
    if secret_raw is not None and password_raw is not None:
        raise ConfigurationError(f"{secret_raw.source} and {password_raw.source} both give the probe account's "
                                 "password; keep one of them")
    iam_raw = get(IAM_AUTH)
    iam_auth = _validated(iam_raw, _parse_flag, False)
    if iam_auth and (password_raw is not None or secret_raw is not None):
        other = password_raw if password_raw is not None else secret_raw
        assert other is not None
        assert iam_raw is not None
        raise ConfigurationError(f"{iam_raw.source} and {other.source} are both set: "
                                 "an IAM token replaces the password; keep one of them")
    if iam_auth and user_raw is None:
        raise ConfigurationError("--aurora-iam-auth needs --aurora-user: the database user the token is for "
                                 "(created with GRANT rds_iam / IDENTIFIED WITH AWSAuthenticationPlugin)")
    password: Optional[Secret] = None
    if password_raw is not None:
        value = password_raw.value
        password = value if isinstance(value, Secret) else Secret(str(value))
        if user_raw is None:
            raise ConfigurationError(
                f"{password_raw.source} is set but --aurora-user is not; set both or neither"
            )
    elif user_raw is not None and secret_raw is None and not iam_auth:
        # Without a password every driver check could only error; say so once, before any traffic.
        raise ConfigurationError(
            f"{user_raw.source} is set ({str(user_raw.value)!r}) but no password is: set AURORA_GUARD_PASSWORD "
            "(or --aurora-password), or drop the user to run the credential-free checks only"
        )

    connect_to = tuple(_listed(get(CONNECT_TO), parse_connect_to))
    clusters = tuple(dict.fromkeys(_listed(get(CLUSTER), parse_cluster_id)))
    discover = _validated(get(DISCOVER), _parse_flag, False)
    if clusters and discover:
        raise ConfigurationError(
            "--aurora-cluster and --aurora-discover are both set; name the clusters, or discover them, not both"
        )
    filters_raw = get(DISCOVER_FILTER)
    discover_filters = tuple(_listed(filters_raw, parse_discover_filter))
    if filters_raw is not None and discover_filters and not discover:
        raise ConfigurationError(
            f"{filters_raw.source} is set but --aurora-discover is not; add --aurora-discover "
            "(AURORA_GUARD_DISCOVER=true) or drop the filter"
        )
    canary_user_raw, canary_password_raw = get(CANARY_USER), get(CANARY_PASSWORD)
    if (canary_user_raw is None) != (canary_password_raw is None):
        given = canary_user_raw or canary_password_raw
        raise ConfigurationError(
            f"{given.source if given else ''} is set but its pair is not: give both "
            f"{CANARY_USER.flag} and {CANARY_PASSWORD.flag}, or neither"
        )
    canary_password = str(canary_password_raw.value) if canary_password_raw is not None else None
    if canary_password is not None and password is not None and Secret(canary_password) == password:
        raise ConfigurationError(
            f"{canary_password_raw.source if canary_password_raw else ''}: the canary password equals the "
            "probe account's password; the canary's is sent without TLS, so it must be a public, "
            "separate one (an account with no privileges)"
        )

    report_path = _report_path(config, get(REPORT))
    settings = GuardSettings(
        endpoints=tuple(apply_connect_to(e, connect_to) for e in endpoints),
        connect_to=connect_to,
        clusters=clusters,
        discover=discover,
        discover_filters=discover_filters,
        cert_min_days=_validated(get(CERT_MIN_DAYS), parse_cert_min_days, DEFAULT_CERT_MIN_DAYS),
        allowed_cas=_validated(get(ALLOWED_CAS), parse_allowed_cas, DEFAULT_ALLOWED_CAS),
        min_tls=_validated(get(MIN_TLS), parse_min_tls, TlsVersion.TLSv1_3),
        allowlist=allowlist,
        timeout=_validated(get(TIMEOUT), parse_timeout, DEFAULT_TIMEOUT),
        endpoint_budget=_validated(get(ENDPOINT_BUDGET), parse_endpoint_budget, DEFAULT_ENDPOINT_BUDGET),
        user=str(user_raw.value) if user_raw is not None else None,
        dbname=str(dbname_raw.value) if dbname_raw is not None else None,
        password=password,
        ca_bundle=ca_bundle,
        require=_validated(get(REQUIRE), _parse_flag, False),
        proxy_ca_bundle=proxy_ca_bundle,
        iam_auth=iam_auth,
        credentials_source="IAM database authentication tokens" if iam_auth else None,
        canary_user=str(canary_user_raw.value) if canary_user_raw is not None else None,
        canary_password=canary_password,
        report_path=report_path,
        sarif_path=_sarif_path(config, get(SARIF), report_path),
        waivers_path=_existing_file(config, get(WAIVERS), "waiver file"),  # read by evidence.waivers
    )
    if secret_raw is None:
        return settings
    if fetch_secret is None:
        raise ConfigurationError(f"{secret_raw.source} is set but nothing here can read Secrets Manager")
    secret = fetch_secret(str(secret_raw.value).strip())
    return with_db_secret(settings, secret, user_raw.source if user_raw is not None else None)


def with_db_secret(settings: GuardSettings, secret: DbSecret, user_source: Optional[str]) -> GuardSettings:
    """The probe account from ``secret``; its host, port and engine name the endpoint when none is given."""
    if settings.user is not None and settings.user != secret.username:
        raise ConfigurationError(f"{user_source} ({settings.user!r}) does not agree with the username in "
                                 f"{secret.source}; drop {user_source} or correct the secret")
    endpoints = settings.endpoints
    if not endpoints and not settings.clusters and not settings.discover and secret.host:
        try:
            engine = Engine.parse(secret.engine) if secret.engine else None
        except ConfigurationError as exc:
            raise ConfigurationError(f"{secret.source}: 'engine': {exc}") from None
        port = secret.port or (engine.default_port if engine else None)
        if port is None:
            raise ConfigurationError(f"{secret.source} names a host but neither port nor engine; add one to "
                                     "the secret or give --aurora-endpoint")
        scheme = f"{engine.value}://" if engine else ""
        host = f"[{secret.host}]" if ":" in secret.host else secret.host
        endpoint = parse_endpoint(f"{scheme}{host}:{port}", engine)
        endpoints = (apply_connect_to(endpoint, settings.connect_to),)
    return replace(settings, endpoints=endpoints, user=secret.username, password=secret.password,
                   dbname=settings.dbname or secret.dbname, credentials_source=secret.source)


def _output_path(config: _ConfigLike, raw: RawSetting, what: str) -> Path:
    """Where a run's evidence goes: a file whose directory exists, checked before any traffic, so a
    typo cannot lose an audit's evidence at the end of a long run."""
    path = ini_relative_path(config, raw)
    if path.is_dir():
        raise ConfigurationError(f"{raw.source}: {what} {str(path)!r} is a directory; name the file to write")
    if not path.parent.is_dir():
        raise ConfigurationError(f"{raw.source}: the directory of {what} {str(path)!r} does not exist; "
                                 "create it first")
    return path


def _report_path(config: _ConfigLike, raw: Optional[RawSetting]) -> Optional[Path]:
    if raw is None:
        return None
    path = _output_path(config, raw, "report path")
    if path.suffix != ".json":
        raise ConfigurationError(f"{raw.source}: report path {str(path)!r} must end in .json (the Markdown "
                                 "copy is written beside it as .md)")
    return path


def _sarif_path(config: _ConfigLike, raw: Optional[RawSetting], report: Optional[Path]) -> Optional[Path]:
    if raw is None:
        return None
    path = _output_path(config, raw, "SARIF path")
    if report is not None and path in (report, report.with_suffix(".md")):
        raise ConfigurationError(f"{raw.source}: SARIF path {str(path)!r} is where --aurora-report writes; "
                                 "give the SARIF file its own name (e.g. aurora-guard.sarif)")
    return path


def _existing_file(config: _ConfigLike, raw: Optional[RawSetting], what: str) -> Optional[Path]:
    """A path that must name a file, checked before any traffic: a typo must not silently drop a CA
    bundle or a waiver file."""
    if raw is None:
        return None
    path = ini_relative_path(config, raw)
    if not path.is_file():
        raise ConfigurationError(f"{raw.source}: {what} {str(path)!r} does not exist or is not a file")
    return path


def _bundle(config: _ConfigLike, raw: Optional[RawSetting]) -> Optional[Path]:
    """A CA bundle path that exists and holds certificates."""
    path = _existing_file(config, raw, "CA bundle")
    if path is not None and raw is not None:
        from ..tls.certificates import load_trust_store  # cryptography, only when a bundle is configured

        load_trust_store(path, raw.source)
    return path
