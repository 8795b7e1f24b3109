#!/usr/bin/env bash
# Builds the selective-scan timing harness (scan_kernels.cu) once per variant of the tuning
# macros in native/ops/selective_scan/scan_v2.cuh and times each on the issue-3 shapes.
#   bash bench/native/scan_sweep.sh "NAME:-DMACRO=V ..." ...     (on a GPU machine; logs to $OUT)
set -uo pipefail
OUT=${OUT:-/tmp/ms-out}
mkdir -p "$OUT/sweep"
srcs="bench/native/scan_kernels.cu native/core/cuda/runtime.cu native/ops/selective_scan/selective_scan_v2_fwd.cu native/ops/selective_scan/selective_scan_v2_bwd.cu"
for v in "$@"; do
  name=${v%%:*}; flags=${v#*:}
  ( nvcc -O3 -std=c++17 -arch=sm_90 -lineinfo $flags -Xptxas -v -o "$OUT/sweep/scan_$name" $srcs >"$OUT/sweep/build_$name.log" 2>&1 || echo "build $name failed" ) &
done
wait
for v in "$@"; do
  name=${v%%:*}
  grep -E "registers|spill" "$OUT/sweep/build_$name.log" | grep -B1 -A0 "registers" | tr '\n' ' ' | sed 's/ptxas info    ://g' | head -c 600 > "$OUT/sweep/regs_$name.txt"
  echo "== $name (${v#*:})"
  for shape in "16 1536 16 1024" "16 1536 16 4096" "4 2048 16 16384"; do
    for dt in bf16 f32; do
      "$OUT/sweep/scan_$name" $shape $dt ${ITERS:-20} | head -1
    done
  done
done
