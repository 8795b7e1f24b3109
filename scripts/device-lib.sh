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
