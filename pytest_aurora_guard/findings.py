"""What a probe saw, as data: one type per kind of observation, each carrying the raw answer.

Findings are engine-neutral; the engine adapters produce them and ``checks.py`` judges them.
"""

from __future__ import annotations

import enum
import socket
from dataclasses import dataclass
from typing import Any, Optional

from .tls.certificates import PeerChain
from .tls.handshake import HandshakeOutcome
from .tls.versions import TlsVersion


@dataclass
class StartTls:
    """A connection brought to the point where a TLS ClientHello is expected.

    ``greeting`` is what the server said first (MySQL's HandshakeV10; nothing for PostgreSQL),
    needed to speak to it again over the TLS session.
    """

    sock: socket.socket
    greeting: Any = None


class PlaintextKind(enum.Enum):
    REFUSED_FOR_TRANSPORT = "the server refused the unencrypted connection because it is unencrypted"
    REACHED_AUTHENTICATION = "the unencrypted connection reached authentication"
    SESSION_ESTABLISHED = "the unencrypted connection was accepted"
    NOT_CONCLUSIVE = "the answer does not say whether unencrypted connections are refused"


@dataclass(frozen=True)
class PlaintextIdentity:
    """Who a plaintext attempt claims to be; random ones show the refusal is not about one identity."""

    user: str
    database: Optional[str]
    application_name: str
    random: bool = False

    def render(self) -> str:
        where = f", database {self.database!r}" if self.database is not None else ""
        return f"user {self.user!r}{where}, application_name {self.application_name!r}"


@dataclass(frozen=True)
class PlaintextFinding:
    attempted: str
    answered: str
    kind: PlaintextKind
    identity: Optional[PlaintextIdentity] = None


@dataclass(frozen=True)
class IdentityOverTls:
    """The same identity over TLS, to tell a transport refusal from a user/database refusal."""

    attempted: str
    answered: str
    reached_authentication: Optional[bool]  # None: the answer says neither


@dataclass(frozen=True)
class ModernHandshake:
    """One connection as a modern default client makes it, plus the identity contrast on it."""

    attempted: str
    outcome: HandshakeOutcome
    identity: Optional[IdentityOverTls]
    chain: Optional[PeerChain] = None  # the certificates the server sent on this connection


@dataclass(frozen=True)
class VersionHandshake:
    attempted: str
    version: TlsVersion
    outcome: HandshakeOutcome


class DriverMode(enum.Enum):
    """What a driver attempt is for, which decides how its failure reads."""

    PLAINTEXT = "without TLS"  # must be refused for being unencrypted
    CAPPED = "capped below the floor"  # must be refused during the TLS handshake
    VERIFIED = "over certificate-verified TLS"  # must succeed


class DriverKind(enum.Enum):
    REFUSED_FOR_TRANSPORT = "refused because the connection is unencrypted"
    REFUSED_TLS = "the TLS handshake was refused"
    REACHED_AUTHENTICATION = "the connection reached authentication"
    CONNECTED = "a session was established"
    CERTIFICATE_REJECTED = "the server certificate did not verify"
    CREDENTIALS_REJECTED = "the credentials were rejected"
    TLS_NOT_OFFERED = "the server does not offer TLS"
    LOCAL_LIMIT = "the local client library cannot make this attempt"
    CREDENTIAL_WITHHELD = "the credential was withheld: the connection was not verified TLS"
    NOT_CONCLUSIVE = "the answer cannot be classified"


@dataclass(frozen=True)
class SessionTls:
    """The server's own view of a session's encryption (pg_stat_ssl / SHOW SESSION STATUS)."""

    encrypted: bool
    version: Optional[TlsVersion]
    cipher_name: Optional[str]


_ON = frozenset({"on", "1", "true", "yes"})
_OFF = frozenset({"off", "0", "false", "no"})


@dataclass(frozen=True)
class TransportSetting:
    """A server parameter that refuses plaintext for every account (not one account's REQUIRE SSL),
    read over a verified TLS session: ``require_secure_transport`` (MySQL), ``rds.force_ssl`` (Aurora PostgreSQL).
    """

    name: str
    value: Optional[str]  # None: the server has no such parameter (self-managed PostgreSQL, old MySQL)

    @property
    def enforced(self) -> Optional[bool]:
        """True / False for a recognised value; None when absent or unrecognised."""
        if self.value is None:
            return None
        text = self.value.strip().lower()
        return True if text in _ON else False if text in _OFF else None

    def render(self) -> str:
        return f"{self.name} = {self.value}" if self.value is not None else f"{self.name} does not exist on this server"


@dataclass(frozen=True)
class DriverAttempt:
    attempted: str
    answered: str
    kind: DriverKind
    session: Optional[SessionTls] = None
    transport: Optional[TransportSetting] = None  # read over the verified session
    databases: tuple[str, ...] = ()  # the databases the server lists as connectable (PostgreSQL)


@dataclass(frozen=True)
class SecondWitness:
    """The independent confirmation of what crafted ClientHellos saw at one version: a full
    handshake by the system OpenSSL (Python's ``ssl``) offering exactly that version.

    ``excluded`` lists the suites (OpenSSL names) left out because the crafted enumeration had
    already seen them accepted: the witness then tests the claim "the rest is refused".
    """

    attempted: str
    version: TlsVersion
    excluded: tuple[str, ...]
    outcome: HandshakeOutcome


@dataclass(frozen=True)
class HandshakeSeen:
    """A TLS session some probe of the run set up: positive evidence of what the server accepts.

    ``versions`` is the one version negotiated, or every version a capped driver could have
    landed on when only the range is known; ``cipher_name`` is None when the suite is unknown.
    """

    source: str
    versions: tuple[TlsVersion, ...]
    cipher_name: Optional[str]

    def render(self) -> str:
        where = self.versions[0].label if len(self.versions) == 1 else (
            f"one of {', '.join(v.label for v in self.versions)}")
        suite = f" with {self.cipher_name}" if self.cipher_name else ""
        return f"{self.source}: a session at {where}{suite}"
