#!/usr/bin/env bash
# Benchmarks on the GPU machine after scripts/device-run.sh built the addon and dist/ in this
# checkout: the PyTorch reference of each benchmark first, then ours reading it. Everything
# lands in $OUT/bench.tgz (the device tool returns at most 8 files).
#   bash scripts/device-bench.sh [foundation] [matmul] [attention] [scan]
set -uo pipefail
OUT=${OUT:-/tmp/ms-out}
B=$OUT/bench
mkdir -p "$B"
export PATH=$PWD/node_modules/.bin:$PATH PYTHONUNBUFFERED=1 BENCH_OUT_DIR=$B
for what in "${@:-foundation matmul attention scan}"; do
  for w in $what; do
    echo "== $w"
    case $w in
      foundation) python3 bench/torch_foundation.py "$B/torch-foundation.json" >"$B/torch-foundation.log" 2>&1
                  node bench/foundation.js --ref "$B/torch-foundation.json" 2>&1 | tee "$B/foundation.log" ;;
      matmul) python3 bench/torch_matmul.py "$B/torch-matmul.json" >"$B/torch-matmul.log" 2>&1 || tail -5 "$B/torch-matmul.log"
              node bench/matmul.js --ref "$B/torch-matmul.json" 2>&1 | tee "$B/matmul.log" ;;
      attention) python3 bench/torch_attention.py "$B/torch-attention.json" >"$B/torch-attention.log" 2>&1 || tail -20 "$B/torch-attention.log"
                 node bench/attention.js --ref "$B/torch-attention.json" 2>&1 | tee "$B/attention.log" ;;
      scan) python3 bench/torch_selective_scan.py --out "$B/torch-selective-scan.json" --iters "${SCAN_ITERS:-30}" >"$B/torch-scan.log" 2>&1 || tail -20 "$B/torch-scan.log"
            node bench/selective_scan.js --ref "$B/torch-selective-scan.json" 2>&1 | tee "$B/selective-scan.log" ;;
    esac
  done
done
tar czf "$OUT/bench.tgz" -C "$OUT" bench && rm -rf "$B"
