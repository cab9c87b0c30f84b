"""Structured facts behind a verdict, read from observations the judge already made.

The verdict's prose is for a person at 2 a.m.; these are for an auditor's tooling: code points,
versions and statuses as data. Only memoised observations are read, so no connection is added;
an observation that failed contributes no facts (its verdict already says why).
"""

from __future__ import annotations

from typing import Any, Optional

from ..errors import AuroraGuardError
from ..probe import EndpointProbe
from ..tls.ciphers import REGISTRY
from ..tls.handshake import HandshakeCompleted
from ..tls.surface import VersionSurface
from ..tls.versions import TlsVersion


def suite_fact(code: int) -> dict[str, Any]:
    """A suite as data: IANA code point, IANA and OpenSSL names (unknown code points keep their number)."""
    suite = REGISTRY.by_code(code)
    return {"code": code, "code_hex": f"0x{code >> 8:02X},0x{code & 0xFF:02X}",
            "iana": suite.iana_name if suite else None, "openssl": suite.openssl_name if suite else None}


def _surface_fact(surface: VersionSurface) -> dict[str, Any]:
    return {"version": surface.version.label, "status": surface.status.value, "complete": surface.complete,
            "accepted_suites": [suite_fact(code) for code in surface.accepted_suites],
            "connections": surface.connections}


def facts_for(check: str, version: Optional[TlsVersion], probe: EndpointProbe) -> dict[str, Any]:
    """The facts for ``check`` (a ``CheckSpec.name``); empty where the check records none."""
    try:
        if check == "accepted_suites_allowed":
            return {"versions": [_surface_fact(s) for s in probe.surface().versions]}
        if check == "tls_version_refused" and version is not None:
            return {"surface": _surface_fact(probe.surface_at(version))}
        if check in ("negotiated_cipher_allowed", "tls_floor_accepted"):
            outcome = probe.modern().outcome if check == "negotiated_cipher_allowed" else probe.at_floor().outcome
            if isinstance(outcome, HandshakeCompleted):
                return {"negotiated": {"version": outcome.version.label, "suite": outcome.cipher_name}}
            return {"negotiated": None, "outcome": type(outcome).__name__}
    except (AuroraGuardError, KeyError):
        return {}
    return {}
