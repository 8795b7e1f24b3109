#!/usr/bin/env bash
# The GPU measurements left open at the end of the 2026-12-06 sessions, in one call (~7 min):
# HuBERT pre-training against PyTorch for every encoder type (#14), the enhancement model at
# paper size (#13), the MI analysis against the PyTorch paper loop (#18), and a CPU profile of
# the trainer-overhead bench on CUDA (#15: where fit's extra host time goes). Everything comes
# back in $OUT/all.tgz, refreshed after each phase.   run: bash scripts/device-next.sh   (carry [".device"])
set -uo pipefail
source scripts/device-lib.sh
dev_begin || exit 1
OUT=$W/bench BENCH_ONLY="torch-analysis analysis torch-hubert hubert enhancement-paper" TAILN=20 bash scripts/device-bench.sh; snap
timeout 60 node scripts/probe-trainer.js cuda >"$W/probe-trainer.log" 2>&1; cat "$W/probe-trainer.log"
timeout 40 node --cpu-prof --cpu-prof-dir="$W/prof" bench/trainer_overhead.js --device cuda --quick >"$W/trainer-prof.log" 2>&1; tail -3 "$W/trainer-prof.log"
node scripts/prof-summary.js "$W"/prof/*.cpuprofile >"$W/trainer-prof-summary.txt" 2>&1; head -60 "$W/trainer-prof-summary.txt"; snap
echo "total $(( $(date +%s) - t0 )) s"
