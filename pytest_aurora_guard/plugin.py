"""The pytest entry point: options, markers, settings, fixtures; the gate itself is in :mod:`.session`.

Every pytest run in a project that installs us imports this module, gate or not, so it imports
only what reading the settings needs; the probing, TLS, driver, AWS and report code is imported
when something is configured to gate (``benchmarks/bench_startup.py`` measures the difference).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

import pytest

from .catalog import ENDPOINT_CHECKS, WAIVABLE_CHECKS
from .control_plane import plugin as cluster_plugin
from .drift import plugin as drift_plugin
from .errors import AwsApiError, ConfigurationError
from .settings import config as opts
from .settings.config import GuardSettings, build_settings, parse_endpoint_budget, parse_min_tls, parse_timeout
from .settings.credentials import DbSecret, Secret
from .settings.endpoints import Endpoint, parse_endpoint
from .settings.spelling import check_spelling
from .tls.allowlist import CipherAllowlist

if TYPE_CHECKING:
    from . import session
    from .evidence.waivers import WaiverBook
    from .probe import EndpointProbe
    from .tls.surface import TlsSurface

SETTINGS_KEY = pytest.StashKey[GuardSettings]()


def _cli(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """Wrap a parser so a bad value is an argparse usage error that says what is wrong."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ConfigurationError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _endpoint_text(text: str) -> str:
    parse_endpoint(text)  # validate now; combine with --aurora-engine later
    return text


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aurora-guard", "pytest-aurora-guard: transport security gate for Aurora")

    def add(spec: opts.OptionSpec, **kwargs: Any) -> None:
        group.addoption(spec.flag, dest=spec.dest, help=spec.help_text, **kwargs)

    add(opts.ENDPOINT, action="append", default=[], type=_cli(_endpoint_text), metavar="ENDPOINT")
    add(opts.ENGINE, default=None, choices=["postgresql", "mysql"])
    add(opts.MIN_TLS, default=None, type=_cli(lambda t: parse_min_tls(t).label), metavar="VERSION")
    add(opts.ALLOWLIST, default=None, metavar="SUITES|FILE")
    add(opts.TIMEOUT, default=None, type=_cli(parse_timeout), metavar="SECONDS")
    add(opts.ENDPOINT_BUDGET, default=None, type=_cli(parse_endpoint_budget), metavar="SECONDS")
    add(opts.USER, default=None)
    add(opts.DBNAME, default=None)
    add(opts.PASSWORD, default=None, type=Secret, metavar="PASSWORD")
    add(opts.CA_BUNDLE, default=None, metavar="PEM")
    add(opts.REQUIRE, action="store_const", const=True, default=None)
    add(opts.PROXY_CA_BUNDLE, default=None, metavar="PEM")
    add(opts.SECRET_ID, default=None, metavar="ARN|NAME")
    add(opts.IAM_AUTH, action="store_const", const=True, default=None)
    add(opts.CANARY_USER, default=None, metavar="USER")
    add(opts.CANARY_PASSWORD, default=None, metavar="PUBLIC_PASSWORD")
    add(opts.REPORT, default=None, metavar="PATH.json")
    add(opts.SARIF, default=None, metavar="PATH")
    add(opts.WAIVERS, default=None, metavar="PATH.toml")
    for spec in opts.ALL_OPTIONS:
        if spec.ini:
            if spec is opts.ENDPOINT:
                parser.addini(spec.ini, help=spec.help, type="linelist", default=[])
            else:
                parser.addini(spec.ini, help=spec.help, type="string", default="")
    cluster_plugin.add_options(parser, add)
    drift_plugin.add_options(parser)


def _ini_values(config: pytest.Config) -> Mapping[str, object]:
    """The keys written in the ini file, with their raw values.

    pytest has no public way to list them (``config.inicfg`` is deprecated since pytest 9 in favour
    of ``getini``, which needs the name); its private ``_inicfg`` holds ``ConfigValue`` objects.
    """
    raw = getattr(config, "_inicfg", None)
    if raw is None:
        raw = config.inicfg
    return {str(key): getattr(value, "value", value) for key, value in raw.items()}


def _ini_is_known(config: pytest.Config, name: str) -> bool:
    try:
        config.getini(name)
    except ValueError:  # pytest: "unknown configuration value"
        return False
    return True


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "aurora_guard: a transport-security check of pytest-aurora-guard")
    for name, description in ENDPOINT_CHECKS.items():
        config.addinivalue_line("markers", f"aurora_{name}: aurora-guard check: {description}")
    waivers: Optional[WaiverBook] = None
    try:
        check_spelling(os.environ, _ini_values(config), lambda name: _ini_is_known(config, name),
                       str(config.inipath) if config.inipath else None)
        settings = build_settings(config, fetch_secret=_fetch_db_secret)
        if settings.waivers_path is not None:
            from .evidence.waivers import WaiverBook, load_waivers

            today = datetime.now(timezone.utc).date()
            source = _display_path(settings.waivers_path, config.rootpath)
            waivers = WaiverBook(load_waivers(settings.waivers_path, WAIVABLE_CHECKS, today, source), today)
    except (ConfigurationError, AwsApiError) as exc:
        raise pytest.UsageError(f"aurora-guard: {exc}") from None
    config.stash[SETTINGS_KEY] = settings
    cluster_plugin.configure(config, settings)
    drift_active = drift_plugin.register(config, endpoints_configured=settings.active, allowlist=settings.allowlist)
    if settings.require and not (settings.active or drift_active):
        from .report import nothing_to_gate

        raise pytest.UsageError(f"aurora-guard: {nothing_to_gate(config.inipath)}")
    if settings.active or drift_active:
        from . import session

        session.register(config, settings, waivers, drift_active=drift_active)


def _display_path(path: Path, rootpath: Path) -> str:
    """``policy/waivers.toml`` under the rootdir (what a reviewer greps for), else the absolute path."""
    try:
        return str(path.relative_to(rootpath))
    except ValueError:
        return str(path)


def _fetch_db_secret(secret_id: str) -> DbSecret:
    from .aws.secrets import fetch_db_secret  # boto3 only for runs that read a secret

    return fetch_db_secret(secret_id)


def pytest_report_header(config: pytest.Config) -> Optional[str]:
    """Said whenever the plugin is installed, so a log reader sees a gate that did not run."""
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None or settings.active:
        return None  # the session's own header lines describe the endpoints
    if config.pluginmanager.hasplugin(drift_plugin.PLUGIN_NAME):
        return "aurora-guard: no endpoint configured: engine-default drift gate only"
    return "aurora-guard: inactive (no endpoint configured); --aurora-require makes that a usage error"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("aurora-guard-session") or config.pluginmanager.hasplugin(
            drift_plugin.PLUGIN_NAME):
        from .session import write_summary

        write_summary(terminalreporter, config)


# -- fixtures for users' own checks --------------------------------------------------------------

def _settings(config: pytest.Config) -> GuardSettings:
    return config.stash[SETTINGS_KEY]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "aurora_endpoint" not in metafunc.fixturenames:
        return
    endpoints = _settings(metafunc.config).endpoints
    if endpoints:
        metafunc.parametrize("aurora_endpoint", list(endpoints), ids=[e.label for e in endpoints], scope="session")
    else:
        metafunc.parametrize("aurora_endpoint", [pytest.param(None, marks=pytest.mark.skip(
            reason="aurora-guard is inert: no --aurora-endpoint configured"))], ids=["no-endpoint"])


@pytest.fixture(scope="session")
def aurora_settings(pytestconfig: pytest.Config) -> GuardSettings:
    """The resolved guard settings (the password, if any, is a masked Secret)."""
    return _settings(pytestconfig)


@pytest.fixture(scope="session")
def aurora_cipher_allowlist(aurora_settings: GuardSettings) -> CipherAllowlist:
    """The cipher allowlist, normalised to IANA code points: ``suite.code in aurora_cipher_allowlist``."""
    return aurora_settings.allowlist


@pytest.fixture(scope="session")
def aurora_probe(pytestconfig: pytest.Config, aurora_endpoint: Endpoint) -> EndpointProbe:
    """The probe of this endpoint, shared with the built-in checks (each observation made once)."""
    guard: Optional[session.GuardSession] = pytestconfig.pluginmanager.getplugin("aurora-guard-session")
    if guard is None:
        pytest.skip("aurora-guard is inert: no --aurora-endpoint configured")
    return guard.run.probe(aurora_endpoint)


@pytest.fixture(scope="session")
def aurora_tls_surface(aurora_probe: EndpointProbe) -> TlsSurface:
    """Every version and suite the endpoint accepts, enumerated with crafted ClientHellos
    (shared with ``accepted_suites_allowed`` and the ``tls_version_refused`` checks)."""
    return aurora_probe.surface()


@pytest.fixture
def aurora_connect(aurora_probe: EndpointProbe) -> Iterator[Callable[..., Any]]:
    """Open verified driver connections (psycopg or PyMySQL) honouring the guard's options.

    Each connection verifies the server certificate against --aurora-ca-bundle; keyword
    arguments override the driver parameters. Connections are closed after the test.
    """
    opened: list[Any] = []

    def connect(**overrides: Any) -> Any:
        connection = aurora_probe.adapter().connect(aurora_probe.endpoint(), aurora_probe.verified_settings(),
                                                    **overrides)
        opened.append(connection)
        return connection

    yield connect
    for connection in opened:
        with contextlib.suppress(Exception):  # closing is best effort after the test
            connection.close()
