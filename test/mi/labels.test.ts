/**
 * labels.test.ts — discrete y: y = argmax(W x + σ ε) over K = 4 classes, x ~ N(0, I_2).
 *
 * Exact I(X; Y) = H(Y) - E_x H(Y | x) with p(y = k | x) = ∫ φ(e) Π_{j≠k} Φ((z_k - z_j) / σ + e) de
 * (numerical integration over e, Monte Carlo over x), and the Barber–Agakov bound H(Y) - CE of a
 * softmax probe trained on the same rows: BA <= I, and the MI estimate should reach it.
 */
import { add, crossEntropy, matmul, mi, optim, tensor, tidy, zeros } from '../../lib';
import { Rng } from '../../lib/data/rng';

const K = 4;
const SIGMA = 1;
const W = [[2, 0], [0, 2], [-2, -1], [1, -2]];

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 erf, |error| < 1.5e-7). */
function Phi(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** p(y | x) by the trapezoid rule on e in [-8, 8]. */
function posterior(x: [number, number]): number[] {
  const z = W.map((w) => w[0] * x[0] + w[1] * x[1]);
  const p = new Array(K).fill(0);
  const n = 400;
  const h = 16 / n;
  for (let s = 0; s <= n; ++s) {
    const e = -8 + s * h;
    const wgt = (s === 0 || s === n ? 0.5 : 1) * h * Math.exp(-0.5 * e * e) / Math.sqrt(2 * Math.PI);
    for (let k = 0; k < K; ++k) {
      let prod = 1;
      for (let j = 0; j < K; ++j) if (j !== k) prod *= Phi((z[k] - z[j]) / SIGMA + e);
      p[k] += wgt * prod;
    }
  }
  const tot = p.reduce((a, b) => a + b, 0);
  return p.map((v) => v / tot);
}

const entropy = (p: number[]): number => -p.reduce((a, v) => a + (v > 0 ? v * Math.log(v) : 0), 0);

function exactMi(samples: number, rng: Rng): number {
  const mean = new Array(K).fill(0);
  let condH = 0;
  for (let i = 0; i < samples; ++i) {
    const p = posterior([rng.normal(), rng.normal()]);
    condH += entropy(p);
    p.forEach((v, k) => (mean[k] += v / samples));
  }
  return entropy(mean) - condH / samples;
}

test('labels: estimate vs exact MI (integration + Monte Carlo) and the Barber–Agakov bound of a probe', async () => {
  const rng = new Rng(71);
  const exact = exactMi(4000, new Rng(72));
  const N = 8000;
  const xs = new Float32Array(N * 2);
  const ys = new Int32Array(N);
  for (let i = 0; i < N; ++i) {
    xs[2 * i] = rng.normal();
    xs[2 * i + 1] = rng.normal();
    let best = -Infinity;
    W.forEach((w, k) => {
      const v = w[0] * xs[2 * i] + w[1] * xs[2 * i + 1] + SIGMA * rng.normal();
      if (v > best) (best = v), (ys[i] = k);
    });
  }
  const x = tensor(xs, [N, 2]);
  const y = tensor(ys, [N]);
  const r = await mi.estimate(x, y, { estimator: 'smile', steps: 800, lr: 1e-3, smoothing: 3 });

  // Barber–Agakov: a linear softmax probe on the first 6000 rows, cross-entropy on the last 2000.
  const w = zeros([2, K]).requiresGrad_();
  const b = zeros([K]).requiresGrad_();
  const opt = new optim.Adam([w, b], { lr: 0.05 });
  const xTr = x.slice(0, 0, 6000);
  const yTr = y.slice(0, 0, 6000);
  for (let s = 0; s < 300; ++s) {
    tidy(() => crossEntropy(add(matmul(xTr, w), b), yTr).backward());
    opt.step();
    opt.zeroGrad();
  }
  const ce = tidy(() => crossEntropy(add(matmul(x.slice(0, 6000), w), b), y.slice(0, 6000)).item());
  const counts = new Array(K).fill(0);
  ys.forEach((k) => counts[k]++);
  const hy = entropy(counts.map((c) => c / N));
  const ba = hy - ce;
  process.stdout.write(`[mi] labels: exact ${exact.toFixed(3)}, estimate ${r.nats.toFixed(3)}, Barber–Agakov ${ba.toFixed(3)} nats\n`);
  expect(ba).toBeLessThan(exact + 0.05);
  expect(Math.abs(r.nats - exact)).toBeLessThan(Math.max(0.1, 0.15 * exact));
  expect(r.nats).toBeGreaterThan(ba - 0.1);
  opt.disposeState();
  for (const t of [x, y, w, b, xTr, yTr]) t.dispose();
});
