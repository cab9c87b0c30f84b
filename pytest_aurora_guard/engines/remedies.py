"""What to change, per engine, in the words of the Aurora parameter that fixes it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Remedies:
    plaintext: str
    floor: str  # may contain {floor}
    ciphers: str
