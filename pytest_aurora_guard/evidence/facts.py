"""Structured facts behind a verdict, read from observations the judge already made.

The verdict's prose is for a person at 2 a.m.; these are for an auditor's tooling: code points,
versions and statuses as data. Only memoised observations are read, so no connection is added;
an observation that failed contributes no facts (its verdict already says why).
"""

from __future__ import annotations

from typing import Any, Optional

from ..errors import AuroraGuardError
from ..findings import DriverAttempt, PlaintextFinding, TransportSetting
from ..observations import Observations
from ..tls.certificates import assess_chain, host_kind
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


def _plaintext_fact(finding: PlaintextFinding) -> dict[str, Any]:
    who = finding.identity
    return {"kind": finding.kind.name, "answered": finding.answered,
            "user": who.user if who else None, "database": who.database if who else None,
            "random_identity": who.random if who else False}


def _transport_fact(transport: Optional[TransportSetting]) -> Optional[dict[str, Any]]:
    return None if transport is None else {"name": transport.name, "value": transport.value,
                                           "enforced": transport.enforced}


def _driver_fact(attempt: DriverAttempt) -> dict[str, Any]:
    session = attempt.session
    return {"kind": attempt.kind.name, "answered": attempt.answered,
            "session": None if session is None else {
                "encrypted": session.encrypted, "version": session.version.label if session.version else None,
                "suite": session.cipher_name},
            "transport": _transport_fact(attempt.transport)}


def _certificate_facts(probe: Observations) -> dict[str, Any]:
    chain, store = probe.modern().chain, probe.trust_store()
    if chain is None or not chain.certificates or store is None:
        return {"certificates": []}
    host = probe.certificate_host()
    assessment = assess_chain(chain, store, host, host_kind(host), probe.settings.cert_min_days)
    return {
        "certificates": [{"label": c.label, "subject": c.subject, "issuer": c.issuer, "sans": list(c.sans),
                          "not_before": c.not_before.isoformat(), "not_after": c.not_after.isoformat(),
                          "key": c.key, "signature": c.signature, "sha256": c.sha256} for c in assessment.path],
        "anchor": assessment.anchor, "trust_source": assessment.trust_source, "rds_ca": assessment.rds_ca,
        "problems": [{"kind": p.kind.name, "certificate": p.certificate, "detail": p.detail}
                     for p in assessment.problems],
    }


def facts_for(check: str, version: Optional[TlsVersion], probe: Observations) -> dict[str, Any]:
    """The facts for ``check`` (a ``CheckSpec.name``); empty where the check records none.

    Only observations the check's own judge has read (or the run's plan started) are asked for,
    so no connection is added.
    """
    try:
        if check == "accepted_suites_allowed":
            return {"versions": [_surface_fact(probe.surface_at(v)) for v in TlsVersion]}
        if check == "tls_version_refused" and version is not None:
            return {"surface": _surface_fact(probe.surface_at(version))}
        if check in ("negotiated_cipher_allowed", "tls_floor_accepted"):
            outcome = probe.modern().outcome if check == "negotiated_cipher_allowed" else probe.at_floor().outcome
            if isinstance(outcome, HandshakeCompleted):
                return {"negotiated": {"version": outcome.version.label, "suite": outcome.cipher_name}}
            return {"negotiated": None, "outcome": type(outcome).__name__}
        if check == "plaintext_refused":
            facts: dict[str, Any] = {"plaintext_attempts": [_plaintext_fact(f) for f in probe.plaintext()]}
            if probe.settings.has_credentials:  # the plan started the verified session with the attempts
                facts["transport_setting"] = _transport_fact(probe.driver_verified().transport)
            return facts
        if check == "driver_plaintext_refused":
            return {"driver": _driver_fact(probe.driver_plaintext())}
        if check == "driver_below_floor_refused" and probe.settings.below_floor():
            return {"driver": _driver_fact(probe.driver_capped(probe.settings.below_floor()[-1]))}
        if check == "driver_verified_session":
            return {"driver": _driver_fact(probe.driver_verified())}
        if check == "certificate_trusted":
            return _certificate_facts(probe)
    except (AuroraGuardError, KeyError, ValueError):  # no evidence: the verdict already says why
        return {}
    return {}
