"""The crafted ClientHello offers what OpenSSL's client offers, and more, never less.

Held against `openssl s_client`'s own hello byte for byte where they must agree (extension
types and their order), and against `openssl s_server` configured to the one group, curve or
certificate a server might insist on: each must get a ServerHello, HelloRetryRequests
answered on the same connection.
"""

from __future__ import annotations

import re
import socket
import struct
import subprocess
from pathlib import Path
from typing import Optional

import pytest

from pytest_aurora_guard.tls import groups
from pytest_aurora_guard.tls.hello import (
    HELLO_RETRY_REQUEST_RANDOM,
    ServerChose,
    UnofferedChoice,
    send_client_hello,
)
from pytest_aurora_guard.tls.versions import TlsVersion
from tests.s_client import S_CLIENT_FLAG
from tests.support.pki import TestPki, make_pki
from tests.tls_peers import (
    ClientHelloView,
    OpenSslServer,
    Peer,
    connect,
    parse_client_hello,
    read_record,
    record,
    server_hello_body,
    supported_versions_extension,
)

ECDHE_RSA_AES128_SHA = 0xC013
ECDHE_ECDSA_AES128_SHA = 0xC009
TLS13_SUITES = [0x1301, 0x1302, 0x1303]
PADDING = 21


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _u16s(data: bytes, skip: int) -> list[int]:
    return [int.from_bytes(data[i:i + 2], "big") for i in range(skip, len(data), 2)]


def openssl_client_hello(raw_peer: Peer, version: TlsVersion) -> ClientHelloView:
    seen: list[bytes] = []
    peer = raw_peer(lambda conn: seen.append(read_record(conn)))
    subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{peer.address[1]}", "-servername", "db.example",
                    S_CLIENT_FLAG[version], "-cipher", "ALL:@SECLEVEL=0"],
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=10, check=False)
    return parse_client_hello(seen[0])


def our_client_hello(raw_peer: Peer, version: TlsVersion) -> ClientHelloView:
    seen: list[bytes] = []
    peer = raw_peer(lambda conn: seen.append(read_record(conn)))
    with connect(peer.address) as sock:
        send_client_hello(sock, version=version, suites=[0x1301 if version is TlsVersion.TLSv1_3 else 0xC030],
                          server_name="db.example", timeout=0.5)
    return parse_client_hello(seen[0])


VERSIONS = [TlsVersion.TLSv1_0, TlsVersion.TLSv1_1, TlsVersion.TLSv1_2, TlsVersion.TLSv1_3]


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.label)
def test_the_extensions_are_openssls_in_openssls_order(raw_peer: Peer, version: TlsVersion) -> None:
    theirs = openssl_client_hello(raw_peer, version)
    ours = our_client_hello(raw_peer, version)
    assert [e for e in ours.extensions if e != PADDING] == [e for e in theirs.extensions if e != PADDING]
    assert ours.extensions[11] == theirs.extensions[11]  # ec_point_formats, byte for byte
    assert (0x00FF in ours.suites) == (0x00FF in theirs.suites)  # the renegotiation SCSV


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.label)
def test_supported_groups_start_with_openssls_and_add_every_other_registered_group(
    raw_peer: Peer, version: TlsVersion
) -> None:
    theirs = _u16s(openssl_client_hello(raw_peer, version).extensions[10], 2)
    ours = _u16s(our_client_hello(raw_peer, version).extensions[10], 2)
    assert ours[:len(theirs)] == theirs
    assert ours == list(groups.offered_groups(version is TlsVersion.TLSv1_3))
    for wanted in (0x0019, 0x001E, 0x0100, 0x0104, 0x001F):  # P-521, x448, ffdhe2048/8192, brainpool
        assert wanted in ours
    if version is TlsVersion.TLSv1_3:
        assert {0x11EC, 0x11EB, 0x11ED} <= set(ours)  # the hybrid post-quantum groups
    else:
        assert {0x0015, 0x001A, 0x000E} <= set(ours)  # secp224r1, brainpoolP256r1, sect571r1


@pytest.mark.parametrize("version", [TlsVersion.TLSv1_2, TlsVersion.TLSv1_3], ids=lambda v: v.label)
def test_signature_algorithms_start_with_openssls_and_add_sha1_and_brainpool(raw_peer: Peer,
                                                                             version: TlsVersion) -> None:
    theirs = _u16s(openssl_client_hello(raw_peer, version).extensions[13], 2)
    ours = _u16s(our_client_hello(raw_peer, version).extensions[13], 2)
    assert ours[:len(theirs)] == theirs
    assert {0x0201, 0x0203, 0x0807, 0x0808, 0x0809, 0x081C} <= set(ours)


def hello(address: tuple[str, int], version: TlsVersion, suites: list[int]) -> object:
    with connect(address) as sock:
        return send_client_hello(sock, version=version, suites=suites, server_name="localhost", timeout=5)


# OpenSSL 3.0's TLS 1.3 groups, each the only one a server allows.
TLS13_GROUPS = {"X25519": 0x001D, "P-256": 0x0017, "X448": 0x001E, "P-521": 0x0019, "P-384": 0x0018,
                "ffdhe2048": 0x0100, "ffdhe3072": 0x0101, "ffdhe4096": 0x0102, "ffdhe6144": 0x0103,
                "ffdhe8192": 0x0104}


@pytest.mark.parametrize("name", sorted(TLS13_GROUPS))
def test_a_tls13_server_allowing_one_group_gets_a_serverhello_for_it(pki: TestPki, name: str) -> None:
    with OpenSslServer(pki, min_protocol="TLSv1.3", groups=name) as server:
        outcome = hello(server.address, TlsVersion.TLSv1_3, TLS13_SUITES)
    code = TLS13_GROUPS[name]
    assert isinstance(outcome, ServerChose), outcome
    assert (outcome.group, outcome.is_hello_retry) == (code, False)
    assert outcome.after_retry is (code not in groups.INITIAL_KEY_SHARES)


@pytest.mark.parametrize("curve", ["secp521r1", "secp384r1", "brainpoolP512r1", "secp224r1", "sect571r1"])
@pytest.mark.parametrize("version", [TlsVersion.TLSv1_0, TlsVersion.TLSv1_2], ids=lambda v: v.label)
def test_an_ecdhe_only_server_with_one_curve_gets_a_serverhello(pki: TestPki, curve: str,
                                                                 version: TlsVersion) -> None:
    with OpenSslServer(pki, min_protocol="TLSv1", max_protocol="TLSv1.2", cipher="ECDHE:@SECLEVEL=0",
                       groups=curve) as server:
        outcome = hello(server.address, version, [ECDHE_RSA_AES128_SHA])
    assert outcome == ServerChose(version, ECDHE_RSA_AES128_SHA, False)


_MODERN_SCHEMES = [("p521", "ecdsa_secp521r1_sha512"), ("p384", "ecdsa_secp384r1_sha384"), ("ed25519", "ed25519"),
                   ("ed448", "ed448"), ("rsa2048", "rsa_pss_rsae_sha512")]
# RFC 8446 §4.2.3: SHA-1 signatures are not used in TLS 1.3 handshakes, so they are TLS 1.2 cases only.
_LEGACY_SCHEMES = [("rsa2048", "RSA+SHA1"), ("p256", "ECDSA+SHA1")]


@pytest.mark.parametrize(("version", "key_type", "sigalg"), [
    *[(TlsVersion.TLSv1_2, *scheme) for scheme in _MODERN_SCHEMES + _LEGACY_SCHEMES],
    *[(TlsVersion.TLSv1_3, *scheme) for scheme in _MODERN_SCHEMES],
], ids=lambda v: v.label if isinstance(v, TlsVersion) else str(v))
def test_a_server_whose_certificate_needs_one_signature_scheme_gets_a_serverhello(
    tmp_path: Path, key_type: str, sigalg: str, version: TlsVersion
) -> None:
    pki = make_pki(tmp_path, key_type=key_type)
    with OpenSslServer(pki, min_protocol=version.label, max_protocol=version.label,
                       cipher="ALL:@SECLEVEL=0", extra=["-sigalgs", sigalg]) as server:
        suites = TLS13_SUITES if version is TlsVersion.TLSv1_3 else [ECDHE_RSA_AES128_SHA, ECDHE_ECDSA_AES128_SHA]
        outcome = hello(server.address, version, suites)
    assert isinstance(outcome, ServerChose), outcome
    assert outcome.version is version


@pytest.mark.parametrize("bits", [2048, 3072, 4096, 6144, 8192])
def test_the_ffdhe_primes_are_openssls(bits: int) -> None:
    pem = subprocess.run(["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", f"group:ffdhe{bits}"],
                         capture_output=True, check=True).stdout
    parsed = subprocess.run(["openssl", "asn1parse"], input=pem, capture_output=True, check=True).stdout.decode()
    prime = int(re.findall(r"INTEGER\s+:([0-9A-F]+)", parsed)[0], 16)
    assert groups.ffdhe_prime(bits) == prime


# --- HelloRetryRequest, as a peer written for the test sees it ---------------------------------------


def _hrr(group: int, suite: int = 0x1301, cookie: Optional[bytes] = None) -> bytes:
    extensions = supported_versions_extension(0x0304) + struct.pack("!HHH", 51, 2, group)
    if cookie is not None:
        extensions += struct.pack("!HHH", 44, len(cookie) + 2, len(cookie)) + cookie
    return record(22, server_hello_body(version=0x0303, suite=suite, random=HELLO_RETRY_REQUEST_RANDOM,
                                        session_id=b"\x00" * 32, extensions=extensions))


def _server_hello(group: int, suite: int = 0x1301) -> bytes:
    share = struct.pack("!HH", group, 32) + b"\x01" * 32
    extensions = supported_versions_extension(0x0304) + struct.pack("!HH", 51, len(share)) + share
    return record(22, server_hello_body(version=0x0303, suite=suite, session_id=b"\x00" * 32, extensions=extensions))


def _key_share_entries(view: ClientHelloView) -> dict[int, bytes]:
    data, entries, offset = view.extensions[51], {}, 2
    while offset < len(data):
        group, length = struct.unpack("!HH", data[offset:offset + 4])
        entries[group] = data[offset + 4:offset + 4 + length]
        offset += 4 + length
    return entries


def _retrying_peer(group: int, seen: list[bytes], cookie: Optional[bytes] = None,
                   second_answer: Optional[bytes] = None):
    def behave(conn: socket.socket) -> None:
        seen.append(read_record(conn))
        conn.sendall(_hrr(group, cookie=cookie) + record(20, b"\x01"))  # HRR, then the dummy CCS
        ccs = read_record(conn)
        assert ccs == bytes([20, 3, 3, 0, 1, 1]), ccs
        seen.append(read_record(conn))
        conn.sendall(second_answer if second_answer is not None else _server_hello(group))
    return behave


def _mlkem_coefficients(key: bytes) -> list[int]:
    packed = key[:-32]
    values = []
    for i in range(0, len(packed), 3):
        b0, b1, b2 = packed[i:i + 3]
        values += [b0 | ((b1 & 0x0F) << 8), (b1 >> 4) | (b2 << 4)]
    return values


@pytest.mark.parametrize(("group", "ecdh_first", "ecdh_length", "mlkem_length"), [
    (0x11EC, False, 32, 1184), (0x11EB, True, 65, 1184), (0x11ED, True, 97, 1568)])
def test_a_retry_for_a_hybrid_group_sends_a_valid_mlkem_key(raw_peer: Peer, group: int, ecdh_first: bool,
                                                             ecdh_length: int, mlkem_length: int) -> None:
    seen: list[bytes] = []
    peer = raw_peer(_retrying_peer(group, seen))
    outcome = hello(peer.address, TlsVersion.TLSv1_3, [0x1301])
    assert outcome == ServerChose(TlsVersion.TLSv1_3, 0x1301, False, group, after_retry=True)
    share = _key_share_entries(parse_client_hello(seen[1]))[group]
    assert len(share) == ecdh_length + mlkem_length
    mlkem = share[ecdh_length:] if ecdh_first else share[:mlkem_length]
    assert max(_mlkem_coefficients(mlkem)) < 3329  # FIPS 203 §7.2 modulus check


def test_the_retry_repeats_the_hello_with_only_the_asked_share_and_echoes_the_cookie(raw_peer: Peer) -> None:
    seen: list[bytes] = []
    peer = raw_peer(_retrying_peer(0x0019, seen, cookie=b"opaque-cookie"))
    outcome = hello(peer.address, TlsVersion.TLSv1_3, TLS13_SUITES)
    assert isinstance(outcome, ServerChose)
    assert outcome.after_retry
    first, second = (parse_client_hello(r) for r in seen)
    assert list(_key_share_entries(first)) == list(groups.INITIAL_KEY_SHARES)
    assert list(_key_share_entries(second)) == [0x0019]
    assert second.extensions[44] == struct.pack("!H", 13) + b"opaque-cookie"
    assert (second.session_id, second.suites) == (first.session_id, first.suites)
    assert {k: v for k, v in second.extensions.items() if k not in (44, 51, PADDING)} == {
        k: v for k, v in first.extensions.items() if k not in (51, PADDING)}


def test_a_second_hello_retry_request_is_a_violation(raw_peer: Peer) -> None:
    seen: list[bytes] = []
    peer = raw_peer(_retrying_peer(0x0019, seen, second_answer=_hrr(0x0018)))
    outcome = hello(peer.address, TlsVersion.TLSv1_3, TLS13_SUITES)
    assert isinstance(outcome, UnofferedChoice)
    assert "a second HelloRetryRequest" in outcome.reason


def test_a_retry_for_a_group_we_already_shared_is_a_violation(raw_peer: Peer) -> None:
    peer = raw_peer(lambda conn: (read_record(conn), conn.sendall(_hrr(0x001D))))
    outcome = hello(peer.address, TlsVersion.TLSv1_3, TLS13_SUITES)
    assert isinstance(outcome, UnofferedChoice)
    assert "HelloRetryRequest for group x25519" in outcome.reason


def test_a_serverhello_after_a_retry_with_another_suite_is_a_violation(raw_peer: Peer) -> None:
    seen: list[bytes] = []
    peer = raw_peer(_retrying_peer(0x0019, seen, second_answer=_server_hello(0x0019, suite=0x1302)))
    outcome = hello(peer.address, TlsVersion.TLSv1_3, TLS13_SUITES)
    assert isinstance(outcome, UnofferedChoice)
    assert "chose suite 0x1302" in outcome.reason
