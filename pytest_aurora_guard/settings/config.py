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
from .sources import RawSetting, _ConfigLike, ini_relative_path, resolve, split_list

DEFAULT_TIMEOUT = 10.0
# Long enough for the slowest honest endpoint we know (a cross-region MySQL at ~40 connections
# of a few hundred ms each), short enough that a server trickling bytes just inside
# --aurora-timeout on every step cannot hold the pipeline for many minutes.
DEFAULT_ENDPOINT_BUDGET = 120.0
DEFAULT_PROBE_USER = "pytest_aurora_guard_probe"
DEFAULT_DBNAME = "postgres"


OPTION_SPECS: list[OptionSpec] = []
"""Every setting the plugin knows, in definition order: each ``OptionSpec`` adds itself.

The spelling check (``settings.spelling``) and required mode read this list, so a setting defined
anywhere as an ``OptionSpec`` is known without being listed a second time.
"""


@dataclass(frozen=True)
class OptionSpec:
    """How one setting is spelled in each place it can be given (``""``: not settable there).

    ``activates``: giving this setting switches the guard on, which is what ``--aurora-require``
    demands of a run (endpoints, engine families, anything that yields endpoints).
    """

    flag: str
    env: str
    ini: str
    help: str
    activates: bool = False
    dest_override: str = ""

    def __post_init__(self) -> None:
        OPTION_SPECS.append(self)

    @property
    def dest(self) -> str:
        return self.dest_override or self.flag.lstrip("-").replace("-", "_")

    @property
    def help_text(self) -> str:
        """``--help`` text with where else the setting can be given."""
        mirrors = ", ".join(part for part in (f"env {self.env}" if self.env else "",
                                              f"ini {self.ini}" if self.ini else "") if part)
        return f"{self.help} [{mirrors}]" if mirrors else self.help

    @property
    def spellings(self) -> str:
        """The places this setting can be given, for messages: ``--x, AURORA_GUARD_X, ini key x``."""
        return ", ".join(part for part in (self.flag, self.env, f"ini key {self.ini}" if self.ini else "") if part)


ENDPOINT = OptionSpec("--aurora-endpoint", "AURORA_GUARD_ENDPOINT", "aurora_endpoints",
                      "Endpoint to gate: HOST[:PORT], [IPv6]:PORT, postgresql://HOST[:PORT] or "
                      "mysql://HOST[:PORT]. Repeatable; the environment variable takes a comma list.",
                      activates=True)
ENGINE = OptionSpec("--aurora-engine", "AURORA_GUARD_ENGINE", "aurora_engine",
                    "Engine of endpoints given without a scheme: postgresql or mysql "
                    "(default: detected on the wire).")
MIN_TLS = OptionSpec("--aurora-min-tls", "AURORA_GUARD_MIN_TLS", "aurora_min_tls",
                     "TLS floor: every older version must be refused (default TLSv1.3).")
ALLOWLIST = OptionSpec("--aurora-cipher-allowlist", "AURORA_GUARD_CIPHER_ALLOWLIST", "aurora_cipher_allowlist",
                       "Allowed cipher suites: a comma list of IANA or OpenSSL names, or a file with one "
                       "per line (default: TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384).")
TIMEOUT = OptionSpec("--aurora-timeout", "AURORA_GUARD_TIMEOUT", "aurora_timeout",
                     "Seconds allowed for each network step (default 10).")
ENDPOINT_BUDGET = OptionSpec("--aurora-endpoint-budget", "AURORA_GUARD_ENDPOINT_BUDGET", "aurora_endpoint_budget",
                             "Seconds allowed for all the probing of one endpoint together (default 120); "
                             "when it runs out, the checks still waiting are errors naming the budget.")
USER = OptionSpec("--aurora-user", "AURORA_GUARD_USER", "aurora_user",
                  "Database user for the driver-level checks (enables them).")
DBNAME = OptionSpec("--aurora-dbname", "AURORA_GUARD_DBNAME", "aurora_dbname",
                    "Database name to connect to (default: postgres for PostgreSQL, none for MySQL).")
PASSWORD = OptionSpec("--aurora-password", "AURORA_GUARD_PASSWORD", "",
                      "Password of --aurora-user; prefer the AURORA_GUARD_PASSWORD environment "
                      "variable (never read from ini files, never printed).")
CA_BUNDLE = OptionSpec("--aurora-ca-bundle", "AURORA_GUARD_CA_BUNDLE", "aurora_ca_bundle",
                       "PEM bundle of CAs that sign the endpoint's certificate (e.g. the RDS "
                       "global-bundle.pem): certificate_trusted verifies the chain against it, and every "
                       "check that sends credentials verifies the server with it.")
SECRET_ID = OptionSpec("--aurora-secret-id", "AURORA_GUARD_SECRET_ID", "aurora_secret_id",
                       "ARN or name of a Secrets Manager secret in RDS's JSON layout holding the probe "
                       "account (username, password; host, port, dbname, engine when present): read once, "
                       "never shown. The region is the ARN's, else AWS_REGION.")
IAM_AUTH = OptionSpec("--aurora-iam-auth", "AURORA_GUARD_IAM_AUTH", "aurora_iam_auth",
                      "Log the driver checks in with an IAM database-authentication token (boto3 "
                      "generate_db_auth_token for each endpoint's name, port, --aurora-user and region; AWS "
                      "credentials from the standard chain) instead of a password; sent only over TLS with a "
                      "verified certificate and hostname. Values for env/ini: true/false.")
PROXY_CA_BUNDLE = OptionSpec("--aurora-proxy-ca-bundle", "AURORA_GUARD_PROXY_CA_BUNDLE", "aurora_proxy_ca_bundle",
                             "PEM bundle for RDS Proxy endpoints, whose certificates come from ACM and chain to "
                             "Amazon Trust Services (default: the system trust store).")

CONNECT_TO = OptionSpec("--aurora-connect-to", "AURORA_GUARD_CONNECT_TO", "aurora_connect_to",
                        "NAME[:PORT]=ADDRESS[:PORT]: open TCP to ADDRESS for endpoint NAME while TLS SNI and "
                        "certificate hostname checks still use NAME (as curl's --connect-to; for SSM port "
                        "forwards and bastions). Repeatable; the environment variable takes a comma list.")
CLUSTER = OptionSpec("--aurora-cluster", "AURORA_GUARD_CLUSTER", "aurora_clusters",
                     "Aurora DB cluster identifier: every instance, writer, reader, custom and proxy endpoint "
                     "AWS lists for it is probed, and its parameter group, storage, CAs and proxies are "
                     "checked (needs --aws-region or AWS_REGION). Repeatable.", activates=True)
DISCOVER = OptionSpec("--aurora-discover", "AURORA_GUARD_DISCOVER", "aurora_discover",
                      "Gate every Aurora cluster in the regions that matches --aurora-discover-filter "
                      "(all clusters when no filter is given).", activates=True)
DISCOVER_FILTER = OptionSpec("--aurora-discover-filter", "AURORA_GUARD_DISCOVER_FILTER", "aurora_discover_filters",
                             "With --aurora-discover: id=GLOB (cluster identifier) or tag:KEY=VALUE; every "
                             "filter must match. Repeatable.")
CERT_MIN_DAYS = OptionSpec("--aurora-cert-min-days", "AURORA_GUARD_CERT_MIN_DAYS", "aurora_cert_min_days",
                           "Days every certificate an endpoint sends (certificate_trusted) and every instance's "
                           "server certificate as AWS reports it (instance_ca_current) must still be valid "
                           "(default 30).")
ALLOWED_CAS = OptionSpec("--aurora-allowed-ca", "AURORA_GUARD_ALLOWED_CA", "aurora_allowed_cas",
                         "CA identifiers instances may use (comma list; default rds-ca-rsa2048-g1, "
                         "rds-ca-rsa4096-g1, rds-ca-ecc384-g1).")

REQUIRE = OptionSpec("--aurora-require", "AURORA_GUARD_REQUIRE", "aurora_require",
                     "Fail the run (usage error, exit 4) unless an endpoint or an engine family is "
                     "configured: use it in every pipeline, so a missing or misspelt setting cannot "
                     "turn the gate off. Values for env/ini: 1/true/yes/on or 0/false/no/off.")

CANARY_USER = OptionSpec("--aurora-plaintext-canary-user", "AURORA_GUARD_PLAINTEXT_CANARY_USER",
                         "aurora_plaintext_canary_user",
                         "MySQL only: an account with no privileges whose password is public by design; its "
                         "plaintext login must get error 3159 (see README, 'Probe and canary accounts').")
CANARY_PASSWORD = OptionSpec("--aurora-plaintext-canary-password", "AURORA_GUARD_PLAINTEXT_CANARY_PASSWORD",
                             "aurora_plaintext_canary_password",
                             "Password of the canary account: it is sent without TLS, so it must never be a "
                             "real password (it must differ from AURORA_GUARD_PASSWORD).")

# The engine-default drift gate's settings (drift/plugin.py registers and reads them).
AWS_REGION = OptionSpec("--aws-region", "AURORA_GUARD_AWS_REGION", "aurora_aws_regions",
                        "AWS region whose engine defaults are checked for each --aurora-engine-family "
                        "(repeatable; default: AWS_REGION, AWS_DEFAULT_REGION or the AWS profile's region)",
                        dest_override="aurora_aws_regions")
ENGINE_FAMILY = OptionSpec("--aurora-engine-family", "AURORA_GUARD_ENGINE_FAMILY", "aurora_engine_families",
                           "DB parameter group family (e.g. aurora-postgresql16, aurora-mysql8.0) whose AWS "
                           "engine defaults must match the committed baseline; repeatable; activates the "
                           "drift gate on its own", activates=True, dest_override="aurora_engine_families")
BASELINE_DIR = OptionSpec("--cipher-baseline-dir", "AURORA_GUARD_BASELINE_DIR", "aurora_baseline_dir",
                          "directory of engine-default baselines, <DIR>/<region>/<family>.json (default: "
                          "baselines/ under the rootdir; an explicitly given directory must exist)",
                          dest_override="aurora_baseline_dir")
TRACKED_PARAMETERS = OptionSpec("", "", "aurora_tracked_parameters",
                                "lines '<family prefix>: <parameter>, ...' replacing the tracked parameters "
                                "for that prefix")
UPDATE_BASELINE = OptionSpec("--update-cipher-baseline", "", "",
                             "fetch AWS's current engine defaults and rewrite the baselines (every file "
                             "present plus the configured families) instead of checking them; review with "
                             "git diff. Refused in CI unless --aurora-allow-update-in-ci is given too",
                             dest_override="aurora_update_baseline")
ALLOW_UPDATE_IN_CI = OptionSpec("--aurora-allow-update-in-ci", "", "",
                                "let --update-cipher-baseline run where a CI variable is set; the run still "
                                "fails if any baseline changed, listing the changes for review")

REPORT = OptionSpec("--aurora-report", "AURORA_GUARD_REPORT", "aurora_report",
                    "Write the run's evidence to PATH.json (versioned JSON Schema shipped in the package) and "
                    "the same as Markdown to PATH.md, once per run (the xdist controller under -n).")
SARIF = OptionSpec("--aurora-sarif", "AURORA_GUARD_SARIF", "aurora_sarif",
                   "Write the run's failed and inconclusive items as SARIF 2.1.0 to PATH, for GitHub code scanning "
                   "(github/codeql-action/upload-sarif), once per run (the xdist controller under -n).")

WAIVERS = OptionSpec("--aurora-waivers", "AURORA_GUARD_WAIVERS", "aurora_waivers",
                     "TOML file of [[waiver]] tables (check, endpoint glob, optional version/suite, reason, ticket, "
                     "expires YYYY-MM-DD at most a year ahead): a failure an unexpired waiver covers is reported "
                     "WAIVED and does not block; after its date it fails again. Python 3.11 or later.")

ALL_OPTIONS = (ENDPOINT, ENGINE, MIN_TLS, ALLOWLIST, TIMEOUT, ENDPOINT_BUDGET, USER, DBNAME, PASSWORD, CA_BUNDLE,
               PROXY_CA_BUNDLE, SECRET_ID, IAM_AUTH, REQUIRE, CANARY_USER, CANARY_PASSWORD, REPORT,
               SARIF, WAIVERS)
# The cluster-aware gate's settings (issue 11), registered by plugin.py next to ALL_OPTIONS.
CLUSTER_OPTIONS = (CONNECT_TO, CLUSTER, DISCOVER, DISCOVER_FILTER, CERT_MIN_DAYS, ALLOWED_CAS)


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
