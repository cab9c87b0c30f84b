"""Real OpenSSL handshake errors without a socket: the system OpenSSL, as a client, reads
server bytes written here into a memory BIO, and raises exactly what it raises on a wire."""

from __future__ import annotations

import ssl
import warnings
from typing import Optional

from pytest_aurora_guard.tls.versions import TlsVersion


def alert(description: int, level: int = 2) -> bytes:
    """One TLS alert record (RFC 8446 §6)."""
    return bytes([21, 3, 3, 0, 2, level, description])


def server_hello(wire_version: int, suite: int = 0x002F) -> bytes:
    """A minimal ServerHello record choosing ``wire_version`` (legacy field, no extensions)."""
    body = wire_version.to_bytes(2, "big") + bytes(32) + b"\x00" + suite.to_bytes(2, "big") + b"\x00"
    message = b"\x02" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(message).to_bytes(2, "big") + message


def client_context(version: Optional[TlsVersion] = None) -> ssl.SSLContext:
    """An unverified client context, capped at exactly ``version`` when one is given."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if version is not None:
        with warnings.catch_warnings():  # TLS 1.0 and 1.1 are deprecated: exactly what is tested
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = context.maximum_version = version.ssl_module_version
        context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def no_protocols_context() -> ssl.SSLContext:
    """A context whose version range is empty: OpenSSL fails before sending anything."""
    context = client_context()
    context.minimum_version, context.maximum_version = ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2
    return context


def handshake_error(answer: bytes, *, eof: bool = False, context: Optional[ssl.SSLContext] = None) -> ssl.SSLError:
    """The error OpenSSL raises when a server answers our ClientHello with ``answer`` (then EOF)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = (context or client_context()).wrap_bio(incoming, outgoing, server_hostname=None)
    try:
        tls.do_handshake()  # writes the ClientHello to ``outgoing``, then wants to read
    except ssl.SSLWantReadError:
        pass
    except ssl.SSLError as exc:  # the local library could not even make the offer
        return exc
    incoming.write(answer)
    if eof:
        incoming.write_eof()
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        raise AssertionError(f"OpenSSL waits for more than {answer!r}") from None
    except ssl.SSLError as exc:
        return exc
    raise AssertionError(f"OpenSSL accepted {answer!r} as a handshake")
