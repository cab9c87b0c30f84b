"""Ground truth from `openssl s_client`: one full handshake per suite per version."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

from pytest_aurora_guard.tls.ciphers import REGISTRY
from pytest_aurora_guard.tls.versions import TlsVersion

ALL_VERSIONS = (TlsVersion.TLSv1_0, TlsVersion.TLSv1_1, TlsVersion.TLSv1_2, TlsVersion.TLSv1_3)
S_CLIENT_FLAG = {
    TlsVersion.TLSv1_0: "-tls1",
    TlsVersion.TLSv1_1: "-tls1_1",
    TlsVersion.TLSv1_2: "-tls1_2",
    TlsVersion.TLSv1_3: "-tls1_3",
}
# Every group this OpenSSL (3.0) implements, so that the ground truth is never limited by the
# client's default list (x25519, P-256, x448, P-521, P-384, and ffdhe only in TLS 1.3).
EVERY_GROUP = ":".join((
    "X25519", "P-256", "X448", "P-521", "P-384", "ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192",
    "brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1", "secp256k1", "secp224r1", "secp224k1", "secp192r1",
    "secp192k1", "secp160r2", "secp160r1", "secp160k1", "sect163k1", "sect163r1", "sect163r2", "sect193r1",
    "sect193r2", "sect233k1", "sect233r1", "sect239k1", "sect283k1", "sect283r1", "sect409k1", "sect409r1",
    "sect571k1", "sect571r1",
))
TLS13_SUITES = (
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256",
    "TLS_AES_128_CCM_8_SHA256",
)


def s_client_accepts(address: tuple[str, int], version: TlsVersion, name: str,
                     starttls: Optional[str] = None) -> bool:
    """One full handshake by openssl s_client offering only ``name`` in ``version``, and every group."""
    tls13 = version is TlsVersion.TLSv1_3
    suite_args = ["-ciphersuites", name] if tls13 else ["-cipher", f"{name}:@SECLEVEL=0"]
    starttls_args = ["-starttls", starttls] if starttls else []
    result = subprocess.run(
        ["openssl", "s_client", "-brief", "-connect", f"{address[0]}:{address[1]}", *starttls_args,
         S_CLIENT_FLAG[version], "-groups", EVERY_GROUP, *suite_args],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30, check=False,
    )
    return result.returncode == 0 and f"Ciphersuite: {name}\n" in result.stdout + result.stderr


def s_client_ground_truth(address: tuple[str, int], starttls: Optional[str] = None
                          ) -> dict[TlsVersion, frozenset[int]]:
    """Per version, the suites s_client gets a handshake with, one suite per connection."""
    jobs: list[tuple[TlsVersion, str]] = [(TlsVersion.TLSv1_3, n) for n in TLS13_SUITES]
    for version in ALL_VERSIONS[:3]:
        # -s: only the suites this OpenSSL client can actually offer in that version.
        listing = subprocess.run(
            ["openssl", "ciphers", "-s", S_CLIENT_FLAG[version], "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        jobs += [(version, n) for n in listing.split(":") if not n.startswith("TLS_")]
    with ThreadPoolExecutor(max_workers=8) as pool:
        verdicts = list(pool.map(lambda job: s_client_accepts(address, *job, starttls=starttls), jobs))
    truth: dict[TlsVersion, set[int]] = {v: set() for v in ALL_VERSIONS}
    for (version, name), accepted in zip(jobs, verdicts):
        if accepted:
            truth[version].add(REGISTRY.lookup(name).code)
    return {v: frozenset(codes) for v, codes in truth.items()}
