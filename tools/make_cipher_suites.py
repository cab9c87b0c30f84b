"""Regenerate ``pytest_aurora_guard/tls/data/cipher_suites.csv``, the cipher-suite registry.

The registry is keyed by IANA code point. It merges three sources, each for what it is
authoritative on:

1. The IANA "TLS Cipher Suites" registry (``tls-parameters-4.csv``,
   https://www.iana.org/assignments/tls-parameters/tls-parameters-4.csv): which code points are
   assigned and their IANA names. Reserved, unassigned, GREASE (RFC 8701) and signalling values
   (``*_SCSV``, RFC 5746 / RFC 7507) are not cipher suites and are left out.
2. testssl.sh ``etc/cipher-mapping.txt`` (https://github.com/testssl/testssl.sh): OpenSSL names
   and the minimum protocol version of suites the local OpenSSL does not build, plus the few
   code points real servers used before or without IANA assignment (draft ChaCha20 ``_OLD``,
   ``EXPORT1024``, GOST, CECPQ1). Those are kept only when testssl gives them a ``TLS_`` name.
3. The local ``openssl ciphers -V -stdname`` output: the OpenSSL names that Python's
   ``ssl.SSLSocket.cipher()`` will report, and OpenSSL's own minimum protocol for each suite.
   Where OpenSSL knows a suite, it wins over testssl.

Versions per suite: TLS 1.3 suites (RFC 8446 §B.4 and later 1.3-only registrations) are usable
only with TLS 1.3 — a TLS 1.3 suite names no key exchange and cannot be negotiated below 1.3
(RFC 8446 §4.1.3). Every other suite is usable from its minimum protocol up to TLS 1.2.

Usage (the live IANA file and a testssl.sh checkout, or copies of them)::

    python tools/make_cipher_suites.py \\
        --iana tls-parameters-4.csv --iana-origin "<where the copy came from>" \\
        --testssl cipher-mapping.txt --testssl-origin "testssl/testssl.sh@<commit>" \\
        --date 2026-11-28 --output pytest_aurora_guard/tls/data/cipher_suites.csv

Discrepancies between the sources are printed to stderr; a name that would map to two code
points stops the run.
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

# The order of protocol versions as our TlsVersion labels spell them.
VERSION_ORDER = ("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
# testssl and OpenSSL spell TLS 1.0 "TLSv1".
PROTOCOL_LABELS = {
    "SSLv3": "SSLv3",
    "TLSv1": "TLSv1.0",
    "TLSv1.0": "TLSv1.0",
    "TLSv1.1": "TLSv1.1",
    "TLSv1.2": "TLSv1.2",
    "TLSv1.3": "TLSv1.3",
}
# Every TLS 1.3 suite OpenSSL 3 implements; `-ciphersuites` makes it list the CCM ones too.
OPENSSL_TLS13 = (
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
    "TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256"
)
# COMPLEMENTOFALL adds the eNULL suites that ALL leaves out; SECLEVEL=0 keeps weak ones listed.
OPENSSL_CIPHERS = "ALL:COMPLEMENTOFALL:@SECLEVEL=0"

# IANA registrations that are TLS 1.3-only but that neither testssl nor OpenSSL describes:
# AEGIS (draft-irtf-cfrg-aegis-aead, 0x13 block like RFC 8446 §B.4) and the TLS 1.3 GOST
# suites (RFC 9367). Everything else without a source protocol falls back to the name rule.
TLS13_ONLY_BY_REGISTRATION = frozenset({0x1306, 0x1307, 0xC103, 0xC104, 0xC105, 0xC106})

_IANA_VALUE = re.compile(r"^0x([0-9A-Fa-f]{2}),0x([0-9A-Fa-f]{2})$")
_TESTSSL_LINE = re.compile(
    r"^\s*0x([0-9A-Fa-f]{2}),0x([0-9A-Fa-f]{2})\s+-\s+(\S+)\s+(\S+)\s+(\S+)"
)
_OPENSSL_LINE = re.compile(
    r"^\s*0x([0-9A-Fa-f]{2}),0x([0-9A-Fa-f]{2})\s+-\s+(\S+)\s+-\s+(\S+)\s+(\S+)"
)


@dataclass(frozen=True)
class SourceRow:
    code: int
    iana_name: Optional[str]
    openssl_name: Optional[str]
    min_version: Optional[str]


@dataclass(frozen=True)
class RegistryRow:
    code: int
    iana_name: str
    openssl_name: Optional[str]
    min_version: str
    versions: Tuple[str, ...]
    sources: str


def read_iana(path: Path) -> Dict[int, str]:
    """Assigned cipher-suite code points and their IANA names."""
    assigned: Dict[int, str] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            match = _IANA_VALUE.match(row["Value"].strip())
            name = row["Description"].strip()
            if not match or not name.startswith("TLS_") or name.endswith("_SCSV"):
                continue  # ranges, Reserved (incl. GREASE), Unassigned, signalling values
            assigned[int(match.group(1) + match.group(2), 16)] = name
    return assigned


def read_testssl(path: Path) -> Dict[int, SourceRow]:
    """Two-byte code points from testssl's mapping; SSLv2 three-byte codes are skipped."""
    rows: Dict[int, SourceRow] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _TESTSSL_LINE.match(line)
        if not match:
            continue
        code = int(match.group(1) + match.group(2), 16)
        openssl_name, iana_name, protocol = match.group(3, 4, 5)
        if protocol not in PROTOCOL_LABELS:
            continue
        rows[code] = SourceRow(
            code=code,
            iana_name=None if iana_name == "-" else iana_name,
            openssl_name=None if openssl_name == "-" else openssl_name,
            min_version=PROTOCOL_LABELS[protocol],
        )
    return rows


def read_openssl(openssl: str) -> Tuple[str, Dict[int, SourceRow]]:
    """What the local OpenSSL build knows, as ``ciphers -V -stdname`` prints it."""
    # The binary is the developer's own choice on the command line, not untrusted input.
    version = subprocess.run(  # noqa: S603
        [openssl, "version"], check=True, capture_output=True, text=True
    ).stdout.strip()
    listing = subprocess.run(  # noqa: S603
        [openssl, "ciphers", "-V", "-stdname", "-ciphersuites", OPENSSL_TLS13, OPENSSL_CIPHERS],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows: Dict[int, SourceRow] = {}
    for line in listing.splitlines():
        match = _OPENSSL_LINE.match(line)
        if not match:
            raise SystemExit(f"unexpected line from openssl ciphers: {line!r}")
        code = int(match.group(1) + match.group(2), 16)
        rows[code] = SourceRow(
            code=code,
            iana_name=match.group(3),
            openssl_name=match.group(4),
            min_version=PROTOCOL_LABELS[match.group(5)],
        )
    return version, rows


def version_by_name(code: int, iana_name: str) -> str:
    """Minimum protocol for a registration no source describes, from what its name says."""
    if code in TLS13_ONLY_BY_REGISTRATION:
        return "TLSv1.3"
    # AEAD modes and SHA-2 PRFs exist only from TLS 1.2 on (RFC 5246 §5, RFC 5288 §4).
    if re.search(r"GCM|CCM|CHACHA20|_SHA256$|_SHA384$|MGM|OMAC", iana_name):
        return "TLSv1.2"
    return "TLSv1.0"


def merge(
    iana: Dict[int, str], testssl: Dict[int, SourceRow], openssl: Dict[int, SourceRow]
) -> Tuple[List[RegistryRow], List[str]]:
    warnings: List[str] = []
    codes = set(iana)
    for code, row in testssl.items():
        if code not in iana and row.iana_name and row.iana_name.startswith("TLS_"):
            codes.add(code)
    for code, row in openssl.items():
        if code not in iana:
            warnings.append(f"OpenSSL knows {row.openssl_name} at 0x{code:04X}, IANA does not")
            codes.add(code)

    result: List[RegistryRow] = []
    for code in sorted(codes):
        t_row = testssl.get(code)
        o_row = openssl.get(code)
        present = (("iana", code in iana), ("testssl", t_row), ("openssl", o_row))
        sources = [label for label, found in present if found]
        name = (
            iana.get(code)
            or (t_row.iana_name if t_row else None)
            or (o_row.iana_name if o_row else None)
        )
        assert name is not None
        for other, label in ((t_row, "testssl"), (o_row, "openssl")):
            if other and other.iana_name and other.iana_name != name:
                warnings.append(f"0x{code:04X}: IANA says {name}, {label} says {other.iana_name}")
        openssl_name = (o_row.openssl_name if o_row else None) or (
            t_row.openssl_name if t_row else None
        )
        if t_row and o_row and t_row.openssl_name and t_row.openssl_name != o_row.openssl_name:
            warnings.append(
                f"0x{code:04X}: OpenSSL calls it {o_row.openssl_name}, testssl {t_row.openssl_name}"
            )
        min_version = (
            (o_row.min_version if o_row else None)
            or (t_row.min_version if t_row else None)
            or version_by_name(code, name)
        )
        if t_row and o_row and t_row.min_version != o_row.min_version:
            warnings.append(
                f"0x{code:04X} {name}: OpenSSL minimum {o_row.min_version}, "
                f"testssl {t_row.min_version}; using OpenSSL's"
            )
        if min_version == "TLSv1.3":
            versions: Tuple[str, ...] = ("TLSv1.3",)
        else:
            start = VERSION_ORDER.index(min_version)
            versions = VERSION_ORDER[start : VERSION_ORDER.index("TLSv1.2") + 1]
        result.append(
            RegistryRow(code, name, openssl_name, min_version, versions, "+".join(sources))
        )
    _check_names_unique(result)
    return result, warnings


def _check_names_unique(rows: Sequence[RegistryRow]) -> None:
    owner: Dict[str, int] = {}
    for row in rows:
        for name in {row.iana_name, row.openssl_name} - {None}:
            assert name is not None
            key = name.casefold()
            if key in owner and owner[key] != row.code:
                raise SystemExit(f"name {name} maps to 0x{owner[key]:04X} and 0x{row.code:04X}")
            owner[key] = row.code


def write(
    rows: Sequence[RegistryRow], output: Path, header: Sequence[str]
) -> None:
    with output.open("w", newline="", encoding="utf-8") as handle:
        for line in header:
            handle.write(f"# {line}\n" if line else "#\n")
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["code", "iana_name", "openssl_name", "min_version", "versions", "sources"])
        for row in rows:
            writer.writerow(
                [
                    f"0x{row.code:04X}",
                    row.iana_name,
                    row.openssl_name or "",
                    row.min_version,
                    " ".join(row.versions),
                    row.sources,
                ]
            )


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iana", type=Path, required=True, help="tls-parameters-4.csv")
    parser.add_argument("--iana-origin", required=True, help="where that copy came from")
    parser.add_argument("--testssl", type=Path, required=True, help="etc/cipher-mapping.txt")
    parser.add_argument("--testssl-origin", required=True, help="repository@commit of that copy")
    parser.add_argument("--openssl", default="openssl", help="openssl binary to ask")
    parser.add_argument("--date", required=True, help="generation date, YYYY-MM-DD")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)

    iana = read_iana(args.iana)
    testssl = read_testssl(args.testssl)
    openssl_version, openssl = read_openssl(args.openssl)
    rows, warnings = merge(iana, testssl, openssl)
    for warning in warnings:
        print(f"note: {warning}", file=sys.stderr)

    per_version = {
        label: sum(1 for row in rows if label in row.versions) for label in VERSION_ORDER
    }
    header = [
        "pytest-aurora-guard cipher-suite registry: one row per cipher-suite code point.",
        f"Generated {args.date} by tools/make_cipher_suites.py; edit the generator, not this file.",
        "Sources:",
        f"  IANA TLS Cipher Suites registry, tls-parameters-4.csv: {args.iana_origin}",
        f"    ({len(iana)} assigned suites; Reserved/GREASE/Unassigned/SCSV rows left out)",
        f"  testssl.sh etc/cipher-mapping.txt: {args.testssl_origin}",
        f"    ({len(testssl)} two-byte code points; OpenSSL names and minimum protocols)",
        f"  {openssl_version}: openssl ciphers -V -stdname -ciphersuites <all five TLS 1.3>"
        f" '{OPENSSL_CIPHERS}'",
        f"    ({len(openssl)} suites; its names and minimum protocols win over testssl's)",
        f"Rows: {len(rows)}; IANA-assigned: {sum(1 for r in rows if r.code in iana)}; "
        f"with an OpenSSL name: {sum(1 for r in rows if r.openssl_name)}.",
        "Usable per version: "
        + ", ".join(f"{label} {count}" for label, count in per_version.items())
        + ".",
        "versions: TLS 1.3 suites only TLS 1.3 (RFC 8446 4.1.3);"
        " the others from min_version up to TLS 1.2.",
        "",
    ]
    write(rows, args.output, header)
    print(f"wrote {len(rows)} suites to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
