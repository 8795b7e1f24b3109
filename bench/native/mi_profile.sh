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
# The same step inside jest (the sweep test runs there): a throwaway test file in this copy.
cat > test/mi/_profile_step.test.ts <<'TS'
import { mi, randn, synchronize, tidy, add, mul } from '../../lib';
test('step time in jest', async () => {
  const d = Number(process.env.D ?? 1);
  const N = Number(process.env.N ?? 400000);
  const dev = (process.env.DEV ?? 'cuda') as 'cpu' | 'cuda';
  const pairs = [0.5, 1, 2, 4, 8].map((nats, i) => tidy(() => {
    const rho = Math.sqrt(1 - Math.exp((-2 * nats) / d));
    const x = randn([N, d], { seed: 100 + i, device: dev });
    const e = randn([N, d], { seed: 200 + i, device: dev });
    return [x, add(mul(x, rho), mul(e, Math.sqrt(1 - rho * rho)))];
  }) as [any, any]);
  const settings = { mine: { estimator: 'mine' }, dv: { estimator: 'dv', critic: 'separable', negatives: 'all-pairs' } } as const;
  for (const [name, o] of Object.entries(settings)) {
    const t: number[] = [];
    for (const steps of [5, 105, 205]) {
      synchronize();
      const t0 = performance.now();
      await mi.estimateMany(pairs, { ...o, batchSize: 256, heldOut: 0.1, seeds: 3, steps, evalEvery: steps, device: dev });
      synchronize();
      t.push(performance.now() - t0);
    }
    process.stdout.write(`[jest] ${name}: ${((t[2] - t[1]) / 100).toFixed(3)} ms/step\n`);
  }
}, 300000);
TS
node --expose-gc node_modules/jest/bin/jest.js test/mi/_profile_step.test.ts > $OUT/jest_step.txt 2>&1
BENCH_OUT_DIR=$OUT node bench/mi_sweep.js --d $D --n $N --steps ${STEPS:-200} > $OUT/mi_sweep_d$D.txt 2>&1
NCU=$(ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
if [ -n "$NCU" ]; then
  timeout 240 $NCU --metrics gpu__time_duration.sum --print-summary per-kernel --launch-skip 3000 --launch-count 3000 \
    node bench/mi_sweep.js --d $D --n $N --steps 40 --only dv --out - > $OUT/ncu_dv.txt 2>&1
fi
