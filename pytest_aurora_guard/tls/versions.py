"""TLS protocol versions as one ordered type, spelled the ways servers and users spell them."""

from __future__ import annotations

import enum
import ssl

from ..errors import ConfigurationError


class TlsVersion(enum.IntEnum):
    """Protocol versions by their wire value, so ``<`` means "older than"."""

    SSLv3 = 0x0300
    TLSv1_0 = 0x0301
    TLSv1_1 = 0x0302
    TLSv1_2 = 0x0303
    TLSv1_3 = 0x0304

    @property
    def label(self) -> str:
        """The name shown to users and used in test ids: ``TLSv1.0`` … ``TLSv1.3``, ``SSLv3``."""
        return _LABELS[self]

    @property
    def server_setting(self) -> str:
        """The spelling PostgreSQL's ``ssl_min_protocol_version`` and MySQL's ``tls_version`` use."""
        return "TLSv1" if self is TlsVersion.TLSv1_0 else self.label

    @property
    def ssl_module_version(self) -> ssl.TLSVersion:
        return ssl.TLSVersion[self.name.replace("TLSv1_0", "TLSv1")]

    @classmethod
    def parse(cls, text: str) -> TlsVersion:
        """Accept ``TLSv1.3``, ``TLSv1_3``, ``tls1.3``, ``1.3``, ``TLSv1`` (= 1.0) and ``SSLv3``."""
        key = text.strip().lower().replace("_", ".").replace(" ", "")
        for prefix in ("tlsv", "tls"):
            if key.startswith(prefix):
                key = key[len(prefix):]
                break
        if key in ("sslv3", "ssl3", "ssl.v3"):
            return cls.SSLv3
        aliases = {"1": "1.0", "1.0": "1.0", "1.1": "1.1", "1.2": "1.2", "1.3": "1.3"}
        if key not in aliases:
            raise ConfigurationError(
                f"{text!r} is not a TLS version; use one of TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3"
            )
        return _BY_NUMBER[aliases[key]]

    @classmethod
    def from_ssl_module(cls, name: str) -> TlsVersion:
        """Map what ``ssl.SSLSocket.version()`` returns (``TLSv1``, ``TLSv1.3``) to a member."""
        return cls.parse(name)

    def below(self) -> list[TlsVersion]:
        """Every protocol version older than this one, SSLv3 included, oldest first."""
        return [v for v in TlsVersion if v < self]


_LABELS = {
    TlsVersion.SSLv3: "SSLv3",
    TlsVersion.TLSv1_0: "TLSv1.0",
    TlsVersion.TLSv1_1: "TLSv1.1",
    TlsVersion.TLSv1_2: "TLSv1.2",
    TlsVersion.TLSv1_3: "TLSv1.3",
}
_BY_NUMBER = {
    "1.0": TlsVersion.TLSv1_0,
    "1.1": TlsVersion.TLSv1_1,
    "1.2": TlsVersion.TLSv1_2,
    "1.3": TlsVersion.TLSv1_3,
}
