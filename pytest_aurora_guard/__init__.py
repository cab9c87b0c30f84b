"""pytest-aurora-guard: gate delivery on the transport security of Amazon Aurora endpoints."""

from __future__ import annotations

__version__ = "0.1.0"
