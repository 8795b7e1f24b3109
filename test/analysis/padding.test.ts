/**
 * padding.test.ts — what padding does to the numbers. The linear-Gaussian stack maps each frame
 * on its own, so the hidden states of valid frames do not depend on what the padding holds, but
 * those of padding frames do:
 *   - corrected protocol (padding excluded): bit-identical results when only the padding changes
 *   - paper protocol (every frame of the padded batch, as the reference code): different results
 *   - paper protocol with utterances shorter than its batch of 128: skipped and counted, or (as
 *     the reference) evaluated with zero training steps
 */
import { analysis } from '../../lib';
import { gaussianBatches, LinearGaussianLayer, StackModel } from './helpers';

const SPEC = [
  { A: [[1, 0.2, 0, 0], [0, 1, 0, 0], [0, 0, 0.8, 0], [0.3, 0, 0, 1]], sigma: 0.4 },
  { A: [[0.9, 0, 0, 0], [0, 0.7, 0.1, 0], [0, 0, 1, 0], [0, 0, 0, 0.6]], sigma: 0.6 },
];
const model = (): StackModel => new StackModel(SPEC.map((l, i) => new LinearGaussianLayer(l.A, l.sigma, 40 + i)));

async function run(pad: number, paper: boolean, minLen = 130, maxLen = 160, short: 'skip' | 'reference' = 'skip') {
  const batches = gaussianBatches({ utterances: 3, batchSize: 3, d: 4, minLen, maxLen, seed: 8, pad });
  try {
    return await analysis.layerwiseMi(model(), batches, paper
      ? { paper: { maxUtterances: 3, short } }
      : { maxFrames: 600, perUtterance: 100, seeds: 2, calibrate: false, estimator: { steps: 60, batchSize: 64, hidden: [16] } });
  } finally {
    for (const b of batches) b.x.dispose();
  }
}

test('corrected protocol: identical results whatever the padding holds; paper protocol: different', async () => {
  const [a, b] = [await run(0, false), await run(7, false)];
  expect(a.layers.map((l) => l.ixt.perSeed)).toEqual(b.layers.map((l) => l.ixt.perSeed));
  expect(a.layers.map((l) => l.index)).toEqual([0, 1, 2]);
  const [p, q] = [await run(0, true), await run(7, true)];
  expect(p.protocol).toBe('paper');
  expect(p.layers.map((l) => l.index)).toEqual([1, 2]);                // I(hs0; hs0) is not estimated
  for (const r of [p, q]) for (const l of r.layers) {
    expect(l.utterances).toBe(3);
    expect(l.skipped).toBe(0);
    expect(l.ixt.perUtterance!.every(Number.isFinite)).toBe(true);
  }
  const diff = Math.max(...p.layers.map((l, i) => Math.abs(l.ixt.nats - q.layers[i].ixt.nats)));
  process.stdout.write(`[analysis] paper protocol, padding 0 vs 7: ${p.layers.map((l) => l.ixt.nats.toFixed(3))} vs ${q.layers.map((l) => l.ixt.nats.toFixed(3))}\n`);
  expect(diff).toBeGreaterThan(1e-3);
}, 300000);

test('paper protocol: utterances shorter than 128 frames are skipped and counted, or evaluated untrained as the reference does', async () => {
  // Batches of 3 with lengths in [40, 100]: every padded batch is shorter than 128 frames.
  const skip = await run(0, true, 40, 100, 'skip');
  for (const l of skip.layers) {
    expect(l.utterances).toBe(0);
    expect(l.skipped).toBe(3);
    expect(Number.isNaN(l.ixt.nats)).toBe(true);
  }
  expect(skip.comparability.join(' ')).toContain('3 of 3 utterances had fewer than 128 frames and were skipped');
  const ref = await run(0, true, 40, 100, 'reference');
  for (const l of ref.layers) {
    expect(l.utterances).toBe(3);
    expect(l.skipped).toBe(0);
    expect(l.ixt.perUtterance!.every(Number.isFinite)).toBe(true);
    // An untrained critic: its DV value is near 0, as the reference would report.
    expect(Math.abs(l.ixt.nats)).toBeLessThan(0.5);
  }
}, 300000);
