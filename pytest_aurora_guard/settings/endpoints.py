"""Endpoints as users write them: ``host``, ``host:port``, ``[v6]:port``, ``postgresql://``, ``mysql://``."""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlsplit

from ..errors import ConfigurationError


class Engine(enum.Enum):
    POSTGRESQL = "postgresql"
    MYSQL = "mysql"

    @property
    def default_port(self) -> int:
        return 5432 if self is Engine.POSTGRESQL else 3306

    @property
    def display_name(self) -> str:
        return "PostgreSQL" if self is Engine.POSTGRESQL else "MySQL"

    @classmethod
    def parse(cls, text: str) -> Engine:
        key = text.strip().lower()
        if key in _ENGINE_ALIASES:
            return _ENGINE_ALIASES[key]
        raise ConfigurationError(
            f"unknown engine {text!r}: use 'postgresql' (Aurora PostgreSQL) or 'mysql' (Aurora MySQL)"
        )


_ENGINE_ALIASES = {
    "postgresql": Engine.POSTGRESQL,
    "postgres": Engine.POSTGRESQL,
    "pg": Engine.POSTGRESQL,
    "aurora-postgresql": Engine.POSTGRESQL,
    "mysql": Engine.MYSQL,
    "mariadb": Engine.MYSQL,
    "aurora-mysql": Engine.MYSQL,
}

_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63})*\.?$")


@dataclass(frozen=True)
class Endpoint:
    """One database endpoint to probe. ``engine`` is ``None`` until detected on the wire."""

    host: str
    port: Optional[int]
    engine: Optional[Engine]
    raw: str

    @property
    def label(self) -> str:
        """Stable, secret-free text used in test ids, headers and summaries."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        where = host if self.port is None else f"{host}:{self.port}"
        return f"{self.engine.value}://{where}" if self.engine else where

    @property
    def node_label(self) -> str:
        """The label for pytest node ids: no ``//`` (read as a path) and no ``::`` (the id separator),
        so IPv6 addresses are written out in full."""
        host = self.host
        if ":" in host:
            host = f"[{ipaddress.IPv6Address(host).exploded}]"
        where = host if self.port is None else f"{host}:{self.port}"
        return f"{self.engine.value}@{where}" if self.engine else where

    @property
    def is_ip_literal(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True

    @property
    def server_name(self) -> Optional[str]:
        """The SNI / hostname to verify: DNS names only (RFC 6066 forbids IP literals in SNI)."""
        return None if self.is_ip_literal else self.host

    def with_engine(self, engine: Engine) -> Endpoint:
        port = self.port if self.port is not None else engine.default_port
        return Endpoint(host=self.host, port=port, engine=engine, raw=self.raw)


def parse_endpoint(text: str, default_engine: Optional[Engine] = None) -> Endpoint:
    """Parse one ``--aurora-endpoint`` value; raise ConfigurationError saying what is wrong."""
    raw = text.strip()
    if not raw:
        raise ConfigurationError("empty endpoint: give HOST, HOST:PORT, postgresql://HOST or mysql://HOST")
    engine = default_engine
    if "://" in raw:
        parts = urlsplit(raw)
        try:
            scheme_engine = Engine.parse(parts.scheme)
        except ConfigurationError:
            raise ConfigurationError(
                f"endpoint {raw!r}: unknown scheme {parts.scheme!r}; use postgresql:// or mysql://"
            ) from None
        if parts.username is not None or parts.password is not None:
            # A password in a URL ends up in process lists and CI logs; refuse it outright.
            raise ConfigurationError(
                f"endpoint for host {parts.hostname!r}: do not put credentials in the endpoint URL; "
                "use --aurora-user and the AURORA_GUARD_PASSWORD environment variable"
            )
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ConfigurationError(
                f"endpoint {raw!r}: only scheme://host[:port] is accepted (no path, query or fragment); "
                "set the database with --aurora-dbname"
            )
        if default_engine is not None and default_engine is not scheme_engine:
            raise ConfigurationError(
                f"endpoint {raw!r} says {scheme_engine.value} but --aurora-engine says "
                f"{default_engine.value}; drop one of them"
            )
        engine = scheme_engine
        netloc = parts.netloc
    else:
        netloc = raw
    host, port = _split_host_port(netloc, raw)
    if port is None and engine is not None:
        port = engine.default_port
    return Endpoint(host=host, port=port, engine=engine, raw=raw)


def _split_host_port(netloc: str, raw: str) -> tuple[str, Optional[int]]:
    if netloc.startswith("["):
        close = netloc.find("]")
        if close == -1:
            raise ConfigurationError(f"endpoint {raw!r}: missing ']' after the IPv6 address")
        host, rest = netloc[1:close], netloc[close + 1 :]
        _require_ip(host, raw, version=6)
        if rest == "":
            return host, None
        if not rest.startswith(":"):
            raise ConfigurationError(f"endpoint {raw!r}: expected ':PORT' after ']'")
        return host, _parse_port(rest[1:], raw)
    if netloc.count(":") > 1:
        raise ConfigurationError(
            f"endpoint {raw!r}: an IPv6 address must be written in brackets, e.g. [::1]:5432"
        )
    host, sep, port_text = netloc.partition(":")
    if not host:
        raise ConfigurationError(f"endpoint {raw!r}: no host name")
    if not _HOSTNAME.match(host):
        raise ConfigurationError(f"endpoint {raw!r}: {host!r} is not a valid host name or IPv4 address")
    return host, (_parse_port(port_text, raw) if sep else None)


def _require_ip(host: str, raw: str, version: int) -> None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ConfigurationError(f"endpoint {raw!r}: {host!r} is not an IPv{version} address") from None
    if address.version != version:
        raise ConfigurationError(f"endpoint {raw!r}: {host!r} is not an IPv{version} address")


def _parse_port(text: str, raw: str) -> int:
    if not text.isdigit():
        raise ConfigurationError(f"endpoint {raw!r}: port {text!r} is not a number")
    port = int(text)
    if not 1 <= port <= 65535:
        raise ConfigurationError(f"endpoint {raw!r}: port {port} is outside 1-65535")
    return port
