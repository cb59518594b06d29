#!/usr/bin/env bash
# README command 1: install if needed, then train the embedded demo on the
# CPU and translate held-out photos (configs/mclnet_demo.py). Extra
# arguments go to tools/train.py (e.g. --cfg-options train_cfg.max_iters=50).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/install.sh"
py=$(bash "$root/scripts/install.sh" --python)
# tools/*.sh and subprocesses call `python`: make it this environment's
export PATH="$(dirname "$py"):$PATH"
cd "$root"
"$py" tools/train.py configs/mclnet_demo.py --work-dir work_dirs/mclnet_demo "$@"
echo "[demo] grids and report.json: work_dirs/mclnet_demo/translation_grids/"
