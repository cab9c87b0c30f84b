"""Which TLS versions and cipher suites a server accepts, learnt by iterative removal.

Per version we offer every suite the registry knows for that version, at most 128 per
ClientHello, note the suite the server picks, take it out and ask again, until the server refuses
what is left. That costs one connection per accepted suite plus one per refused bundle, where
one-suite-per-handshake scanners need hundreds.

A refusal is believed only from a short ClientHello (at most 32 suites): a server, or a middlebox
before it, may refuse a big hello for its size alone and still accept a weak suite from an old
client's short one, and neither the big hellos nor the system OpenSSL's (which cannot offer
3DES, RC4, export or many other suites) would see it. So whatever a big hello had refused is
offered again 32 at a time, each on a fresh connection; for a version refused outright that is
every suite it has (TLS 1.2: 12 more connections). A short refusal that would end the
enumeration is believed only when a fresh connection says the same (behind one name, one
backend may refuse what another accepts): the caller either has it re-offered here, or
confirms it with an independent handshake of its own.

Only positive evidence decides: a ServerHello is an acceptance, an alert that says "no" is a
refusal, and everything else (timeout, reset, garbage, an answer outside our offer, an alert
that is about something else) leaves the version inconclusive, with the reason and the raw
outcomes kept as evidence.
"""

from __future__ import annotations

import enum
import re
import socket
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple, Union

from ..errors import ProbeError
from .ciphers import REGISTRY, CipherSuite
from .hello import (
    PROTOCOL_VERSION_ALERT,
    REFUSAL_ALERTS,
    HelloOutcome,
    ServerAlert,
    ServerChose,
    UnofferedChoice,
    send_client_hello,
    version_name,
)
from .versions import TlsVersion

# Offer at most this many suites per ClientHello. Real clients send 17-83 suites and OpenSSL's
# own client at ALL:COMPLEMENTOFALL sends 89 (TLS 1.2), so servers meet hellos of that size
# every day; 128 (testssl.sh's bound) keeps the hello under about 1 KB, one TCP segment, far from
# the sizes (2^14-byte records, hellos split across segments) that break servers and middleboxes,
# while a TLS 1.2 refused suite by suite costs 3 connections rather than 6 at nmap's 64. A server that still
# refuses a hello for its size is caught by the second witness: OpenSSL's own smaller hello.
MAX_SUITES_PER_HELLO = 128

# A refusal is believed only from a hello this small: a server (or a middlebox in front of it)
# may refuse a hello for its size and still accept a weak suite from an old client's short
# hello. Old clients send about 20-30 suites; OpenSSL 3's TLS 1.0 client sends 28.
CONFIRM_SUITES_PER_HELLO = 32



class VersionStatus(enum.Enum):
    ACCEPTED = "accepted"  # the server chose at least one suite in this version
    REFUSED = "refused"  # the server said no to this version or to every suite in it
    INCONCLUSIVE = "inconclusive"  # no positive evidence either way


@dataclass(frozen=True)
class ConnectFailed:
    """``open_tls_ready`` could not bring a new connection to the point of a ClientHello."""

    reason: str

    def describe(self) -> str:
        return f"could not open a connection ready for TLS: {self.reason}"


AttemptOutcome = Union[HelloOutcome, ConnectFailed]


@dataclass(frozen=True)
class Attempt:
    """One connection: the suites offered in its ClientHello and what came back."""

    offered: Tuple[int, ...]
    outcome: AttemptOutcome
    # True when this connection re-offered the bundle of a refusal that would have ended the
    # version's enumeration, to confirm it before believing it.
    confirmation: bool = False


@dataclass(frozen=True)
class VersionSurface:
    """What one protocol version looks like from outside."""

    version: TlsVersion
    status: VersionStatus
    # In the order the server chose them. When ``choice_order_complete``, that is its
    # preference order if it enforces one (PostgreSQL's ssl_prefer_server_ciphers defaults to
    # on), else the order we offered them in.
    accepted_suites: Tuple[int, ...]
    # True when every candidate suite was either chosen or shown refused.
    complete: bool
    # The evidence for the status, or why it is inconclusive / incomplete.
    reason: str
    attempts: Tuple[Attempt, ...]
    # True when every accepted suite was on offer each time the server chose one before it:
    # then ``accepted_suites`` ranks all of them; otherwise only suites offered together.
    choice_order_complete: bool

    @property
    def connections(self) -> int:
        return len(self.attempts)

    def accepted_cipher_suites(self) -> Tuple[CipherSuite, ...]:
        # Every accepted code came from the registry: we offer nothing else, and a choice
        # outside our offer is never counted as accepted.
        return tuple(s for s in (REGISTRY.by_code(c) for c in self.accepted_suites) if s)


@dataclass(frozen=True)
class TlsSurface:
    server_name: Optional[str]
    versions: Tuple[VersionSurface, ...]

    @property
    def connections(self) -> int:
        return sum(v.connections for v in self.versions)

    def for_version(self, version: TlsVersion) -> VersionSurface:
        for surface in self.versions:
            if surface.version is version:
                return surface
        raise KeyError(f"{version.label} was not probed")


# Suites few servers implement: anonymous, NULL, export-grade, pre-shared-key and password
# families, Kerberos, national ciphers, static (EC)DH, drafts. They go last in our offer.
_RARELY_DEPLOYED = re.compile(
    r"_anon_|_NULL_|WITH_NULL|EXPORT|_PSK_|_SRP_|_KRB5_|GOSTR|28147|ECCPWD|CECPQ1|_OLD$"
    r"|^TLS_SHA(256|384)_|^TLS_(DH|ECDH)_(RSA|DSS|ECDSA)_"
)
# Preference among the commonly deployed: key exchange first, then the cipher; anything that
# matches no entry ranks after every entry.
_KEY_EXCHANGE_PREFERENCE = ("TLS_ECDHE_", "TLS_DHE_", "TLS_RSA_")
_CIPHER_PREFERENCE = (re.compile(r"GCM|CHACHA20|CCM"), re.compile(r"_SHA(256|384)$"))


def _offer_rank(suite: CipherSuite) -> Tuple[bool, int, int, int]:
    """Commonly deployed suites first, so that they share the first ClientHello and the order
    in which the server picks them is its order among all of them, not an artefact of our
    bundling. Forward secrecy before RSA key transport, AEAD before CBC: the usual preference."""
    name = suite.iana_name
    exchange = next((rank for rank, prefix in enumerate(_KEY_EXCHANGE_PREFERENCE) if name.startswith(prefix)),
                    len(_KEY_EXCHANGE_PREFERENCE))
    cipher = next((rank for rank, pattern in enumerate(_CIPHER_PREFERENCE) if pattern.search(name)),
                  len(_CIPHER_PREFERENCE))
    return (_RARELY_DEPLOYED.search(name) is not None, exchange, cipher, suite.code)


def _candidates(version: TlsVersion) -> List[int]:
    """Every suite the registry knows for ``version``, in the order we offer them."""
    return [suite.code for suite in sorted(REGISTRY.for_version(version), key=_offer_rank)]


def _choice_order_complete(attempts: Sequence[Attempt], accepted: Sequence[int]) -> bool:
    """True when each suite was chosen while every suite accepted after it was also on offer,
    i.e. ``accepted`` is the order the server picks among all of them."""
    chosen = [a for a in attempts if isinstance(a.outcome, ServerChose)]
    return all(set(accepted[i:]) <= set(a.offered) for i, a in enumerate(chosen))


def _refusal(outcome: AttemptOutcome, version: TlsVersion) -> Optional[str]:
    """Why ``outcome`` is positive evidence that nothing offered is accepted, or None."""
    if isinstance(outcome, ServerAlert) and outcome.description in REFUSAL_ALERTS:
        return outcome.describe()
    if isinstance(outcome, UnofferedChoice) and not outcome.is_hello_retry and outcome.version < version:
        # RFC 5246 §7.4.1.3: server_version is the lower of the client's and the highest the
        # server supports; RFC 8446 §4.2.1: a server that negotiates TLS 1.2 or older ignores
        # supported_versions. Either way an older version in reply proves the offered one is not
        # spoken, and the older one is accepted: that is kept as evidence (``older_versions_chosen``).
        return f"server answered in {version_name(outcome.version)}, its highest version"
    return None


def _ends_with_version_refusal(outcome: AttemptOutcome) -> bool:
    return (isinstance(outcome, ServerAlert) and outcome.description == PROTOCOL_VERSION_ALERT) or isinstance(
        outcome, UnofferedChoice)


# One ClientHello on a new connection, offering these suites: what the server answered.
Offer = Callable[[Tuple[int, ...]], AttemptOutcome]


def enumerate_version(offer: Offer, version: TlsVersion, *, confirm_final_refusal: bool) -> VersionSurface:
    """The rule that turns a server's answers into a version's surface: offer every candidate,
    take out what the server picks, stop at a refusal, and call anything else inconclusive.

    A refusal is believed only from a ClientHello of at most ``CONFIRM_SUITES_PER_HELLO`` suites:
    whatever a bigger hello had refused (or, after a version refusal, never offered) is offered
    again that many at a time, each on a fresh connection. A small refusal that would end the
    enumeration is re-offered once when ``confirm_final_refusal``.
    """
    remaining = _candidates(version)
    total = len(remaining)
    accepted: List[int] = []
    attempts: List[Attempt] = []

    def finish(status: VersionStatus, complete: bool, reason: str) -> VersionSurface:
        return VersionSurface(
            version, status, tuple(accepted), complete, reason, tuple(attempts),
            _choice_order_complete(attempts, accepted),
        )

    def unresolved(outcome: AttemptOutcome, bundle: Sequence[int], left: int, why: str = "") -> VersionSurface:
        what = (
            f"{left} of {total} {version.label} suites left unresolved"
            if accepted
            else f"no {version.label} suite resolved"
        )
        return finish(
            VersionStatus.ACCEPTED if accepted else VersionStatus.INCONCLUSIVE,
            False,
            f"{what}: offering {len(bundle)} suites got {outcome.describe()}{why}",
        )

    refusals: List[str] = []
    # Suites refused only in a hello too big to be believed, in offer order.
    unproven: List[int] = []
    version_refusal: Optional[str] = None
    while remaining:
        bundle = tuple(remaining[:MAX_SUITES_PER_HELLO])
        outcome = offer(bundle)
        attempts.append(Attempt(bundle, outcome))
        if isinstance(outcome, ServerChose):
            accepted.append(outcome.suite_code)
            remaining.remove(outcome.suite_code)
            continue
        refusal = _refusal(outcome, version)
        if refusal is None:
            return unresolved(outcome, bundle, len(remaining) + len(unproven))
        is_version_refusal = _ends_with_version_refusal(outcome)
        if is_version_refusal and accepted:
            # A server that chose suites in this version and then disowns it: not evidence.
            return finish(
                VersionStatus.ACCEPTED,
                False,
                f"after {len(accepted)} accepted suites the server answered {refusal}",
            )
        if len(bundle) > CONFIRM_SUITES_PER_HELLO:
            # A server may refuse a hello for its size (or answer a big one from a backend that
            # refuses the version): what it refused is offered again in small hellos below.
            taken = list(remaining) if is_version_refusal else list(bundle)
            unproven += taken
            version_refusal = refusal if is_version_refusal else version_refusal
            refusals.append(refusal)
            del remaining[: len(taken)]
            continue
        if confirm_final_refusal and (is_version_refusal or len(bundle) == len(remaining)) and not unproven:
            # The refusal would end this version's enumeration: believe it only if a fresh
            # connection (perhaps another backend behind the same name) says the same.
            again = offer(bundle)
            attempts.append(Attempt(bundle, again, confirmation=True))
            if isinstance(again, ServerChose):
                accepted.append(again.suite_code)
                remaining.remove(again.suite_code)
                continue
            if _refusal(again, version) is None:
                return unresolved(again, bundle, len(remaining), f", after {refusal} on the previous connection")
        if is_version_refusal:
            again_text = " (twice, on fresh connections)" if attempts[-1].confirmation else ""
            return finish(
                VersionStatus.REFUSED, True, f"{version.label} refused: {refusal}{again_text}"
            )
        refusals.append(refusal)
        del remaining[: len(bundle)]

    small_refusals: List[str] = []
    chosen_small = 0  # suites accepted only once offered in a small hello
    while unproven:
        bundle = tuple(unproven[:CONFIRM_SUITES_PER_HELLO])
        outcome = offer(bundle)
        attempts.append(Attempt(bundle, outcome, confirmation=True))
        if isinstance(outcome, ServerChose):
            accepted.append(outcome.suite_code)
            chosen_small += 1
            unproven.remove(outcome.suite_code)
            continue
        refusal = _refusal(outcome, version)
        if refusal is None:
            return unresolved(outcome, bundle, len(unproven),
                              f", re-offering what a larger ClientHello had refused ({refusals[-1]})")
        small_refusals.append(refusal)
        del unproven[: len(bundle)]

    small = (f"; re-offered {CONFIRM_SUITES_PER_HELLO} at a time in {_hellos(len(small_refusals))}, "
             f"{_each(small_refusals)}" if small_refusals else "")
    if accepted:
        last_refusal = (small_refusals or refusals or [""])[-1]
        rest = f"; the rest refused ({last_refusal})" if last_refusal else ""
        hidden = (f"; {chosen_small} of them chosen only from a ClientHello of at most "
                  f"{CONFIRM_SUITES_PER_HELLO} suites, after a larger one was refused ({refusals[0]})"
                  if chosen_small else "")
        return finish(
            VersionStatus.ACCEPTED,
            True,
            f"{len(accepted)} of {total} {version.label} suites accepted{rest}{hidden}",
        )
    if version_refusal is not None:
        return finish(VersionStatus.REFUSED, True, f"{version.label} refused: {version_refusal}{small}")
    twice = " (the last bundle twice)" if attempts and attempts[-1].confirmation and not small_refusals else ""
    big = len(attempts) - len(small_refusals)
    return finish(
        VersionStatus.REFUSED,
        True,
        f"none of the {total} {version.label} suites accepted, offered in "
        f"{_hellos(big)}{twice}, each answered with {refusals[-1]}{small}"
        if len(set(refusals)) == 1
        else f"none of the {total} {version.label} suites accepted: {'; '.join(refusals)}{small}",
    )


def _hellos(count: int) -> str:
    return f"{count} ClientHello{'' if count == 1 else 's'}"


def _each(refusals: Sequence[str]) -> str:
    distinct = list(dict.fromkeys(refusals))
    return f"each answered with {distinct[0]}" if len(distinct) == 1 else f"answered with {'; '.join(distinct)}"


def _offer(
    open_tls_ready: Callable[[], socket.socket],
    version: TlsVersion,
    bundle: Sequence[int],
    server_name: Optional[str],
    timeout: float,
) -> AttemptOutcome:
    try:
        sock = open_tls_ready()
    except (OSError, ProbeError) as exc:
        return ConnectFailed(f"{type(exc).__name__}: {exc}")
    with sock:
        return send_client_hello(
            sock, version=version, suites=bundle, server_name=server_name, timeout=timeout
        )


def _offering(open_tls_ready: Callable[[], socket.socket], version: TlsVersion, server_name: Optional[str],
              timeout: Callable[[], float]) -> Offer:
    return lambda bundle: _offer(open_tls_ready, version, bundle, server_name, timeout())


def _constant(value: float) -> Callable[[], float]:
    return lambda: value


def enumerate_surface(
    open_tls_ready: Callable[[], socket.socket],
    *,
    versions: Sequence[TlsVersion],
    server_name: Optional[str],
    timeout: Union[float, Callable[[], float]],
    confirm_final_refusal: Union[bool, Callable[[TlsVersion], bool]] = True,
) -> TlsSurface:
    """Probe each of ``versions`` in turn; ``open_tls_ready`` opens one NEW connection per call
    and brings it to the point where a ClientHello is expected (STARTTLS done).

    ``timeout`` bounds each ClientHello exchange (a callable is asked before each one, so that a
    caller can shrink it to what is left of an overall budget). ``confirm_final_refusal`` says,
    per version, whether the refusal that ends the enumeration is re-offered on a fresh
    connection; a caller that has an independent second witness for that version may skip it.
    """
    step = timeout if callable(timeout) else _constant(float(timeout))
    confirm = confirm_final_refusal if callable(confirm_final_refusal) else (lambda _: confirm_final_refusal)
    return TlsSurface(
        server_name,
        tuple(enumerate_version(_offering(open_tls_ready, v, server_name, step), v, confirm_final_refusal=confirm(v))
              for v in versions),
    )
