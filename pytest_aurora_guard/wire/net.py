"""TCP with a deadline, and network failures turned into evidence a user can act on.

Every step is bounded by the configured timeout, so a listener that never answers is an
error after that many seconds, never a hang and never a pass.
"""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import dataclass
from typing import Optional

from ..errors import ProbeError


class NetworkError(ProbeError):
    """No evidence either way: DNS, refused, unreachable, timeout, reset, EOF."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "dns", "refused", "unreachable", "timeout", "reset", "eof"


@dataclass
class Deadline:
    """A total time budget for one network step (connect + exchange), not per ``recv``."""

    seconds: float
    started: float = 0.0

    def __post_init__(self) -> None:
        self.started = time.monotonic()

    def remaining(self) -> float:
        left = self.seconds - (time.monotonic() - self.started)
        if left <= 0:
            raise NetworkError("timeout", f"no answer within {self.seconds:g} s")
        return left


def resolve_addresses(host: str, port: int) -> list[str]:
    """Every distinct address ``host`` resolves to, in resolver order (an IP literal is itself).

    A name behind round-robin DNS is several servers: each must be probed, or a weak one hides
    behind a strong one depending on which address the resolver returned first.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NetworkError(
            "dns", f"could not resolve {host!r} ({exc.strerror}); check the endpoint name and DNS"
        ) from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def connect(host: str, port: int, timeout: float) -> socket.socket:
    """Open a TCP connection, classifying each way it can fail."""
    where = f"{host}:{port}"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NetworkError(
            "dns", f"could not resolve {host!r} ({exc.strerror}); check the endpoint name and DNS"
        ) from None
    last: Exception | None = None
    deadline = Deadline(timeout)
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(deadline.remaining())
            sock.connect(address)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
        except NetworkError:
            sock.close()
            raise
    raise _classify_connect_error(last, where, timeout)


def _classify_connect_error(exc: Exception | None, where: str, timeout: float) -> NetworkError:
    if isinstance(exc, socket.timeout):
        return NetworkError(
            "timeout",
            f"TCP connect to {where} got no answer within {timeout:g} s "
            "(a firewall or security group dropping packets?)",
        )
    if isinstance(exc, ConnectionRefusedError):
        return NetworkError("refused", f"TCP connect to {where} was refused: nothing listens on that port")
    return NetworkError("unreachable", f"TCP connect to {where} failed: {exc}")


def recv_exact(sock: socket.socket, size: int, deadline: Deadline, what: str,
               evidence: Optional[bytearray] = None) -> bytes:
    """Read exactly ``size`` bytes before the deadline, or raise saying what was being read.

    Every chunk is also appended to ``evidence`` as it arrives, so a caller reporting a cut-short
    answer can say exactly how much of it came.
    """
    chunks = bytearray()
    while len(chunks) < size:
        try:
            sock.settimeout(deadline.remaining())
            chunk = sock.recv(size - len(chunks))
        except NetworkError as exc:
            raise NetworkError("timeout", f"waiting for {what}: {exc}") from None
        except socket.timeout:
            raise NetworkError("timeout", f"waiting for {what}: no answer within {deadline.seconds:g} s") from None
        except ConnectionResetError:
            raise NetworkError("reset", f"waiting for {what}: the server reset the connection") from None
        except OSError as exc:
            raise NetworkError("reset", f"waiting for {what}: {exc}") from None
        if not chunk:
            got = f" after {len(chunks)} bytes ({bytes(chunks[:32])!r})" if chunks else ""
            raise NetworkError("eof", f"waiting for {what}: the server closed the connection{got}")
        chunks += chunk
        if evidence is not None:
            evidence += chunk
    return bytes(chunks)


def available(sock: socket.socket, limit: int = 4096) -> bytes:
    """Whatever has already arrived, without waiting: more evidence for an error message."""
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return sock.recv(limit)
    except OSError:
        return b""
    finally:
        sock.settimeout(timeout)


def send_all(sock: socket.socket, data: bytes, deadline: Deadline, what: str) -> None:
    try:
        sock.settimeout(deadline.remaining())
        sock.sendall(data)
    except socket.timeout:
        raise NetworkError("timeout", f"sending {what}: no progress within {deadline.seconds:g} s") from None
    except OSError as exc:
        raise NetworkError("reset", f"sending {what}: {exc}") from None


def close_quietly(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()
