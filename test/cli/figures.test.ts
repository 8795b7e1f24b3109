/**
 * bench figures: which numbers of a benchmark's JSON are compared and in which direction, and
 * the regression rule at its boundary (a 5% threshold fails a time 5% longer, a rate 5% lower).
 */
import { compareFigures, extractFigures } from '../../lib/cli/bench/figures';

test('figures: times lower-better, rates higher-better; references, settings and machine skipped', () => {
  const json = {
    machine: { cores: 2, seconds: 1 },
    date: '2026-01-01',
    cpu: {
      256: { seconds: 1.5e-4, GFLOPs: 214, numpyGFLOPs: 227, n: 256 },
      fwdMs: 20.5, fwdBwdMs: 60.7, GBps: 1.69, threads: 2, shape: [2, 256, 16, 4096],
    },
    rows: [{ medianMs: 0.35, realTime: 1421, target: 200, samples: 8000, params: 200, items: 3 }],
    chain: { forward: 3.2e-5, usPerOpForward: 4.5, torchForward: 1e-5, refSeconds: 2 },
    goalRatio: 1.05, overheadRatio: 1.02, bareAll: [1, 2], stepsPerSec: 50, tfStepTime: 3,
    cases: { a: { fwd_ms: 9, fwd_flops: 2e9, runs: [1, 2] } }, config: { steps: 50, seconds: 3 },
  };
  const f = extractFigures('x', json, ['forward']);
  expect(Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v.better]))).toEqual({
    'x.cpu.256.seconds': 'lower', 'x.cpu.256.GFLOPs': 'higher', 'x.cpu.fwdMs': 'lower', 'x.cpu.fwdBwdMs': 'lower', 'x.cpu.GBps': 'higher',
    'x.rows.0.medianMs': 'lower', 'x.rows.0.realTime': 'higher', 'x.chain.forward': 'lower',
    'x.overheadRatio': 'lower', 'x.stepsPerSec': 'higher', 'x.tfStepTime': 'lower',
    'x.cases.a.fwd_ms': 'lower', 'x.cases.a.fwd_flops': 'higher',
  });
  expect(f['x.cpu.256.GFLOPs'].value).toBe(214);
});

test('compare: regression beyond the threshold only, both directions; missing and added listed', () => {
  const base = { t: { value: 100, better: 'lower' as const }, r: { value: 100, better: 'higher' as const }, gone: { value: 1, better: 'lower' as const } };
  const at = (t: number, r: number) => compareFigures({ t: { value: t, better: 'lower' }, r: { value: r, better: 'higher' }, fresh: { value: 1, better: 'lower' } }, base, 0.05);
  expect(at(105, 95).regressions).toEqual([]); // exactly at the threshold: not beyond it
  const c = at(105.1, 94.9);
  expect(c.regressions.map((x) => x.name)).toEqual(['t', 'r']);
  expect(c.regressions[0].worse).toBeCloseTo(0.051, 12);
  expect(c.regressions[1].worse).toBeCloseTo(0.051, 12);
  expect(at(50, 200).compared.map((x) => x.worse)).toEqual([-0.5, -1]); // better is negative
  expect(c.missing).toEqual(['gone']);
  expect(c.added).toEqual(['fresh']);
});
