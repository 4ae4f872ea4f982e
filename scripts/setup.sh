#!/usr/bin/env bash
# Installs whatever is missing: the Python environment (.venv) and the built
# frontend (frontend/dist). Safe to run again; fast when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
PY=${PYTHON:-python3}

say() { printf '\033[1m[gradtrace]\033[0m %s\n' "$*" >&2; }

if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtual environment in .venv"
  "$PY" -m venv "$VENV"
fi

stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  say "installing Python packages (torch 2.13.0 CPU build, FastAPI, ...)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # torch is pinned first on its own so pip takes the CPU wheel and never a CUDA build.
  "$VENV/bin/python" -m pip install -q "torch==2.13.0"
  "$VENV/bin/python" -m pip install -q -e ".[dev]"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi

if [ -f frontend/package.json ]; then
  lock_stamp="frontend/node_modules/.installed-$(sha256sum frontend/package-lock.json | cut -c1-16)"
  if [ ! -f "$lock_stamp" ]; then
    say "installing frontend packages from frontend/package-lock.json"
    (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
    touch "$lock_stamp"
  fi
  newest_src=$(find frontend/src frontend/build.mjs frontend/package-lock.json -newer frontend/dist/.built -print -quit 2>/dev/null || echo changed)
  if [ ! -f frontend/dist/.built ] || [ -n "$newest_src" ]; then
    say "building the frontend into frontend/dist"
    (cd frontend && node build.mjs)
    touch frontend/dist/.built
  fi
fi
