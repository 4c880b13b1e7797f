#!/usr/bin/env bash
# One prepared GPU check, run on a CUDA machine from the repo root: the gpu-marked tests and the CUDA benchmarks.
# Usage: bash bench/gpu/check.sh [OUTDIR]   (writes env.log, gpu_tests.log, bench_*.log there)
# Optional peers (tensorly, tensorly-torch) are installed from ./.whl when that folder holds their wheels.
set -u
OUT=${1:-${OUT:-/tmp/tesla-gpu}}; mkdir -p "$OUT"
PY=${PY:-python3}
if ls .whl/*.whl >/dev/null 2>&1; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 TESLA_CACHE_DIR=${TESLA_CACHE_DIR:-/tmp/tesla-cache}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/env.log"
$PY -c "import torch, sys; print(sys.version.split()[0], torch.__version__, torch.version.cuda, torch.cuda.get_device_name())" \
  | tee -a "$OUT/env.log"
git log -1 --format='commit %H %s' 2>/dev/null | tee -a "$OUT/env.log"
run() { local name=$1 limit=$2; shift 2; echo "== $name: $*"; timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.log"; echo "== $name rc=${PIPESTATUS[0]}"; }
run gpu_tests 100 $PY -m pytest -m gpu -q -p no:cacheprovider -o addopts="--import-mode=importlib --strict-markers" \
  -o filterwarnings= --timeout 90 --continue-on-collection-errors tests/nn tests/train tests/serve tests/data \
  tests/store tests/tn tests/seeds tests/test_utils.py ${GPU_TESTS_EXTRA:-}
run bench_peers_fp32 130 $PY bench/peers.py --device cuda --dtype float32
run bench_peers_bf16 100 $PY bench/peers.py --device cuda --dtype bfloat16 --no-svd
run bench_trainer 60 $PY bench/trainer_overhead.py --device cuda --repeats 3
run bench_sparse_attention 50 $PY bench/sparse_attention.py --device cuda
run bench_sparse_linear 40 $PY bench/sparse_linear.py --device cuda --batches 1 64 1024
run bench_train_setup 30 $PY bench/train_setup.py --device cuda
exit 0
