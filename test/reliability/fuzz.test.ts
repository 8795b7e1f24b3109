// Issue 19: seeded, bounded fuzzing of every parser (WAV, FLAC, safetensors, Module.load,
// manifests) and of op arguments. Each target runs in its own child process, so a native crash
// is seen as a signal and a hang as a timeout; the child reports a summary (test/reliability/fuzz/
// driver.ts). Asserted: zero crashes, zero hangs, every error an Error whose message starts with
// the op or file name, and the targets' own invariants (nothing leaked, nothing half-written).
//
// ~10,000 inputs in ~20 s on 2 cores. More: MAMBA_SPEECH_FUZZ_SCALE=20 (x20 inputs, longer
// timeouts). A failure names its seed: MAMBA_SPEECH_FUZZ_SEED=<seed> reruns it, and
// `MAMBA_SPEECH_FUZZ_CASE=<i> node -r ./test/helpers/ts-register.js -e "require('./test/reliability/fuzz/driver.ts').main('<target>', <seed>, 1e9)"`
// replays one case (printing its arguments for the ops target).
import type { FuzzSummary } from './fuzz/driver';
import { describeExit, ROOT, runChild } from '../helpers/child';

// A fixed seed by default, so the CI gate is the same for every run; MAMBA_SPEECH_FUZZ_SEED=random
// draws a fresh one (how new inputs are explored), any number replays that seed.
const seedEnv = process.env.MAMBA_SPEECH_FUZZ_SEED ?? '20261206';
const seed = seedEnv === 'random' ? Date.now() % 1_000_000 : Number(seedEnv);
const scale = Math.max(1, Number(process.env.MAMBA_SPEECH_FUZZ_SCALE ?? 1));

// Inputs per target at scale 1, sized so each child runs a few seconds at most here.
const TARGETS: [string, number][] = [
  ['wav', 2000], ['flac', 300], ['safetensors', 2000], ['module_load', 300], ['manifest', 2000], ['ops', 3000],
];

test.each(TARGETS)(`fuzz %s: %i inputs, no crash, no hang, every error named (seed ${seed})`, (target, n) => {
  const cases = n * scale;
  const r = runChild(`require(${JSON.stringify(`${ROOT}/test/reliability/fuzz/driver.ts`)}).main(${JSON.stringify(target)}, ${seed}, ${cases})`, {
    timeoutMs: 60000 * scale,
    // Accepted op calls are tiny by construction; the cap turns any accidental giant allocation
    // into a clean failure instead of swapping a shared machine.
    shellPrefix: target === 'ops' ? 'ulimit -v 8000000;' : undefined,
  });
  if (r.status !== 0 || r.signal !== null || r.timedOut) throw new Error(`fuzz ${target} (seed ${seed}) ${describeExit(r)}`);
  const s = JSON.parse(r.stdout.trim().split('\n').pop()!) as FuzzSummary;
  expect(s.cases).toBe(cases);
  if (s.badCount) {
    throw new Error(`fuzz ${target} (seed ${seed}): ${s.badCount} bad outcomes of ${s.cases}:\n` +
      s.bad.map(([i, what]) => `  case ${i}: ${what}`).join('\n'));
  }
  // Both paths are exercised: most inputs are refused, and (where mutations that the format
  // cannot notice are common: 5-40 % of inputs) some are accepted. A mutated checkpoint of two
  // tiny layers is almost all header, so module_load accepts ~1 %.
  expect(s.errors).toBeGreaterThan(0);
  if (target !== 'module_load') expect(s.accepted).toBeGreaterThan(0);
}, 120000 * scale);
