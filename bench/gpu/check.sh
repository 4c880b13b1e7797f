#!/usr/bin/env bash
# One prepared GPU check (run on a CUDA machine from the repo root): the gpu-marked tests and the CUDA benchmarks.
# Usage: bash bench/gpu/check.sh [OUTDIR]   (writes gpu_tests.log, bench_*.log there)
set -u
OUT=${1:-${OUT:-/tmp/tesla-gpu}}; mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
PY=${PY:-python3}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/env.log"
$PY -c "import torch, sys; print(sys.version.split()[0], torch.__version__, torch.version.cuda, torch.cuda.get_device_name())" | tee -a "$OUT/env.log"
run() { local name=$1 limit=$2; shift 2; echo "== $name: $*"; timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.log"; echo "== $name rc=${PIPESTATUS[0]}"; }
run gpu_tests 100 $PY -m pytest -m gpu -q -p no:cacheprovider -o addopts="--import-mode=importlib --strict-markers" \
  -o filterwarnings= --timeout 100 --continue-on-collection-errors tests/nn tests/train tests/serve tests/data tests/store tests/tn tests/seeds ${GPU_TESTS_EXTRA:-}
[ -f bench/peers.py ] && run bench_peers_fp32 150 $PY bench/peers.py --device cuda --dtype float32
[ -f bench/peers.py ] && run bench_peers_bf16 150 $PY bench/peers.py --device cuda --dtype bfloat16
run bench_trainer 90 $PY bench/trainer_overhead.py --device cuda
[ -f bench/peers.py ] || run bench_tt_linear 90 $PY bench/tt_linear.py --device cuda --all-paths
[ -f bench/peers.py ] || run bench_tt_linear_bf16 60 $PY bench/tt_linear.py --device cuda --dtype bfloat16
exit 0
