"""The engine-default drift gate in a pytest run: its settings, its items, its xdist hand-over."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Optional, Union

import pytest

from ..aws.engine_defaults import EngineDefaultsReader, default_region
from ..errors import BaselineError, ConfigurationError, MissingBaselineError
from ..settings.ci import ci_markers
from ..settings.options import (
    ALLOW_UPDATE_IN_CI,
    AWS_REGION,
    BASELINE_DIR,
    ENGINE_FAMILY,
    TRACKED_PARAMETERS,
    UPDATE_BASELINE,
    OptionSpec,
)
from ..settings.sources import RawSetting, ini_relative_path, resolve, split_list
from .baselines import (
    FamilyDefaults,
    check_family_name,
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
from .plugin import COLLECTOR_NAME, MARKER, PLUGIN_NAME, REVIEW_ITEM, UPDATE_PROPERTY, WIRE_KEY, xdist_loaded


def _resolve(config: pytest.Config, spec: OptionSpec) -> Optional[RawSetting]:
    return resolve(config, dest=spec.dest, flag=spec.flag, env=spec.env, ini=spec.ini)


def register_gate(config: pytest.Config, *, endpoints_configured: bool, allowlist: AllowlistLike) -> bool:
    """The drift gate's plugin registered when the run asks for it (returns whether it did)."""
    try:
        settings = _gate_settings(config, endpoints_configured)
    except ConfigurationError as exc:
        raise pytest.UsageError(f"aurora-guard: {exc}") from None
    if settings is None:
        return False
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        wire = workerinput.get(WIRE_KEY)
        gate = DriftGate(settings, reader=None) if wire is None else DriftGate.replica(settings, wire)
    else:
        gate = DriftGate(settings, EngineDefaultsReader(), allowlist=allowlist)
        if xdist_loaded(config):
            config.pluginmanager.register(XdistControllerHooks(gate), f"{PLUGIN_NAME}-xdist")
    config.pluginmanager.register(DriftPlugin(gate, allowlist, is_worker=workerinput is not None), PLUGIN_NAME)
    return True


def _gate_settings(config: pytest.Config, endpoints_configured: bool) -> Optional[GateSettings]:
    families_setting = _resolve(config, ENGINE_FAMILY)
    families = _validated(families_setting, validate_family)
    update = bool(config.getoption(UPDATE_BASELINE.dest, False))
    dir_setting = _resolve(config, BASELINE_DIR)
    baseline_dir = config.rootpath / "baselines" if dir_setting is None else ini_relative_path(config, dir_setting)
    if dir_setting is not None and not update and not baseline_dir.is_dir():
        # A typo here would otherwise mean "no baselines": a gate that checks nothing, silently. (An update
        # may create the directory: its summary lists every file it created.)
        raise ConfigurationError(
            f"{dir_setting.source}: baseline directory {_display(baseline_dir, config)} does not exist "
            f"({baseline_dir}); fix the path, or create the directory and record the first baseline with "
            "--update-cipher-baseline"
        )
    if not (endpoints_configured or families or update):
        return None
    if update:
        _refuse_unreviewed_update(config)
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
    tracked = parse_tracked_parameters(config.getini(TRACKED_PARAMETERS.ini), f"ini key {TRACKED_PARAMETERS.ini}")
    committed = [family for _, family in present]
    for family in families:
        try:
            check_family_name(family, tracked, committed)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{families_setting.source if families_setting else ''}: {exc}") from None
    for target in targets:
        tracked_parameters_for(target.family, tracked)  # an unknown engine is a usage error now
    command_options: tuple[str, ...] = ()
    if dir_setting is not None and not dir_setting.source.startswith("ini"):
        command_options = ("--cipher-baseline-dir", _display(baseline_dir, config))
    markers = ci_markers(os.environ)
    review_in_ci = bool(update and markers)
    return GateSettings(targets, baseline_dir, update, tracked, command_options,
                        ci_markers=tuple(markers) if review_in_ci else ())


def _refuse_unreviewed_update(config: pytest.Config) -> None:
    markers = ci_markers(os.environ)
    if markers and not config.getoption(ALLOW_UPDATE_IN_CI.dest, False):
        raise ConfigurationError(
            f"{UPDATE_BASELINE.flag} refuses to run in CI ({', '.join(markers)}): a baseline rewritten by "
            "the pipeline would accept AWS's change without anyone reviewing it. Run the update on a "
            "workstation and commit the diff in a pull request; if this job exists to propose that "
            f"change, add {ALLOW_UPDATE_IN_CI.flag} (the run then fails while any baseline changed). "
            f"Is {UPDATE_BASELINE.flag} in addopts or PYTEST_ADDOPTS? It must not be."
        )


def _regions(config: pytest.Config, families_setting: Optional[RawSetting]) -> list[str]:
    setting = _resolve(config, AWS_REGION)
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
    for name in split_list(setting.value, setting.source):
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


class DriftPlugin:
    """Adds one check item per (region, family) and reports baseline updates."""

    def __init__(self, gate: DriftGate, allowlist: AllowlistLike, *, is_worker: bool) -> None:
        self.gate, self.allowlist, self.is_worker = gate, allowlist, is_worker

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, items: list[pytest.Item]) -> None:
        # tryfirst: added before pytest's own -k / -m deselection runs, so that applies to us. Reported
        # through pytest_collectreport so "collected N items" counts them like any test.
        # An explicit nodeid: derived from the session's empty one it would start with "::".
        collector = EngineDefaultsCollector.from_parent(session, name=COLLECTOR_NAME, nodeid=COLLECTOR_NAME)
        collector.plugin = self
        report = collector.ihook.pytest_make_collect_report(collector=collector)
        collector.ihook.pytest_collectreport(report=report)
        items.extend(node for node in report.result if isinstance(node, pytest.Item))

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
                for line in record.review:
                    terminalreporter.write_line(line, yellow="NOT IN THE CIPHER ALLOWLIST" in line
                                                or "not in the cipher allowlist" in line)
        if any(record.changed for record in self.gate.updates.values()):
            terminalreporter.write_line("Review with: git diff " + _relative(settings.baseline_dir, root))


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

    plugin: DriftPlugin

    def collect(self) -> list[Union[pytest.Item, pytest.Collector]]:
        items: list[Union[pytest.Item, pytest.Collector]] = []
        for target in self.plugin.gate.settings.targets:
            item = EngineDefaultsItem.from_parent(self, name=target.label, target=target, plugin=self.plugin)
            item.add_marker("aurora_guard")
            item.add_marker(MARKER)
            items.append(item)
        if self.plugin.gate.settings.ci_markers:
            review = BaselineReviewItem.from_parent(self, name=REVIEW_ITEM, plugin=self.plugin)
            review.add_marker("aurora_guard")
            review.add_marker(MARKER)
            items.append(review)
        return items


class BaselineReviewItem(pytest.Item):
    """An update allowed in CI: fails while any baseline file changed, so a person reviews the diff."""

    def __init__(self, *, plugin: DriftPlugin, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plugin = plugin

    def runtest(self) -> None:
        gate = self.plugin.gate
        gate.update_all()  # memoised: the same records the update items made, whatever the order
        root = self.config.invocation_params.dir
        changed = [record for record in gate.updates.values() if record.changed]
        if not changed:
            return
        lines = [f"{len(changed)} baseline file(s) changed by an update in CI "
                 f"({', '.join(gate.settings.ci_markers)}, {ALLOW_UPDATE_IN_CI.flag}). They are written, but not "
                 "accepted: commit them in a pull request so a person reviews the change and the cipher allowlist."]
        for record in changed:
            assert record.outcome is not None
            lines.append(f"{record.outcome.value} {_relative(record.path, root)}")
            lines.extend(record.review)
        pytest.fail("\n".join(lines), pytrace=False)

    def reportinfo(self) -> tuple[Path, Optional[int], str]:
        return self.plugin.gate.settings.baseline_dir, None, "engine-default baselines changed in CI"


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
