#!/usr/bin/env bash
# The README's first step on a fresh Debian/Ubuntu machine: the system packages the guard's tests
# and demo need (database servers the tests start themselves, never as services; openssl; a Python
# that can make virtualenvs), then a project virtualenv .venv with the package and its test and lint
# extras installed in editable mode. Every later command runs .venv/bin/python.
#
# The interpreter is the first python3 on PATH (a pyenv one or Debian's /usr/bin/python3); choose
# another with PYTHON=/path/to/python3. The system pip is never touched: Debian's python3 is
# "externally managed" (PEP 668) and refuses global installs, so everything goes into .venv.
# VENV=DIR puts the virtualenv elsewhere (default .venv in the repository root).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  [ "$PYTHON" = python3 ] || { echo "install-deps: PYTHON=$PYTHON is not an executable" >&2; exit 2; }
  missing+=(python3 python3-venv)
elif ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  # Debian and Ubuntu split ensurepip out of the interpreter: without python3-venv, "python3 -m venv"
  # fails with "ensurepip is not available". Only a Debian python can be missing it.
  missing+=(python3-venv "python$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv")
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  # policy-rc.d keeps the packages from starting system services: the tests start their own servers.
  echo 'exit 101' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# A virtualenv left by another interpreter (or a broken one) is made again rather than reused.
if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "install-deps: creating $VENV with $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test,lint]'
echo "install-deps: ready; run the suite with $VENV/bin/python -m pytest"
