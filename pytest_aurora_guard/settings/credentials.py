"""Secrets that cannot leak through a repr, a traceback's locals or an f-string by accident."""

from __future__ import annotations

import secrets
from typing import Optional


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
