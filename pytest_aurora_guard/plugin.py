"""The pytest entry point: options, markers, settings, fixtures; the gate itself is in :mod:`.session`.

Every pytest run in a project that installs us imports this module, gate or not, so it imports
only what reading the settings needs; the probing, TLS, driver, AWS and report code is imported
when something is configured to gate (``benchmarks/bench_startup.py`` measures the difference).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

import pytest

from .catalog import CLUSTER_CHECKS, ENDPOINT_CHECKS, WAIVABLE_CHECKS
from .control_plane import plugin as cluster_plugin
from .drift import plugin as drift_plugin
from .errors import AwsApiError, ConfigurationError
from .settings import options as opts
from .settings.spelling import ENV_PREFIX, INI_PREFIX, check_spelling

if TYPE_CHECKING:
    from . import session
    from .evidence.waivers import WaiverBook
    from .probe import EndpointProbe
    from .settings.config import GuardSettings
    from .settings.credentials import DbSecret, Secret
    from .settings.endpoints import Endpoint
    from .tls.allowlist import CipherAllowlist
    from .tls.surface import TlsSurface

# Set when nothing configures the gate: the settings are then built only if a fixture asks for them.
SETTINGS_KEY = pytest.StashKey["GuardSettings"]()
INERT_KEY = pytest.StashKey[bool]()


def _cli(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """Wrap a parser so a bad value is an argparse usage error that says what is wrong."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ConfigurationError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


# The command-line converters import the parsers when an option is given, so that registering the
# options (every pytest run) does not import the TLS tables, the endpoint grammar or the secrets code.

def _endpoint_text(text: str) -> str:
    from .settings.endpoints import parse_endpoint

    parse_endpoint(text)  # validate now; combine with --aurora-engine later
    return text


def _min_tls_label(text: str) -> str:
    from .settings.config import parse_min_tls

    return parse_min_tls(text).label


def _timeout(text: str) -> float:
    from .settings.config import parse_timeout

    return parse_timeout(text)


def _endpoint_budget(text: str) -> float:
    from .settings.config import parse_endpoint_budget

    return parse_endpoint_budget(text)


def _secret(text: str) -> Secret:
    from .settings.credentials import Secret

    return Secret(text)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aurora-guard", "pytest-aurora-guard: transport security gate for Aurora")

    def add(spec: opts.OptionSpec, **kwargs: Any) -> None:
        group.addoption(spec.flag, dest=spec.dest, help=spec.help_text, **kwargs)

    add(opts.ENDPOINT, action="append", default=[], type=_cli(_endpoint_text), metavar="ENDPOINT")
    add(opts.ENGINE, default=None, choices=["postgresql", "mysql"])
    add(opts.MIN_TLS, default=None, type=_cli(_min_tls_label), metavar="VERSION")
    add(opts.ALLOWLIST, default=None, metavar="SUITES|FILE")
    add(opts.TIMEOUT, default=None, type=_cli(_timeout), metavar="SECONDS")
    add(opts.ENDPOINT_BUDGET, default=None, type=_cli(_endpoint_budget), metavar="SECONDS")
    add(opts.USER, default=None)
    add(opts.DBNAME, default=None)
    add(opts.PASSWORD, default=None, type=_secret, metavar="PASSWORD")
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


def _register_markers(config: pytest.Config) -> None:
    """Every marker of the plugin, gate or not, so ``--strict-markers`` accepts them in users' own tests."""
    config.addinivalue_line("markers", "aurora_guard: a transport-security check of pytest-aurora-guard")
    for name, description in ENDPOINT_CHECKS.items():
        config.addinivalue_line("markers", f"aurora_{name}: aurora-guard check: {description}")
    for name, description in CLUSTER_CHECKS.items():
        config.addinivalue_line("markers", f"aurora_{name}: aurora-guard cluster check: {description}")
    config.addinivalue_line("markers",
                            f"{drift_plugin.MARKER}: aurora-guard check that {drift_plugin.CHECK_DESCRIPTION}")


def nothing_configured(options: Mapping[str, object], environ: Mapping[str, str], ini_keys: Iterable[str]) -> bool:
    """No setting of ours given anywhere: no option off its default, no ``AURORA_GUARD_*`` variable, no
    ``aurora_*`` ini key. Such a run is inert and pays for nothing else (every pytest run in a project
    that installs us comes through here). Anything given, even a value that turns nothing on, takes
    the full path, where it is validated."""
    if any(options.get(spec.dest) not in (None, [], False) for spec in opts.OPTION_SPECS if spec.flag):
        return False
    if any(name.upper().startswith(ENV_PREFIX) for name in environ):
        return False
    return not any(name.lower().startswith(INI_PREFIX) for name in ini_keys)


def pytest_configure(config: pytest.Config) -> None:
    _register_markers(config)
    ini_values = _ini_values(config)
    try:
        check_spelling(os.environ, ini_values, lambda name: _ini_is_known(config, name),
                       str(config.inipath) if config.inipath else None)
    except ConfigurationError as exc:
        raise pytest.UsageError(f"aurora-guard: {exc}") from None
    options = {spec.dest: config.getoption(spec.dest, None) for spec in opts.OPTION_SPECS if spec.flag}
    if nothing_configured(options, os.environ, ini_values):
        config.stash[INERT_KEY] = True
        return
    _configure_gate(config)


def _configure_gate(config: pytest.Config) -> None:
    from .settings.config import build_settings

    waivers: Optional[WaiverBook] = None
    try:
        settings = build_settings(config, fetch_secret=_fetch_db_secret)
        if settings.waivers_path is not None:
            from datetime import datetime, timezone

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
    if config.stash.get(INERT_KEY, False):
        return "aurora-guard: inactive (no endpoint configured); --aurora-require makes that a usage error"
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
    """The settings; an inert run builds them (all defaults) only when a fixture or test asks."""
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None:
        from .settings.config import build_settings

        settings = config.stash[SETTINGS_KEY] = build_settings(config)
    return settings


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
