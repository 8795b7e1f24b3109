/**
 * linalg.test.ts — the float64 helpers and the PCA against independent references: eigen-
 * decomposition by its defining identities, Gaussian MI against the closed form and against a
 * determinant by elimination, the randomised PCA against the exact eigenvectors of the sample
 * covariance, the calibration's exact truth against the sample covariance of the frames the
 * pipeline actually produced.
 */
import { analysis } from '../../lib';
import { calibrationPair } from '../../lib/analysis/calibrate';
import { gaussianMi, logDetSpd, orthonormalizeColumns, symEig } from '../../lib/analysis/linalg';
import { project, reduceFrames } from '../../lib/analysis/reduce';
import { Rng } from '../../lib/data/rng';

/** ln det by Gaussian elimination with partial pivoting (an independent reference). */
function logDetElim(a: Float64Array, n: number): number {
  const m = Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n)));
  let ld = 0;
  for (let c = 0; c < n; ++c) {
    let p = c;
    for (let r = c + 1; r < n; ++r) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    ld += Math.log(Math.abs(m[c][c]));
    for (let r = c + 1; r < n; ++r) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k < n; ++k) m[r][k] -= f * m[c][k];
    }
  }
  return ld;
}

function randomSpd(n: number, rng: Rng): Float64Array {
  const g = Float64Array.from({ length: n * n }, () => rng.normal());
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; ++i) for (let j = 0; j < n; ++j) {
    let s = i === j ? 0.5 : 0;
    for (let k = 0; k < n; ++k) s += g[i * n + k] * g[j * n + k];
    a[i * n + j] = s;
  }
  return a;
}

/** Sample covariance (float64) of (n, d) rows. */
function covariance(data: ArrayLike<number>, n: number, d: number): Float64Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; ++i) for (let j = 0; j < d; ++j) mean[j] += data[i * d + j] / n;
  const c = new Float64Array(d * d);
  for (let i = 0; i < n; ++i) for (let j = 0; j < d; ++j) for (let k = j; k < d; ++k) c[j * d + k] += (data[i * d + j] - mean[j]) * (data[i * d + k] - mean[k]) / n;
  for (let j = 0; j < d; ++j) for (let k = 0; k < j; ++k) c[j * d + k] = c[k * d + j];
  return c;
}

test('symEig: A V = V Λ, Vᵀ V = I, descending eigenvalues (sizes 1, 7, 13)', () => {
  const rng = new Rng(5);
  for (const n of [1, 7, 13]) {
    const a = randomSpd(n, rng);
    const { values, vectors } = symEig(a, n);
    for (let i = 1; i < n; ++i) expect(values[i]).toBeLessThanOrEqual(values[i - 1]);
    for (let c = 0; c < n; ++c) {
      for (let i = 0; i < n; ++i) {
        let av = 0;
        for (let k = 0; k < n; ++k) av += a[i * n + k] * vectors[k * n + c];
        expect(Math.abs(av - values[c] * vectors[i * n + c])).toBeLessThan(1e-9 * Math.max(1, values[0]));
      }
      for (let c2 = 0; c2 < n; ++c2) {
        let dot = 0;
        for (let k = 0; k < n; ++k) dot += vectors[k * n + c] * vectors[k * n + c2];
        expect(Math.abs(dot - (c === c2 ? 1 : 0))).toBeLessThan(1e-10);
      }
    }
  }
});

test('gaussianMi: the closed form for correlated pairs; the determinant formula by elimination for a random joint covariance', () => {
  for (const [d, rho] of [[1, 0.5], [3, 0.9], [7, 0.2]] as const) {
    const n = 2 * d;
    const joint = new Float64Array(n * n);
    for (let i = 0; i < d; ++i) {
      joint[i * n + i] = joint[(d + i) * n + d + i] = 1;
      joint[i * n + d + i] = joint[(d + i) * n + i] = rho;
    }
    expect(gaussianMi(joint, d, d)).toBeCloseTo(-(d / 2) * Math.log(1 - rho * rho), 10);
  }
  const rng = new Rng(9);
  const [p, q] = [3, 5];
  const s = randomSpd(p + q, rng);
  const sub = (o: number, m: number): Float64Array => Float64Array.from({ length: m * m }, (_, i) => s[(o + Math.floor(i / m)) * (p + q) + o + (i % m)]);
  const ref = 0.5 * (logDetElim(sub(0, p), p) + logDetElim(sub(p, q), q) - logDetElim(s, p + q));
  expect(gaussianMi(s, p, q)).toBeCloseTo(ref, 9);
  expect(logDetSpd(s, p + q)).toBeCloseTo(logDetElim(s, p + q), 9);
  expect(() => logDetSpd(Float64Array.from([1, 2, 2, 1]), 2)).toThrow('[analysis] covariance is not positive definite');
});

test('fitPca: the subspace and variances of the exact eigenvectors of the sample covariance', () => {
  const rng = new Rng(21);
  const [n, d, k] = [3000, 13, 5];
  // Rows = z diag(√λ) Qᵀ with Q a random orthogonal basis and distinct λ.
  const q = Float64Array.from({ length: d * d }, () => rng.normal());
  const basis = symEig(covariance(q, d, d), d).vectors;
  const lam = Array.from({ length: d }, (_, i) => 4 / (1 + i) ** 1.5);
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; ++i) {
    const z = lam.map((l) => Math.sqrt(l) * rng.normal());
    for (let j = 0; j < d; ++j) data[i * d + j] = 3 + z.reduce((s, zc, c) => s + zc * basis[j * d + c], 0);
  }
  const cov = covariance(data, n, d);
  const exact = symEig(cov, d);
  const pca = analysis.fitPca({ data, n, d }, k, { seed: 3 });
  for (let r = 0; r < k; ++r) {
    let dot = 0;
    for (let j = 0; j < d; ++j) dot += pca.components[r * d + j] * exact.vectors[j * d + r];
    expect(Math.abs(dot)).toBeGreaterThan(0.9999);
    expect(Math.abs(pca.variances[r] - exact.values[r]) / exact.values[r]).toBeLessThan(1e-5);  // float32 products
  }
  const total = exact.values.reduce((a, b) => a + b, 0);
  expect(pca.explained).toBeCloseTo(exact.values.slice(0, k).reduce((a, b) => a + b, 0) / total, 5);
  // Projected frames: centred, uncorrelated, with the PCA's variances.
  const pr = project({ data, n, d }, pca);
  const pc = covariance(pr.data, n, k);
  for (let i = 0; i < k; ++i) for (let j = 0; j < k; ++j) expect(Math.abs(pc[i * k + j] - (i === j ? pca.variances[i] : 0))).toBeLessThan(1e-4 * pca.variances[0]);
  expect(() => analysis.fitPca({ data, n, d }, 14)).toThrow('[analysis.pca] k must be an integer in [1, 13], got 14');
});

test('reduceFrames: standardised components, noise of σ per component; channel capacity', () => {
  const rng = new Rng(2);
  const [n, d] = [4000, 6];
  const data = Float32Array.from({ length: n * d }, (_, i) => (i % d + 1) * rng.normal() + 7);
  const clean = reduceFrames({ data, n, d }, { k: null, sigma: 0, seed: 1, pcaSeed: 1 });
  const noisy = reduceFrames({ data, n, d }, { k: null, sigma: 0.5, seed: 1, pcaSeed: 1 });
  const cc = covariance(clean.frames.data, n, d);
  const cn = covariance(noisy.frames.data, n, d);
  for (let j = 0; j < d; ++j) {
    expect(cc[j * d + j]).toBeCloseTo(1, 6);
    expect(Math.abs(cn[j * d + j] - 1.25)).toBeLessThan(0.08);      // 1 + σ² (sampling error ~ 2.2%)
    expect(clean.stds[j]).toBeCloseTo(j + 1, 0);
  }
  expect(analysis.channelCapacity(16, 1)).toBeCloseTo(8 * Math.log(2), 12);
  expect(analysis.channelCapacity(4, 0)).toBe(Infinity);
});

test('calibration truth: the closed form without reduction; the Gaussian MI of the produced frames with PCA and noise', () => {
  // No PCA, no noise, dX = dT: the truth is -d/2 ln(1 - r²) = the level.
  const plain = calibrationPair({ dX: 6, dT: 6, n: 500, level: 1.3, k: null, sigma: 0, seed: 4 });
  expect(plain.truth).toBeCloseTo(1.3, 9);
  expect(plain.truth).toBeCloseTo(-3 * Math.log(1 - plain.r ** 2), 9);
  // PCA 30 -> 6 (X) and 20 -> 6 (T) with σ = 1: the truth from population covariances vs the
  // Gaussian MI of the sample covariance of the 20000 produced frames (SD ~0.01 nats, bias 36 / 2N).
  const n = 20000;
  const p = calibrationPair({ dX: 30, dT: 20, n, level: 1.5, k: 6, sigma: 1, seed: 8 });
  const joint = new Float32Array(n * 12);
  for (let i = 0; i < n; ++i) {
    joint.set(p.x.data.subarray(i * 6, i * 6 + 6), i * 12);
    joint.set(p.t.data.subarray(i * 6, i * 6 + 6), i * 12 + 6);
  }
  const sample = gaussianMi(covariance(joint, n, 12), 6, 6);
  process.stdout.write(`[analysis] calibration truth ${p.truth.toFixed(4)}, sample-covariance MI ${sample.toFixed(4)}\n`);
  expect(Math.abs(sample - p.truth) / p.truth).toBeLessThan(0.035);                // ~4 sampling SDs
  expect(p.truth).toBeGreaterThan(1.0);
  expect(p.truth).toBeLessThan(1.6);
});

describe('orthonormalizeColumns (thin QR)', () => {
  /** Classical Householder-free reference: Gram–Schmidt on columns as arrays, float64, twice. */
  function refQ(a: Float64Array, rows: number, cols: number): number[][] {
    const q = Array.from({ length: cols }, (_, j) => Array.from({ length: rows }, (_, i) => a[i * cols + j]));
    for (let pass = 0; pass < 2; ++pass) {
      for (let j = 0; j < cols; ++j) {
        for (let k = 0; k < j; ++k) {
          const d = q[j].reduce((s, x, i) => s + x * q[k][i], 0);
          q[j] = q[j].map((x, i) => x - d * q[k][i]);
        }
        const n = Math.sqrt(q[j].reduce((s, x) => s + x * x, 0));
        q[j] = q[j].map((x) => (n > 0 ? x / n : 0));
      }
    }
    return q;
  }
  function random(rows: number, cols: number, seed: number, scale: (j: number) => number): Float64Array {
    const rng = new Rng(seed);
    const a = new Float64Array(rows * cols);
    for (let i = 0; i < rows; ++i) for (let j = 0; j < cols; ++j) a[i * cols + j] = rng.normal() * scale(j);
    return a;
  }

  test.each([[2049, 26, 1], [129, 7, 1e4], [26, 26, 10], [1, 1, 1]])('(%d, %d), column scales up to %d: orthonormal, same span, the reference Q', (rows, cols, spread) => {
    const a = random(rows, cols, rows + cols, (j) => spread ** (j / Math.max(1, cols - 1)));
    const q = Float64Array.from(a);
    orthonormalizeColumns(q, rows, cols);
    const ref = refQ(a, rows, cols);
    let orth = 0, diff = 0;
    for (let j = 0; j < cols; ++j) {
      for (let k = 0; k < cols; ++k) {
        let d = 0;
        for (let i = 0; i < rows; ++i) d += q[i * cols + j] * q[i * cols + k];
        orth = Math.max(orth, Math.abs(d - (j === k ? 1 : 0)));
      }
      // the unique Q of a QR with positive diagonal: equal to the reference column by column
      for (let i = 0; i < rows; ++i) diff = Math.max(diff, Math.abs(q[i * cols + j] - ref[j][i]));
    }
    expect(orth).toBeLessThan(1e-12);
    expect(diff).toBeLessThan(1e-9);
  });

  test('a repeated column gives no NaN (the leading columns are unchanged); a NaN stays NaN', () => {
    const rows = 300, cols = 5;
    const a = random(rows, cols, 3, () => 1);
    for (let i = 0; i < rows; ++i) a[i * cols + 3] = a[i * cols + 1];
    const q = Float64Array.from(a);
    orthonormalizeColumns(q, rows, cols);
    expect(q.every(Number.isFinite)).toBe(true);
    const ref = refQ(a, rows, cols);
    for (const j of [0, 1, 2]) for (let i = 0; i < rows; ++i) expect(Math.abs(q[i * cols + j] - ref[j][i])).toBeLessThan(1e-9);
    const b = random(rows, cols, 4, () => 1);
    b[7 * cols + 2] = NaN;
    orthonormalizeColumns(b, rows, cols);
    expect(Number.isNaN(b[7 * cols + 2])).toBe(true);
  });
});
