"""Listeners that are not a database, or not a well-behaved one, for fail-closed tests."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable, Optional


@contextmanager
def tcp_peer(on_connect: Optional[Callable[[socket.socket], None]]) -> Iterator[int]:
    """A loopback listener; ``on_connect=None`` never accepts (the kernel still completes the
    TCP handshake into the backlog), so the client waits in silence."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    stop = threading.Event()
    connections: list[socket.socket] = []

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (socket.timeout, OSError):
                continue
            connections.append(conn)
            with contextlib.suppress(OSError):
                on_connect(conn)  # type: ignore[misc]

    thread = threading.Thread(target=serve, daemon=True) if on_connect is not None else None
    if thread is not None:
        thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=2)
        for conn in connections:
            conn.close()
        server.close()


def http_answer(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def garbage_answer(conn: socket.socket) -> None:
    conn.sendall(b"\x00\x01garbage\xff" * 8)


def close_at_once(conn: socket.socket) -> None:
    conn.close()


def says_yes_to_tls_then_garbage(conn: socket.socket) -> None:
    """Answers SSLRequest with 'S' like PostgreSQL, then sends bytes that are not TLS."""
    conn.settimeout(2)
    try:
        conn.recv(64)
        conn.sendall(b"S")
        conn.recv(4096)
        conn.sendall(b"this is not a TLS record\r\n" * 4)
    except OSError:
        pass


def _read_exactly(conn: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {count} bytes")
        data += chunk
    return data


def _pipe(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while True:
            chunk = source.recv(65536)
            if not chunk:
                break
            target.sendall(chunk)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


# What a TLS front decides for one connection, given its number (0, 1, ...) and the ClientHello
# record: bytes to answer instead of relaying (e.g. an alert), or None to relay to the server.
FrontPolicy = Callable[[int, bytes], Optional[bytes]]

HANDSHAKE_FAILURE = bytes([21, 3, 3, 0, 2, 2, 40])
PROTOCOL_VERSION = bytes([21, 3, 3, 0, 2, 2, 70])


@contextmanager
def _front(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    """A loopback listener that runs ``handle`` for each connection, in its own thread."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()
    opened: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (socket.timeout, OSError):
                continue
            opened.append(conn)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        for sock in opened:
            with contextlib.suppress(OSError):
                sock.close()
        server.close()


def _relay(conn: socket.socket, back: socket.socket) -> None:
    """Byte for byte both ways until either side closes."""
    back.settimeout(None)
    conn.settimeout(None)
    relay = threading.Thread(target=_pipe, args=(back, conn), daemon=True)
    relay.start()
    _pipe(conn, back)
    relay.join(timeout=5)


def _client_hello(conn: socket.socket) -> bytes:
    header = _read_exactly(conn, 5)
    return header + _read_exactly(conn, int.from_bytes(header[3:5], "big"))


@contextmanager
def tls_front(upstream: tuple[str, int], policy: FrontPolicy, *, postgres: bool) -> Iterator[int]:
    """A front for a real server that reads each ClientHello and, as ``policy`` says, answers it
    itself or relays the connection byte for byte (for PostgreSQL, after relaying SSLRequest/'S').
    Stands for the load balancers and TLS terminators that make one name behave two ways."""
    counter = iter(range(1 << 30))
    lock = threading.Lock()

    def handle(conn: socket.socket) -> None:
        conn.settimeout(5)
        with lock:
            number = next(counter)
        with contextlib.suppress(OSError), socket.create_connection(upstream, timeout=5) as back:
            if postgres:
                back.sendall(_read_exactly(conn, 8))  # SSLRequest
                conn.sendall(_read_exactly(back, 1))  # 'S'
            hello = _client_hello(conn)
            answer = policy(number, hello)
            if answer is not None:
                conn.sendall(answer)
                return
            back.sendall(hello)
            _relay(conn, back)

    with _front(handle) as port:
        yield port


def refusing_hellos_over(max_suites: int) -> FrontPolicy:
    """Refuse every ClientHello offering more than ``max_suites`` suites, the way some servers
    refuse large hellos for their size alone."""
    return lambda _, hello: HANDSHAKE_FAILURE if suites_offered(hello) > max_suites else None


def refusing_hellos_unless_sized(sizes: range) -> FrontPolicy:
    """Refuse every ClientHello whose suite count is outside ``sizes``: a front that lets one
    client's hello through (here: the system OpenSSL's) and no other."""
    return lambda _, hello: None if suites_offered(hello) in sizes else HANDSHAKE_FAILURE


def suites_offered(record: bytes) -> int:
    body = record[9:]  # record header (5) + handshake header (4)
    offset = 2 + 32
    offset += 1 + body[offset]  # session id
    return int.from_bytes(body[offset:offset + 2], "big") // 2


def server_name_in(record: bytes) -> Optional[str]:
    """The SNI host name of a ClientHello record (RFC 6066 §3), or None when it sends none."""
    body = record[9:]  # record header (5) + handshake header (4)
    offset = 2 + 32
    offset += 1 + body[offset]  # session id
    offset += 2 + int.from_bytes(body[offset:offset + 2], "big")  # cipher suites
    offset += 1 + body[offset]  # compression methods
    if offset + 2 > len(body):
        return None  # no extensions at all (SSLv3)
    end = offset + 2 + int.from_bytes(body[offset:offset + 2], "big")
    offset += 2
    while offset + 4 <= end:
        kind = int.from_bytes(body[offset:offset + 2], "big")
        length = int.from_bytes(body[offset + 2:offset + 4], "big")
        data = body[offset + 4:offset + 4 + length]
        if kind == 0:  # server_name: list length (2), name_type (1), name length (2), name
            return data[5:5 + int.from_bytes(data[3:5], "big")].decode("ascii")
        offset += 4 + length
    return None


@contextmanager
def sni_router(with_sni: tuple[str, int], without_sni: tuple[str, int]) -> Iterator[int]:
    """A PostgreSQL front that answers SSLRequest with 'S' itself, reads the ClientHello and sends
    the connection to ``with_sni`` when the hello names a server, else to ``without_sni`` (after
    its own SSLRequest): a load balancer with a default backend for clients that send no SNI."""

    def handle(conn: socket.socket) -> None:
        conn.settimeout(5)
        with contextlib.suppress(OSError, ConnectionError):
            _read_exactly(conn, 8)  # SSLRequest
            conn.sendall(b"S")
            hello = _client_hello(conn)
            upstream = with_sni if server_name_in(hello) is not None else without_sni
            with socket.create_connection(upstream, timeout=5) as back:
                back.sendall(bytes([0, 0, 0, 8, 4, 210, 22, 47]))  # SSLRequest (code 80877103)
                if _read_exactly(back, 1) != b"S":
                    return
                back.sendall(hello)
                _relay(conn, back)

    with _front(handle) as port:
        yield port
