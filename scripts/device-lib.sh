#!/usr/bin/env bash
# Shared by the scripts/device-*.sh calls on the GPU machine (sourced, not run):
#   dev_setup LOGDIR   node/npm/node_modules from .device, the CUDA build (sm_90) and dist/;
#                      logs under LOGDIR; returns 1 (with the log's tail) when a step fails
#   dev_snap OUT DIR   one tarball OUT/all.tgz of DIR (the device tool returns only a few files)
dev_setup() {
  local logs=$1 t0
  t0=$(date +%s)
  bash .device/setup >"$logs/setup.log" 2>&1 || { tail -20 "$logs/setup.log"; return 1; }
  export PATH=$PWD/node_modules/.bin:$PATH
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$logs/gpu.txt"
  CMAKE_CUDA_ARCHITECTURES=90 node scripts/build-addon.js >"$logs/build.log" 2>&1 || { tail -40 "$logs/build.log"; return 1; }
  npx tsc -p tsconfig.build.json >"$logs/tsc.log" 2>&1 || echo "tsc errors (tsc.log)"
  echo "setup + build done in $(( $(date +%s) - t0 )) s"
}
#   dev_ready LOGDIR   dev_setup unless this (warm) machine already has node, dist/ and the addon
dev_ready() { { command -v node && [ -d dist ] && [ -f build/Release/mamba_speech.node ]; } >/dev/null 2>&1 || dev_setup "$1"; }
dev_snap() { tar czf "$1/all.tgz" -C "$(dirname "$2")" "$(basename "$2")"; }
#   dev_begin          the usual start of a call: W=/tmp/w (logs, results, prof), OUT0=$OUT,
#                      snap() refreshing $OUT0/all.tgz, t0, then dev_setup
dev_begin() {
  OUT0=${OUT:-/tmp/ms-out}
  W=/tmp/w
  rm -rf "$W"; mkdir -p "$W/prof" "$W/results" "$OUT0"
  snap() { dev_snap "$OUT0" "$W"; }
  t0=$(date +%s)
  dev_setup "$W" || { snap; return 1; }
}
#   dev_jest LIMIT     the GPU jest suite (without the CPU-only install/reproduce files, the
#                      long MI sweep and the fuzzing) within LIMIT s (or $JEST_LIMIT), or only
#                      $JEST_PATHS; JSON and log under $W, then the summary line and the failures
dev_jest() {
  MAMBA_SPEECH_REQUIRE_GPU=1 timeout "${JEST_LIMIT:-$1}" node --expose-gc node_modules/jest/bin/jest.js --ci -w 12 \
    --testPathIgnorePatterns test/install test/reproduce test/mi/sweep test/reliability/fuzz \
    --json --outputFile="$W/jest-gpu.json" ${JEST_PATHS:-} >"$W/test-gpu.log" 2>&1
  echo "jest rc $? at $(( $(date +%s) - t0 )) s"
  node scripts/ci-summary.js "$W/jest-gpu.json" | tail -3
  grep -E '✕' "$W/test-gpu.log" | head -40
}
