#!/bin/bash
# mi_profile.sh — where a training step of the MI sweep settings spends its time on a GPU
# machine (device tool): whether small uploads stall the host (h2d_stall.js), the host side by
# node --cpu-prof (summarised by cpuprofile_top.js), the step/evaluation table (mi_sweep.js),
# and the device side by ncu's per-kernel summary of a short run. Writes under $OUT.
#
#   bash bench/native/mi_profile.sh        (after .device/setup, the addon build and tsc)
#   env: D (dimension, 1), N (pairs per level, 400000), STEPS (table, 200), PSTEPS (profile, 100)
set -u
D=${D:-1}
N=${N:-400000}
node bench/native/h2d_stall.js > $OUT/h2d_stall.txt 2>&1
mkdir -p $OUT/prof
for s in mine dv; do
  node --cpu-prof --cpu-prof-dir=$OUT/prof/$s bench/mi_sweep.js --d $D --n $N --steps ${PSTEPS:-100} --only $s --out - > $OUT/prof_run_$s.txt 2>&1
  node bench/native/cpuprofile_top.js $OUT/prof/$s/*.cpuprofile > $OUT/prof_top_$s.txt 2>&1
done
BENCH_OUT_DIR=$OUT node bench/mi_sweep.js --d $D --n $N --steps ${STEPS:-200} > $OUT/mi_sweep_d$D.txt 2>&1
NCU=$(ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
if [ -n "$NCU" ]; then
  timeout 240 $NCU --metrics gpu__time_duration.sum --print-summary per-kernel --launch-skip 3000 --launch-count 3000 \
    node bench/mi_sweep.js --d $D --n $N --steps 40 --only dv --out - > $OUT/ncu_dv.txt 2>&1
fi
