#!/usr/bin/env bash
# Run the app: installs what is missing, builds the frontend, starts the server.
# Extra arguments go to `gradtrace serve` (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/gradtrace serve "$@"
