#!/usr/bin/env bash
# Where a layer's time goes on the GPU (#17): the layer bench against PyTorch in the same call,
# then nsys over the Transformer and ConBiMamba layers (kernel time by name, CUDA API time, and
# the host-side gaps). Run right after a call that built the addon (warm machine), or it builds.
#   run: bash scripts/device-layers.sh   (carry [".device"])
set -uo pipefail
source scripts/device-lib.sh
OUT0=${OUT:-/tmp/ms-out}; W=/tmp/w; t0=$(date +%s); snap() { dev_snap "$OUT0" "$W"; }
mkdir -p "$W/results" "$W/nsys"; export PATH=$PWD/node_modules/.bin:$PATH
dev_ready "$W" || { snap; exit 1; }
timeout 120 python3 bench/torch_nn_layers.py "$W/torch_nn_layers.json" >"$W/torch-layers.log" 2>&1; tail -3 "$W/torch-layers.log"
BENCH_OUT_DIR=$W/results timeout 120 node bench/nn_layers.js --ref "$W/torch_nn_layers.json" >"$W/layers.log" 2>&1; tail -8 "$W/layers.log"; snap
NSYS=$(command -v nsys || ls /usr/local/cuda/bin/nsys /opt/nvidia/nsight-systems/*/bin/nsys 2>/dev/null | head -1)
if [ -n "$NSYS" ]; then
  for l in transformer conbimamba; do
    timeout 90 "$NSYS" profile -t cuda,osrt --force-overwrite true -o "$W/nsys/$l" node bench/nn_layers.js --only $l --iters 20 >"$W/nsys/$l.log" 2>&1
    timeout 60 "$NSYS" stats -r cuda_gpu_kern_sum,cuda_api_sum --format csv -o "$W/nsys/$l" "$W/nsys/$l.nsys-rep" >>"$W/nsys/$l.log" 2>&1
    rm -f "$W/nsys/$l.nsys-rep" "$W/nsys/$l.sqlite"
    head -3 "$W/nsys/$l.log"; ls "$W/nsys" | grep "$l"
  done
else echo "no nsys on this machine"; fi
snap
echo "total $(( $(date +%s) - t0 )) s"
