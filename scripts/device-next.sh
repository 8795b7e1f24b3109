#!/usr/bin/env bash
# The GPU measurements left open at the end of the 2026-12-06 sessions, in two calls made back to
# back (the machine stays warm, so the second reuses the build). Everything comes back in
# $OUT/all.tgz, refreshed after each phase (a call cut short still returns what finished).
#   a: the CUDA elementwise/binary tests and the k-means probe (broadcast layouts), a CPU
#      profile of the trainer-overhead bench on CUDA (#15), the enhancement model at paper
#      size (#13), HuBERT pre-training against PyTorch for every encoder type (#14)
#   b: the MI analysis against the PyTorch paper loop (#18)
#   run: bash scripts/device-next.sh a|b        (carry [".device"])
set -uo pipefail
source scripts/device-lib.sh
phase=${1:-a}
if [ "$phase" = a ]; then
  dev_begin || exit 1
  MAMBA_SPEECH_REQUIRE_GPU=1 timeout 120 node node_modules/jest/bin/jest.js --ci -w 8 test/ops/elementwise test/ops/binary test/ops/reduce \
    test/models/kmeans >"$W/test-ops.log" 2>&1; echo "jest rc $?"; grep -E '✕|^Tests:' "$W/test-ops.log" | head -30
  timeout 60 node scripts/probe-kmeans.js >"$W/probe-kmeans.log" 2>&1; cat "$W/probe-kmeans.log"; snap
  timeout 60 node scripts/probe-trainer.js cuda >"$W/probe-trainer.log" 2>&1; cat "$W/probe-trainer.log"
  timeout 40 node --cpu-prof --cpu-prof-dir="$W/prof" bench/trainer_overhead.js --device cuda --quick >"$W/trainer-prof.log" 2>&1; tail -3 "$W/trainer-prof.log"
  node scripts/prof-summary.js "$W"/prof/*.cpuprofile >"$W/trainer-prof-summary.txt" 2>&1; head -40 "$W/trainer-prof-summary.txt"; snap
  OUT=$W/bench BENCH_ONLY="enhancement-paper torch-hubert hubert" TAILN=20 bash scripts/device-bench.sh; snap
else
  OUT0=${OUT:-/tmp/ms-out}; W=/tmp/w; t0=$(date +%s); snap() { dev_snap "$OUT0" "$W"; }
  mkdir -p "$W"; export PATH=$PWD/node_modules/.bin:$PATH
  { command -v node >/dev/null && [ -d dist ] && [ -f build/Release/mamba_speech.node ]; } || dev_setup "$W" || { snap; exit 1; }
  rm -rf "$W/bench"; OUT=$W/bench BENCH_ONLY="torch-analysis analysis" TAILN=20 bash scripts/device-bench.sh; snap
fi
echo "total $(( $(date +%s) - t0 )) s"
