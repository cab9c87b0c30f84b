"""What to change, per engine, in the words of the Aurora parameter that fixes it.

Advice follows what was observed: a suite seen at TLS 1.3 is fixed in a different place from one
seen at TLS 1.2 (MySQL's ``tls_ciphersuites`` against ``ssl_cipher``; self-managed PostgreSQL
takes TLS 1.3 suites from OpenSSL, not ``ssl_ciphers``), and raising the floor is advised only
when something below it was seen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..tls.versions import TlsVersion


@dataclass(frozen=True)
class Remedies:
    plaintext: str
    floor: str  # may contain {floor}
    ciphers_up_to_tls12: str  # suites of TLS 1.2 and older
    ciphers_tls13: str

    def ciphers_at(self, versions: Iterable[TlsVersion]) -> str:
        """Where to restrict the suites seen at ``versions`` (both places if both kinds were seen)."""
        seen = set(versions)
        parts = []
        if any(version < TlsVersion.TLSv1_3 for version in seen) or not seen:
            parts.append(self.ciphers_up_to_tls12)
        if TlsVersion.TLSv1_3 in seen:
            parts.append(self.ciphers_tls13)
        return "; ".join(parts)
