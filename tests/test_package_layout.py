"""The package layout is the architecture: layers import downwards, and moved names keep working for a release."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pytest_aurora_guard"

# Each layer, and the third-party packages it must never import.
FORBIDDEN_IMPORTS = {
    "wire": ("pytest", "boto3", "botocore", "psycopg", "pymysql", "deepdiff"),
    "tls": ("pytest", "boto3", "botocore", "psycopg", "pymysql", "deepdiff"),
    "settings": ("pytest", "boto3", "botocore", "psycopg", "pymysql"),
    "engines": ("pytest", "boto3", "botocore"),
    "aws": ("pytest", "psycopg", "pymysql"),
    # Evidence reads what the checks recorded; it never talks to a database or to AWS.
    "evidence": ("boto3", "botocore", "psycopg", "pymysql", "deepdiff"),
}

# Sub-packages a layer may import from within the project (besides itself, errors and the package root).
ALLOWED_PROJECT_IMPORTS = {
    "wire": set(),
    "tls": {"wire"},
    "settings": {"tls"},
    "engines": {"wire", "tls", "settings", "findings"},
    "aws": {"settings"},  # Secret and DbSecret, so a fetched password is never a bare string
    "evidence": {"checks", "findings", "observations", "probe", "settings", "tls"},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(level, absolute-ish module) for every import in ``path``; level 0 means an absolute import."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.extend((0, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or ""))
    return found


def _project_target(layer: str, level: int, module: str) -> str:
    """The top-level project module or sub-package a relative import in ``layer/`` reaches."""
    if level == 1:
        return layer
    return module.split(".")[0] if module else ""


@pytest.mark.parametrize("layer", sorted(FORBIDDEN_IMPORTS))
def test_a_layer_never_imports_what_sits_above_it(layer):
    offences = []
    for path in sorted((PACKAGE / layer).glob("*.py")):
        for level, module in _imports(path):
            if level == 0:
                if module.split(".")[0] in FORBIDDEN_IMPORTS[layer]:
                    offences.append(f"{path.name} imports {module}")
                continue
            target = _project_target(layer, level, module)
            if target not in {layer, "errors", ""} | ALLOWED_PROJECT_IMPORTS[layer]:
                offences.append(f"{path.name} imports {'.' * level}{module}")
    assert offences == []


@pytest.mark.parametrize("package", [*sorted(FORBIDDEN_IMPORTS), "drift"])
def test_each_sub_package_says_what_it_is_for_and_what_it_may_import(package):
    doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text()))
    assert doc is not None
    assert "import" in doc


MOVED = [
    ("tls_versions", "tls.versions", "TlsVersion"),
    ("ciphers", "tls.ciphers", "REGISTRY"),
    ("tls_probe", "tls.handshake", "HandshakeCompleted"),
    ("tls_surface", "tls.surface", "VersionStatus"),
]


@pytest.mark.parametrize(("old", "new", "name"), MOVED)
def test_an_old_import_path_still_works_and_warns_naming_the_new_one(pytester, old, new, name):
    pattern = re.escape(f"pytest_aurora_guard.{new}")
    pytester.makepyfile(test_user=f"""
        import pytest

        def test_old_path():
            with pytest.warns(DeprecationWarning, match={pattern!r}):
                from pytest_aurora_guard.{old} import {name} as old_name
            from pytest_aurora_guard.{new} import {name} as new_name
            assert old_name is new_name
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
