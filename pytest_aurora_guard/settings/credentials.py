"""Secrets that cannot leak through a repr, a traceback's locals or an f-string by accident,
and the one rule for handing them over: only to TLS whose certificate and hostname were verified.

The rule covers every form a secret can take on the wire: in clear, as a challenge-response
scramble (crackable offline from a wordlist), or encrypted with a public key the server sent
(an attacker's key, over plaintext). So the check is on the transport, made at the moment the
driver asks for the secret, not on the authentication method.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Optional

from ..errors import ConfigurationError, UnverifiedTransportError


class Secret:
    """Holds a password or token; every textual form of it is masked."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value. Only :func:`reveal_over` and :func:`libpq_password` call this for the wire."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        # Bytes, not str: compare_digest refuses non-ASCII strings, and passwords may be any text (a
        # lone surrogate from a mis-decoded environment included).
        return isinstance(other, Secret) and secrets.compare_digest(
            self._value.encode("utf-8", "surrogatepass"), other._value.encode("utf-8", "surrogatepass")
        )

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))

    def __reduce__(self) -> tuple[object, ...]:
        # Never pickled to xdist workers or caches by accident.
        raise TypeError("a Secret cannot be pickled")


def require_verified_tls(sock: object, what: str = "the credential") -> ssl.SSLSocket:
    """Return ``sock`` if it is a TLS socket whose peer certificate and hostname were verified.

    Otherwise raise :class:`UnverifiedTransportError` before anything derived from the secret
    is computed. The checks are on the live socket, not on the options that should have made it.
    """
    if not isinstance(sock, ssl.SSLSocket):
        raise UnverifiedTransportError(
            f"refused to send {what}: the connection is not TLS (the server did not start TLS or the "
            "driver fell back to plaintext); nothing derived from it was sent"
        )
    context = sock.context
    if context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname:
        raise UnverifiedTransportError(
            f"refused to send {what}: the TLS session does not verify the server certificate and "
            "hostname; nothing derived from it was sent"
        )
    if sock.version() is None or not sock.getpeercert():
        raise UnverifiedTransportError(
            f"refused to send {what}: the TLS handshake has not completed with a verified peer "
            "certificate; nothing derived from it was sent"
        )
    return sock


def reveal_over(secret: Secret, sock: object, what: str = "the password") -> str:
    """The secret's value, for a driver about to send it on ``sock`` (see the module docstring)."""
    require_verified_tls(sock, what)
    return secret.reveal()


# libpq owns its socket, so the rule is enforced on the parameters that make libpq verify the
# server before authentication: verify-full checks the chain and the hostname; GSSAPI encryption
# (which would replace TLS) is off.
_LIBPQ_VERIFIED = {"sslmode": "verify-full", "gssencmode": "disable"}


def libpq_password(secret: Secret, params: Mapping[str, Any], what: str = "the password") -> str:
    """The secret's value for a libpq connection, only if ``params`` make libpq verify TLS first."""
    for key, required in _LIBPQ_VERIFIED.items():
        if params.get(key) != required:
            raise UnverifiedTransportError(
                f"refused to send {what}: libpq would connect with {key}={params.get(key)!r}, "
                f"not {required!r}, so the server might not be verified before authentication"
            )
    if not params.get("sslrootcert"):
        raise UnverifiedTransportError(f"refused to send {what}: no sslrootcert to verify the server against")
    return secret.reveal()


def decoy_password() -> str:
    """A password that is certainly wrong, for attempts that must never carry the real one."""
    return "aurora-guard-decoy-" + secrets.token_urlsafe(12)


def optional_secret(value: Optional[str]) -> Optional[Secret]:
    return Secret(value) if value else None


@dataclass(frozen=True)
class DbSecret:
    """The probe account from a secret in the JSON layout RDS uses for the secrets it manages.

    RDS-managed master secrets hold only ``username`` and ``password``; secrets made for rotation
    also carry ``engine``, ``host``, ``port`` and ``dbname``.
    """

    source: str  # e.g. "Secrets Manager secret 'prod/guard'", never the value
    username: str
    password: Secret
    host: Optional[str] = None
    port: Optional[int] = None
    dbname: Optional[str] = None
    engine: Optional[str] = None


def parse_db_secret(value: Secret, source: str) -> DbSecret:
    """Read RDS's JSON layout; errors say which field is wrong, never what the secret holds."""
    try:
        data = json.loads(value.reveal())
    except ValueError:
        raise ConfigurationError(f"{source} is not JSON; it must use RDS's layout "
                                 '{"username": ..., "password": ...}') from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{source} is JSON but not an object with username and password")
    for key in ("username", "password"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ConfigurationError(f"{source} has no non-empty string {key!r}; RDS's layout is "
                                     '{"username": ..., "password": ...} (plus host, port, dbname, engine)')
    port = data.get("port")
    if port is not None:
        text = str(port).strip()
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            raise ConfigurationError(f"{source}: 'port' is not a port number from 1 to 65535")
        port = int(text)
    optional = {key: data.get(key) for key in ("host", "dbname", "engine")}
    for key, item in optional.items():
        if item is not None and not isinstance(item, str):
            raise ConfigurationError(f"{source}: {key!r} must be a string")
    return DbSecret(source, data["username"], Secret(data["password"]), optional["host"] or None, port,
                    optional["dbname"] or None, optional["engine"] or None)


_CONNINFO_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.I)


def scrub(text: str, secrets_: Iterable[Optional[Secret]]) -> str:
    """``text`` with every secret's value (and any ``password=`` conninfo field) masked."""
    forms = {form for secret in secrets_ if secret is not None and secret.reveal()
             for form in _quoted_forms(secret.reveal())}
    # Longest first: a secret that starts with another one must not leave its tail behind.
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "***")
    return _CONNINFO_PASSWORD.sub(r"\1***", text)


def _quoted_forms(value: str) -> set[str]:
    """The value as text, inside a repr, and inside a repr of its UTF-8 bytes (a value that cannot be
    encoded, such as a lone surrogate from a mis-decoded environment, is quoted as text only)."""
    forms = {value, repr(value)[1:-1]}
    with contextlib.suppress(UnicodeEncodeError):
        forms.add(repr(value.encode())[2:-1])
    return {form for form in forms if form}
