"""Misspelt and empty settings are usage errors: a typo must never switch the gate off.

A pipeline that sets ``AURORA_GUARD_ENDPOINTS`` (plural) or an ini key ``aurora_endpoint`` would
otherwise run no check and exit 0. Every ``AURORA_GUARD_*`` variable and every ``aurora_*`` ini
key is therefore checked against the settings the plugin knows (``options.OPTION_SPECS`` and the
ini keys registered with pytest), with a did-you-mean; a known one that is set but empty is an
error too, because an empty allowlist or endpoint list must never silently mean "the default".
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Callable, Optional

from ..errors import ConfigurationError
from .options import OPTION_SPECS

ENV_PREFIX = "AURORA_GUARD_"
INI_PREFIX = "aurora_"


def known_environment_variables() -> frozenset[str]:
    return frozenset(spec.env for spec in OPTION_SPECS if spec.env)


def did_you_mean(name: str, known: Collection[str], *, list_known: bool = True) -> str:
    """``; did you mean X?`` for the closest known name, else the whole list (or nothing)."""
    import difflib  # only when a setting is misspelt: start-up of every pytest run stays light

    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    if not close:
        # Case-insensitive second chance: "aurora_guard_endpoint" as an environment variable.
        folded = {k.lower(): k for k in known}
        close = [folded[m] for m in difflib.get_close_matches(name.lower(), sorted(folded), n=1, cutoff=0.6)]
    if close:
        return f"; did you mean {close[0]}?"
    return f"; known: {', '.join(sorted(known))}" if list_known and known else ""


def _is_empty(value: object) -> bool:
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, (list, tuple)):
        return all(_is_empty(item) for item in value)
    return value is None


def check_spelling(
    environ: Mapping[str, str],
    ini_values: Mapping[str, object],
    ini_is_known: Callable[[str], bool],
    ini_file: Optional[str],
) -> None:
    """Raise one ConfigurationError listing every unknown or empty setting (all of them at once).

    ``ini_values`` maps the keys written in the ini file to their raw values; ``ini_is_known``
    says whether pytest has that ini key registered (by this plugin or any other).
    """
    problems = list(_environment_problems(environ)) + list(_ini_problems(ini_values, ini_is_known, ini_file))
    if problems:
        raise ConfigurationError("\n".join(problems))


def _environment_problems(environ: Mapping[str, str]) -> Iterable[str]:
    known = known_environment_variables()
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        if name not in known:
            yield f"{name}: unknown setting{did_you_mean(name, known)}"
        elif environ[name].strip() == "":
            yield (f"{name} is set but empty: give it a value or unset it (an empty value is never read "
                   "as the default)")


def _ini_problems(ini_values: Mapping[str, object], ini_is_known: Callable[[str], bool],
                  ini_file: Optional[str]) -> Iterable[str]:
    where = f" in {ini_file}" if ini_file else ""
    ours = [name for name in sorted(ini_values) if name.lower().startswith(INI_PREFIX)]
    known = [spec.ini for spec in OPTION_SPECS if spec.ini]
    for name in ours:
        if not ini_is_known(name):
            yield f"ini key {name}{where}: unknown setting{did_you_mean(name, known)}"
        elif _is_empty(ini_values[name]):
            yield (f"ini key {name}{where} is set but empty: give it a value or remove the line (an empty "
                   "value is never read as the default)")
