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
