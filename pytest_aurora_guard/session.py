"""The pytest session of an active gate: check items, the one probe run, verdicts and evidence.

Imported by :mod:`.plugin` only when something is configured to gate, so a project that merely
has the plugin installed pays for none of this (probing, TLS, drivers, AWS, reports).
"""

from __future__ import annotations

import json
import os
from collections.abc import Hashable, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any, Optional

import pytest

from .aws.iam_tokens import IamTokens
from .catalog import CLUSTER_CHECKS
from .checks import CheckSpec, Outcome, Verdict, planned_checks
from .control_plane import plugin as cluster_plugin
from .control_plane.checks import ClusterCheck
from .control_plane.gate import ClusterPlan
from .control_plane.targets import expand_all
from .coverage import PlannedGate, required_mode_failure, unjudged, why_not_judged
from .drift import plugin as drift_plugin
from .drift.session import DriftPlugin
from .evidence.document import Decision, Promotion, build_report, decide, dump, write_atomically
from .evidence.facts import facts_for
from .evidence.markdown import render_markdown
from .evidence.records import DRIFT_CHECK, FACTS_PROPERTY, VERDICT_PROPERTY, WAIVED_PROPERTY, RecordBook
from .evidence.sarif import SarifSources, build_sarif, locate_sources
from .evidence.waivers import UnusedWaiver, WaiverBook
from .probe import ProbeRun
from .report import header_lines, render_unreachable, render_verdict, summary_lines
from .settings.config import GuardSettings
from .settings.endpoints import Endpoint
from .tls.versions import TlsVersion

COLLECTOR_PREFIX = "aurora-guard"


def register(config: pytest.Config, settings: GuardSettings, waivers: Optional[WaiverBook], *,
             drift_active: bool) -> None:
    """Register the gate's session plugins (``plugin.pytest_configure`` calls this once it knows
    there is something to gate)."""
    if settings.active:
        config.pluginmanager.register(GuardSession(config, settings, waivers), "aurora-guard-session")
    controller = getattr(config, "workerinput", None) is None  # xdist: the controller sees every report
    if settings.require and controller:
        config.pluginmanager.register(RequiredMode(config, settings), "aurora-guard-required")
    if (settings.active or drift_active) and controller:
        config.pluginmanager.register(EvidencePlugin(config, settings, waivers), "aurora-guard-evidence")


class EvidencePlugin:
    """Collects every judged item's record and leaves the evidence: the decision line, the JSON
    and Markdown reports (``--aurora-report``), the SARIF log (``--aurora-sarif``), and the GitHub
    job summary when it is available."""

    def __init__(self, config: pytest.Config, settings: GuardSettings, waivers: Optional[WaiverBook]) -> None:
        self.config, self.settings, self.waivers = config, settings, waivers
        self.book = RecordBook(drift_plugin.COLLECTOR_NAME)
        self.started = datetime.now(timezone.utc)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.book.add(report)

    def decision(self) -> Decision:
        required: Optional[RequiredMode] = self.config.pluginmanager.getplugin("aurora-guard-required")
        return decide(self.book.records, unjudged=len(required.missing) if required is not None else 0)

    def sarif_sources(self) -> SarifSources:
        drift: Optional[DriftPlugin] = self.config.pluginmanager.getplugin(drift_plugin.PLUGIN_NAME)
        gate = drift.gate.settings if drift is not None else None
        baselines = {t.label: gate.baseline_file(t) for t in gate.targets} if gate is not None else {}
        return locate_sources(self.config.rootpath, self.config.inipath, baselines)

    def unused_waivers(self) -> list[UnusedWaiver]:
        waivers = self.waivers
        return waivers.unused(r.verdict for r in self.book.records) if waivers is not None else []

    def waiver_lines(self) -> list[str]:
        """Every waived item with its waiver, then each waiver that was not used (a warning: see
        ``evidence.waivers.unused_waivers`` for why not an error)."""
        waived = [f"aurora-guard: {record.verdict.waived_line()}: {record.nodeid}" for record in self.book.records
                  if record.verdict.outcome is Outcome.WAIVED]
        return waived + [f"aurora-guard: warning: {unused.render()}" for unused in self.unused_waivers()]

    @pytest.hookimpl(hookwrapper=True)
    def pytest_sessionfinish(self) -> Iterator[None]:
        yield  # after required mode has counted what was not judged
        finished, decision = datetime.now(timezone.utc), self.decision()
        if self.settings.sarif_path is not None:
            log = build_sarif(self.book.records, self.settings, started=self.started, finished=finished,
                              sources=self.sarif_sources(), decision=decision,
                              descriptions={**CLUSTER_CHECKS, DRIFT_CHECK: drift_plugin.CHECK_DESCRIPTION})
            write_atomically(self.settings.sarif_path, dump(log))
        summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
        if self.settings.report_path is None and not summary_path:
            return
        document = build_report(self.book.records, self.settings, started=self.started,
                                finished=finished, environ=os.environ, decision=decision,
                                unused_waivers=self.unused_waivers())
        markdown = render_markdown(document)
        if self.settings.report_path is not None:
            write_atomically(self.settings.report_path, dump(document))
            write_atomically(self.settings.report_path.with_suffix(".md"), markdown)
        if summary_path:
            with open(summary_path, "a", encoding="utf-8") as summary:
                summary.write(markdown + "\n")


class RequiredMode:
    """Fails a required run that did not judge every configured item (``coverage``)."""

    def __init__(self, config: pytest.Config, settings: GuardSettings) -> None:
        self.config, self.settings = config, settings
        self.judged: set[str] = set()
        self.missing: list[str] = []
        self.failure: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Judged means enforced: a FAILED verdict fails in the call phase, so a setup-only run
        # (--setup-only, --setup-plan) saw the verdict but never enforced it.
        enforced = report.when == "call" or (report.when == "setup" and report.failed)
        carries_verdict = any(name == VERDICT_PROPERTY for name, _ in report.user_properties)
        if enforced and (carries_verdict or report.nodeid.startswith(f"{drift_plugin.COLLECTOR_NAME}::")):
            self.judged.add(report.nodeid)

    def _plan(self) -> PlannedGate:
        drift: Optional[DriftPlugin] = self.config.pluginmanager.getplugin(drift_plugin.PLUGIN_NAME)
        settings = self.settings
        return PlannedGate(
            collector_prefix=COLLECTOR_PREFIX, endpoints=tuple(settings.endpoints),
            item_names=tuple(spec.item_name(version) for spec, version in planned_checks(settings)),
            clusters=settings.clusters, drift_collector=drift_plugin.COLLECTOR_NAME,
            drift_labels=tuple(t.label for t in drift.gate.settings.targets) if drift is not None else (),
        )

    def _selection(self) -> list[str]:
        option = self.config.option
        chosen = [f"-k {option.keyword!r}" if getattr(option, "keyword", "") else "",
                  f"-m {option.markexpr!r}" if getattr(option, "markexpr", "") else "",
                  "--lf" if getattr(option, "lf", False) else "",
                  *[f"--deselect {d}" for d in getattr(option, "deselect", None) or ()],
                  f"--maxfail={option.maxfail}" if getattr(option, "maxfail", 0) else "",
                  "--setup-only/--setup-plan" if getattr(option, "setuponly", False)
                  or getattr(option, "setupplan", False) else ""]
        return [c for c in chosen if c]

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        missing = self.missing = unjudged(self._plan(), self.judged)
        if not missing:
            return
        cause = why_not_judged(bool(self.config.option.collectonly), self._selection())
        self.failure = required_mode_failure(missing, cause)
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.failure:
            terminalreporter.write_sep("=", "aurora-guard required mode", red=True)
            for line in self.failure:
                terminalreporter.write_line(line)


def write_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The summary grid, the clusters' facts, the waivers, then the decision line."""
    evidence: Optional[EvidencePlugin] = config.pluginmanager.getplugin("aurora-guard-evidence")
    if evidence is None:  # an xdist worker: the controller sees every report and writes the summary
        return
    lines = summary_lines(evidence.book.records)
    if lines:
        terminalreporter.write_sep("=", "aurora-guard summary")
    for line in lines:
        terminalreporter.write_line(line)
    guard: Optional[GuardSession] = config.pluginmanager.getplugin("aurora-guard-session")
    if guard is not None:
        for line in cluster_plugin.summary_lines(guard.clusters):
            terminalreporter.write_line(line)
    for line in evidence.waiver_lines():
        terminalreporter.write_line(line, yellow=True)
    decision = evidence.decision()
    terminalreporter.write_line(decision.line(), bold=True, red=decision.promotion is Promotion.BLOCKED,
                                green=decision.promotion is Promotion.ALLOWED)


class AuroraEndpointCollector(pytest.Collector):
    """Groups one endpoint's checks; named after the endpoint (which never carries a secret)."""

    def __init__(self, *, endpoint: Endpoint, settings: GuardSettings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint, self.settings = endpoint, settings

    def collect(self) -> list[pytest.Item]:
        items: list[pytest.Item] = []
        xdist = drift_plugin.xdist_loaded(self.config)
        for spec, version in planned_checks(self.settings):
            name = spec.item_name(version)
            item = AuroraCheckItem.from_parent(self, name=name, nodeid=f"{self.nodeid}::{name}", spec=spec,
                                               version=version, endpoint=self.endpoint)
            item.add_marker("aurora_guard")
            item.add_marker(spec.marker)
            if xdist:  # keep one endpoint's checks on one worker: probe it once (--dist loadgroup)
                item.add_marker(pytest.mark.xdist_group(self.endpoint.group))
            items.append(item)
        return items


class VerdictItem(pytest.Item):
    """An item whose outcome is a Verdict: INCONCLUSIVE is an error in setup, FAILED a failure."""

    verdict: Optional[Verdict] = None

    def setup(self) -> None:
        guard: GuardSession = self.config.pluginmanager.getplugin("aurora-guard-session")
        waivers = guard.waivers
        verdict = guard.verdict_for(self)
        self.verdict = waivers.judge(verdict) if waivers is not None else verdict
        self.user_properties.append((VERDICT_PROPERTY, json.dumps(self.verdict.to_dict())))
        self.user_properties.append((FACTS_PROPERTY, json.dumps(guard.item_facts(self))))
        if self.verdict.outcome is Outcome.WAIVED:
            self.user_properties.append((WAIVED_PROPERTY, self.verdict.waived_line()))
        if self.verdict.outcome is Outcome.INCONCLUSIVE:
            pytest.fail(guard.unreachable_note(self) or render_verdict(self.verdict), pytrace=False)

    def runtest(self) -> None:
        # A waived failure passes for pytest (exit code, junit), and reads WAIVED in the terminal
        # (pytest_report_teststatus) and in the evidence; it still fails in the verdict's own data.
        assert self.verdict is not None
        if self.verdict.outcome not in (Outcome.PASSED, Outcome.WAIVED):
            pytest.fail(render_verdict(self.verdict), pytrace=False)


class AuroraCheckItem(VerdictItem):
    def __init__(self, *, spec: CheckSpec, version: Optional[TlsVersion], endpoint: Endpoint,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec, self.version, self.endpoint = spec, version, endpoint

    def reportinfo(self) -> tuple[Any, Optional[int], str]:
        return self.path, None, f"{self.endpoint.label} {self.name}"


class ClusterCheckItem(VerdictItem):
    """A control-plane check of one cluster (or of the run: no cluster matched)."""

    def __init__(self, *, check: ClusterCheck, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check

    def reportinfo(self) -> tuple[Any, Optional[int], str]:
        return self.path, None, f"{self.parent.name if self.parent else ''} {self.name}"


class ClusterCollector(pytest.Collector):
    """Groups one cluster's control-plane items: ``aurora-guard[prod-pg]::parameters_in_effect``."""

    def __init__(self, *, checks: tuple[ClusterCheck, ...], group: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checks, self.group = checks, group

    def collect(self) -> list[pytest.Item]:
        items: list[pytest.Item] = []
        xdist = drift_plugin.xdist_loaded(self.config)
        for check in self.checks:
            item = ClusterCheckItem.from_parent(self, name=check.item_name, nodeid=f"{self.nodeid}::{check.item_name}",
                                                check=check)
            item.add_marker("aurora_guard")
            item.add_marker(check.marker)
            if xdist:  # with the cluster's endpoints, whose probes the cross-check reads (--dist loadgroup)
                item.add_marker(pytest.mark.xdist_group(self.group))
            items.append(item)
        return items


class GuardSession:
    """Per-run state while endpoints are configured: one probe per endpoint."""

    def __init__(self, config: pytest.Config, settings: GuardSettings, waivers: Optional[WaiverBook]) -> None:
        self.config, self.settings, self.waivers = config, settings, waivers
        self._run: Optional[ProbeRun] = None
        self._prefetched = False
        self._unreachable_first: dict[Endpoint, str] = {}
        self.clusters = ClusterPlan()
        self.targets: list[Endpoint] = []

    @property
    def run(self) -> ProbeRun:
        if self._run is None:
            tokens = IamTokens() if self.settings.iam_auth else None
            self._run = ProbeRun(self.settings, self.targets or None, tokens=tokens)
        return self._run

    def pytest_report_header(self) -> list[str]:
        return header_lines(self.settings)

    def pytest_report_teststatus(
        self, report: pytest.TestReport
    ) -> Optional[tuple[str, str, tuple[str, Mapping[str, bool]]]]:
        """A waived item is ``W`` / ``WAIVED`` and counted as "waived" in the closing stats line, not as a pass."""
        waived = any(name == WAIVED_PROPERTY for name, _ in report.user_properties)
        if report.when == "call" and report.passed and waived:
            return "waived", "W", ("WAIVED", {"yellow": True})
        return None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, items: list[pytest.Item]) -> None:
        """Add the checks before -k/-m deselection runs, reporting them as collected like any test."""
        self.clusters = cluster_plugin.plan(self.config, self.settings)
        self.targets = expand_all([*self.settings.endpoints, *self.clusters.endpoints()])
        collectors: list[pytest.Collector] = [
            AuroraEndpointCollector.from_parent(session, name=f"{COLLECTOR_PREFIX}[{e.node_label}]",
                                                nodeid=f"{COLLECTOR_PREFIX}[{e.node_label}]", endpoint=e,
                                                settings=self.settings) for e in self.targets]
        groups = [(c.cluster_id, c.checks) for c in self.clusters.clusters]
        if self.clusters.problems:
            groups.append(("clusters", self.clusters.problems))
        collectors += [ClusterCollector.from_parent(session, name=f"{COLLECTOR_PREFIX}[{name}]",
                                                    nodeid=f"{COLLECTOR_PREFIX}[{name}]", checks=checks, group=name)
                       for name, checks in groups]
        for collector in collectors:
            report = collector.ihook.pytest_make_collect_report(collector=collector)
            collector.ihook.pytest_collectreport(report=report)
            items.extend(node for node in report.result if isinstance(node, pytest.Item))

    def unreachable_note(self, item: VerdictItem) -> Optional[str]:
        """One problem, one message: for an endpoint no TCP connection reaches, the first inconclusive
        check explains it (cause and fix) and every other one refers to it in one line."""
        if not isinstance(item, AuroraCheckItem):
            return None
        reason = self.run.probe(item.endpoint).unreachable()
        if reason is None:
            return None
        first = self._unreachable_first.setdefault(item.endpoint, item.name)
        if first != item.name:
            return f"not run: endpoint unreachable, see {first}"
        others = sum(1 for other in item.session.items
                     if isinstance(other, AuroraCheckItem) and other.endpoint == item.endpoint) - 1
        return render_unreachable(item.endpoint.label, reason, others, first)

    def verdict_for(self, item: VerdictItem) -> Verdict:
        if not self._prefetched:
            self._prefetched = True
            self.run.prefetch(self._wanted(item.session.items))
        if isinstance(item, ClusterCheckItem):
            return item.check.rule(self.run.probe)
        assert isinstance(item, AuroraCheckItem)
        probe = self.run.probe(item.endpoint)
        return item.spec.judge(probe, item.version)

    def item_facts(self, item: VerdictItem) -> dict[str, Any]:
        """The structured facts for the report, from observations the verdict already made."""
        if isinstance(item, AuroraCheckItem):
            return {"kind": "endpoint", "facts": facts_for(item.spec.name, item.version, self.run.probe(item.endpoint))}
        return {"kind": "cluster", "facts": {}}

    def _wanted(self, items: list[pytest.Item]) -> Mapping[Endpoint, Iterable[Hashable]]:
        wanted: dict[Endpoint, list[Hashable]] = {}

        def want(endpoint: Endpoint, observations: Iterable[Hashable]) -> None:
            keys = wanted.setdefault(endpoint, [])
            keys.extend(k for k in observations if k not in keys)

        for item in items:
            if isinstance(item, AuroraCheckItem):
                want(item.endpoint, item.spec.observations(self.settings, item.version))
            elif isinstance(item, ClusterCheckItem):
                for endpoint, observations in item.check.needs.items():
                    want(endpoint, observations)
        return wanted

    def pytest_unconfigure(self) -> None:
        if self._run is not None:
            self._run.close()
