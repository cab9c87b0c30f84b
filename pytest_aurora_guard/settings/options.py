"""Every setting the plugin knows and how it is spelt on the command line, in the environment and in ini.

Kept apart from the parsing (``settings.config``) so that start-up, which must register the options
and check their spelling on every pytest run, imports nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

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
