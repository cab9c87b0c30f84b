"""Random TLS configurations of a real PostgreSQL, enumerated by the guard and by `openssl
s_client` one suite at a time; every difference is reported.

Used by tests/test_differential.py (a handful of seeds in CI) and by tools/differential.py
(hundreds). A configuration is drawn from a seed, so any disagreement can be replayed with it.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from pytest_aurora_guard.checks import CHECKS, Outcome
from pytest_aurora_guard.errors import ProbeError
from pytest_aurora_guard.probe import ProbeRun
from pytest_aurora_guard.settings.config import GuardSettings
from pytest_aurora_guard.settings.endpoints import parse_endpoint
from pytest_aurora_guard.tls.ciphers import REGISTRY
from pytest_aurora_guard.tls.versions import TlsVersion
from tests.s_client import ALL_VERSIONS, s_client_ground_truth
from tests.support.pki import KEY_TYPES, make_pki
from tests.support.postgres import PgProfile, start_postgres

_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_CIPHER_STRINGS = (
    "ALL:@SECLEVEL=0", "HIGH:MEDIUM:+3DES:!aNULL", "ECDHE:@SECLEVEL=0", "kRSA:@SECLEVEL=0", "DHE:@SECLEVEL=0",
    "ECDHE+AESGCM", "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA", "AES128-SHA:@SECLEVEL=0",
    "CHACHA20:@SECLEVEL=0", "ARIA:CAMELLIA:@SECLEVEL=0", "aECDSA:@SECLEVEL=0", "aRSA+SHA1:@SECLEVEL=0",
)
# PostgreSQL's ssl_ecdh_curve takes one curve; it becomes the server's only ECDHE group.
_CURVES = ("prime256v1", "secp384r1", "secp521r1", "brainpoolP256r1", "brainpoolP512r1", "secp224r1",
           "secp256k1", "sect571r1")
_TLS13_SUITES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                 "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256")
_SIGNATURE_ALGORITHMS = ("ECDSA+SHA256", "ECDSA+SHA384", "ECDSA+SHA512", "ECDSA+SHA1", "RSA+SHA256", "RSA+SHA1",
                         "RSA-PSS+SHA256", "RSA-PSS+SHA512", "rsa_pss_pss_sha256", "ed25519", "ed448")


@dataclass(frozen=True)
class PgTlsConfig:
    seed: int
    key_type: str
    min_version: str
    max_version: str
    ssl_ciphers: str
    ecdh_curve: str
    ciphersuites: Optional[str]  # OpenSSL Ciphersuites (TLS 1.3), None: OpenSSL's default
    signature_algorithms: Optional[str]  # OpenSSL SignatureAlgorithms, None: OpenSSL's default

    def settings(self) -> dict[str, str]:
        return {"ssl": "on", "ssl_min_protocol_version": f"'{self.min_version}'",
                "ssl_max_protocol_version": f"'{self.max_version}'", "ssl_ciphers": f"'{self.ssl_ciphers}'",
                "ssl_ecdh_curve": f"'{self.ecdh_curve}'"}

    def openssl(self) -> dict[str, str]:
        lines = {}
        if self.ciphersuites:
            lines["Ciphersuites"] = self.ciphersuites
        if self.signature_algorithms:
            lines["SignatureAlgorithms"] = self.signature_algorithms
        return lines


def random_config(seed: int) -> PgTlsConfig:
    draw = random.Random(seed)
    low = draw.randrange(len(_VERSIONS))
    high = draw.randrange(low, len(_VERSIONS))
    suites = draw.sample(_TLS13_SUITES, draw.randint(1, len(_TLS13_SUITES))) if draw.random() < 0.6 else None
    sigalgs = draw.sample(_SIGNATURE_ALGORITHMS, draw.randint(2, 6)) if draw.random() < 0.4 else None
    return PgTlsConfig(
        seed=seed, key_type=draw.choice(KEY_TYPES[:-1]),  # Ed448: the list stops at Ed25519
        min_version=_VERSIONS[low], max_version=_VERSIONS[high], ssl_ciphers=draw.choice(_CIPHER_STRINGS),
        ecdh_curve=draw.choice(_CURVES), ciphersuites=":".join(suites) if suites else None,
        signature_algorithms=":".join(sigalgs) if sigalgs else None,
    )


@dataclass
class Comparison:
    config: PgTlsConfig
    started: bool = True
    # (version, suite name) s_client got a handshake with and the guard did not list: a false refusal.
    missed: list[tuple[str, str]] = field(default_factory=list)
    # The guard listed it, s_client could offer it, and s_client got no handshake.
    extra: list[tuple[str, str]] = field(default_factory=list)
    # Checks that passed although s_client proved them wrong: the failure the gate exists to prevent.
    false_passes: list[str] = field(default_factory=list)
    connections: int = 0
    # Why the guard's enumeration raised instead of returning a surface (its checks then error).
    probe_error: Optional[str] = None

    @property
    def agrees(self) -> bool:
        return not (self.missed or self.extra or self.false_passes)


def compare(config: PgTlsConfig, work: Path) -> Comparison:
    pki = make_pki(work / f"pki-{config.seed}", key_type=config.key_type)
    try:
        server = start_postgres(PgProfile.IN_BETWEEN, pki, attempts=1, settings=config.settings(),
                                openssl=config.openssl())
    except RuntimeError:
        return Comparison(config, started=False)  # e.g. a cipher string this OpenSSL rejects
    with server:
        truth = s_client_ground_truth((server.host, server.port), starttls="postgres")
        run = ProbeRun(GuardSettings(endpoints=(parse_endpoint(server.endpoint),), timeout=5))
        try:
            probe = run.probe(run.settings.endpoints[0])
            result = Comparison(config)
            offerable = _s_client_offerable()
            for version in ALL_VERSIONS:
                try:
                    ours = frozenset(probe.surface_at(version).accepted_suites)
                except ProbeError as exc:  # e.g. a server that answers 'S' and an alert at once
                    result.probe_error, ours = str(exc), frozenset()
                result.missed += [(version.label, _name(c)) for c in sorted(truth[version] - ours)]
                unconfirmed = (ours - truth[version]) & offerable[version]
                result.extra += [(version.label, _name(c)) for c in sorted(unconfirmed)]
            # The verdicts as the plugin reaches them (CheckSpec.judge turns exceptions into errors).
            specs = {spec.name: spec for spec in CHECKS}
            for version in TlsVersion.TLSv1_3.below():
                verdict = specs["tls_version_refused"].judge(probe, version)
                if verdict.outcome is Outcome.PASSED and truth.get(version):
                    result.false_passes.append(f"tls_version_refused[{version.label}]: {verdict.summary}")
            verdict = specs["accepted_suites_allowed"].judge(probe, None)
            allow = run.settings.allowlist
            if verdict.outcome is Outcome.PASSED and any(c not in allow for codes in truth.values() for c in codes):
                result.false_passes.append(f"accepted_suites_allowed: {verdict.summary}")
            result.connections = probe.connections
            return result
        finally:
            run.close()


def _name(code: int) -> str:
    suite = REGISTRY.by_code(code)
    return suite.iana_name if suite else f"0x{code:04X}"


_OFFERABLE: dict[TlsVersion, frozenset[int]] = {}


def _s_client_offerable() -> dict[TlsVersion, frozenset[int]]:
    """What s_client itself can offer per version: only there can it contradict us."""
    import subprocess

    from tests.s_client import S_CLIENT_FLAG, TLS13_SUITES

    if not _OFFERABLE:
        _OFFERABLE[TlsVersion.TLSv1_3] = frozenset(REGISTRY.lookup(n).code for n in TLS13_SUITES)
        for version in ALL_VERSIONS[:3]:
            listing = subprocess.run(["openssl", "ciphers", "-s", S_CLIENT_FLAG[version],
                                      "ALL:COMPLEMENTOFALL:@SECLEVEL=0"], capture_output=True, text=True,
                                     check=True).stdout.strip().split(":")
            _OFFERABLE[version] = frozenset(REGISTRY.lookup(n).code for n in listing if not n.startswith("TLS_"))
    return _OFFERABLE


def run_seeds(seeds: list[int]) -> list[Comparison]:
    with tempfile.TemporaryDirectory() as work:
        return [compare(random_config(seed), Path(work)) for seed in seeds]
