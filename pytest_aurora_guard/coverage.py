"""Required mode's last word: did this run judge everything it was configured to gate?

``--aurora-require`` makes a run with nothing configured a usage error, but a run can also be
configured and still never judge: ``--collect-only`` in ``PYTEST_ADDOPTS``, ``-k``/``-m``/``--lf``
deselecting the checks, ``-x`` stopping before them, a conftest removing items. Each ends with
exit 0 and no connection. So required mode compares what the settings plan with the reports that
carried a verdict, and a run with a gap fails, naming the missing items and the likely cause.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from .settings.endpoints import Endpoint


@dataclass(frozen=True)
class PlannedGate:
    """What the settings say must be judged. Cluster endpoints are listed by the RDS API at
    collection time, so a cluster is covered by any judged item under its name."""

    collector_prefix: str
    endpoints: tuple[Endpoint, ...]
    item_names: tuple[str, ...]
    clusters: tuple[str, ...] = ()
    drift_collector: str = ""
    drift_labels: tuple[str, ...] = ()


def _judged_under(nodeids: Collection[str], collector: str) -> set[str]:
    """Item names judged under the collector ``collector`` or its per-address variants (``… via ADDR``)."""
    names: set[str] = set()
    for nodeid in nodeids:
        head, sep, name = nodeid.partition("::")
        if sep and (head == f"{collector}]" or head.startswith(f"{collector} via ")):
            names.add(name)
    return names


def unjudged(plan: PlannedGate, judged: Collection[str]) -> list[str]:
    """Node ids (or descriptions) the plan expects and no report judged; empty when covered."""
    missing: list[str] = []
    for endpoint in plan.endpoints:
        collector = f"{plan.collector_prefix}[{endpoint.node_label}"
        seen = _judged_under(judged, collector)
        missing += [f"{collector}]::{name}" for name in plan.item_names if name not in seen]
    for cluster in plan.clusters:
        collector = f"{plan.collector_prefix}[{cluster}"
        if not any(nodeid.startswith(collector) for nodeid in judged):
            missing.append(f"{collector}/…] (every check of cluster {cluster})")
    missing += [f"{plan.drift_collector}::{label}" for label in plan.drift_labels
                if f"{plan.drift_collector}::{label}" not in judged]
    return missing


def why_not_judged(collect_only: bool, selection: Sequence[str]) -> str:
    """The most likely cause, from the run's own options, for the message's second line."""
    if collect_only:
        return "--collect-only was given (check PYTEST_ADDOPTS and addopts too), so no check ran"
    if selection:
        return f"these options select or stop tests: {' '.join(selection)}"
    return "the items were removed or never reached (a conftest hook, -x/--maxfail, or an interrupted run)"


def required_mode_failure(missing: Sequence[str], cause: str, limit: int = 10) -> list[str]:
    shown = [f"  not judged: {nodeid}" for nodeid in missing[:limit]]
    if len(missing) > limit:
        shown.append(f"  … and {len(missing) - limit} more")
    return [
        f"aurora-guard: --aurora-require: {len(missing)} gate item(s) were configured but not judged in this "
        "run, so it cannot allow promotion",
        f"  why: {cause}",
        *shown,
        "  fix: run the gate without test selection (-k, -m, --lf, --deselect, --collect-only, -x), or "
        "give those options in a separate run without --aurora-require",
    ]
