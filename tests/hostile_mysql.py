"""A scripted MySQL-protocol server that tries to get a password out of its client, and records
every byte it receives, so tests can prove that nothing derived from the password reached it.

Each script is one way a server (or a man in the middle) can ask for the password: the native
or caching_sha2 scramble (cracked offline from a wordlist), caching_sha2 "perform full
authentication" with an RSA key it sends itself, an auth switch to the cleartext plugin or to a
plugin the client does not know, a greeting that does not advertise TLS. With ``tls`` it starts
TLS after the SSLRequest (with the test CA's certificate, so verification succeeds) and answers
the queries a verified driver session makes.

Written for these tests from the MySQL protocol documentation (HandshakeV10, AuthSwitchRequest,
AuthMoreData, ERR/OK/EOF packets, text result sets).
"""

from __future__ import annotations

import contextlib
import enum
import os
import socket
import ssl
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Optional

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pymysql import _auth

from tests.hostile_peers import tcp_peer

CLIENT_PROTOCOL_41 = 0x200
CLIENT_SSL = 0x800
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_CONNECT_WITH_DB = 0x8
CLIENT_PLUGIN_AUTH = 0x80000
CLIENT_PLUGIN_AUTH_LENENC = 0x200000
CLIENT_CONNECT_ATTRS = 0x100000
_BASE_CAPABILITIES = (CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_CONNECT_WITH_DB | CLIENT_PLUGIN_AUTH
                      | CLIENT_PLUGIN_AUTH_LENENC | CLIENT_CONNECT_ATTRS | 0x1)


class Ask(enum.Enum):
    """How the peer answers the client's HandshakeResponse."""

    DENY = "deny"  # ERR 1045 at once: a passive scramble capture
    SHA2_FULL_AUTH = "sha2_full_auth"  # AuthMoreData 0x04, then our RSA key on request
    SWITCH = "switch"  # AuthSwitchRequest to ``switch_plugin``
    OLD_SWITCH = "old_switch"  # AuthSwitchRequest to mysql_old_password
    MORE_DATA = "more_data"  # AuthMoreData for the greeting's plugin (how a cleartext plugin asks)
    ACCEPT = "accept"  # OK, then answer the session queries


@dataclass
class MySqlScript:
    plugin: bytes = b"mysql_native_password"  # named in the greeting (raw bytes: may be non-UTF-8)
    ask: Ask = Ask.DENY
    switch_plugin: bytes = b"mysql_clear_password"
    tls: Optional[ssl.SSLContext] = None  # offer CLIENT_SSL and start TLS after SSLRequest
    ssl_version: str = "TLSv1.3"  # what SHOW SESSION STATUS reports
    require_secure_transport: str = "ON"


@dataclass
class Capture:
    """Everything the clients sent, per connection, and the nonces we gave them."""

    received: list[bytes] = field(default_factory=list)  # decrypted application bytes
    nonces: list[bytes] = field(default_factory=list)
    rsa_plaintexts: list[bytes] = field(default_factory=list)  # what our RSA key decrypted
    lock: threading.Lock = field(default_factory=threading.Lock)

    def password_material(self, password: str) -> list[bytes]:
        """Every form of ``password`` a MySQL client could derive and send, given our nonces."""
        secret = password.encode("utf-8")
        forms = [secret]
        for nonce in self.nonces:
            forms.append(_auth.scramble_native_password(secret, nonce[:20]))
            forms.append(_auth.scramble_caching_sha2(secret, nonce[:20]))
        return forms

    def leaked(self, password: str) -> list[str]:
        """Where password material showed up (empty: nothing derived from it reached us)."""
        found = []
        with self.lock:
            blobs = list(self.received)
            rsa_plain = list(self.rsa_plaintexts)
        for form in self.password_material(password):
            for index, blob in enumerate(blobs):
                if form in blob:
                    found.append(f"connection {index}: {form!r}")
        secret = password.encode("utf-8") + b"\0"
        for plain, nonce in ((p, n) for p in rsa_plain for n in self.nonces):
            if bytes(b ^ nonce[i % len(nonce)] for i, b in enumerate(plain)) == secret:
                found.append("RSA-encrypted password decrypted with our own key")
        return found


_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_RSA_PUBLIC_PEM = _RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)


@contextlib.contextmanager
def mysql_peer(script: MySqlScript) -> Iterator[tuple[int, Capture]]:
    """Listen on loopback, serve ``script`` to every connection, yield ``(port, capture)``."""
    capture = Capture()
    with tcp_peer(lambda conn: _serve(conn, script, capture)) as port:
        yield port, capture


class _Conn:
    def __init__(self, sock: socket.socket, capture: Capture) -> None:
        self.sock: socket.socket = sock
        self.capture = capture
        self.buffer = bytearray()
        with capture.lock:
            capture.received.append(b"")
            self.index = len(capture.received) - 1

    def read(self) -> tuple[int, bytes]:
        header = self._exact(4)
        length = int.from_bytes(header[:3], "little")
        return header[3], self._exact(length)

    def _exact(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("client closed")
            data += chunk
        with self.capture.lock:
            self.capture.received[self.index] += data
        return data

    def send(self, sequence: int, payload: bytes) -> None:
        self.sock.sendall(len(payload).to_bytes(3, "little") + bytes([sequence & 0xFF]) + payload)


def _serve(raw: socket.socket, script: MySqlScript, capture: Capture) -> None:
    raw.settimeout(5)
    conn = _Conn(raw, capture)
    nonce = os.urandom(20).replace(b"\0", b"\x01")
    with capture.lock:
        capture.nonces.append(nonce)
    capabilities = _BASE_CAPABILITIES | (CLIENT_SSL if script.tls is not None else 0)
    greeting = (b"\x0a" + b"8.0.36-hostile\0" + struct.pack("<I", 7) + nonce[:8] + b"\0"
                + struct.pack("<H", capabilities & 0xFFFF) + b"\x2d" + struct.pack("<H", 2)
                + struct.pack("<H", capabilities >> 16) + bytes([21]) + b"\0" * 10 + nonce[8:] + b"\0"
                + script.plugin + b"\0")
    conn.send(0, greeting)
    try:
        sequence, payload = conn.read()
        if script.tls is not None and len(payload) == 32:
            tls = script.tls.wrap_socket(raw, server_side=True)
            conn.sock = tls
            sequence, payload = conn.read()
        _answer(conn, script, sequence + 1, nonce)
    except (OSError, ConnectionError, ssl.SSLError):
        pass
    finally:
        if conn.sock is not raw:
            conn.sock.close()  # the TLS wrapper owns the descriptor once the upgrade succeeded


def _err(conn: _Conn, sequence: int) -> None:
    conn.send(sequence, b"\xff" + struct.pack("<H", 1045) + b"#28000" + b"Access denied (hostile peer)")


def _ok(conn: _Conn, sequence: int) -> None:
    conn.send(sequence, b"\x00\x00\x00\x02\x00\x00\x00")


def _answer(conn: _Conn, script: MySqlScript, sequence: int, nonce: bytes) -> None:
    if script.ask is Ask.DENY:
        _err(conn, sequence)
    elif script.ask is Ask.SWITCH or script.ask is Ask.OLD_SWITCH:
        plugin = b"mysql_old_password" if script.ask is Ask.OLD_SWITCH else script.switch_plugin
        conn.send(sequence, b"\xfe" + plugin + b"\0" + nonce + b"\0")
        conn.read()
        _err(conn, sequence + 2)
    elif script.ask is Ask.MORE_DATA:
        conn.send(sequence, b"\x01" + nonce)
        conn.read()
        _err(conn, sequence + 2)
    elif script.ask is Ask.SHA2_FULL_AUTH:
        conn.send(sequence, b"\x01\x04")  # AuthMoreData: perform full authentication
        _, reply = conn.read()
        if reply == b"\x02":  # the client asks for our public key
            conn.send(sequence + 2, b"\x01" + _RSA_PUBLIC_PEM)
            _, encrypted = conn.read()
            try:
                # caching_sha2_password's RSA exchange is OAEP with SHA-1, as PyMySQL and libmysql do it.
                oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303
                plain = _RSA_KEY.decrypt(encrypted, oaep)
            except ValueError:
                plain = b""
            with conn.capture.lock:
                conn.capture.rsa_plaintexts.append(plain)
            _err(conn, sequence + 4)
        else:
            _err(conn, sequence + 2)
    else:
        _ok(conn, sequence)
        _session(conn, script)


def _session(conn: _Conn, script: MySqlScript) -> None:
    while True:
        _, payload = conn.read()
        if not payload or payload[0] == 0x01:  # COM_QUIT
            return
        query = payload[1:].decode("utf-8", "replace").upper()
        if "SESSION STATUS" in query:
            _result(conn, [("Ssl_cipher", "TLS_AES_256_GCM_SHA384"), ("Ssl_version", script.ssl_version)])
        elif "GLOBAL VARIABLES" in query:
            _result(conn, [("require_secure_transport", script.require_secure_transport)])
        else:
            _ok(conn, 1)


def _lenenc(data: bytes) -> bytes:
    return bytes([len(data)]) + data


def _result(conn: _Conn, rows: list[tuple[str, str]]) -> None:
    sequence = 1
    conn.send(sequence, b"\x02")
    for name in ("Variable_name", "Value"):
        sequence += 1
        column = (_lenenc(b"def") + _lenenc(b"") + _lenenc(b"") + _lenenc(b"") + _lenenc(name.encode())
                  + _lenenc(name.encode()) + b"\x0c" + struct.pack("<HIBHB", 45, 1024, 0xFD, 0, 0) + b"\0\0")
        conn.send(sequence, column)
    sequence += 1
    conn.send(sequence, b"\xfe\x00\x00\x02\x00")
    for key, value in rows:
        sequence += 1
        conn.send(sequence, _lenenc(key.encode()) + _lenenc(value.encode()))
    sequence += 1
    conn.send(sequence, b"\xfe\x00\x00\x02\x00")
