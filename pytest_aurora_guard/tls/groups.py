"""Named groups (IANA "TLS Supported Groups" registry) and real key shares for each of them.

A crafted ClientHello must not be the reason a server refuses: a server whose only ECDHE group
is secp521r1 answers a hello without it with ``handshake_failure``, which reads as "refused"
although every OpenSSL client connects. So the hello lists every group a server might pick,
and for TLS 1.3 can produce a genuine key share for any of them, to answer a HelloRetryRequest
(RFC 8446 §4.1.4) that asks for one.

The shares are real public values (the private halves are thrown away: we never finish the
handshake), so a server that validates them (RFC 8446 §4.2.8.2, RFC 7919 §5.1, FIPS 203
§7.2's modulus check) accepts them.
"""

from __future__ import annotations

import enum
import os
import secrets
from dataclasses import dataclass
from typing import Callable, Dict, Tuple

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519


class GroupKind(enum.Enum):
    ECDHE = "elliptic curve"
    FFDHE = "finite field (RFC 7919)"
    HYBRID = "hybrid post-quantum"


@dataclass(frozen=True)
class NamedGroup:
    code: int
    name: str
    kind: GroupKind
    tls13: bool  # allowed in TLS 1.3 (RFC 8446 §4.2.7 and later registrations)


def _g(code: int, name: str, kind: GroupKind = GroupKind.ECDHE, tls13: bool = False) -> NamedGroup:
    return NamedGroup(code, name, kind, tls13)


# OpenSSL 3.0's default client list first, in its order (what `openssl s_client` sends:
# x25519, secp256r1, x448, secp521r1, secp384r1, then ffdhe2048-8192 in TLS 1.3 hellos), so
# that a server honouring the client's order picks what OpenSSL's client would get; then the
# hybrid post-quantum groups OpenSSL 3.5 offers (draft-ietf-tls-ecdhe-mlkem), the brainpool
# curves (RFC 8734 for TLS 1.3, RFC 7027 for TLS 1.2) and the older curves of RFC 8422 / 4492
# that OpenSSL still implements for TLS 1.2 and older.
GROUPS: Tuple[NamedGroup, ...] = (
    _g(0x001D, "x25519", tls13=True),
    _g(0x0017, "secp256r1", tls13=True),
    _g(0x001E, "x448", tls13=True),
    _g(0x0019, "secp521r1", tls13=True),
    _g(0x0018, "secp384r1", tls13=True),
    _g(0x0100, "ffdhe2048", GroupKind.FFDHE, tls13=True),
    _g(0x0101, "ffdhe3072", GroupKind.FFDHE, tls13=True),
    _g(0x0102, "ffdhe4096", GroupKind.FFDHE, tls13=True),
    _g(0x0103, "ffdhe6144", GroupKind.FFDHE, tls13=True),
    _g(0x0104, "ffdhe8192", GroupKind.FFDHE, tls13=True),
    _g(0x11EC, "X25519MLKEM768", GroupKind.HYBRID, tls13=True),
    _g(0x11EB, "SecP256r1MLKEM768", GroupKind.HYBRID, tls13=True),
    _g(0x11ED, "SecP384r1MLKEM1024", GroupKind.HYBRID, tls13=True),
    _g(0x001F, "brainpoolP256r1tls13", tls13=True),
    _g(0x0020, "brainpoolP384r1tls13", tls13=True),
    _g(0x0021, "brainpoolP512r1tls13", tls13=True),
    _g(0x001A, "brainpoolP256r1"),
    _g(0x001B, "brainpoolP384r1"),
    _g(0x001C, "brainpoolP512r1"),
    _g(0x0016, "secp256k1"),
    _g(0x0015, "secp224r1"),
    _g(0x0014, "secp224k1"),
    _g(0x0013, "secp192r1"),
    _g(0x0012, "secp192k1"),
    _g(0x0011, "secp160r2"),
    _g(0x0010, "secp160r1"),
    _g(0x000F, "secp160k1"),
    *(_g(code, name) for code, name in enumerate(
        ("sect163k1", "sect163r1", "sect163r2", "sect193r1", "sect193r2", "sect233k1", "sect233r1",
         "sect239k1", "sect283k1", "sect283r1", "sect409k1", "sect409r1", "sect571k1", "sect571r1"), start=1)),
)
BY_CODE: Dict[int, NamedGroup] = {group.code: group for group in GROUPS}

X25519, SECP256R1 = 0x001D, 0x0017

# Key shares in the first TLS 1.3 ClientHello. OpenSSL 3.0 sends x25519 alone; we add
# secp256r1 because PostgreSQL's default ssl_ecdh_curve is prime256v1, which saves it a
# HelloRetryRequest. Any other group costs one HelloRetryRequest on the same connection.
# No hybrid share up front: 1216 bytes would push the hello past one TCP segment, which some
# middleboxes mishandle (the reason browsers' first ML-KEM hellos broke).
INITIAL_KEY_SHARES: Tuple[int, ...] = (X25519, SECP256R1)


def group_name(code: int) -> str:
    group = BY_CODE.get(code)
    return group.name if group else f"0x{code:04X}"


def offered_groups(tls13: bool) -> Tuple[int, ...]:
    """supported_groups for a hello of that kind: TLS 1.3 hellos list only TLS 1.3 groups."""
    return tuple(g.code for g in GROUPS if g.tls13 or not tls13)


# -- key shares -------------------------------------------------------------------------------

def _x25519() -> bytes:
    return x25519.X25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _x448() -> bytes:
    return x448.X448PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _ec(curve: ec.EllipticCurve) -> Callable[[], bytes]:
    # Uncompressed point 0x04 || X || Y (RFC 8446 §4.2.8.2).
    return lambda: ec.generate_private_key(curve).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


# RFC 7919 Appendix A: p = 2^b - 2^(b-64) + ([2^(b-130) e] + X) * 2^64 - 1, with the X given
# there for each size; a test compares the result with OpenSSL's own ffdhe parameters.
_FFDHE_X = {2048: 560316, 3072: 2625351, 4096: 5736041, 6144: 15705020, 8192: 10965728}


def _floor_e_times_power_of_two(bits: int) -> int:
    guard = 96
    term, total, k = 1 << (bits + guard), 0, 0
    while term:
        total += term
        k += 1
        term //= k
    return total >> guard


def ffdhe_prime(bits: int) -> int:
    return (1 << bits) - (1 << (bits - 64)) + ((_floor_e_times_power_of_two(bits - 130) + _FFDHE_X[bits]) << 64) - 1


_FFDHE_PRIMES: Dict[int, int] = {}


# A 512-bit exponent: RFC 7919 §5.2 asks for at least twice the group's security strength
# (ffdhe8192 is rated at 200 bits), and a full-size exponent costs seconds in Python for
# ffdhe8192, which would eat the step timeout.
_FFDHE_EXPONENT_BITS = 512


def _ffdhe(bits: int) -> Callable[[], bytes]:
    def share() -> bytes:
        prime = _FFDHE_PRIMES.setdefault(bits, ffdhe_prime(bits))
        exponent = secrets.randbits(_FFDHE_EXPONENT_BITS) | (1 << (_FFDHE_EXPONENT_BITS - 1))
        # g = 2; the share is left-padded to the size of p (RFC 8446 §4.2.8.1).
        return pow(2, exponent, prime).to_bytes(bits // 8, "big")
    return share


_MLKEM_Q = 3329  # FIPS 203 §2.4


def mlkem_encapsulation_key(k: int) -> bytes:
    """An ML-KEM-768 (k=3) or -1024 (k=4) encapsulation key: ByteEncode12 of 256*k coefficients
    below q, then a 32-byte seed (FIPS 203 §7.2). Built from random coefficients rather than by
    KeyGen because we never decapsulate; it passes the modulus check a server must apply."""
    coefficients = [secrets.randbelow(_MLKEM_Q) for _ in range(256 * k)]
    packed = bytearray()
    for a, b in zip(coefficients[0::2], coefficients[1::2]):
        packed += bytes((a & 0xFF, (a >> 8) | ((b & 0x0F) << 4), b >> 4))
    return bytes(packed) + os.urandom(32)


_SHARES: Dict[int, Callable[[], bytes]] = {
    0x001D: _x25519,
    0x001E: _x448,
    0x0017: _ec(ec.SECP256R1()),
    0x0018: _ec(ec.SECP384R1()),
    0x0019: _ec(ec.SECP521R1()),
    0x001F: _ec(ec.BrainpoolP256R1()),
    0x0020: _ec(ec.BrainpoolP384R1()),
    0x0021: _ec(ec.BrainpoolP512R1()),
    **{0x0100 + i: _ffdhe(bits) for i, bits in enumerate(sorted(_FFDHE_X))},
    # draft-ietf-tls-ecdhe-mlkem §4: X25519MLKEM768 puts the ML-KEM key first, the two NIST
    # curve hybrids put the ECDH share first.
    0x11EC: lambda: mlkem_encapsulation_key(3) + _x25519(),
    0x11EB: lambda: _ec(ec.SECP256R1())() + mlkem_encapsulation_key(3),
    0x11ED: lambda: _ec(ec.SECP384R1())() + mlkem_encapsulation_key(4),
}


def key_share(code: int) -> bytes:
    """A fresh, valid public key share for TLS 1.3 group ``code``; KeyError if we have none."""
    return _SHARES[code]()
