"""A throwaway certificate authority made at test time, never committed.

The server certificate names 127.0.0.1, ::1, localhost and *.aurora-guard.test so that verify-full /
hostname-checked clients succeed against servers on loopback, as they must against a real Aurora endpoint.
"""

from __future__ import annotations

import datetime
import enum
import ipaddress
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class TestPki:
    """Paths of a CA certificate and one server key pair signed by it."""

    __test__ = False  # not a test class, despite the name

    directory: Path
    ca_cert: Path
    server_cert: Path
    server_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pytest-aurora-guard tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


# Server key types a test may ask for: what RDS CAs issue (RSA 2048/4096, ECC P-384) and what
# else a self-managed server may present.
KEY_TYPES = ("rsa2048", "rsa4096", "p256", "p384", "p521", "ed25519", "ed448")


def _server_key(key_type: str) -> CertificateIssuerPrivateKeyTypes:
    if key_type.startswith("rsa"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[3:]))
    curves = {"p256": ec.SECP256R1(), "p384": ec.SECP384R1(), "p521": ec.SECP521R1()}
    if key_type in curves:
        return ec.generate_private_key(curves[key_type])
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "ed448":
        return ed448.Ed448PrivateKey.generate()
    raise ValueError(f"unknown key type {key_type!r}; use one of {', '.join(KEY_TYPES)}")


def make_pki(directory: Path, extra_names: Sequence[str] = (), key_type: str = "rsa2048") -> TestPki:
    """Create a CA and a server certificate (of ``key_type``) for loopback (and ``extra_names``) in
    ``directory``.

    The CA is named like an RDS root ("Amazon RDS us-east-1 Root CA RSA2048 G1", organisation
    "pytest-aurora-guard tests") so that AWS-named endpoints routed to the local servers with
    --aurora-connect-to meet certificate_trusted's RDS-CA rule as a real Aurora instance would.
    """
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    validity = datetime.timedelta(days=90)  # beyond certificate_trusted's default 30-day margin

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = _name("Amazon RDS us-east-1 Root CA RSA2048 G1")
    ca_cert = _ca_extensions(
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + validity),
        ca_key, 0, ca_key,
    ).sign(ca_key, hashes.SHA256())

    server_key = _server_key(key_type)
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + validity)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    # Names the cluster gate's tests route to these servers with --aurora-connect-to.
                    x509.DNSName("*.aurora-guard.test"),
                    *(x509.DNSName(name) for name in extra_names),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    paths = TestPki(
        directory=directory,
        ca_cert=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
    )
    paths.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    paths.server_key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(paths.server_key, 0o600)
    return paths


class CertVariant(enum.Enum):
    """Server certificates the ``certificate_trusted`` check must tell apart: one weakness each."""

    GOOD = "good"  # leaf <- intermediate <- root, 90 days left, RSA-2048, SHA-256, names loopback
    EXPIRING_SOON = "expiring_soon"  # as GOOD, but the leaf expires in 10 days
    EXPIRED = "expired"  # as GOOD, but the leaf expired yesterday
    RSA_1024 = "rsa_1024"  # as GOOD, but the leaf key is RSA-1024
    SHA1_INTERMEDIATE = "sha1_intermediate"  # the root signed the intermediate with SHA-1
    WRONG_SAN = "wrong_san"  # as GOOD, but the leaf names only db.example.invalid
    SELF_SIGNED = "self_signed"  # a lone self-signed leaf the bundle does not hold
    # Sound by every rule of ours, but carrying a critical extension no client knows: OpenSSL must
    # refuse it, so the check sees its two witnesses disagree.
    UNKNOWN_CRITICAL_EXTENSION = "unknown_critical_extension"


@dataclass(frozen=True)
class ChainPki:
    """One root (the CA bundle) and, per variant, the chain file a server sends and its key."""

    directory: Path
    ca_cert: Path
    chains: dict[CertVariant, TestPki]


_LOOPBACK_SAN = x509.SubjectAlternativeName(
    [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
)


def _ca_extensions(builder: x509.CertificateBuilder, key: rsa.RSAPrivateKey, path_length: int | None,
                   issuer_key: rsa.RSAPrivateKey) -> x509.CertificateBuilder:
    return (
        builder.add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                       critical=False)
    )


_UNKNOWN_EXTENSION = x509.ObjectIdentifier("1.3.6.1.4.1.55555.12.1")  # a private arc nobody implements


def _leaf(subject: x509.Name, issuer: x509.Name, key: rsa.RSAPrivateKey, signer: rsa.RSAPrivateKey,
          not_before: datetime.datetime, not_after: datetime.datetime,
          san: x509.SubjectAlternativeName, unknown_critical: bool = False) -> x509.Certificate:
    builder = x509.CertificateBuilder()
    if unknown_critical:
        builder = builder.add_extension(x509.UnrecognizedExtension(_UNKNOWN_EXTENSION, b"\x05\x00"), critical=True)
    return (
        builder
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
        .sign(signer, hashes.SHA256())
    )


def _write_pem(path: Path, *certificates: x509.Certificate) -> Path:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates))
    return path


def _write_key(path: Path, key: rsa.RSAPrivateKey) -> Path:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    os.chmod(path, 0o600)
    return path


def _sha1_intermediate(directory: Path, root: x509.Certificate, root_key: rsa.RSAPrivateKey,
                       start: datetime.datetime, end: datetime.datetime) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """An intermediate the root signed with SHA-1. cryptography (>= 46) refuses to make SHA-1
    signatures, so the openssl command line signs it, as a CA still doing so would."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (x509.CertificateSigningRequestBuilder().subject_name(_name("pytest-aurora-guard SHA-1 intermediate CA"))
           .sign(key, hashes.SHA256()))
    work = directory / "sha1-work"
    work.mkdir(exist_ok=True)
    (work / "req.pem").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    _write_pem(work / "root.pem", root)
    _write_key(work / "root.key", root_key)
    (work / "ext.cnf").write_text("basicConstraints=critical,CA:TRUE,pathlen:0\n"
                                  "keyUsage=critical,digitalSignature,keyCertSign,cRLSign\n"
                                  "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    days = max(1, (end - start).days)
    subprocess.run(["openssl", "x509", "-req", "-in", str(work / "req.pem"), "-CA", str(work / "root.pem"),
                    "-CAkey", str(work / "root.key"), "-set_serial", str(x509.random_serial_number()),
                    "-days", str(days), "-sha1", "-extfile", str(work / "ext.cnf"), "-out", str(work / "sub.pem")],
                   check=True, capture_output=True, timeout=60)
    cert = x509.load_pem_x509_certificate((work / "sub.pem").read_bytes())
    shutil.rmtree(work)
    return cert, key


Issued = tuple[x509.Certificate, rsa.RSAPrivateKey]


def new_root(common_name: str, days: int = 365) -> Issued:
    now = datetime.datetime.now(datetime.timezone.utc)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = _name(common_name)
    cert = _ca_extensions(
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days)),
        key, None, key,
    ).sign(key, hashes.SHA256())
    return cert, key


def new_intermediate(common_name: str, issuer: Issued, days: int = 365) -> Issued:
    now = datetime.datetime.now(datetime.timezone.utc)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _ca_extensions(
        x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(issuer[0].subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days)),
        key, 0, issuer[1],
    ).sign(issuer[1], hashes.SHA256())
    return cert, key


def new_leaf(names: list[str], issuer: Issued, days: int = 90) -> Issued:
    """A server certificate naming ``names`` (DNS names or addresses) in subjectAltName."""
    now = datetime.datetime.now(datetime.timezone.utc)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    general: list[x509.GeneralName] = []
    for name in names:
        try:
            general.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            general.append(x509.DNSName(name))
    cert = _leaf(_name(names[0]), issuer[0].subject, key, issuer[1], now - datetime.timedelta(minutes=5),
                 now + datetime.timedelta(days=days), x509.SubjectAlternativeName(general))
    return cert, key


def make_chain_pki(directory: Path) -> ChainPki:
    """A root and intermediate like RDS's (root in the bundle, the server sends leaf + intermediate),
    and one leaf per :class:`CertVariant`."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    start = now - datetime.timedelta(minutes=5)
    year = now + datetime.timedelta(days=365)
    root, root_key = new_root("pytest-aurora-guard chain root CA")
    sub, sub_key = new_intermediate("pytest-aurora-guard SHA-256 intermediate CA", (root, root_key))
    ca_cert = _write_pem(directory / "chain-root.pem", root)
    sha1_sub, sha1_sub_key = _sha1_intermediate(directory, root, root_key, start, year)

    chains: dict[CertVariant, TestPki] = {}
    for variant in CertVariant:
        key = rsa.generate_private_key(public_exponent=65537,
                                       key_size=1024 if variant is CertVariant.RSA_1024 else 2048)
        not_before, not_after = start, now + datetime.timedelta(days=90)
        issuer, signer, san = sub, sub_key, _LOOPBACK_SAN
        if variant is CertVariant.EXPIRING_SOON:
            not_after = now + datetime.timedelta(days=10)
        elif variant is CertVariant.EXPIRED:
            not_before, not_after = now - datetime.timedelta(days=90), now - datetime.timedelta(days=1)
        elif variant is CertVariant.SHA1_INTERMEDIATE:
            issuer, signer = sha1_sub, sha1_sub_key
        elif variant is CertVariant.WRONG_SAN:
            san = x509.SubjectAlternativeName([x509.DNSName("db.example.invalid")])
        subject = _name("db.example.invalid" if variant is CertVariant.WRONG_SAN else "localhost")
        if variant is CertVariant.SELF_SIGNED:
            leaf = _leaf(subject, subject, key, key, not_before, not_after, san)
            sent: tuple[x509.Certificate, ...] = (leaf,)
        else:
            leaf = _leaf(subject, issuer.subject, key, signer, not_before, not_after, san,
                         unknown_critical=variant is CertVariant.UNKNOWN_CRITICAL_EXTENSION)
            sent = (leaf, issuer)
        chains[variant] = TestPki(
            directory=directory, ca_cert=ca_cert,
            server_cert=_write_pem(directory / f"{variant.value}.pem", *sent),
            server_key=_write_key(directory / f"{variant.value}.key", key),
        )
    return ChainPki(directory=directory, ca_cert=ca_cert, chains=chains)
