/**
 * data.ts — inputs to host arrays (checked, standardised, labels one-hot), the seeded splits
 * and batch orders, and the statistics of the report.
 *
 * Every random choice comes from its own stream, Rng(deriveSeed(seed, purpose, ...)), so a run
 * with seed s picks the same split, batches and negatives whether it runs alone or stacked with
 * other pairs and seeds in estimateMany — the basis of the one-by-one equivalence.
 */
import { deriveSeed, Rng } from '../data/rng';
import { describe, Tensor } from '../tensor/tensor';
import { fail, Resolved } from './options';

/** One (x, y) pair ready for training: row-major float32 (N, dx) and (N, dy). */
export interface PairData {
  N: number;
  dx: number;
  dy: number;
  /** Classes when y were int32 labels (then y is one-hot), else 0. */
  classes: number;
  x: Float32Array;
  y: Float32Array;
}

function rows(op: string, name: string, t: unknown): { n: number; d: number } {
  if (!(t instanceof Tensor)) fail(op, `${name} must be a Tensor, got ${describe(t)}`);
  if (t.ndim !== 1 && t.ndim !== 2) fail(op, `${name} must be (N, d) or (N), got (${t.shape.join(', ')})`);
  return { n: t.shape[0], d: t.ndim === 2 ? t.shape[1] : 1 };
}

/** z-score each column in place (float64 statistics); constant columns are only centred. */
function standardize(a: Float32Array, n: number, d: number): void {
  for (let j = 0; j < d; ++j) {
    let s = 0;
    for (let i = 0; i < n; ++i) s += a[i * d + j];
    const m = s / n;
    let v = 0;
    for (let i = 0; i < n; ++i) v += (a[i * d + j] - m) ** 2;
    const sd = Math.sqrt(v / n);
    const inv = sd > 0 ? 1 / sd : 1;
    for (let i = 0; i < n; ++i) a[i * d + j] = (a[i * d + j] - m) * inv;
  }
}

/** Held-out rows for N pairs (0 in paper mode). */
export function heldOutCount(N: number, r: Resolved): number {
  return r.heldOut === 0 ? 0 : Math.max(2, Math.round(r.heldOut * N));
}

/** Reads and checks one pair: N match, N large enough, finite values, labels >= 0. */
export function preparePair(op: string, x: unknown, y: unknown, r: Resolved): PairData {
  const rx = rows(op, 'x', x);
  const ry = rows(op, 'y', y);
  const xt = x as Tensor;
  const yt = y as Tensor;
  if (rx.n !== ry.n) fail(op, `x and y must have the same number of rows N: x is (${xt.shape.join(', ')}), y is (${yt.shape.join(', ')})`);
  const N = rx.n;
  if (xt.dtype === 'int32') fail(op, 'x must be float32 or bfloat16; int32 is accepted for y (labels) only');
  const held = heldOutCount(N, r);
  if (N - held < r.batchSize) {
    fail(op, r.heldOut === 0
      ? `N = ${N} pairs is fewer than batchSize = ${r.batchSize}`
      : `N = ${N} pairs leave ${N - held} training pairs after heldOut = ${r.heldOut}, fewer than batchSize = ${r.batchSize}`);
  }
  const xs = Float32Array.from(xt.dataSync());
  for (let i = 0; i < xs.length; ++i) if (!Number.isFinite(xs[i])) fail(op, `x has a non-finite value (${xs[i]}) at row ${Math.floor(i / rx.d)}, column ${i % rx.d}`);
  let ys: Float32Array;
  let dy = ry.d;
  let classes = 0;
  if (yt.dtype === 'int32') {
    if (yt.ndim !== 1) fail(op, `int32 labels y must be (N), got (${yt.shape.join(', ')})`);
    const lab = yt.dataSync();
    for (let i = 0; i < N; ++i) {
      if (lab[i] < 0) fail(op, `labels must be >= 0, got ${lab[i]} at row ${i}`);
      classes = Math.max(classes, lab[i] + 1);
    }
    dy = classes;
    ys = new Float32Array(N * dy);
    for (let i = 0; i < N; ++i) ys[i * dy + lab[i]] = 1;
  } else {
    ys = Float32Array.from(yt.dataSync());
    for (let i = 0; i < ys.length; ++i) if (!Number.isFinite(ys[i])) fail(op, `y has a non-finite value (${ys[i]}) at row ${Math.floor(i / ry.d)}, column ${i % ry.d}`);
    if (r.standardize) standardize(ys, N, dy);
  }
  if (r.standardize) standardize(xs, N, rx.d);
  return { N, dx: rx.d, dy, classes, x: xs, y: ys };
}

/** Fisher–Yates on a copy of `a` (or 0..n-1). */
export function shuffled(rng: Rng, a: Int32Array): Int32Array {
  const out = Int32Array.from(a);
  for (let i = out.length - 1; i > 0; --i) {
    const j = rng.int(0, i);
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

/**
 * A uniformly random cyclic permutation of 0..n-1 (Sattolo's algorithm): p[i] !== i for n >= 2.
 * Shuffled negatives must be derangements. A plain permutation leaves ~1 row per batch paired
 * with its own y, a joint sample inside the marginal term, where e^T is largest: at d = 20 and
 * 4 nats E_p[e^T*] = 1 + χ² = e^8 ≈ 3000 for the optimal critic, so one such row in 256 would
 * lift mean e^T from 1 to ~13. Trained critics flatten T to limit it and end ~0.6 nats low
 * (MINE, batch 256: 3.13 vs 3.72 nats).
 */
export function derangement(rng: Rng, n: number): Int32Array {
  const p = iota(n);
  for (let i = n - 1; i > 0; --i) {
    const j = rng.int(0, i - 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

export function iota(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; ++i) a[i] = i;
  return a;
}

/** The split of run `seed`: train and held-out row indices (paper mode: all rows, both). */
export function split(N: number, seed: number, r: Resolved): { train: Int32Array; held: Int32Array } {
  if (r.heldOut === 0) return { train: iota(N), held: iota(N) };
  const h = heldOutCount(N, r);
  const p = shuffled(new Rng(deriveSeed(seed, 'split', N)), iota(N));
  return { held: p.slice(0, h), train: p.slice(h) };
}

/** Batches of B training rows: a fresh permutation each epoch, the remainder dropped (as the paper's batch()). */
export class BatchOrder {
  private readonly rng: Rng;
  private perm: Int32Array = new Int32Array(0);
  private pos = 0;
  readonly perEpoch: number;
  constructor(private readonly train: Int32Array, private readonly B: number, seed: number) {
    this.rng = new Rng(deriveSeed(seed, 'batches'));
    this.perEpoch = Math.floor(train.length / B);
  }
  /** Writes the next batch's rows (plus `offset`) into out[at .. at + B). */
  next(out: Int32Array, at: number, offset: number): void {
    if (this.perm.length === 0 || this.pos + this.B > this.perEpoch * this.B) {
      this.perm = shuffled(this.rng, this.train);
      this.pos = 0;
    }
    for (let i = 0; i < this.B; ++i) out[at + i] = this.perm[this.pos + i] + offset;
    this.pos += this.B;
  }
}

/** Two-sided 95% Student t quantiles for df = 1..30; 1.96 beyond. */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** Mean and, for n > 1, the 95% t-interval of the mean over seeds. */
export function meanCi(v: number[]): { mean: number; ci?: [number, number] } {
  const n = v.length;
  const m = v.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean: m };
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1));
  const half = (n - 1 <= 30 ? T975[n - 2] : 1.96) * sd / Math.sqrt(n);
  return { mean: m, ci: [m - half, m + half] };
}
