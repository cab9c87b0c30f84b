"""pytest glue for the engine-default drift gate: its options, marker and names; the gate's items
and hooks are in :mod:`.session`, imported only by a run that gates drift.

``plugin.py`` calls :func:`add_options` from ``pytest_addoption`` and :func:`register` from
``pytest_configure``. Under pytest-xdist the controller alone calls AWS and writes baselines
(``pytest_xdist_setupnodes``) and hands the results to the workers through ``workerinput``,
the pattern pytest-randomly uses for its seed and pytest's cache provider for its files.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Callable

import pytest

from ..errors import ConfigurationError
from ..settings.options import (
    ALLOW_UPDATE_IN_CI,
    AWS_REGION,
    BASELINE_DIR,
    ENGINE_FAMILY,
    TRACKED_PARAMETERS,
    UPDATE_BASELINE,
)

if TYPE_CHECKING:
    from .gate import AllowlistLike

PLUGIN_NAME = "aurora-guard-drift"
WIRE_KEY = "aurora_guard_drift"
UPDATE_PROPERTY = "aurora_guard_baseline"
COLLECTOR_NAME = "aurora-engine-defaults"
MARKER = "aurora_engine_defaults"
REVIEW_ITEM = "baselines-changed-in-ci"
CHECK_DESCRIPTION = ("AWS's engine defaults for one region and DB parameter group family still match the "
                     "committed baseline")


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("aurora-guard")
    group.addoption(AWS_REGION.flag, action="append", default=[], dest=AWS_REGION.dest, type=_cli(_region),
                    metavar="REGION", help=AWS_REGION.help_text)
    group.addoption(ENGINE_FAMILY.flag, action="append", default=[], dest=ENGINE_FAMILY.dest,
                    type=_cli(_family), metavar="FAMILY", help=ENGINE_FAMILY.help_text)
    group.addoption(BASELINE_DIR.flag, default=None, dest=BASELINE_DIR.dest, metavar="DIR",
                    help=BASELINE_DIR.help_text + " (the ini value is resolved against the ini file)")
    group.addoption(UPDATE_BASELINE.flag, action="store_true", default=False, dest=UPDATE_BASELINE.dest,
                    help=UPDATE_BASELINE.help_text)
    group.addoption(ALLOW_UPDATE_IN_CI.flag, action="store_true", default=False, dest=ALLOW_UPDATE_IN_CI.dest,
                    help=ALLOW_UPDATE_IN_CI.help_text)
    parser.addini(AWS_REGION.ini, type="linelist", default=[], help="regions for the drift gate")
    parser.addini(ENGINE_FAMILY.ini, type="linelist", default=[],
                  help="DB parameter group families whose engine defaults must match their baselines")
    parser.addini(BASELINE_DIR.ini, type="string", default="",
                  help="engine-default baseline directory, relative to this ini file")
    parser.addini(
        TRACKED_PARAMETERS.ini,
        type="linelist",
        default=[],
        help="lines '<family prefix>: <parameter>, ...' replacing the tracked parameters for "
        "that prefix (defaults: aurora-postgresql: rds.force_ssl, ssl_ciphers, "
        "ssl_max_protocol_version, ssl_min_protocol_version; aurora-mysql: "
        "require_secure_transport, ssl_cipher, tls_ciphersuites, tls_version)",
    )


def register(config: pytest.Config, *, endpoints_configured: bool, allowlist: AllowlistLike) -> bool:
    """Activate the drift gate when the run asks for it; stay inert (no AWS call) otherwise.

    Returns whether the gate is active.
    """
    from .session import register_gate  # the baselines, the comparison and AWS: only for a run that asks

    return register_gate(config, endpoints_configured=endpoints_configured, allowlist=allowlist)


def xdist_loaded(config: pytest.Config) -> bool:
    """pytest-xdist's hooks are known, however it was loaded (entry point "xdist" or -p xdist.plugin)."""
    return hasattr(config.hook, "pytest_xdist_setupnodes")


def _region(text: str) -> str:
    from .baselines import validate_region  # imported when the option is given, not at every start-up

    return validate_region(text)


def _family(text: str) -> str:
    from .baselines import validate_family

    return validate_family(text)


def _cli(validate: Callable[[str], str]) -> Callable[[str], str]:
    def convert(text: str) -> str:
        try:
            return validate(text.strip())
        except ConfigurationError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert
