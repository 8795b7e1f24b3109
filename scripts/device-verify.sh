#!/usr/bin/env bash
# The GPU checks left open at the end of the 2026-12-06 session (the device could not be started):
# the GPU tests of what changed (cli, enhancement, kmeans, reductions, trainer, optim), the
# opt-in GPU OOM test (alone), then the benchmarks with their PyTorch references. The device tool
# returns only a few files, so everything lands in one tarball, $OUT/all.tgz, refreshed after
# each phase (a call cut short still returns what finished).
#   run: bash scripts/device-verify.sh            (carry [".device"])
set -uo pipefail
OUT0=${OUT:-/tmp/ms-out}
W=/tmp/w
rm -rf "$W"; mkdir -p "$W" "$OUT0"
snap() { tar czf "$OUT0/all.tgz" -C /tmp w; }
OUT=$W JEST_LIMIT=150 JEST_PATHS="test/cli test/models/enhancement test/models/kmeans test/ops/reduce test/train test/optim" bash scripts/device-session.sh; snap
export PATH=$PWD/node_modules/.bin:$PATH
MAMBA_SPEECH_TEST_GPU_OOM=1 MAMBA_SPEECH_REQUIRE_GPU=1 timeout 90 node --expose-gc node_modules/jest/bin/jest.js --ci test/reliability/gpu_oom.test.ts >"$W/oom.log" 2>&1
echo "gpu_oom rc $?"; tail -6 "$W/oom.log"; snap
OUT=$W/bench BENCH_ONLY="${BENCH_ONLY:-models trainer-overhead enhancement torch-hubert hubert}" bash scripts/device-bench.sh; snap
