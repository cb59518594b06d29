#!/usr/bin/env bash
# README command 1: install if needed, then run the main job on the CPU.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/install.sh"
py=$(bash "$root/scripts/install.sh" --python)
cd "$root"
exec "$py" tools/demo_correspondence.py "$@"
