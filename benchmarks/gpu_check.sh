#!/usr/bin/env bash
# The GPU checks of the performance work on one GPU, each part with its own
# time limit (7 minutes in all at most, after the install; a failing or cut
# part is reported and the next one runs): the train-step benchmark at
# batch 8 (both implementations, fp32 and --amp, with the stage breakdown;
# one process per case, which also reads the CUDA allocator's peak),
# tools/train.py configs/mclnet_ade20k.py --amp for 20 iterations on a
# generated ADE20K-format dataset (validation once at the end, PSNR in
# place of FID, whose Inception file is an 87 MB download), and the
# 128×128-correspondence variant at batch 1 (efficient path, fp32 and
# --amp). Results go to $OUT (or work_dirs/gpu_check): at most seven files
# (the tables end the two train_step_*.log files, each benchmark's JSON is
# saved after every case); generated data and the training work dir go to
# a scratch folder (or $SCRATCH). Measured on an H200: docs/benchmarks.md,
# "On a GPU".
#
#   bash benchmarks/gpu_check.sh
#   MCLNET_PYTHON=python3 bash benchmarks/gpu_check.sh   # no install step:
#       an interpreter that already has the stack (and the repo on its path)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${OUT:-work_dirs/gpu_check}
scratch=${SCRATCH:-$out/scratch}
mkdir -p "$out" "$scratch"
if [ -n "${MCLNET_PYTHON:-}" ]; then
  py=$MCLNET_PYTHON
else
  bash scripts/install.sh > "$out/install.log" 2>&1 || {
    echo "install failed: see $out/install.log"; exit 1; }
  py=$(bash scripts/install.sh --python)
fi
export PYTHONUNBUFFERED=1
{ nvidia-smi; "$py" -c 'import torch, numpy, mmengine, mmagic, mmcv
print("torch", torch.__version__, "cuda", torch.version.cuda,
      torch.cuda.get_device_name(0), "numpy", numpy.__version__,
      "mmengine", mmengine.__version__, "mmagic", mmagic.__version__,
      "mmcv", mmcv.__version__)'; } > "$out/environment.txt" 2>&1
tail -n 3 "$out/environment.txt"

part() {  # part NAME SECONDS COMMAND...: run with a limit, log to $out/NAME.log
  local name=$1 limit=$2; shift 2
  local start=$SECONDS
  echo "[gpu_check] $name: $*" >&2
  timeout "$limit" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  echo "[gpu_check] $name: exit $rc after $((SECONDS - start)) s" >&2
  [ "$rc" -eq 0 ] || tail -n 30 "$out/$name.log" >&2
}

part train_step_b8 250 "$py" benchmarks/bench_train_step.py --device cuda \
  --batches 8 --amp --breakdown --repeats 3 --out "$out/train_step_b8.json"

data="$scratch/ade20k"
"$py" -c "import sys; sys.path.insert(0, '.'); from tests.dataset_fixtures import make_ade20k; make_ade20k('$data', num_train=16, size=(256, 320))"
part train_amp 80 "$py" tools/train.py configs/mclnet_ade20k.py --amp \
  --work-dir "$scratch/train" \
  --cfg-options train_cfg.max_iters=20 train_cfg.val_interval=20 \
  train_dataloader.batch_size=4 val_evaluator.metrics.0.type=TranslationPSNR \
  train_dataloader.num_workers=2 train_dataloader.dataset.data_root="$data" \
  val_dataloader.dataset.data_root="$data" \
  test_dataloader.dataset.data_root="$data" \
  default_hooks.logger.interval=5 default_hooks.checkpoint.interval=20
grep -E "Iter\(train\)" "$out/train_amp.log" | tail -n 4

part train_step_corr128 100 "$py" benchmarks/bench_train_step.py \
  --device cuda --batches 1 --amp --repeats 3 --cases efficient \
  --config configs/mclnet/mclnet_spade-corr128_4xb8-126kiters_ade20k-256x256.py \
  --out "$out/train_step_corr128.json"

for name in train_step_b8 train_step_corr128; do
  echo "== $name"; sed -n '/^torch /,$p' "$out/$name.log"
done
