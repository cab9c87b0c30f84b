"""The boundary around database drivers (psycopg, PyMySQL): nothing of theirs leaves it.

A driver exception carries the driver's frames, whose arguments pytest prints in its default
traceback style (``password = b'...'`` in a scramble function, a conninfo string), and a
message that may quote the connection string. So every driver call runs inside
:func:`driver_call`: any exception becomes a :class:`DriverFailure` (scrubbed text plus the
facts a classifier needs), and what is raised to callers is a fresh :class:`DriverError`
without ``__context__``, made after the ``except`` block has ended.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar, Union

from ..errors import AuroraGuardError, ConfigurationError, DriverError, UnverifiedTransportError
from ..findings import DriverKind
from ..settings.credentials import Secret, scrub
from ..tls.handshake import HandshakeNotOffered, HandshakeOutcome, HandshakeRefused
from ..tls.versions import TlsVersion

T = TypeVar("T")


@dataclass(frozen=True)
class DriverFailure:
    """What a failed driver call said, with every secret masked."""

    type_name: str
    message: str  # scrubbed
    code: Optional[int] = None  # MySQL error number, when the driver gave one
    ssl_error: Optional[ssl.SSLError] = None  # the TLS failure underneath, if any
    certificate_rejected: bool = False
    unverified_transport: bool = False  # our own rule stopped the credential

    def render(self) -> str:
        return f"{self.message} ({self.type_name})" if self.type_name else self.message


def driver_call(call: Callable[[], T], secrets: Iterable[Optional[Secret]]) -> Union[T, DriverFailure]:
    """Run ``call``; return its result, or a :class:`DriverFailure` for any exception it raised."""
    secrets = tuple(secrets)
    try:
        return call()
    except Exception as exc:  # every type: PyMySQL raises RuntimeError, AttributeError, UnicodeError...
        return _failure(exc, secrets)


def raise_failure(failure: DriverFailure, what: str) -> AuroraGuardError:
    """The exception to raise for ``failure`` (as ``raise raise_failure(...)``, outside any ``except``)."""
    if failure.unverified_transport:
        return UnverifiedTransportError(f"{what}: {failure.message}")
    return DriverError(f"{what}: {failure.render()}")


def verified_context(ca_bundle: Optional[Path]) -> ssl.SSLContext:
    """Chain and hostname verified against ``ca_bundle`` (or the system store): the only context
    over which a real credential may be sent (see :func:`~..settings.credentials.require_verified_tls`)."""
    return ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)


def refuse_unsafe_overrides(overrides: Mapping[str, Any], unsafe: frozenset[str], driver: str) -> None:
    """``aurora_connect(**overrides)`` may tune a connection, never weaken its transport."""
    bad = sorted(set(overrides) & unsafe)
    if bad:
        raise ConfigurationError(
            f"aurora_connect does not accept {', '.join(bad)}: with {driver} they could skip TLS or "
            "certificate verification, or take credentials from elsewhere; the fixture always verifies "
            "the server with --aurora-ca-bundle and sends the guard's own credentials"
        )


def open_for_user(driver: str, label: str, params: dict[str, Any], overrides: Mapping[str, Any],
                  unsafe: frozenset[str], opener: Callable[[dict[str, Any], Optional[Secret]], T],
                  password: Optional[Secret]) -> T:
    """A user's connection (the ``aurora_connect`` fixture): verified parameters, overrides that keep
    the transport safe, and only our own scrubbed exception on failure."""
    refuse_unsafe_overrides(overrides, unsafe, driver)
    merged = {**params, **overrides}
    opened = driver_call(lambda: opener(merged, password), [password])
    if isinstance(opened, DriverFailure):
        raise raise_failure(opened, f"{driver} could not connect to {label}")
    return opened


def driver_tls_failure_kind(outcome: HandshakeOutcome) -> DriverKind:
    """A driver's failed TLS handshake, read with the same classifier as the TLS probes.

    Only a server alert (or the server choosing a version we did not offer) is a refusal; the
    local library being unable to offer is no evidence; anything else (a non-TLS answer, EOF,
    an unclassified error) is not conclusive.
    """
    if isinstance(outcome, HandshakeRefused):
        return DriverKind.REFUSED_TLS
    if isinstance(outcome, HandshakeNotOffered):
        return DriverKind.LOCAL_LIMIT
    return DriverKind.NOT_CONCLUSIVE


def parse_server_tls_version(text: str) -> Optional[TlsVersion]:
    """The version a server reports for a session; None when it is not one we know."""
    try:
        return TlsVersion.parse(text)
    except ConfigurationError:
        return None


def _failure(exc: BaseException, secrets: tuple[Optional[Secret], ...]) -> DriverFailure:
    if isinstance(exc, UnverifiedTransportError):
        return DriverFailure("", str(exc), unverified_transport=True)
    found = _unverified_cause(exc)
    if found is not None:
        return DriverFailure("", str(found), unverified_transport=True)
    args = exc.args
    code = args[0] if args and isinstance(args[0], int) and not isinstance(args[0], bool) else None
    if code is not None and len(args) > 1:
        text = f"ERROR {code}: {args[1]}"
    else:
        text = " | ".join(line.strip() for line in str(exc).strip().splitlines() if line.strip()) or repr(exc)
    original = getattr(exc, "original_exception", None) or exc.__cause__ or exc.__context__
    ssl_error = original if isinstance(original, ssl.SSLError) else exc if isinstance(exc, ssl.SSLError) else None
    return DriverFailure(
        type_name=type(exc).__name__,
        message=scrub(text, secrets),
        code=code,
        ssl_error=ssl_error,
        certificate_rejected=isinstance(ssl_error, ssl.SSLCertVerificationError),
    )


def _unverified_cause(exc: BaseException) -> Optional[UnverifiedTransportError]:
    """Our guard's refusal, if a driver wrapped it in its own exception type (anywhere in the chain:
    a driver's ``original_exception``, ``raise ... from``, or the exception being handled)."""
    walked: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        seen = pending.pop()
        if id(seen) in walked:  # a chain can loop: an exception raised while handling itself
            continue
        walked.add(id(seen))
        if isinstance(seen, UnverifiedTransportError):
            return seen
        links = (getattr(seen, "original_exception", None), seen.__cause__, seen.__context__)
        pending += [link for link in links if isinstance(link, BaseException)]
    return None
