"""Real TLS peers on loopback for the hello, surface and cipher tests.

- ``OpenSslServer``: an ``openssl s_server`` subprocess, configured by its own flags.
- ``PythonTlsServer``: a thread accepting connections with an ``ssl.SSLContext`` of our choice.
- ``RawPeer``: a listener that does whatever hostile or odd thing a test asks, byte for byte.

Every peer counts the connections it accepted, so tests can hold a probe to its budget.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import ssl
import struct
import subprocess
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Callable, List, Optional, Sequence, Type

from tests.support.pki import TestPki
from tests.support.watchdog import watch

_ACCEPT_LINE = re.compile(r"^ACCEPT 127\.0\.0\.1:(\d+)$", re.MULTILINE)


class OpenSslServer:
    """``openssl s_server`` on 127.0.0.1, an ephemeral port, serving one connection at a time."""

    def __init__(
        self,
        pki: TestPki,
        *,
        min_protocol: str = "TLSv1",
        max_protocol: str = "TLSv1.3",
        cipher: str = "ALL:@SECLEVEL=0",
        ciphersuites: Optional[str] = None,
        groups: Optional[str] = None,
        extra: Sequence[str] = (),
    ) -> None:
        self.log_path = pki.directory / f"s_server-{id(self)}.log"
        self._command = [
            "openssl", "s_server",
            "-accept", "127.0.0.1:0",
            "-cert", str(pki.server_cert),
            "-key", str(pki.server_key),
            "-min_protocol", min_protocol,
            "-max_protocol", max_protocol,
            "-cipher", cipher,
        ]
        if ciphersuites is not None:
            self._command += ["-ciphersuites", ciphersuites]
        if groups is not None:
            self._command += ["-groups", groups]
        self._command += list(extra)
        self._process: Optional[subprocess.Popen[bytes]] = None
        self.port = 0

    def __enter__(self) -> OpenSslServer:
        log = self.log_path.open("wb")
        # stdin stays an open pipe: s_server treats EOF on stdin as "close the connection".
        self._process = subprocess.Popen(
            self._command, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT
        )
        self._watchdog = watch(pid=self._process.pid)  # s_server outlives a killed pytest otherwise
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            match = _ACCEPT_LINE.search(self.log())
            if match:
                self.port = int(match.group(1))
                return self
            if self._process.poll() is not None:
                break
            time.sleep(0.01)
        self.__exit__(None, None, None)
        raise RuntimeError(f"openssl s_server did not start: {self.log()}")

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            assert self._process.stdin is not None
            self._process.stdin.close()
            self._watchdog.release()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)


class _Listener:
    """A loopback listener whose accept loop runs ``handle`` per connection in a thread."""

    def __init__(self, handle: Callable[[socket.socket], object]) -> None:
        self._handle = handle
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self._stopping = threading.Event()
        self._threads: List[threading.Thread] = []
        self._connections: List[socket.socket] = []
        self.accepted = 0
        self.errors: List[BaseException] = []
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.getsockname()[:2]
        return (host, port)

    def start(self) -> None:
        self._acceptor.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            self._connections.append(conn)
            worker = threading.Thread(target=self._run, args=(conn,), daemon=True)
            self._threads.append(worker)
            worker.start()

    def _run(self, conn: socket.socket) -> None:
        try:
            self._handle(conn)
        except OSError:
            pass  # the client hung up mid-conversation: that is what probes do
        except BaseException as exc:  # surfaced by the test through .errors
            self.errors.append(exc)
        finally:
            conn.close()

    def stop(self) -> None:
        self._stopping.set()
        # shutdown() wakes a thread blocked in accept() at once on Linux; close() alone does not.
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._acceptor.join(timeout=2)
        self._server.close()
        for conn in self._connections:
            conn.close()
        for worker in self._threads:
            worker.join(timeout=2)


class RawPeer:
    """A listener that runs ``behaviour(conn)`` on every connection it accepts."""

    def __init__(self, behaviour: Callable[[socket.socket], object]) -> None:
        self.stop_event = threading.Event()
        self._listener = _Listener(behaviour)

    def __enter__(self) -> RawPeer:
        self._listener.start()
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop_event.set()
        self._listener.stop()
        if self._listener.errors:
            raise self._listener.errors[0]

    @property
    def address(self) -> tuple[str, int]:
        return self._listener.address

    @property
    def accepted(self) -> int:
        return self._listener.accepted


class PythonTlsServer:
    """A Python ``ssl`` server: each connection gets a server-side handshake attempt."""

    def __init__(self, context: ssl.SSLContext, handshake_timeout: float = 5.0) -> None:
        self.context = context
        self._timeout = handshake_timeout
        self._listener = _Listener(self._serve)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(self._timeout)
        try:
            with self.context.wrap_socket(conn, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass  # our probes never finish the handshake

    def __enter__(self) -> PythonTlsServer:
        self._listener.start()
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self._listener.stop()
        if self._listener.errors:
            raise self._listener.errors[0]

    @property
    def address(self) -> tuple[str, int]:
        return self._listener.address

    @property
    def accepted(self) -> int:
        return self._listener.accepted


def server_context(
    pki: TestPki,
    *,
    minimum: ssl.TLSVersion,
    maximum: ssl.TLSVersion,
    ciphers: Optional[str] = None,
) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.minimum_version = minimum
    context.maximum_version = maximum
    if ciphers is not None:
        context.set_ciphers(ciphers)
    return context


def read_record(conn: socket.socket, timeout: float = 5.0) -> bytes:
    """One whole TLS record from ``conn`` (header included): what a peer reads before answering."""
    conn.settimeout(timeout)
    header = _read_exactly(conn, 5)
    return header + _read_exactly(conn, int.from_bytes(header[3:5], "big"))


def _read_exactly(conn: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise ConnectionError(f"peer closed after {len(data)} of {count} bytes")
        data += chunk
    return data


def connect(address: tuple[str, int], timeout: float = 5.0) -> socket.socket:
    return socket.create_connection(address, timeout=timeout)


# --- Hand-made server messages for the peers that misbehave on purpose. -----------------------


def record(content_type: int, payload: bytes, version: int = 0x0303) -> bytes:
    return struct.pack("!BHH", content_type, version, len(payload)) + payload


def alert(level: int, description: int) -> bytes:
    return record(21, bytes([level, description]))


def server_hello_body(
    *,
    version: int,
    suite: int,
    random: Optional[bytes] = None,
    session_id: bytes = b"",
    compression: int = 0,
    extensions: Optional[bytes] = None,
) -> bytes:
    """A ServerHello handshake message (4-byte header included)."""
    body = struct.pack("!H", version) + (random or os.urandom(32))
    body += bytes([len(session_id)]) + session_id + struct.pack("!HB", suite, compression)
    if extensions is not None:
        body += struct.pack("!H", len(extensions)) + extensions
    return bytes([2]) + len(body).to_bytes(3, "big") + body


def supported_versions_extension(version: int) -> bytes:
    return struct.pack("!HHH", 43, 2, version)


@dataclass(frozen=True)
class ClientHelloView:
    """What a test needs to see of the ClientHello we sent."""

    record_version: int
    legacy_version: int
    session_id: bytes
    suites: tuple[int, ...]
    extensions: dict[int, bytes]


def parse_client_hello(data: bytes) -> ClientHelloView:
    assert data[0] == 22, "not a handshake record"
    record_version = int.from_bytes(data[1:3], "big")
    handshake = data[5:]
    assert handshake[0] == 1, "not a ClientHello"
    body = handshake[4 : 4 + int.from_bytes(handshake[1:4], "big")]
    legacy_version = int.from_bytes(body[0:2], "big")
    offset = 34
    session_id = body[offset + 1 : offset + 1 + body[offset]]
    offset += 1 + body[offset]
    suites_length = int.from_bytes(body[offset : offset + 2], "big")
    suites = tuple(
        int.from_bytes(body[i : i + 2], "big")
        for i in range(offset + 2, offset + 2 + suites_length, 2)
    )
    offset += 2 + suites_length
    offset += 1 + body[offset]  # compression methods
    extensions: dict[int, bytes] = {}
    if offset < len(body):
        end = offset + 2 + int.from_bytes(body[offset : offset + 2], "big")
        offset += 2
        while offset < end:
            ext_type = int.from_bytes(body[offset : offset + 2], "big")
            length = int.from_bytes(body[offset + 2 : offset + 4], "big")
            extensions[ext_type] = body[offset + 4 : offset + 4 + length]
            offset += 4 + length
    return ClientHelloView(record_version, legacy_version, session_id, suites, extensions)


# What the ``raw_peer`` fixture (tests/conftest.py) hands a test: start a peer with a behaviour.
Peer = Callable[[Callable[[socket.socket], object]], "RawPeer"]
