#!/usr/bin/env bash
# Run every check: lint (ruff), types (mypy), layering (import-linter), and the
# test suite (unit, API, security, browser). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

if [ ! -x /usr/bin/chromium ]; then
  echo "[gradtrace] installing Debian's chromium for the browser tests" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi

V=.venv/bin
echo "== ruff" && $V/ruff check backend tests bench
echo "== mypy" && $V/mypy
echo "== import-linter" && $V/lint-imports
echo "== pytest"
$V/python -m pytest "$@"
