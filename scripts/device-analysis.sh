#!/usr/bin/env bash
# One GPU call: build, a CPU profile of the trainer-overhead bench on CUDA (where fit's extra
# host time goes), then the MI analysis benchmark beside its PyTorch reference. Everything comes
# back in $OUT/all.tgz.   run: bash scripts/device-analysis.sh   (carry [".device"])
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
timeout 60 node --cpu-prof --cpu-prof-dir="$W/prof" bench/trainer_overhead.js --device cuda --quick >"$W/trainer-prof.log" 2>&1; tail -4 "$W/trainer-prof.log"; snap
OUT=$W/bench BENCH_ONLY="torch-analysis analysis" TAILN=30 bash scripts/device-bench.sh; snap
echo "total $(( $(date +%s) - t0 )) s"
