#!/usr/bin/env bash
# GPU verification in one call: CUDA build, the diagnostics (k-means pieces, trainer overhead),
# the whole GPU jest suite, then the opt-in GPU OOM test alone. The device tool returns only a
# few files, so everything lands in one tarball, $OUT/all.tgz, refreshed after each phase (a call
# cut short still returns what finished).
#   run: [SKIP_KMEANS=1] [SKIP_OOM=1] [JEST_LIMIT=s] bash scripts/device-verify.sh   (carry [".device"])
set -uo pipefail
source scripts/device-lib.sh
dev_begin || exit 1
[ -n "${SKIP_KMEANS:-}" ] || { timeout 60 node scripts/probe-kmeans.js >"$W/probe-kmeans.log" 2>&1; cat "$W/probe-kmeans.log"; }
timeout 60 node scripts/probe-norm.js cuda >"$W/probe-norm.log" 2>&1; cat "$W/probe-norm.log"
timeout 60 node scripts/probe-trainer.js cuda >"$W/probe-trainer.log" 2>&1; cat "$W/probe-trainer.log"
BENCH_OUT_DIR=$W/results timeout 90 node bench/trainer_overhead.js --device cuda >"$W/trainer-overhead.log" 2>&1; tail -6 "$W/trainer-overhead.log"; snap
echo "diagnostics done at $(( $(date +%s) - t0 )) s"
dev_jest 250; snap
[ -n "${SKIP_OOM:-}" ] || MAMBA_SPEECH_TEST_GPU_OOM=1 MAMBA_SPEECH_REQUIRE_GPU=1 timeout 60 node --expose-gc node_modules/jest/bin/jest.js --ci test/reliability/gpu_oom.test.ts >"$W/oom.log" 2>&1
echo "gpu_oom rc $?"; tail -6 "$W/oom.log"; snap
echo "total $(( $(date +%s) - t0 )) s"
