#!/usr/bin/env bash
# One GPU call for the benchmarks of the task models, HuBERT, the trainer, the MI analysis and
# enhancement, each beside its PyTorch reference run in the same call (same card). Expects the
# addon already built on this machine (scripts/device-session.sh ran first, machine still warm);
# builds it when it is missing. JSON goes to $OUT/results (BENCH_OUT_DIR); logs to $OUT.
#   OUT=... [BENCH_ONLY="torch-hubert hubert models ..."] bash scripts/device-bench.sh
set -uo pipefail
OUT=${OUT:-/tmp/ms-out}
mkdir -p "$OUT/results"
t0=$(date +%s)
command -v node >/dev/null 2>&1 || { bash .device/setup >"$OUT/setup.log" 2>&1 || { tail -20 "$OUT/setup.log"; exit 1; }; }
export PATH=$PWD/node_modules/.bin:$PATH
[ -f build/Release/mamba_speech.node ] || CMAKE_CUDA_ARCHITECTURES=90 node scripts/build-addon.js >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
export BENCH_OUT_DIR="$OUT/results"
step() { local name=$1 limit=$2; shift 2; if [ -n "${BENCH_ONLY:-}" ] && [[ " $BENCH_ONLY " != *" $name "* ]]; then return; fi; echo "== $name ($(( $(date +%s) - t0 )) s)"; timeout "$limit" "$@" >"$OUT/$name.log" 2>&1; echo "   rc $?"; tail -${TAILN:-14} "$OUT/$name.log"; }
step torch-hubert 200 python3 bench/torch_hubert.py "$OUT/torch_hubert.json" --rows kmeans-gpu,pretrain --steps 100
step hubert 150 node bench/hubert.js --rows kmeans-gpu,pretrain --steps 100 --ref "$OUT/torch_hubert.json" --save
step models 150 node bench/models.js --device cuda --paper --save
step trainer-overhead 90 node bench/trainer_overhead.js --device cuda --save
step enhancement 60 node bench/enhancement.js --device cuda --save
step enhancement-paper 120 node bench/enhancement.js --device cuda --paper --save
# the PyTorch loops time their first layer and scale (--time-layers; every layer does the same work)
step torch-analysis 150 python3 bench/torch_analysis.py "$OUT/torch_analysis.json" --time-layers 1
step analysis 180 node bench/analysis.js --ref "$OUT/torch_analysis.json" --device cuda --save ${ANALYSIS_PAPER:+--paper}
# the device tool returns only a few files: one tarball of the JSON results
(cd "$OUT" && tar czf results.tgz results *.log *.json 2>/dev/null && rm -rf results *.log *.json)
echo "total $(( $(date +%s) - t0 )) s"
