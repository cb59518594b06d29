#!/usr/bin/env bash
# The GPU checks of the performance work, in one run of about 6 minutes on
# one large GPU (budget: under 8): the train-step benchmark at batch 8 (both
# implementations, fp32 and --amp), the 128×128-correspondence variant at
# batch 1, and tools/train.py configs/mclnet_ade20k.py --amp for a few
# iterations on a generated ADE20K-format dataset. Results go to $OUT (or
# work_dirs/gpu_check); copy the tables into docs/benchmarks.md.
#
#   bash benchmarks/gpu_check.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${OUT:-work_dirs/gpu_check}
mkdir -p "$out"
bash scripts/install.sh > "$out/install.log" 2>&1
py=$(bash scripts/install.sh --python)
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
run() { echo "[gpu_check] $*" >&2; timeout 300 "$@"; }

run "$py" benchmarks/bench_train_step.py --device cuda --batches 8 --amp \
  --breakdown --repeats 5 --out "$out/train_step_b8.json" \
  > "$out/train_step_b8.md" 2> "$out/train_step_b8.err" || echo "train step benchmark failed: see $out/train_step_b8.err"
run "$py" benchmarks/bench_train_step.py --device cuda --batches 1 --amp \
  --config configs/mclnet/mclnet_spade-corr128_4xb8-126kiters_ade20k-256x256.py \
  --repeats 3 --out "$out/train_step_corr128.json" \
  > "$out/train_step_corr128.md" 2> "$out/train_step_corr128.err" || echo "corr128 benchmark failed: see $out/train_step_corr128.err"

data="$out/ade20k"
"$py" -c "import sys; sys.path.insert(0, '.'); from tests.dataset_fixtures import make_ade20k; make_ade20k('$data', num_train=16, size=(256, 320))"
run "$py" tools/train.py configs/mclnet_ade20k.py --amp --work-dir "$out/train" \
  --cfg-options train_cfg.max_iters=20 train_dataloader.batch_size=4 \
  train_dataloader.num_workers=2 train_dataloader.dataset.data_root="$data" \
  val_dataloader.dataset.data_root="$data" test_dataloader.dataset.data_root="$data" \
  default_hooks.logger.interval=5 default_hooks.checkpoint.interval=20 \
  > "$out/train_amp.log" 2>&1 || echo "train --amp failed: see $out/train_amp.log"
tail -n 5 "$out/train_amp.log"
cat "$out"/train_step_*.md
