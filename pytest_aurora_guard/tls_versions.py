"""Deprecated alias of :mod:`pytest_aurora_guard.tls.versions`, kept for one release.

Importing it warns and hands back the module itself, so every name keeps working unchanged.
"""

from __future__ import annotations

import sys
import warnings

from .tls import versions as _moved

warnings.warn(
    "pytest_aurora_guard.tls_versions has moved to pytest_aurora_guard.tls.versions; import it from there "
    "(the old path goes away in the next release)",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved
