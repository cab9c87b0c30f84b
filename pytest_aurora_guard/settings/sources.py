"""Where a setting comes from: command line, then ``AURORA_GUARD_*`` environment, then ini.

Kept apart from the hooks so both the endpoint checks and the drift gate resolve settings
the same way, and so the precedence is documented and tested in one place.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Protocol

from ..errors import ConfigurationError


class _ConfigLike(Protocol):
    """The slice of ``pytest.Config`` we read; a Protocol keeps this module free of pytest."""

    def getoption(self, name: str, default: Any = ...) -> Any: ...

    def getini(self, name: str) -> Any: ...

    @property
    def inipath(self) -> Optional[Path]: ...


@dataclass(frozen=True)
class RawSetting:
    """A value as the user wrote it, and where it was written (for error messages)."""

    value: Any
    source: str  # e.g. "--aurora-min-tls", "AURORA_GUARD_MIN_TLS", "ini aurora_min_tls"


def resolve(
    config: _ConfigLike,
    *,
    dest: str,
    flag: str,
    env: str,
    ini: str,
    environ: Mapping[str, str] = os.environ,
) -> Optional[RawSetting]:
    """Return the highest-precedence value set for one setting, or ``None`` if none is set.

    Precedence is command line > environment > ini file. Options must be registered with
    ``default=None`` (or an empty list when repeatable) so "not given" is distinguishable; an empty
    ``flag``, ``env`` or ``ini`` means the setting cannot be given there.

    An empty value given on the command line or in the environment is an error, never "not set":
    a CI variable that was not filled in must not quietly mean the default.
    """
    cli = config.getoption(dest, None) if flag else None
    if (isinstance(cli, str) and cli.strip() == "") or (
        isinstance(cli, list) and any(isinstance(item, str) and item.strip() == "" for item in cli)
    ):
        raise ConfigurationError(f"{flag} is given an empty value: give it a value or leave the option out")
    if cli is not None and cli != []:
        return RawSetting(cli, flag)
    env_value = environ.get(env) if env else None
    if env_value is not None:
        if env_value.strip() == "":
            raise ConfigurationError(f"{env} is set but empty: give it a value or unset it (an empty value "
                                     "is never read as the default)")
        return RawSetting(env_value, env)
    ini_value = config.getini(ini) if ini else None
    if ini_value not in (None, [], ""):
        return RawSetting(ini_value, f"ini key {ini}")
    return None


def split_list(value: Any, source: str) -> list[str]:
    """Split a repeatable setting: a list (CLI, ini linelist) or a comma separated string.

    An empty entry is an error, not a skipped one: ``"$WRITER,$READER"`` with one variable unset
    must not quietly gate one endpoint fewer, and ``","`` must not read as "nothing configured".
    """
    items = value if isinstance(value, (list, tuple)) else [value]
    out: list[str] = []
    for item in items:
        for line in str(item).splitlines() or [""]:
            if not line.strip() and len(str(item).splitlines()) > 1:
                continue  # a blank line in an ini value spread over lines separates nothing
            parts = [part.strip() for part in line.split(",")]
            if any(not part for part in parts):
                raise ConfigurationError(
                    f"{source} is {str(item)!r}, which has an empty entry (an unset variable in a list, or an "
                    "extra comma?): give every entry a value, or remove the extra comma")
            out.extend(parts)
    return out


def ini_relative_path(config: _ConfigLike, raw: RawSetting) -> Path:
    """Resolve a path from ini against the ini file's directory; others against the cwd."""
    path = Path(str(raw.value)).expanduser()
    if raw.source.startswith("ini") and not path.is_absolute() and config.inipath is not None:
        return (config.inipath.parent / path).resolve()
    return path.resolve()
