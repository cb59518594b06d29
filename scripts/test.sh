#!/usr/bin/env bash
# README command 2: install if needed, then run the whole test suite.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/install.sh"
py=$(bash "$root/scripts/install.sh" --python)
# tools/*.sh and subprocesses call `python`: make it this environment's
export PATH="$(dirname "$py"):$PATH"
cd "$root"
exec "$py" -m pytest tests "$@"
