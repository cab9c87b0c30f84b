"""pytest glue for the engine-default drift gate; the logic lives in ``drift``.

``plugin.py`` calls :func:`add_options` from ``pytest_addoption`` and :func:`register` from
``pytest_configure``. Under pytest-xdist the controller alone calls AWS and writes baselines
(``pytest_xdist_setupnodes``) and hands the results to the workers through ``workerinput``,
the pattern pytest-randomly uses for its seed and pytest's cache provider for its files.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Union

import pytest

from ..aws.engine_defaults import EngineDefaultsReader, default_region
from ..errors import BaselineError, ConfigurationError, MissingBaselineError
from ..settings.sources import RawSetting, ini_relative_path, resolve, split_list
from .baselines import (
    FamilyDefaults,
    discover_baselines,
    load_baseline,
    parse_tracked_parameters,
    tracked_parameters_for,
    validate_family,
    validate_region,
)
from .gate import (
    AllowlistLike,
    DriftGate,
    GateSettings,
    Target,
    compare,
    render_drift,
    render_missing,
    targets_for,
)

PLUGIN_NAME = "aurora-guard-drift"
WIRE_KEY = "aurora_guard_drift"
UPDATE_PROPERTY = "aurora_guard_baseline"
COLLECTOR_NAME = "aurora-engine-defaults"
MARKER = "aurora_engine_defaults"


@dataclass(frozen=True)
class _Setting:
    """Where one setting can be given: command line, environment, ini (in that precedence)."""

    dest: str
    flag: str
    env: str
    ini: str

    def resolve(self, config: pytest.Config) -> Optional[RawSetting]:
        return resolve(config, dest=self.dest, flag=self.flag, env=self.env, ini=self.ini)


_REGIONS = _Setting("aurora_aws_regions", "--aws-region", "AURORA_GUARD_AWS_REGION", "aurora_aws_regions")
_FAMILIES = _Setting(
    "aurora_engine_families",
    "--aurora-engine-family",
    "AURORA_GUARD_ENGINE_FAMILY",
    "aurora_engine_families",
)
_BASELINE_DIR = _Setting(
    "aurora_baseline_dir",
    "--cipher-baseline-dir",
    "AURORA_GUARD_BASELINE_DIR",
    "aurora_baseline_dir",
)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("aurora-guard")
    group.addoption(
        "--aws-region",
        action="append",
        default=[],
        dest=_REGIONS.dest,
        type=_cli(validate_region),
        metavar="REGION",
        help="AWS region whose engine defaults are checked for each --aurora-engine-family "
        "(repeatable; default: AWS_REGION, AWS_DEFAULT_REGION or the AWS profile's region) "
        "[env AURORA_GUARD_AWS_REGION, ini aurora_aws_regions]",
    )
    group.addoption(
        "--aurora-engine-family",
        action="append",
        default=[],
        dest=_FAMILIES.dest,
        type=_cli(validate_family),
        metavar="FAMILY",
        help="DB parameter group family (e.g. aurora-postgresql16, aurora-mysql8.0) whose AWS "
        "engine defaults must match the committed baseline; repeatable; activates the drift "
        "gate on its own [env AURORA_GUARD_ENGINE_FAMILY, ini aurora_engine_families]",
    )
    group.addoption(
        "--cipher-baseline-dir",
        default=None,
        dest=_BASELINE_DIR.dest,
        metavar="DIR",
        help="directory of engine-default baselines, <DIR>/<region>/<family>.json "
        "(default: baselines/ under the rootdir) [env AURORA_GUARD_BASELINE_DIR, ini "
        "aurora_baseline_dir, resolved against the ini file]",
    )
    group.addoption(
        "--update-cipher-baseline",
        action="store_true",
        default=False,
        dest="aurora_update_baseline",
        help="fetch AWS's current engine defaults and rewrite the baselines (every file present "
        "plus the configured families) instead of checking them; review with git diff",
    )
    parser.addini("aurora_aws_regions", type="linelist", default=[], help="regions for the drift gate")
    parser.addini(
        "aurora_engine_families",
        type="linelist",
        default=[],
        help="DB parameter group families whose engine defaults must match their baselines",
    )
    parser.addini(
        "aurora_baseline_dir",
        type="string",
        default="",
        help="engine-default baseline directory, relative to this ini file",
    )
    parser.addini(
        "aurora_tracked_parameters",
        type="linelist",
        default=[],
        help="lines '<family prefix>: <parameter>, ...' replacing the tracked parameters for "
        "that prefix (defaults: aurora-postgresql: rds.force_ssl, ssl_ciphers, "
        "ssl_max_protocol_version, ssl_min_protocol_version; aurora-mysql: "
        "require_secure_transport, ssl_cipher, tls_ciphersuites, tls_version)",
    )


def register(config: pytest.Config, *, endpoints_configured: bool, allowlist: AllowlistLike) -> None:
    """Activate the drift gate when the run asks for it; stay inert (no AWS call) otherwise.

    The shared ``aurora_guard`` marker is registered by the plugin entry point before this runs.
    """
    config.addinivalue_line(
        "markers",
        f"{MARKER}: aurora-guard check that AWS's engine defaults for one region and DB "
        "parameter group family still match the committed baseline",
    )
    try:
        settings = _gate_settings(config, endpoints_configured)
    except ConfigurationError as exc:
        raise pytest.UsageError(f"aurora-guard: {exc}") from None
    if settings is None:
        return
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        wire = workerinput.get(WIRE_KEY)
        gate = DriftGate(settings, reader=None) if wire is None else DriftGate.replica(settings, wire)
    else:
        gate = DriftGate(settings, EngineDefaultsReader())
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(XdistControllerHooks(gate), f"{PLUGIN_NAME}-xdist")
    config.pluginmanager.register(DriftPlugin(gate, allowlist, is_worker=workerinput is not None), PLUGIN_NAME)


def _gate_settings(config: pytest.Config, endpoints_configured: bool) -> Optional[GateSettings]:
    families_setting = _FAMILIES.resolve(config)
    families = _validated(families_setting, validate_family)
    update = bool(config.getoption("aurora_update_baseline", False))
    if not (endpoints_configured or families or update):
        return None
    dir_setting = _BASELINE_DIR.resolve(config)
    baseline_dir = config.rootpath / "baselines" if dir_setting is None else ini_relative_path(config, dir_setting)
    present = discover_baselines(baseline_dir)
    regions = _regions(config, families_setting) if families else []
    targets = targets_for(families, regions, present)
    if not targets:
        if update:
            raise ConfigurationError(
                f"--update-cipher-baseline: nothing to update: no baseline under {baseline_dir} "
                "and no family configured. Name the first one with --aurora-engine-family "
                "FAMILY (and --aws-region REGION)."
            )
        return None
    tracked = parse_tracked_parameters(config.getini("aurora_tracked_parameters"), "ini key aurora_tracked_parameters")
    for target in targets:
        tracked_parameters_for(target.family, tracked)  # an unknown engine is a usage error now
    command_options: tuple[str, ...] = ()
    if dir_setting is not None and not dir_setting.source.startswith("ini"):
        command_options = ("--cipher-baseline-dir", _display(baseline_dir, config))
    return GateSettings(targets, baseline_dir, update, tracked, command_options)


def _regions(config: pytest.Config, families_setting: Optional[RawSetting]) -> list[str]:
    setting = _REGIONS.resolve(config)
    if setting is not None:
        return _validated(setting, validate_region)
    region = default_region()
    if region is None:
        source = families_setting.source if families_setting else "--aurora-engine-family"
        raise ConfigurationError(
            f"{source} names families but no AWS region is set: pass --aws-region, or set "
            "AURORA_GUARD_AWS_REGION, the ini key aurora_aws_regions, AWS_REGION or "
            "AWS_DEFAULT_REGION"
        )
    return [validate_region(region)]


def _validated(setting: Optional[RawSetting], validate: Callable[[str], str]) -> list[str]:
    if setting is None:
        return []
    names: list[str] = []
    for name in split_list(setting.value):
        try:
            names.append(validate(name))
        except ConfigurationError as exc:
            raise ConfigurationError(f"{setting.source}: {exc}") from None
    return sorted(set(names))


def _display(path: Path, config: pytest.Config) -> str:
    try:
        return str(path.relative_to(config.invocation_params.dir))
    except ValueError:
        return str(path)


def _cli(validate: Callable[[str], str]) -> Callable[[str], str]:
    def convert(text: str) -> str:
        try:
            return validate(text.strip())
        except ConfigurationError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


class DriftPlugin:
    """Adds one check item per (region, family) and reports baseline updates."""

    def __init__(self, gate: DriftGate, allowlist: AllowlistLike, *, is_worker: bool) -> None:
        self.gate, self.allowlist, self.is_worker = gate, allowlist, is_worker

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, items: list[pytest.Item]) -> None:
        # tryfirst: added before pytest's own -k / -m deselection runs, so that applies to us.
        # An explicit nodeid: derived from the session's empty one it would start with "::".
        collector = EngineDefaultsCollector.from_parent(session, name=COLLECTOR_NAME, nodeid=COLLECTOR_NAME)
        for target in self.gate.settings.targets:
            item = EngineDefaultsItem.from_parent(collector, name=target.label, target=target, plugin=self)
            item.add_marker("aurora_guard")
            item.add_marker(MARKER)
            items.append(item)

    def pytest_report_teststatus(self, report: pytest.TestReport) -> Optional[tuple[str, str, str]]:
        if report.when == "call" and report.passed:
            for name, value in report.user_properties:
                if name == UPDATE_PROPERTY:
                    return "passed", "U", str(value).upper()
        return None

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        settings = self.gate.settings
        if not settings.update or self.is_worker:
            return
        terminalreporter.write_sep("=", "aurora-guard engine-default baselines")
        root = Path(str(terminalreporter.config.invocation_params.dir))
        for target in settings.targets:
            record = self.gate.updates.get(target)
            path = _relative(settings.baseline_file(target), root)
            fetched = self.gate.fetched.get(target)
            if record is None and fetched is not None and fetched.error is not None:
                terminalreporter.write_line(f"NOT WRITTEN {path}: nothing written: {fetched.error}", red=True)
            elif record is None:
                terminalreporter.write_line(f"not run    {path} (check deselected)")
            elif record.outcome is None:
                terminalreporter.write_line(f"NOT WRITTEN {path}: {record.error}", red=True)
            else:
                terminalreporter.write_line(f"{record.outcome.value:<10} {path}")


def _relative(path: Path, root: Path) -> str:
    try:
        return os.path.relpath(path, root)
    except ValueError:  # another drive on Windows
        return str(path)


class XdistControllerHooks:
    """Registered on the controller only when pytest-xdist is installed (its hooks exist)."""

    def __init__(self, gate: DriftGate) -> None:
        self.gate = gate

    def pytest_xdist_setupnodes(self) -> None:
        # Before any worker starts: one fetch per (region, family), baselines written here only.
        self.gate.fetch_all()
        if self.gate.settings.update:
            self.gate.update_all()

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[WIRE_KEY] = self.gate.to_wire()


class EngineDefaultsCollector(pytest.Collector):
    """Parent of the drift items, directly under the session (no file to collect)."""

    def collect(self) -> list[Union[pytest.Item, pytest.Collector]]:
        return []


class EngineDefaultsItem(pytest.Item):
    """One (region, family): ERROR when evidence is missing, FAILED on drift or no baseline."""

    def __init__(self, *, target: Target, plugin: DriftPlugin, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target, self.plugin = target, plugin
        self.baseline: Optional[FamilyDefaults] = None
        self.current: Optional[FamilyDefaults] = None

    def setup(self) -> None:
        gate, target = self.plugin.gate, self.target
        if not gate.settings.update:
            path = gate.settings.baseline_file(target)
            try:
                self.baseline = load_baseline(path, target.region, target.family)
            except MissingBaselineError:
                return  # runtest fails with the command that creates it, without calling AWS
            except BaselineError as exc:
                pytest.fail(f"{exc}\nNothing was compared.", pytrace=False)
        outcome = gate.fetch(target)
        if outcome.defaults is None:
            pytest.fail(
                f"Could not read AWS's engine defaults for {target.label}: {outcome.error}",
                pytrace=False,
            )
        self.current = outcome.defaults

    def runtest(self) -> None:
        gate, target = self.plugin.gate, self.target
        settings = gate.settings
        if settings.update:
            record = gate.update(target)
            if record.outcome is None:
                pytest.fail(f"Baseline {record.path} not updated: {record.error}", pytrace=False)
            self.user_properties.append((UPDATE_PROPERTY, record.outcome.value))
            return
        path = Path(_relative(settings.baseline_file(target), self.config.invocation_params.dir))
        if self.baseline is None:
            pytest.fail(render_missing(target, path, settings.update_command(target)), pytrace=False)
        assert self.current is not None  # setup() failed otherwise
        report = compare(self.baseline, self.current)
        if report.drifted:
            pytest.fail(
                render_drift(
                    report,
                    baseline_file=path,
                    allowlist=self.plugin.allowlist,
                    command=settings.update_command(target),
                ),
                pytrace=False,
            )

    def reportinfo(self) -> tuple[Path, Optional[int], str]:
        return (
            self.plugin.gate.settings.baseline_file(self.target),
            None,
            f"engine defaults {self.name}",
        )
