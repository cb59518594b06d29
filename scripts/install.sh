#!/usr/bin/env bash
# Idempotent installer behind both README commands.
#
# Installs mclnet_plugin and the tested stack (requirements/lock.txt) into the
# active virtualenv or conda env, or, when none is active, into .venv/ at the
# repository root. A second run with nothing changed returns in about a second.
#
#   bash scripts/install.sh            install (or check) the environment
#   bash scripts/install.sh --python   only print the interpreter it uses
#   bash scripts/install.sh --freeze   rewrite requirements/lock.txt from it
#
# MCLNET_MMCV selects the mmcv flavour:
#   lite (default)  mmcv-lite, pure Python, installs in seconds; the compiled
#                   ops mmagic imports are stubbed by mclnet_plugin/compat.py.
#   full            the compiled mmcv, through openmim (prebuilt wheels for
#                   common CUDA/torch pairs, else a ~30 min source build).
#                   Keeps the torch already installed in the environment.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=${MCLNET_MMCV:-lite}
lock="$root/requirements/lock.txt"

if [ -n "${VIRTUAL_ENV:-}" ]; then
  py="$VIRTUAL_ENV/bin/python"
elif [ -n "${CONDA_PREFIX:-}" ]; then
  py="$CONDA_PREFIX/bin/python"
else
  py="$root/.venv/bin/python"
fi

case "${1:-}" in
  --python) echo "$py"; exit 0 ;;
  --freeze)
    { sed -n '1,3p' "$lock"
      "$py" -m pip freeze --exclude-editable | grep -v -iE '^(pip|setuptools|wheel|mclnet.plugin)=='
    } > "$lock.new" && mv "$lock.new" "$lock"
    echo "wrote $lock"; exit 0 ;;
  "") ;;
  *) echo "usage: $0 [--python|--freeze]" >&2; exit 2 ;;
esac

case "$mode" in
  lite|full) ;;
  *) echo "MCLNET_MMCV must be 'lite' or 'full', got '$mode'" >&2; exit 2 ;;
esac

if [ ! -x "$py" ]; then
  echo "[install] creating $root/.venv"
  python3 -m venv "$root/.venv"
fi

stamp="$("$py" -c 'import sys; print(sys.prefix)')/.mclnet_plugin-installed"
want="$mode $(cat "$lock" "$root/setup.cfg" | sha256sum | cut -c1-16) $root"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
   && "$py" -c 'import mclnet_plugin' >/dev/null 2>&1; then
  echo "[install] up to date ($py)"
  exit 0
fi

start=$(date +%s)
pip=("$py" -m pip install --disable-pip-version-check)
# setuptools < 81 still has pkg_resources, which mmcv and mmengine import.
"${pip[@]}" -q "pip>=23,<26" "setuptools>=61,<81" wheel

reqs=$(mktemp)
trap 'rm -f "$reqs"' EXIT
if [ "$mode" = full ]; then
  # Keep the cluster's own torch build; mmcv is compiled against it.
  grep -v -iE '^(mmcv-lite|torch|torchvision|triton|nvidia-|cuda-)' "$lock" > "$reqs"
  if ! "$py" -c 'import torch, torchvision' >/dev/null 2>&1; then
    grep -iE '^(torch|torchvision|triton|nvidia-|cuda-)' "$lock" >> "$reqs"
  fi
else
  cp "$lock" "$reqs"
fi

echo "[install] installing the locked stack into $("$py" -c 'import sys; print(sys.prefix)') (mmcv: $mode)"
# The lock lists every transitive requirement, so --no-deps installs exactly
# it (mmagic's optional video/face packages and mmpose's chumpy stay out).
"${pip[@]}" -q --no-deps -r "$reqs"
if [ "$mode" = full ]; then
  "${pip[@]}" -q openmim
  "$py" -m mim install "mmcv>=2.0.0,<2.2.0"
fi
"${pip[@]}" -q --no-deps --no-build-isolation -e "$root"

"$py" -c 'import mclnet_plugin, torch; print("[install] mclnet_plugin", mclnet_plugin.__version__, "| torch", torch.__version__)'
echo "$want" > "$stamp"
echo "[install] done in $(( $(date +%s) - start )) s"
