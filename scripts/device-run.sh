#!/usr/bin/env bash
# Build, GPU tests and benchmarks in one call on a GPU machine lent through the device tool
# (see ../shared/device/README.md). Logs and results go to $OUT.
#   bash scripts/device-run.sh [jest paths...]
set -uo pipefail
OUT=${OUT:-/tmp/ms-out}
mkdir -p "$OUT"
bash .device/setup >"$OUT/setup.log" 2>&1 || { cat "$OUT/setup.log"; exit 1; }
export PATH=$PWD/node_modules/.bin:$PATH
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
t0=$(date +%s)
CMAKE_CUDA_ARCHITECTURES=90 node scripts/build-addon.js >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
echo "build: $(( $(date +%s) - t0 )) s"; grep -E 'mamba-speech:|built' "$OUT/build.log"
npx tsc -p tsconfig.build.json >"$OUT/tsc.log" 2>&1 || echo "tsc reported errors (see tsc.log); dist emitted anyway"
paths=("$@"); [ ${#paths[@]} -eq 0 ] && paths=(--testPathIgnorePatterns test/install)
MAMBA_SPEECH_REQUIRE_GPU=1 node --expose-gc node_modules/jest/bin/jest.js --ci "${paths[@]}" \
  --json --outputFile="$OUT/jest-gpu.json" >"$OUT/test-gpu.log" 2>&1
node scripts/ci-summary.js "$OUT/jest-gpu.json" | tee "$OUT/test-summary.txt"
grep -E '✕|●.*›' "$OUT/test-gpu.log" | head -60
if [ "${MS_BENCH:-1}" = "1" ]; then
  PYTHONUNBUFFERED=1 python3 bench/torch_foundation.py "$OUT/torch-foundation.json" >"$OUT/torch.log" 2>&1 || tail -20 "$OUT/torch.log"
  BENCH_OUT_DIR="$OUT" node bench/foundation.js --ref "$OUT/torch-foundation.json" 2>&1 | tee "$OUT/bench.log"
fi
