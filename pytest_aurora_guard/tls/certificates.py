"""The certificate chain a server sends, judged the way a verifying client would, one rule at a time.

Why our own path building rather than a ready-made verifier: each weakness must come out as one
precise problem naming the certificate. A strict verifier (OpenSSL at security level 2, or
cryptography's web-PKI verifier) stops at the first thing it dislikes, so a SHA-1-signed
intermediate or an RSA-1024 leaf would read as "the chain does not verify" on top of the real
problem. Here the path is built on signatures and names only, and every policy rule (validity,
name, key, digest, RDS CA) is judged separately. OpenSSL's own verification is then asked as a
second, independent witness before anything passes (see :func:`verified_handshake`).

How the chain is read: Python's ``ssl`` exposes only the leaf through ``getpeercert``. The whole
chain the server sent is ``SSLSocket.get_unverified_chain()`` from Python 3.13, and the same method
on the private ``_sslobj`` from 3.10 (it returns ``_ssl.Certificate`` objects there). Python 3.9 has
neither: we fall back to the leaf and say so. Reading the Certificate message with the crafted
ClientHello codec would only work at TLS 1.2 and below (TLS 1.3 encrypts it), so it is no option
for a TLS 1.3-only server.
"""

from __future__ import annotations

import _ssl
import datetime
import enum
import functools
import ipaddress
import re
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from ..errors import ConfigurationError
from ..wire.net import Deadline
from .handshake import HandshakeInconclusive, HandshakeOutcome, HandshakeRefused, classify_ssl_error

RDS_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
RDS_BUNDLE_HELP = (
    f"download AWS's RDS CA bundle ({RDS_BUNDLE_URL}; GovCloud: "
    "https://truststore.pki.us-gov-west-1.rds.amazonaws.com/global/global-bundle.pem; per region: "
    "https://truststore.pki.rds.amazonaws.com/REGION/REGION-bundle.pem) and pass it with --aurora-ca-bundle"
)
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
_WEAK_DIGESTS = frozenset({"md5", "sha1", "md2", "md4"})

# The RDS CAs that rotate server certificates automatically, by the common name of their root
# ("Amazon RDS us-east-1 Root CA RSA2048 G1"); server certificates are issued by a subordinate of
# the same family ("Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.3").
_RDS_CA_NAME = re.compile(r"^Amazon RDS (?P<region>[a-z0-9-]+) (?:Root|Subordinate) CA "
                          r"(?P<family>RSA2048|RSA4096|ECC384) G1(?:\.[A-Za-z0-9.]+)?$")
RDS_CA_IDENTIFIERS = {"RSA2048": "rds-ca-rsa2048-g1", "RSA4096": "rds-ca-rsa4096-g1", "ECC384": "rds-ca-ecc384-g1"}
_RDS_HOST = re.compile(r"\.rds\.amazonaws\.com(?:\.cn)?\.?$", re.I)
_PROXY_HOST = re.compile(r"\.proxy-[a-z0-9]+\.", re.I)
_ROTATE_CA = ("aws rds modify-db-instance --db-instance-identifier INSTANCE --ca-certificate-identifier "
              "rds-ca-rsa2048-g1 (or rds-ca-rsa4096-g1 / rds-ca-ecc384-g1) for each instance")


class HostKind(enum.Enum):
    RDS = "an RDS/Aurora endpoint name"
    RDS_PROXY = "an RDS Proxy endpoint name"
    OTHER = "not an AWS RDS name"


def host_kind(host: str) -> HostKind:
    """RDS Proxy names carry a ``proxy-<id>`` label; their certificates come from ACM, not the RDS CAs."""
    if not _RDS_HOST.search(host):
        return HostKind.OTHER
    return HostKind.RDS_PROXY if _PROXY_HOST.search(host) else HostKind.RDS


# -- reading the chain -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PeerChain:
    """The certificates the server sent, leaf first, as DER; ``complete`` is False where the local
    Python can only show the leaf."""

    certificates: tuple[bytes, ...]
    complete: bool


def peer_chain(tls: ssl.SSLSocket) -> PeerChain:
    public = getattr(tls, "get_unverified_chain", None)  # Python 3.13+
    if public is not None:
        return PeerChain(tuple(bytes(der) for der in public() or ()), True)
    private = getattr(getattr(tls, "_sslobj", None), "get_unverified_chain", None)  # 3.10-3.12
    if private is not None:
        return PeerChain(tuple(bytes(c.public_bytes(_ssl.ENCODING_DER)) for c in private() or ()), True)
    leaf = tls.getpeercert(binary_form=True)
    return PeerChain((leaf,) if leaf else (), False)


# -- the trust anchors -------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrustStore:
    """The certificates a chain may end at, and where they came from (said in every verdict)."""

    source: str
    cafile: Optional[Path]  # None: the system store, as ssl.create_default_context() loads it
    certificates: tuple[x509.Certificate, ...]

    def holds(self, cert: x509.Certificate) -> bool:
        return any(cert == anchor for anchor in self.certificates)

    def context(self) -> ssl.SSLContext:
        """A verifying client context with exactly these anchors, for OpenSSL's own verdict."""
        if self.cafile is None:
            return ssl.create_default_context()
        return ssl.create_default_context(cafile=str(self.cafile))


@functools.lru_cache(maxsize=8)
def load_trust_store(path: Path, source: str) -> TrustStore:
    """Parse a PEM bundle; a file without a single certificate is a configuration error."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{source}: cannot read the CA bundle {str(path)!r}: {exc}") from None
    try:
        certificates = tuple(x509.load_pem_x509_certificates(data))
    except ValueError as exc:
        raise ConfigurationError(
            f"{source}: {str(path)!r} is not a PEM bundle of certificates ({exc}); {RDS_BUNDLE_HELP}"
        ) from None
    return TrustStore(f"{source} {path} ({len(certificates)} certificates)", path, certificates)


@functools.lru_cache(maxsize=1)
def system_trust_store() -> TrustStore:
    paths = ssl.get_default_verify_paths()
    candidates = [p for p in (paths.cafile, paths.openssl_cafile) if p]
    for name in candidates:
        path = Path(name)
        if path.is_file():
            certificates = tuple(x509.load_pem_x509_certificates(path.read_bytes()))
            return TrustStore(f"the system trust store {path} ({len(certificates)} certificates)", None,
                              certificates)
    return TrustStore("the system trust store (no CA file found)", None, ())


# -- what each certificate is -----------------------------------------------------------------------

_SIGNATURE_NAMES = {value: name for name, value in vars(SignatureAlgorithmOID).items()
                    if isinstance(value, x509.ObjectIdentifier)}


@dataclass(frozen=True)
class CertificateFacts:
    """The evidence an auditor files for one certificate of the path."""

    label: str  # e.g. "certificate 1 (intermediate, sent by the server)"
    subject: str
    issuer: str
    sans: tuple[str, ...]
    not_before: datetime.datetime
    not_after: datetime.datetime
    key: str
    signature: str
    sha256: str

    def render(self) -> str:
        sans = ", ".join(self.sans) if self.sans else "none"
        return (f"{self.label}: subject {self.subject}; issuer {self.issuer}; SAN {sans}; valid "
                f"{self.not_before:%Y-%m-%d %H:%M} to {self.not_after:%Y-%m-%d %H:%M} UTC; key {self.key}; "
                f"signature {self.signature}; SHA-256 {self.sha256}")


def _key(cert: x509.Certificate) -> tuple[str, int, bool]:
    """(description, bits, strong enough)."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}", key.key_size, key.key_size >= MIN_RSA_BITS
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ECDSA {key.curve.name} ({key.curve.key_size})", key.curve.key_size, key.curve.key_size >= MIN_EC_BITS
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, True
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 448, True
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA {key.key_size}", key.key_size, False
    return type(key).__name__, 0, False


def _digest(cert: x509.Certificate) -> Optional[str]:
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return "unknown"
    return algorithm.name if algorithm is not None else None


def _sans(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return (*(f"DNS:{n}" for n in ext.get_values_for_type(x509.DNSName)),
            *(f"IP:{a}" for a in ext.get_values_for_type(x509.IPAddress)))


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def _describe(cert: x509.Certificate, label: str) -> CertificateFacts:
    return CertificateFacts(
        label=label, subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(), sans=_sans(cert),
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc, key=_key(cert)[0],
        signature=_SIGNATURE_NAMES.get(cert.signature_algorithm_oid, cert.signature_algorithm_oid.dotted_string),
        sha256=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
    )


# -- the rules ---------------------------------------------------------------------------------------

class ProblemKind(enum.Enum):
    UNTRUSTED = "does not chain to a trusted root"
    NAME_MISMATCH = "does not name the endpoint"
    EXPIRED = "has expired"
    NOT_YET_VALID = "is not valid yet"
    EXPIRES_SOON = "expires too soon"
    WEAK_KEY = "has a weak key"
    WEAK_SIGNATURE = "has a weak signature"
    NOT_A_CA = "issues certificates without being a CA"
    NOT_RDS_CA = "is not an RDS CA"


@dataclass(frozen=True)
class CertificateProblem:
    kind: ProblemKind
    certificate: str  # the label of the certificate at fault
    detail: str
    remedy: str

    def render(self) -> str:
        return f"{self.certificate} {self.kind.value}: {self.detail}"


@dataclass(frozen=True)
class ChainAssessment:
    path: tuple[CertificateFacts, ...]  # leaf first, then each issuer, ending at the anchor if reached
    anchor: Optional[str]  # subject of the trusted root the path ends at
    trust_source: str
    name_checked: str
    rds_ca: Optional[str]  # e.g. "rds-ca-rsa2048-g1" when the path runs through an RDS G1 CA
    problems: tuple[CertificateProblem, ...]
    chain_complete: bool
    unused: tuple[str, ...] = ()  # certificates the server sent that are not on the path

    def first_expiry(self) -> CertificateFacts:
        return min(self.path, key=lambda facts: facts.not_after)


def _self_issued(cert: x509.Certificate) -> bool:
    return _issued_by(cert, cert)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Names chain and ``issuer``'s key verifies ``cert``'s signature, whatever the digest."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except InvalidSignature:
        return False
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # cryptography no longer verifies SHA-1 certificate signatures ("Unsupported signature
        # algorithm"), but a SHA-1-signed intermediate must be reported as weak, not as unrelated.
        return _legacy_signature_valid(cert, issuer)


def _legacy_signature_valid(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    key = issuer.public_key()
    try:
        digest = cert.signature_hash_algorithm
        if digest is None:
            return False
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), digest)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(digest))
        else:
            return False
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _dns_matches(pattern: str, host: str) -> bool:
    """RFC 6125 6.4.3 as clients apply it: a wildcard only as the whole left-most label."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:] and "*" not in rest
    return pattern == host


def _names_host(cert: x509.Certificate, host: str) -> bool:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return any(_dns_matches(name, host) for name in ext.get_values_for_type(x509.DNSName))
    return address in ext.get_values_for_type(x509.IPAddress)


def _build_path(sent: Sequence[x509.Certificate], store: TrustStore) -> tuple[list[x509.Certificate], bool, str]:
    """Leaf to root on names and signatures only; (path, anchored, why not anchored).

    Like OpenSSL without partial-chain mode (what libpq and PyMySQL do), the path must end at a
    self-issued certificate of the store: a bundle holding only an intermediate does not anchor it.
    """
    path = [sent[0]]
    pool = [*store.certificates, *sent[1:]]  # the store first: its copy of a root is the one trusted
    while True:
        current = path[-1]
        if _self_issued(current):
            if store.holds(current):
                return path, True, ""
            what = "is self-signed" if len(path) == 1 else "is a self-signed root"
            return path, False, f"it {what} and not in the trust store"
        named = [c for c in pool if c.subject == current.issuer and c not in path]
        issuer = next((c for c in named if _issued_by(current, c)), None)
        if issuer is None:
            if named:
                return path, False, (f"its issuer {current.issuer.rfc4514_string()} is known, but the "
                                     "signature does not verify with that issuer's key")
            return path, False, (f"its issuer {current.issuer.rfc4514_string()} was neither sent by the "
                                 "server nor is in the trust store")
        if len(path) >= 10:
            return path, False, "the chain is longer than 10 certificates"
        path.append(issuer)


def assess_chain(chain: PeerChain, store: TrustStore, host: str, kind: HostKind, min_days: int,
                 now: Optional[datetime.datetime] = None) -> ChainAssessment:
    """Judge the sent chain against ``store`` for ``host``; every problem found, each named."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    sent = [x509.load_der_x509_certificate(der) for der in chain.certificates]
    if not sent:
        raise ValueError("the server sent no certificate")
    path, anchored, why = _build_path(sent, store)
    labels: list[str] = []
    for position, cert in enumerate(path):
        role = "leaf" if position == 0 else ("root" if anchored and position == len(path) - 1 else "intermediate")
        origin = "sent by the server" if cert in sent else "from the trust store"
        labels.append(f"certificate {position} ({role}, {origin}, CN={_common_name(cert.subject) or '-'})")
    problems: list[CertificateProblem] = []

    def problem(kind_: ProblemKind, position: int, detail: str, remedy: str) -> None:
        problems.append(CertificateProblem(kind_, labels[position], detail, remedy))

    if not anchored:
        remedy = RDS_BUNDLE_HELP if kind is not HostKind.RDS_PROXY else (
            "pass the Amazon Trust Services roots (https://www.amazontrust.com/repository/) with "
            "--aurora-proxy-ca-bundle, or leave it unset to use the system trust store")
        if len(path) == 1 and _self_issued(path[0]):
            remedy = ("install a server certificate issued by a CA in the trust store (Aurora: "
                      f"{_ROTATE_CA}); a self-signed certificate cannot be verified by any client")
        problem(ProblemKind.UNTRUSTED, len(path) - 1, f"{why} ({store.source})", remedy)

    if not _names_host(path[0], host):
        shown = ", ".join(_sans(path[0])) or f"no subjectAltName (CN {_common_name(path[0].subject)!r} is ignored)"
        problem(ProblemKind.NAME_MISMATCH, 0, f"{host!r} is not among its names: {shown}",
                "connect by a name on the certificate (the cluster, instance or custom endpoint name AWS reports, "
                "not a CNAME or an address); a self-managed server needs a certificate naming it in subjectAltName")

    horizon = now + datetime.timedelta(days=min_days)
    for position, cert in enumerate(path):
        renew = (f"rotate the server certificate ({_ROTATE_CA}); self-managed: reissue it" if position == 0
                 else "move the server to a current CA and refresh the CA bundle")
        if cert.not_valid_before_utc > now:
            problem(ProblemKind.NOT_YET_VALID, position, f"valid only from {cert.not_valid_before_utc:%Y-%m-%d %H:%M} "
                    "UTC (is the runner's or the server's clock wrong?)", renew)
        elif cert.not_valid_after_utc <= now:
            problem(ProblemKind.EXPIRED, position, f"expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC", renew)
        elif cert.not_valid_after_utc < horizon:
            left = (cert.not_valid_after_utc - now).total_seconds() / 86400
            problem(ProblemKind.EXPIRES_SOON, position, f"expires on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC, "
                    f"in {left:.1f} days, within --aurora-cert-min-days={min_days}", renew)

        description, _, strong = _key(cert)
        if not strong:
            problem(ProblemKind.WEAK_KEY, position, f"its key is {description}, below RSA-{MIN_RSA_BITS} / ECDSA P-256",
                    "reissue it with an RSA-2048 (or larger) or ECDSA P-256/P-384 key (Aurora: rds-ca-rsa2048-g1, "
                    "rds-ca-rsa4096-g1 or rds-ca-ecc384-g1)")
        is_anchor = anchored and position == len(path) - 1
        digest = _digest(cert)
        if not is_anchor and digest in _WEAK_DIGESTS:
            # A root's self-signature is never checked by clients: only the ones below it count.
            problem(ProblemKind.WEAK_SIGNATURE, position, f"it is signed with {digest.upper()} "
                    f"({_SIGNATURE_NAMES.get(cert.signature_algorithm_oid, '?')}) by {cert.issuer.rfc4514_string()}",
                    "have its issuer sign it with SHA-256 or stronger")
        if position > 0 and not _is_ca(cert):
            problem(ProblemKind.NOT_A_CA, position,
                    "it signed the certificate below it but its basicConstraints do not say CA:TRUE",
                    "reissue the chain from a proper CA")

    rds_family = next((m.group("family") for c in path[1:]
                       for m in [_RDS_CA_NAME.match(_common_name(c.subject))] if m), None)
    rds_ca = RDS_CA_IDENTIFIERS[rds_family] if rds_family else None
    if kind is HostKind.RDS and anchored and rds_ca is None:
        problem(ProblemKind.NOT_RDS_CA, 1 if len(path) > 1 else 0,
                f"the chain runs through {', '.join(_common_name(c.subject) for c in path[1:]) or 'no CA'}, none of "
                "them rds-ca-rsa2048-g1, rds-ca-rsa4096-g1 or rds-ca-ecc384-g1 (by subject)", _ROTATE_CA)

    return ChainAssessment(
        path=tuple(_describe(c, label) for c, label in zip(path, labels)),
        anchor=path[-1].subject.rfc4514_string() if anchored else None,
        trust_source=store.source, name_checked=host, rds_ca=rds_ca, problems=tuple(problems),
        chain_complete=chain.complete,
        unused=tuple(c.subject.rfc4514_string() for c in sent if c not in path),
    )


# -- OpenSSL's own verdict -----------------------------------------------------------------------------

@dataclass(frozen=True)
class CertificateRejected:
    """OpenSSL refused the chain or the name: ``reason`` is its own verify message."""

    reason: str

    def render(self) -> str:
        return f"OpenSSL rejected the certificate: {self.reason}"


@dataclass(frozen=True)
class CertificateAccepted:
    version: str

    def render(self) -> str:
        return f"OpenSSL verified the chain and the name ({self.version})"


WitnessOutcome = Union[CertificateAccepted, CertificateRejected, HandshakeOutcome]


def verified_handshake(sock: socket.socket, context: ssl.SSLContext, host: str, deadline: Deadline) -> WitnessOutcome:
    """A handshake with hostname and chain verification by the system OpenSSL; closes ``sock``."""
    try:
        sock.settimeout(deadline.remaining())
        tls = context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
    except OSError as exc:
        sock.close()
        return HandshakeInconclusive("timeout", f"TLS handshake not started: {exc}")
    try:
        tls.do_handshake()
        return CertificateAccepted(tls.version() or "unknown version")
    except ssl.SSLCertVerificationError as exc:
        return CertificateRejected(f"{exc.verify_message} (verify code {exc.verify_code})")
    except ssl.SSLError as exc:
        outcome = classify_ssl_error(exc, context)
        return outcome if not isinstance(outcome, HandshakeRefused) else HandshakeInconclusive(
            "alert", f"the verified handshake was refused: {outcome.detail}")
    except (socket.timeout, OSError) as exc:
        return HandshakeInconclusive("reset", f"the verified handshake failed at the socket level: {exc}")
    finally:
        tls.close()
