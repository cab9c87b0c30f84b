"""The cipher-suite allowlist: the team's policy, normalised to IANA code points.

AWS lists Aurora suites in mixed naming (OpenSSL ``ECDHE-RSA-AES128-SHA`` beside IANA
``TLS_RSA_WITH_AES_128_CBC_SHA``), and servers report OpenSSL names, so every comparison is
made on code points, never on spellings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigurationError
from .ciphers import REGISTRY, CipherSuite, UnknownCipherSuite

# The TLS 1.3 suites Aurora PostgreSQL lists (Aurora user guide, AuroraPostgreSQL.Security).
DEFAULT_ALLOWLIST = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384")


@dataclass(frozen=True)
class CipherAllowlist:
    suites: tuple[CipherSuite, ...]
    source: str  # "default", "--aurora-cipher-allowlist", "file /path (ini key …)"

    @property
    def codes(self) -> frozenset[int]:
        return frozenset(suite.code for suite in self.suites)

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def names(self) -> list[str]:
        return [suite.iana_name for suite in self.suites]

    def describe(self) -> str:
        return f"{len(self.suites)} suites from {self.source}: {', '.join(self.names())}"


def default_allowlist() -> CipherAllowlist:
    return CipherAllowlist(tuple(REGISTRY.lookup(name) for name in DEFAULT_ALLOWLIST), "default")


def parse_allowlist(value: str, source: str, base_dir: Path | None = None) -> CipherAllowlist:
    """A comma-separated list of names, or the path of a file with one name per line (``#`` comments)."""
    text = value.strip()
    candidate = Path(text).expanduser()
    if base_dir is not None and not candidate.is_absolute():
        candidate = base_dir / candidate
    looks_like_path = "," not in text and ("/" in text or text.endswith((".txt", ".list", ".conf")))
    if looks_like_path or candidate.is_file():
        try:
            content = candidate.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(
                f"{source}: cannot read the cipher allowlist file {str(candidate)!r}: {exc.strerror}"
            ) from None
        names = [line.split("#", 1)[0].strip() for line in content.splitlines()]
        return _build([n for n in names if n], f"file {candidate} ({source})", source)
    return _build([n.strip() for n in text.split(",") if n.strip()], source, source)


def _build(names: Iterable[str], label: str, source: str) -> CipherAllowlist:
    suites: dict[int, CipherSuite] = {}
    unknown: list[str] = []
    for name in names:
        try:
            suite = REGISTRY.lookup(name)
        except UnknownCipherSuite:
            unknown.append(name)
            continue
        suites.setdefault(suite.code, suite)
    if unknown:
        raise ConfigurationError(
            f"{source}: {', '.join(repr(n) for n in unknown)} "
            f"{'is not a' if len(unknown) == 1 else 'are not'} known cipher suite name"
            f"{'' if len(unknown) == 1 else 's'}; use IANA names (TLS_AES_128_GCM_SHA256) or "
            "OpenSSL names (ECDHE-RSA-AES128-GCM-SHA256); `openssl ciphers -stdname -V ALL` lists both"
        )
    if not suites:
        raise ConfigurationError(f"{source}: the cipher allowlist is empty; name at least one suite")
    return CipherAllowlist(tuple(sorted(suites.values(), key=lambda s: s.code)), label)
