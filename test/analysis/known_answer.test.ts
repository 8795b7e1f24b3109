/**
 * known_answer.test.ts — the analysis recovers exact answers on an nn.Encoder stack of fixed
 * linear-Gaussian layers (T_l = A_l T_{l-1} + σ_l ε), X = hs0 ~ N(0, I_4):
 *   - I(X; T_l) of every layer within the estimator's tolerance of the exact value
 *     (½ ln det Σ_X + ½ ln det Σ_T − ½ ln det Σ, float64), through the whole model path
 *     (batches with padding, frame sampling, estimateMany over layers)
 *   - data processing: an orthogonal layer keeps I(X; T) (CIs overlap), a noisy one lowers it
 *   - ordering with non-overlapping CIs wherever the true gap is >= 0.3 nats
 *   - I(T_l; Y) for Y = 1[wᵀX > 0] (exact posterior, Monte Carlo over T): the probe's held-out
 *     bound and the critic near it
 *   - the matched calibration beside the results; the report files
 * σ = 0 (the layers are noisy already, so I(X; T_l) is finite) and no PCA (d = 4).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { analysis } from '../../lib';
import { describeCuda } from '../helpers/devices';
import { gaussianBatches, LinearGaussianLayer, StackModel, stackTruth, thresholdTruth } from './helpers';

const c = Math.cos(0.7);
const s = Math.sin(0.7);
const c2 = Math.cos(1.4);
const s2 = Math.sin(1.4);
const diag = (a: number[]): number[][] => a.map((v, i) => a.map((_, j) => (i === j ? v : 0)));
const SPEC = [
  { A: diag([1, 0.8, 1.2, 0.6]), sigma: 0.5 },
  { A: [[c, -s, 0, 0], [s, c, 0, 0], [0, 0, c2, s2], [0, 0, -s2, c2]], sigma: 0 },  // orthogonal: I unchanged
  { A: diag([1, 1, 1, 1]), sigma: 0.6 },                                          // noise: I drops
  { A: diag([0.7, 0.7, 0.7, 0.7]), sigma: 0.7 },
  { A: diag([1, 1, 1, 1]), sigma: 1.0 },
];
const W = [1, -1, 0.5, 0];

test('linear-Gaussian stack: every layer, data processing, ordering, I(T; Y), calibration, report', async () => {
  const truth = stackTruth(SPEC);
  const ityTruth = thresholdTruth(SPEC, W, 40000, 5);
  const model = new StackModel(SPEC.map((l, i) => new LinearGaussianLayer(l.A, l.sigma, 10 + i)));
  const batches = gaussianBatches({ utterances: 48, batchSize: 8, d: 4, minLen: 60, maxLen: 120, seed: 3, pad: 5 });
  const labels = (b: (typeof batches)[number]) => {
    const [B, T, d] = b.x.shape;
    const x = b.x.dataSync();
    return Array.from({ length: B }, (_, i) => Int32Array.from({ length: T }, (_, t) => (W.reduce((a, w, k) => a + w * x[(i * T + t) * d + k], 0) > 0 ? 1 : 0)));
  };
  const r = await analysis.layerwiseMi(model, batches, {
    layers: [1, 2, 3, 4, 5], pca: false, noise: 0, perUtterance: 100, maxFrames: 4000, seeds: 3, y: labels,
    estimator: { batchSize: 128, steps: 600, hidden: [32, 32], lr: 1e-3 }, probe: { steps: 400 },
  });
  for (const b of batches) b.x.dispose();
  const lines = r.layers.map((l, i) => `layer ${l.index}: true ${truth[i].toFixed(3)} read ${l.ixt.nats.toFixed(3)} [${l.ixt.ci!.map((v) => v.toFixed(3))}]`
    + ` | I(T;Y) true ${ityTruth[i].toFixed(3)} probe ${l.ity!.probe!.nats.toFixed(3)} critic ${l.ity!.critic!.nats.toFixed(3)}`);
  process.stdout.write(`[analysis] known answer (${JSON.stringify(r.timings)}):\n  ${lines.join('\n  ')}\n`);
  expect(r.frames.n).toBe(4000);
  expect(r.layers.map((l) => l.index)).toEqual([1, 2, 3, 4, 5]);
  r.layers.forEach((l, i) => {
    expect(Math.abs(l.ixt.nats - truth[i])).toBeLessThan(0.12 * truth[i] + 0.05);
    expect(l.ixt.ceiling!.kind).toBe('ln(held-out frames)');
    expect(l.ixt.ceiling!.nats).toBeCloseTo(Math.log(800), 10);
  });
  // Data processing: layer 2 = Q layer 1 (Q orthogonal), layer 3 = layer 2 + noise.
  const [l1, l2, l3] = r.layers.map((l) => l.ixt.ci!);
  expect(truth[1]).toBeCloseTo(truth[0], 10);
  expect(l1[0] < l2[1] && l2[0] < l1[1]).toBe(true);
  expect(l3[1]).toBeLessThan(l2[0]);
  // Ordering: non-overlapping CIs wherever the true gap is >= 0.3 nats.
  for (let i = 0; i < truth.length; ++i) for (let j = i + 1; j < truth.length; ++j) {
    if (truth[i] - truth[j] >= 0.3) expect(r.layers[i].ixt.ci![0]).toBeGreaterThan(r.layers[j].ixt.ci![1]);
  }
  // I(T; Y): the probe is a held-out lower bound (up to its sampling error); the critic close.
  r.layers.forEach((l, i) => {
    const p = l.ity!.probe!;
    expect(p.nats).toBeLessThan(ityTruth[i] + 0.04);
    expect(p.nats).toBeGreaterThan(ityTruth[i] - 0.06);
    expect(Math.abs(l.ity!.critic!.nats - ityTruth[i])).toBeLessThan(0.2 * ityTruth[i] + 0.05);
    expect(p.ceiling!.nats).toBeLessThanOrEqual(Math.log(2) + 1e-9);
  });
  expect(r.layers[0].ity!.probe!.accuracy).toBeGreaterThan(r.layers[0].ity!.probe!.chance + 0.2);
  // The matched calibration: same estimator and frames count, levels near the measured values.
  expect(r.calibration!.n).toBe(4000);
  expect(r.calibration!.points.length).toBeGreaterThanOrEqual(2);
  for (const p of r.calibration!.points) expect(Math.abs(p.relError)).toBeLessThan(0.15);
  for (const l of r.layers) expect(l.ixt.calibration).not.toBeNull();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-mi-report-'));
  const files = analysis.report(r, { title: 'Known answer', outDir: dir, scale: 1 });
  const md = fs.readFileSync(files.md, 'utf8');
  for (const l of r.layers) expect(md).toContain(`| ${l.index} | ${l.name} | 4 | 4 (100.0%) | ${l.ixt.nats.toFixed(3)} | [${l.ixt.ci![0].toFixed(3)}, ${l.ixt.ci![1].toFixed(3)}] |`);
  expect(md).toContain('![I(X; T) per layer](ixt.png)');
  expect(md).toContain('### Matched calibration');
  expect(md).toContain('Seeds: 0, 1, 2.');
  const json = JSON.parse(fs.readFileSync(files.json, 'utf8'));
  expect(json.runs[0].layers.map((l: { ixt: { nats: number } }) => l.ixt.nats)).toEqual(r.layers.map((l) => l.ixt.nats));
  for (const k of ['ixt', 'ity', 'plane']) {
    expect(fs.readFileSync(files.plots[k].png).subarray(1, 4).toString()).toBe('PNG');
    expect(fs.readFileSync(files.plots[k].svg, 'utf8')).toContain('<svg');
  }
  fs.rmSync(dir, { recursive: true, force: true });
}, 600000);

describeCuda('on CUDA', () => {
  test('linear-Gaussian stack: every layer within tolerance, probe near the exact I(T; Y)', async () => {
    const truth = stackTruth(SPEC);
    const ityTruth = thresholdTruth(SPEC, W, 40000, 5);
    const model = new StackModel(SPEC.map((l, i) => new LinearGaussianLayer(l.A, l.sigma, 10 + i)));
    const batches = gaussianBatches({ utterances: 48, batchSize: 8, d: 4, minLen: 60, maxLen: 120, seed: 3, pad: 5, device: 'cuda' });
    const y = (b: (typeof batches)[number]) => {
      const [B, T, d] = b.x.shape;
      const x = b.x.dataSync();
      return Array.from({ length: B }, (_, i) => Int32Array.from({ length: T }, (_, t) => (W.reduce((a, w, k) => a + w * x[(i * T + t) * d + k], 0) > 0 ? 1 : 0)));
    };
    const r = await analysis.layerwiseMi(model, batches, {
      layers: [1, 2, 3, 4, 5], pca: false, noise: 0, perUtterance: 100, maxFrames: 4000, seeds: 4, y, device: 'cuda', ityCritic: false,
      estimator: { batchSize: 128, steps: 600, hidden: [32, 32], lr: 1e-3 }, probe: { steps: 400 },
    });
    for (const b of batches) b.x.dispose();
    r.layers.forEach((l, i) => {
      expect(Math.abs(l.ixt.nats - truth[i])).toBeLessThan(0.12 * truth[i] + 0.05);
      expect(Math.abs(l.ity!.probe!.nats - ityTruth[i])).toBeLessThan(0.06);
    });
    for (const p of r.calibration!.points) expect(Math.abs(p.relError)).toBeLessThan(0.15);
  }, 600000);
});
