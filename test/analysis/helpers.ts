/**
 * helpers.ts — known-answer models for the analysis tests.
 *
 *   LinearGaussianLayer  T = T_prev Aᵀ + σ ε (ε ~ N(0, I), fresh each call): an nn.Encoder layer
 *                        whose hidden states are jointly Gaussian with the input
 *   StackModel           a TaskModel over an nn.Encoder of such layers: hiddenStates gives
 *                        hs[0] = X (the batch's input) .. hs[L]
 *   stackTruth           exact I(X; T_l) for X ~ N(0, I_d): T_l = M_l X + N_l, from the covariances
 *   thresholdTruth       I(T_l; Y) for Y = 1[wᵀX > 0] by Monte Carlo over T_l with the exact
 *                        posterior P(Y = 1 | t) = Φ(mean(wᵀX | t) / sd(wᵀX | t))
 */
import { add, matmul, nn, noGrad, randn, tensor, Tensor, tidy, transpose } from '../../lib';
import type { Device, models } from '../../lib';
import { gaussianMi } from '../../lib/analysis/linalg';
import { Rng } from '../../lib/data/rng';

export class LinearGaussianLayer extends nn.Module {
  private calls = 0;
  constructor(readonly A: number[][], readonly sigma: number, readonly seed: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const d = this.A.length;
      const at = tensor(Float32Array.from(this.A.flat()), [d, d], { device: x.device });
      let y = matmul(x, transpose(at));                                 // (B, L, d)
      if (this.sigma > 0) y = add(y, randn(x.shape, { seed: this.seed * 1000 + this.calls++, device: x.device }).mul(this.sigma));
      return y;
    });
  }
}

export interface StackBatch { ids: string[]; x: Tensor; lengths: Int32Array }

export class StackModel extends nn.Module implements models.TaskModel<StackBatch> {
  readonly task = 'known-answer';
  readonly encoder: nn.Encoder;
  constructor(readonly layers: LinearGaussianLayer[]) {
    super();
    this.encoder = this.module('encoder', new nn.Encoder(layers as unknown as nn.EncoderLayer[]));
  }
  hiddenStates(batch: StackBatch): models.HiddenStates {
    const out = noGrad(() => this.encoder.forward(batch.x, batch.lengths, { hiddenStates: true }));
    out.out !== out.hiddenStates![out.hiddenStates!.length - 1] && out.out.dispose();
    return { states: out.hiddenStates!, lengths: batch.lengths, subsampling: 1, inputs: batch.x, inputLengths: batch.lengths };
  }
  loss(): never { throw new Error('unused'); }
  async evaluate(): Promise<Record<string, number>> { return {}; }
  toConfig(): Record<string, unknown> { return {}; }
  override numParameters(): number { return 0; }
  override forward(): never { throw new Error('unused'); }
}

/** Batches of utterances with X ~ N(0, I_d): lengths drawn in [minLen, maxLen], right padding filled with `pad`. */
export function gaussianBatches(o: { utterances: number; batchSize: number; d: number; minLen: number; maxLen: number; seed: number; pad?: number; device?: Device }): StackBatch[] {
  const rng = new Rng(o.seed);
  const out: StackBatch[] = [];
  for (let u = 0; u < o.utterances; u += o.batchSize) {
    const B = Math.min(o.batchSize, o.utterances - u);
    const lengths = Int32Array.from({ length: B }, () => rng.int(o.minLen, o.maxLen));
    const T = Math.max(...lengths);
    const data = new Float32Array(B * T * o.d);
    for (let b = 0; b < B; ++b) for (let t = 0; t < T; ++t) for (let j = 0; j < o.d; ++j) {
      const v = rng.normal();
      data[(b * T + t) * o.d + j] = t < lengths[b] ? v : (o.pad ?? 0) * v;
    }
    out.push({ ids: Array.from({ length: B }, (_, b) => `u${u + b}`), x: tensor(data, [B, T, o.d], { device: o.device }), lengths });
  }
  return out;
}

type Mat = number[][];
const mul = (a: Mat, b: Mat): Mat => a.map((r) => b[0].map((_, j) => r.reduce((s, v, k) => s + v * b[k][j], 0)));
const tr = (a: Mat): Mat => a[0].map((_, j) => a.map((r) => r[j]));
const plus = (a: Mat, b: Mat): Mat => a.map((r, i) => r.map((v, j) => v + b[i][j]));
const eye = (d: number, s = 1): Mat => Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? s : 0)));

/** Per layer l (1..L): M_l and the noise covariance of T_l = M_l X + N_l. */
export function stackMoments(layers: Array<{ A: Mat; sigma: number }>): Array<{ M: Mat; noise: Mat }> {
  const d = layers[0].A.length;
  let M = eye(d);
  let noise = eye(d, 0);
  return layers.map(({ A, sigma }) => {
    M = mul(A, M);
    noise = plus(mul(mul(A, noise), tr(A)), eye(d, sigma * sigma));
    return { M, noise };
  });
}

/** Exact I(X; T_l) in nats for X ~ N(0, I_d), per layer. */
export function stackTruth(layers: Array<{ A: Mat; sigma: number }>): number[] {
  const d = layers[0].A.length;
  return stackMoments(layers).map(({ M, noise }) => {
    const stt = plus(mul(M, tr(M)), noise);
    const joint = new Float64Array(4 * d * d);
    for (let i = 0; i < 2 * d; ++i) for (let j = 0; j < 2 * d; ++j) {
      joint[i * 2 * d + j] = i < d && j < d ? (i === j ? 1 : 0) : i < d ? M[j - d][i] : j < d ? M[i - d][j] : stt[i - d][j - d];
    }
    return gaussianMi(joint, d, d);
  });
}

function Phi(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Solves S a = b (S symmetric positive definite, small) by Gaussian elimination. */
function solve(S: Mat, b: number[]): number[] {
  const n = b.length;
  const a = S.map((r, i) => [...r, b[i]]);
  for (let c = 0; c < n; ++c) {
    for (let r = c + 1; r < n; ++r) {
      const f = a[r][c] / a[c][c];
      for (let k = c; k <= n; ++k) a[r][k] -= f * a[c][k];
    }
  }
  const x = new Array(n).fill(0);
  for (let r = n - 1; r >= 0; --r) x[r] = (a[r][n] - a[r].slice(r + 1, n).reduce((s, v, k) => s + v * x[r + 1 + k], 0)) / a[r][r];
  return x;
}

/** I(T_l; Y) for Y = 1[wᵀX > 0], X ~ N(0, I), by Monte Carlo (`samples` draws of T_l). */
export function thresholdTruth(layers: Array<{ A: Mat; sigma: number }>, w: number[], samples: number, seed: number): number[] {
  const d = w.length;
  const rng = new Rng(seed);
  const hb = (p: number): number => (p <= 0 || p >= 1 ? 0 : -p * Math.log(p) - (1 - p) * Math.log(1 - p));
  return stackMoments(layers).map(({ M, noise }) => {
    const stt = plus(mul(M, tr(M)), noise);
    const cst = M.map((r) => r.reduce((s, v, k) => s + v * w[k], 0));   // Cov(T, wᵀX) = M w
    const a = solve(stt, cst);                                          // E[wᵀX | t] = aᵀ t
    const v = w.reduce((s, x) => s + x * x, 0) - a.reduce((s, x, i) => s + x * cst[i], 0);
    // T = M X + N: draw X and N (N from its covariance via Cholesky).
    const L = eye(d, 0);
    for (let j = 0; j < d; ++j) {
      let s = noise[j][j];
      for (let k = 0; k < j; ++k) s -= L[j][k] ** 2;
      L[j][j] = Math.sqrt(Math.max(s, 1e-12));
      for (let i = j + 1; i < d; ++i) {
        let t = noise[i][j];
        for (let k = 0; k < j; ++k) t -= L[i][k] * L[j][k];
        L[i][j] = t / L[j][j];
      }
    }
    let condH = 0;
    for (let s = 0; s < samples; ++s) {
      const x = Array.from({ length: d }, () => rng.normal());
      const e = Array.from({ length: d }, () => rng.normal());
      const t = M.map((r, i) => r.reduce((acc, m, k) => acc + m * x[k], 0) + L[i].reduce((acc, l, k) => acc + l * e[k], 0));
      condH += hb(Phi(a.reduce((acc, ai, i) => acc + ai * t[i], 0) / Math.sqrt(Math.max(v, 1e-12))));
    }
    return Math.log(2) - condH / samples;
  });
}
