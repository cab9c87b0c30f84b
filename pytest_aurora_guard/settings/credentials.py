"""Secrets that cannot leak through a repr, a traceback's locals or an f-string by accident."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Optional

from ..errors import ConfigurationError


class Secret:
    """Holds a password or token; every textual form of it is masked."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value, for the one place that hands it to a driver over a verified TLS session."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        # Bytes, not str: compare_digest refuses non-ASCII strings, and passwords may be any text.
        return isinstance(other, Secret) and secrets.compare_digest(
            self._value.encode("utf-8"), other._value.encode("utf-8")
        )

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))

    def __reduce__(self) -> tuple[object, ...]:
        # Never pickled to xdist workers or caches by accident.
        raise TypeError("a Secret cannot be pickled")


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
