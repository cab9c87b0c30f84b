"""Committed baselines of AWS engine defaults: the model, its JSON form, reading and writing.

A baseline is ``<dir>/<region>/<family>.json``. Its bytes depend only on what is compared
(sorted keys, two-space indentation, ``\\n`` line ends, a trailing newline, no timestamps or
descriptions), so ``git diff`` of an update is the review artefact.

JSON ``null`` means "AWS sent nothing": a parameter whose value is ``null`` has no default
value (not an empty one), and a parameter that is itself ``null`` was not returned at all.
"""

from __future__ import annotations

import enum
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

from ..aws.engine_defaults import EngineParameter
from ..errors import BaselineError, ConfigurationError, MissingBaselineError
from ..settings.spelling import did_you_mean

SCHEMA_VERSION = 1

# What each engine's TLS posture hangs on (the Aurora user guide's PostgreSQL and MySQL security pages).
# Keys are family-name prefixes; the longest matching prefix wins.
DEFAULT_TRACKED_PARAMETERS: Mapping[str, tuple[str, ...]] = {
    "aurora-postgresql": (
        "rds.force_ssl",
        "ssl_ciphers",
        "ssl_max_protocol_version",
        "ssl_min_protocol_version",
    ),
    "aurora-mysql": (
        "require_secure_transport",
        "ssl_cipher",
        "tls_ciphersuites",
        "tls_version",
    ),
}

# Region and family names become directory and file names: keep them to what AWS uses.
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
_FAMILY = re.compile(r"^[a-z][a-z0-9.-]*[a-z0-9]$")

_FIELDS: Mapping[str, type[Any]] = {
    "allowed_values": list,
    "apply_method": str,
    "apply_type": str,
    "data_type": str,
    "is_modifiable": bool,
    "minimum_engine_version": str,
    "source": str,
    "value": str,
}


def validate_region(name: str) -> str:
    if not _REGION.match(name):
        raise ConfigurationError(f"{name!r} is not an AWS region name (expected something like us-east-1)")
    return name


def validate_family(name: str) -> str:
    if not _FAMILY.match(name):
        raise ConfigurationError(
            f"{name!r} is not a DB parameter group family name (expected something like "
            "aurora-postgresql16 or aurora-mysql8.0)"
        )
    return name


@dataclass(frozen=True)
class ParameterDefault:
    """The compared facts of one engine-default parameter; ``None`` = AWS sent no such field."""

    value: Optional[str]
    allowed_values: Optional[tuple[str, ...]]  # sorted
    source: Optional[str]
    apply_type: Optional[str]
    data_type: Optional[str]
    is_modifiable: Optional[bool]
    apply_method: Optional[str]
    minimum_engine_version: Optional[str]

    @classmethod
    def from_engine_parameter(cls, parameter: EngineParameter) -> ParameterDefault:
        return cls(
            value=parameter.value,
            allowed_values=parse_allowed_values(parameter.allowed_values),
            source=parameter.source,
            apply_type=parameter.apply_type,
            data_type=parameter.data_type,
            is_modifiable=parameter.is_modifiable,
            apply_method=parameter.apply_method,
            minimum_engine_version=parameter.minimum_engine_version,
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.allowed_values is not None:
            data["allowed_values"] = list(self.allowed_values)
        return data


@dataclass(frozen=True)
class TrackedParameter:
    name: str
    default: Optional[ParameterDefault]  # None: AWS did not return this parameter


@dataclass(frozen=True)
class FamilyDefaults:
    """The tracked engine defaults of one family in one region, sorted by parameter name."""

    region: str
    family: str
    parameters: tuple[TrackedParameter, ...]

    @classmethod
    def from_engine_parameters(
        cls,
        region: str,
        family: str,
        fetched: Iterable[EngineParameter],
        tracked: Sequence[str],
    ) -> FamilyDefaults:
        by_name: dict[str, EngineParameter] = {}
        for parameter in fetched:
            if parameter.name not in tracked:
                continue
            if parameter.name in by_name and by_name[parameter.name] != parameter:
                raise BaselineError(
                    f"RDS returned tracked parameter {parameter.name!r} of {family} in {region} "
                    "twice with different contents; refusing to pick one. Rerun; if it "
                    "persists, compare with `aws rds describe-engine-default-cluster-parameters`."
                )
            by_name[parameter.name] = parameter
        return cls(
            region,
            family,
            tuple(
                TrackedParameter(
                    name,
                    ParameterDefault.from_engine_parameter(by_name[name]) if name in by_name else None,
                )
                for name in sorted(set(tracked))
            ),
        )

    def parameters_json(self) -> dict[str, Optional[dict[str, Any]]]:
        return {p.name: None if p.default is None else p.default.to_json() for p in self.parameters}

    def to_json(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "parameters": self.parameters_json(),
            "region": self.region,
            "schema_version": SCHEMA_VERSION,
        }

    def render(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, data: Any, where: str) -> FamilyDefaults:
        """Rebuild from parsed JSON, raising ``BaselineError`` (naming ``where``) on any defect."""
        if not isinstance(data, dict):
            raise BaselineError(f"{where}: expected a JSON object at the top, found {_kind(data)}")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise BaselineError(
                f"{where}: schema_version is {version!r}, this plugin reads {SCHEMA_VERSION}; "
                "regenerate the file with `pytest --update-cipher-baseline`"
            )
        expected_keys = {"family", "parameters", "region", "schema_version"}
        if set(data) != expected_keys:
            raise BaselineError(f"{where}: top-level keys are {sorted(data)}, expected {sorted(expected_keys)}")
        region, family, raw_parameters = data["region"], data["family"], data["parameters"]
        if not isinstance(region, str) or not isinstance(family, str):
            raise BaselineError(f"{where}: region and family must be strings")
        if not isinstance(raw_parameters, dict) or not raw_parameters:
            raise BaselineError(f"{where}: parameters must be a non-empty object")
        parameters = tuple(
            TrackedParameter(name, _parameter_from_json(raw, f"{where}: parameter {name!r}"))
            for name, raw in sorted(raw_parameters.items())
        )
        return cls(region, family, parameters)


class WriteOutcome(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def parse_allowed_values(raw: Optional[str]) -> Optional[tuple[str, ...]]:
    """``AllowedValues`` is one comma-separated string for lists; compare it as a sorted list."""
    if raw is None:
        return None
    return tuple(sorted(part.strip() for part in raw.split(",") if part.strip()))


def baseline_path(directory: Path, region: str, family: str) -> Path:
    return directory / validate_region(region) / f"{validate_family(family)}.json"


def discover_baselines(directory: Path) -> list[tuple[str, str]]:
    """Every ``<region>/<family>.json`` present, as (region, family) pairs, sorted.

    Hidden entries are skipped (the atomic writer's temporary files start with a dot). Any other
    ``.json`` file under the directory that is not exactly at ``<region>/<family>.json`` (one
    folder too shallow, too deep, or a name that is not a region or family) is an error naming
    it, so a misplaced baseline is never silently left unchecked.
    """
    if not directory.is_dir():
        return []
    found: list[tuple[str, str]] = []
    misplaced: list[str] = []
    for file in sorted(directory.rglob("*.json")):
        relative = file.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if len(relative.parts) != 2:
            misplaced.append(f"{file}: expected {directory}/<region>/<family>.json, found it "
                             f"{'directly in the baseline directory' if len(relative.parts) == 1 else 'nested deeper'}")
            continue
        try:
            found.append((validate_region(relative.parts[0]), validate_family(file.stem)))
        except ConfigurationError as exc:
            misplaced.append(f"{file}: not at <region>/<family>.json: {exc}")
    if misplaced:
        raise ConfigurationError(
            "baseline files the drift gate would not check (move them to <region>/<family>.json, or out of "
            f"{directory}):\n  " + "\n  ".join(misplaced)
        )
    return found


def load_baseline(path: Path, region: str, family: str) -> FamilyDefaults:
    """Read and validate one baseline; a missing file is ``MissingBaselineError``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MissingBaselineError(f"no baseline file at {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(
            f"baseline {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); restore it from git or regenerate it with "
            "`pytest --update-cipher-baseline`"
        ) from None
    defaults = FamilyDefaults.from_json(data, f"baseline {path}")
    if (defaults.region, defaults.family) != (region, family):
        raise BaselineError(
            f"baseline {path} records {defaults.family} in {defaults.region}, but its path says "
            f"{family} in {region}; move the file or regenerate it"
        )
    return defaults


def write_baseline(path: Path, defaults: FamilyDefaults) -> WriteOutcome:
    """Write atomically: a temporary file in the same directory, fsync, then ``os.replace``.

    A reader (or a crash) sees the old file or the new one, never half of one. Identical content
    is not rewritten, so an unchanged baseline keeps its timestamp.
    """
    content = defaults.render().encode("utf-8")
    try:
        previous = path.read_bytes()
    except FileNotFoundError:
        previous = None
    if previous == content:
        return WriteOutcome.UNCHANGED
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if previous is not None else _default_file_mode()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)
    return WriteOutcome.CREATED if previous is None else WriteOutcome.UPDATED


def parse_tracked_parameters(lines: Sequence[str], source: str) -> dict[str, tuple[str, ...]]:
    """Ini lines ``<family prefix>: name, name`` override the defaults for that prefix."""
    table = dict(DEFAULT_TRACKED_PARAMETERS)
    for line in lines:
        if not line.strip():
            continue
        prefix, sep, names = line.partition(":")
        parsed = tuple(n.strip() for n in names.split(",") if n.strip())
        if not sep or not prefix.strip() or not parsed:
            raise ConfigurationError(
                f"{source}: {line!r} is not '<family prefix>: <parameter>, <parameter>' "
                "(e.g. 'aurora-postgresql: ssl_ciphers, rds.force_ssl')"
            )
        table[prefix.strip()] = parsed
    return table


# The Aurora DB parameter group families RDS serves (DescribeDBEngineVersions' DBParameterGroupFamily
# for the aurora-postgresql and aurora-mysql engines; aurora5.6 is Aurora MySQL 1, now retired).
KNOWN_FAMILIES = (
    "aurora5.6",
    "aurora-mysql5.7",
    "aurora-mysql8.0",
    *(f"aurora-postgresql{major}" for major in range(10, 18)),
)


def check_family_name(family: str, table: Mapping[str, tuple[str, ...]], committed: Iterable[str] = ()) -> str:
    """A family must be one AWS (or a committed baseline) knows, or a new version of a tracked prefix.

    ``aurora-postgresql18`` passes (AWS adds majors); ``aurora-postgres16`` or ``aurora-mysql-8.0``
    would only fail later, at AWS, so they are usage errors now, with a did-you-mean.
    """
    known = set(KNOWN_FAMILIES) | set(committed)
    if family in known:
        return family
    if any(re.fullmatch(re.escape(prefix) + r"\d+(\.\d+)?", family) for prefix in table):
        return family
    raise ConfigurationError(f"{family!r} is not a DB parameter group family AWS or the committed baselines "
                             f"know{did_you_mean(family, known)}")


def tracked_parameters_for(family: str, table: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    matches = [prefix for prefix in table if family.startswith(prefix)]
    if not matches:
        raise ConfigurationError(
            f"no tracked-parameter list applies to family {family!r} (known prefixes: "
            f"{', '.join(sorted(table))}{did_you_mean(family, KNOWN_FAMILIES).replace('; known: ', '; families: ')}); "
            "add a line '<prefix>: <parameter>, ...' to the ini key aurora_tracked_parameters"
        )
    return table[max(matches, key=len)]


def _parameter_from_json(raw: Any, where: str) -> Optional[ParameterDefault]:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != set(_FIELDS):
        raise BaselineError(f"{where} must be null or an object with exactly the keys {sorted(_FIELDS)}")
    for key, kind in _FIELDS.items():
        value = raw[key]
        if value is not None and not isinstance(value, kind):
            raise BaselineError(f"{where}: {key} must be {kind.__name__} or null, not {value!r}")
    allowed = raw["allowed_values"]
    if allowed is not None and not all(isinstance(v, str) for v in allowed):
        raise BaselineError(f"{where}: allowed_values must be a list of strings")
    return ParameterDefault(
        value=raw["value"],
        allowed_values=None if allowed is None else tuple(sorted(allowed)),
        source=raw["source"],
        apply_type=raw["apply_type"],
        data_type=raw["data_type"],
        is_modifiable=raw["is_modifiable"],
        apply_method=raw["apply_method"],
        minimum_engine_version=raw["minimum_engine_version"],
    )


def _kind(value: Any) -> str:
    return type(value).__name__


def _default_file_mode() -> int:
    # mkstemp creates 0600; a committed file should get the usual 0666 & ~umask.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable on POSIX; Windows cannot open directories.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
