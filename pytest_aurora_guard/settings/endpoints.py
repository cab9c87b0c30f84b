"""Endpoints as users write them: ``host``, ``host:port``, ``[v6]:port``, ``postgresql://``, ``mysql://``."""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass, replace
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
    """One database endpoint to probe. ``engine`` is ``None`` until detected on the wire.

    ``host`` is the name the server must prove (TLS SNI, certificate hostname); ``address`` and
    ``address_port``, when set, are where TCP goes instead (``--aurora-connect-to``, or one address of
    a name that resolves to several). ``title`` names the endpoint's role when AWS told us, e.g.
    ``prod-pg/instance prod-pg-2``.
    """

    host: str
    port: Optional[int]
    engine: Optional[Engine]
    raw: str
    address: Optional[str] = None
    address_port: Optional[int] = None
    title: Optional[str] = None

    @property
    def dial_host(self) -> str:
        """Where TCP connects: the redirected address, else the name itself."""
        return self.address if self.address is not None else self.host

    @property
    def dial_port(self) -> Optional[int]:
        return self.address_port if self.address_port is not None else self.port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        where = host if self.port is None else f"{host}:{self.port}"
        return f"{self.engine.value}://{where}" if self.engine else where

    @property
    def via(self) -> str:
        """`` via ADDRESS:PORT`` when TCP goes elsewhere than the name, else empty."""
        if self.address is None and self.address_port is None:
            return ""
        host = self.dial_host
        shown = f"[{host}]" if ":" in host else host
        return f" via {shown}:{self.dial_port}"

    @property
    def label(self) -> str:
        """Stable, secret-free text used in verdicts, headers and summaries."""
        text = f"{self.url}{self.via}"
        return f"{self.title} ({text})" if self.title else text

    @property
    def node_label(self) -> str:
        """The label for pytest node ids: no ``//`` (read as a path) and no ``::`` (the id separator),
        so IPv6 addresses are written out in full."""
        if self.title:
            base = self.title
        else:
            where = _node_host(self.host) if self.port is None else f"{_node_host(self.host)}:{self.port}"
            base = f"{self.engine.value}@{where}" if self.engine else where
        if self.address is None and self.address_port is None:
            return base
        return f"{base} via {_node_host(self.dial_host)}:{self.dial_port}"

    @property
    def group(self) -> str:
        """What must run together to share probes: a cluster's endpoints with its cross-check."""
        return self.title.split("/")[0] if self.title else self.label

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
        return replace(self, port=port, engine=engine)

    def routed(self, address: str, port: Optional[int] = None) -> Endpoint:
        """The same name, with TCP sent to ``address`` (and ``port``, else the endpoint's own)."""
        return replace(self, address=address, address_port=port)


def _node_host(host: str) -> str:
    if ":" in host:
        return f"[{ipaddress.IPv6Address(host).exploded}]"
    return host


@dataclass(frozen=True)
class ConnectTo:
    """One ``--aurora-connect-to NAME[:PORT]=ADDRESS[:PORT]`` rule, as curl's ``--connect-to``."""

    name: str
    port: Optional[int]
    address: str
    address_port: Optional[int]
    raw: str

    def matches(self, endpoint: Endpoint) -> bool:
        return (self.name.lower().rstrip(".") == endpoint.host.lower().rstrip(".")
                and (self.port is None or self.port == endpoint.port))

    def apply(self, endpoint: Endpoint) -> Endpoint:
        return endpoint.routed(self.address, self.address_port)


def parse_connect_to(text: str) -> ConnectTo:
    """Parse ``NAME[:PORT]=ADDRESS[:PORT]``; names and addresses as in endpoints (IPv6 in brackets)."""
    raw = text.strip()
    name_part, sep, address_part = raw.partition("=")
    if not sep or not name_part.strip() or not address_part.strip():
        raise ConfigurationError(
            f"connect-to {raw!r}: write NAME[:PORT]=ADDRESS[:PORT], e.g. "
            "prod-pg-1.abc.us-east-1.rds.amazonaws.com:5432=127.0.0.1:15432"
        )
    name, port = _split_host_port(name_part.strip(), raw)
    address, address_port = _split_host_port(address_part.strip(), raw)
    return ConnectTo(name=name, port=port, address=address, address_port=address_port, raw=raw)


def apply_connect_to(endpoint: Endpoint, rules: tuple[ConnectTo, ...]) -> Endpoint:
    """The first matching rule wins, as in curl; an endpoint no rule names is left as it is."""
    for rule in rules:
        if rule.matches(endpoint):
            return rule.apply(endpoint)
    return endpoint


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
