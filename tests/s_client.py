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
TLS13_SUITES = (
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256",
    "TLS_AES_128_CCM_8_SHA256",
)


def s_client_accepts(address: tuple[str, int], version: TlsVersion, name: str,
                     starttls: Optional[str] = None) -> bool:
    """One full handshake by openssl s_client offering only ``name`` in ``version``."""
    tls13 = version is TlsVersion.TLSv1_3
    suite_args = ["-ciphersuites", name] if tls13 else ["-cipher", f"{name}:@SECLEVEL=0"]
    starttls_args = ["-starttls", starttls] if starttls else []
    result = subprocess.run(
        ["openssl", "s_client", "-brief", "-connect", f"{address[0]}:{address[1]}", *starttls_args,
         S_CLIENT_FLAG[version], *suite_args],
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
