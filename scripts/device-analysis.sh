#!/usr/bin/env bash
# One GPU call: build, the CUDA tests of the elementwise fast layouts, the MI analysis benchmark
# beside its PyTorch reference, the k-means probe, and a CPU profile of the trainer-overhead
# bench on CUDA (where fit's extra host time goes). Everything comes back in $OUT/all.tgz,
# refreshed after each phase.   run: bash scripts/device-analysis.sh   (carry [".device"])
set -uo pipefail
OUT0=${OUT:-/tmp/ms-out}
W=/tmp/w
rm -rf "$W"; mkdir -p "$W/prof" "$OUT0"
snap() { tar czf "$OUT0/all.tgz" -C /tmp w; }
t0=$(date +%s)
bash .device/setup >"$W/setup.log" 2>&1 || { tail -20 "$W/setup.log"; exit 1; }
export PATH=$PWD/node_modules/.bin:$PATH
CMAKE_CUDA_ARCHITECTURES=90 node scripts/build-addon.js >"$W/build.log" 2>&1 || { tail -40 "$W/build.log"; snap; exit 1; }
npx tsc -p tsconfig.build.json >"$W/tsc.log" 2>&1 || echo "tsc errors (tsc.log)"
echo "build done at $(( $(date +%s) - t0 )) s"
MAMBA_SPEECH_REQUIRE_GPU=1 timeout 90 node node_modules/jest/bin/jest.js --ci -w 8 test/ops/elementwise test/ops/binary test/ops/reduce test/models/kmeans \
  --json --outputFile="$W/jest-gpu.json" >"$W/test-gpu.log" 2>&1
echo "jest rc $? at $(( $(date +%s) - t0 )) s"; node scripts/ci-summary.js "$W/jest-gpu.json" | tail -1; grep -E '✕' "$W/test-gpu.log" | head; snap
OUT=$W/bench BENCH_ONLY="torch-analysis analysis" TAILN=30 bash scripts/device-bench.sh; snap
timeout 40 node scripts/probe-kmeans.js >"$W/probe-kmeans.log" 2>&1; grep -E "add bias|predict" "$W/probe-kmeans.log"; snap
timeout 40 node --cpu-prof --cpu-prof-dir="$W/prof" bench/trainer_overhead.js --device cuda --quick >"$W/trainer-prof.log" 2>&1; tail -3 "$W/trainer-prof.log"; snap
echo "total $(( $(date +%s) - t0 )) s"
