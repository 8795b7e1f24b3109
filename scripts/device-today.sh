#!/usr/bin/env bash
# The 2026-12-06 (fourth session) GPU call, in priority order with everything in $OUT/all.tgz:
# CUDA build; the clipGradNormAndRead pieces (probe-norm); the GPU jest suite (the optimizer
# table as a kernel argument, CUDA column sums, one kernel generation for scan and attention);
# the trainer-overhead bench (#15); the layer bench against PyTorch; nsys of the Transformer
# layer (#17).   run: bash scripts/device-today.sh   (carry [".device"])
set -uo pipefail
source scripts/device-lib.sh
dev_begin || exit 1
timeout 40 node scripts/probe-norm.js cuda >"$W/probe-norm.log" 2>&1; cat "$W/probe-norm.log"; snap
dev_jest 270; snap
BENCH_OUT_DIR=$W/results timeout 90 node bench/trainer_overhead.js --device cuda ${TRAINER_QUICK:+--quick} >"$W/trainer-overhead.log" 2>&1; tail -4 "$W/trainer-overhead.log"; snap
echo "at $(( $(date +%s) - t0 )) s"
timeout 100 python3 bench/torch_nn_layers.py "$W/torch_nn_layers.json" >"$W/torch-layers.log" 2>&1; tail -2 "$W/torch-layers.log"
BENCH_OUT_DIR=$W/results timeout 90 node bench/nn_layers.js --ref "$W/torch_nn_layers.json" >"$W/layers.log" 2>&1; tail -8 "$W/layers.log"; snap
NSYS=$(command -v nsys || ls /usr/local/cuda/bin/nsys /opt/nvidia/nsight-systems/*/bin/nsys 2>/dev/null | head -1)
if [ -n "$NSYS" ]; then
  mkdir -p "$W/nsys"
  timeout 60 "$NSYS" profile -t cuda --force-overwrite true -o "$W/nsys/transformer" node scripts/prof-layer.js transformer 20 >"$W/nsys/transformer.log" 2>&1
  timeout 40 "$NSYS" stats -r cuda_gpu_kern_sum,cuda_api_sum --format csv -o "$W/nsys/transformer" "$W/nsys/transformer.nsys-rep" >>"$W/nsys/transformer.log" 2>&1
  rm -f "$W"/nsys/*.nsys-rep "$W"/nsys/*.sqlite; ls "$W/nsys"
else echo "no nsys"; fi
snap
echo "total $(( $(date +%s) - t0 )) s"
