/**
 * kmeans.ts — k-means on tensors (cpu or cuda, wherever the frames are), as the HuBERT recipe
 * clusters its targets: fairseq's examples/hubert/simple_kmeans/learn_kmeans.py fits sklearn's
 * MiniBatchKMeans (k-means++ init, n_init 20, batch 10000, max_iter 100, max_no_improvement 100,
 * tol 0, reassignment_ratio 0) and labels every frame with `predict`. Full-batch Lloyd is here too
 * (the reference the mini-batch result is checked against, and the better choice for small N).
 *
 * Glossary:
 *   X (N, D)          frames, float32 (bfloat16 is widened); N up to millions, D up to 1024
 *   K                 clusters; centroids (K, D)
 *   inertia           Σ_i min_k ||x_i - c_k||² over the frames given (mean per frame in `score`)
 *   mini-batch step   (Sculley 2010, sklearn ≥ 1.1) a batch of `batchSize` rows drawn with
 *                     replacement; each centroid with batch points moves to the running mean
 *                     (c·n_k + Σ x) / (n_k + b_k) with n_k its count so far
 *   steps             floor(maxIter · N / batchSize); stops early when the exponentially weighted
 *                     batch inertia (α = 2·batch / (N + 1)) has not improved for
 *                     maxNoImprovement steps (the first step is not counted, as sklearn)
 *   nInit             seedings tried (each k-means++ on `initSize` = 3·batchSize random rows);
 *                     the one with the lowest inertia on a held validation draw is kept
 *   empty cluster     a centroid with no point: Lloyd moves it to the frame farthest from its
 *                     centroid (sklearn's relocation); mini-batch re-seeds it on a random frame of
 *                     the current batch every ~10·K frames seen (and, with reassignmentRatio r > 0,
 *                     also any centroid whose count is < r · the largest count, as sklearn)
 *   chunk             rows per distance block: predict/inertia never hold an N×K matrix
 *
 * No NaN: a centroid with no points keeps its value or is re-seeded, never divided by 0; constant
 * frames give K equal centroids and inertia 0.
 */
import { Rng } from '../../audio/rng';
import { noGrad } from '../../autograd/tape';
import { loadSafetensors, saveSafetensors } from '../../io/safetensors';
import { add, div, gt, maximum, mul, square, sub, where } from '../../ops/elementwise';
import { indexSelect } from '../../ops/indexing';
import { mean, sum, variance } from '../../ops/reduce';
import { reshape } from '../../ops/shape';
import { tensor } from '../../tensor/creation';
import { keep, tidy } from '../../tensor/scope';
import { Tensor } from '../../tensor/tensor';
import { Device } from '../../tensor/types';
import { assign, clusterSums, defaultChunk, indexTensor, inertiaOf, kmeansPlusPlus, meansOrOld, nearest, prepare, release, rows } from './kmeans_ops';

export { kmeansPlusPlus, inertiaOf } from './kmeans_ops';

/** Options of KMeans; defaults are fairseq's learn_kmeans.py values (sklearn's in brackets). */
export interface KMeansOptions {
  /** Number of clusters K (HuBERT: 100 on MFCC, 500 on model features). */
  k: number;
  /** 'minibatch' (default, sklearn MiniBatchKMeans) or 'lloyd' (full-batch, sklearn KMeans). */
  algorithm?: 'minibatch' | 'lloyd';
  /** 'k-means++' (default) or 'random' (K distinct random rows). */
  init?: 'k-means++' | 'random';
  /** Seedings tried, best kept (default 20 [sklearn: 3 / 1 for lloyd]). */
  nInit?: number;
  /** Epochs for minibatch, iterations for lloyd (default 100 [sklearn lloyd: 300]). */
  maxIter?: number;
  /** Rows per mini-batch step (default 10000 [1024]). */
  batchSize?: number;
  /** Rows each seeding is drawn from (default 3 · batchSize, at least 3K, at most N; lloyd: N). */
  initSize?: number;
  /** Mini-batch early stop after this many steps without a lower smoothed inertia (default 100 [10]). */
  maxNoImprovement?: number;
  /** Stop when Σ||Δc||² <= tol · mean feature variance (default 0 for minibatch, 1e-4 for lloyd). */
  tol?: number;
  /** Mini-batch: re-seed centroids with count < ratio · max count (default 0 [0.01]); empty ones always. */
  reassignmentRatio?: number;
  /** Seed of every random draw (default 0): the same seed and data give the same centroids. */
  seed?: number;
  /** Rows per distance block (default 2^18 / K on the CPU, 2^24 / K on CUDA). */
  chunkSize?: number;
  /** Called after each step/iteration with its number and (smoothed) inertia per frame. */
  onStep?: (step: number, inertia: number) => void;
}

/** What `fit` learned besides the centroids. */
export interface KMeansFitInfo {
  /** Mini-batch steps or Lloyd iterations run. */
  steps: number;
  /** Lloyd: inertia (total) before each update, non-increasing; mini-batch: smoothed batch inertia per frame. */
  history: number[];
  /** Centroids re-seeded because they were empty (or under the reassignment ratio). */
  reseeded: number;
  /** Whether it stopped on tol / no improvement rather than on maxIter. */
  converged: boolean;
}

function fail(msg: string): never {
  throw new Error(`[KMeans] ${msg}`);
}

function posInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(`${name} must be an integer >= 1, got ${JSON.stringify(v)}`);
  return v;
}

/** Checks X is a 2-D float tensor with finite values; returns it as float32 (a new tensor if widened). */
function checkFrames(X: unknown, what: string, D?: number): Tensor {
  if (!(X instanceof Tensor)) fail(`${what} must be a Tensor (N, D), got ${X === null ? 'null' : typeof X}`);
  if (X.ndim !== 2) fail(`${what} must be (N, D), got (${X.shape.join(', ')})`);
  if (X.dtype === 'int32') fail(`${what} must be float32 or bfloat16, got int32`);
  if (D !== undefined && X.shape[1] !== D) fail(`${what} must have D = ${D} columns (the centroids'), got (${X.shape.join(', ')})`);
  const x = X.dtype === 'float32' ? X : X.to('float32');
  if (x.size > 0) {
    const total = noGrad(() => tidy(() => sum(x).item()));
    if (!Number.isFinite(total)) fail(`${what} contain NaN or Inf (their sum is ${total})`);
  }
  return x;
}

/**
 * k-means with k-means++ seeding, mini-batch (default) or Lloyd updates, on the device of the
 * frames. `fit(X (N, D))` learns `centroids` (K, D); `predict(X)` gives each row's nearest
 * centroid (Int32Array (N)) in blocks; `score(X)` the mean squared distance; `save`/`load` a
 * safetensors file. Seeded and deterministic for a given device.
 */
export class KMeans {
  readonly k: number;
  readonly opts: Readonly<Required<Omit<KMeansOptions, 'onStep' | 'initSize' | 'tol' | 'chunkSize'>>> & Pick<KMeansOptions, 'onStep' | 'initSize' | 'tol' | 'chunkSize'>;
  /** Centroids (K, D) after fit or load; null before. */
  centroids: Tensor | null = null;
  /** Frames each centroid absorbed during the last fit (K); null after load. */
  counts: Float64Array | null = null;
  /** Details of the last fit. */
  info: KMeansFitInfo | null = null;

  constructor(opts: KMeansOptions) {
    if (opts === null || typeof opts !== 'object') fail('expected options { k, ... }');
    const algorithm = opts.algorithm ?? 'minibatch';
    if (algorithm !== 'minibatch' && algorithm !== 'lloyd') fail(`algorithm must be 'minibatch' or 'lloyd', got ${JSON.stringify(algorithm)}`);
    const init = opts.init ?? 'k-means++';
    if (init !== 'k-means++' && init !== 'random') fail(`init must be 'k-means++' or 'random', got ${JSON.stringify(init)}`);
    const ratio = opts.reassignmentRatio ?? 0;
    if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)) fail(`reassignmentRatio must be in [0, 1], got ${JSON.stringify(ratio)}`);
    if (opts.tol !== undefined && !(typeof opts.tol === 'number' && opts.tol >= 0)) fail(`tol must be >= 0, got ${JSON.stringify(opts.tol)}`);
    this.k = posInt('k', opts.k);
    this.opts = {
      k: this.k, algorithm, init, reassignmentRatio: ratio,
      nInit: posInt('nInit', opts.nInit ?? 20),
      maxIter: posInt('maxIter', opts.maxIter ?? 100),
      batchSize: posInt('batchSize', opts.batchSize ?? 10000),
      maxNoImprovement: posInt('maxNoImprovement', opts.maxNoImprovement ?? 100),
      seed: opts.seed ?? 0,
      chunkSize: opts.chunkSize === undefined ? undefined : posInt('chunkSize', opts.chunkSize),
      initSize: opts.initSize === undefined ? undefined : posInt('initSize', opts.initSize),
      tol: opts.tol,
      onStep: opts.onStep,
    };
  }

  /** Rows per distance block on `device` (the chunkSize option, else defaultChunk). */
  private chunk(device: Device): number {
    return this.opts.chunkSize ?? defaultChunk(this.k, device);
  }

  /** Feature dimension D of the fitted centroids. */
  get dim(): number {
    return this.need('dim').shape[1];
  }

  private need(op: string): Tensor {
    if (!this.centroids || this.centroids.isDisposed) fail(`${op}: not fitted; call fit(X) or KMeans.load(file) first`);
    return this.centroids;
  }

  private setCentroids(c: Tensor): void {
    if (this.centroids && this.centroids !== c) this.centroids.dispose();
    this.centroids = keep(c);
  }

  /** Learns K centroids from frames X (N, D), N >= K; returns this. Replaces earlier centroids. */
  fit(X: Tensor): this {
    const x = checkFrames(X, 'frames');
    const [N] = x.shape;
    if (N < this.k) fail(`need at least K = ${this.k} frames to fit, got ${N}`);
    try {
      noGrad(() => (this.opts.algorithm === 'lloyd' ? this.fitLloyd(x) : this.fitMiniBatch(x)));
    } finally {
      if (x !== X) x.dispose();
    }
    return this;
  }

  /** Seeds centroids from `sample` (n, D) with the configured init. */
  private seedFrom(sample: Tensor, rng: Rng): Tensor {
    if (this.opts.init === 'k-means++') return kmeansPlusPlus(sample, this.k, rng).centroids;
    const n = sample.shape[0];
    const pool = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < this.k; ++i) {
      const j = i + Math.floor(rng.uniform() * (n - i));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    return tidy(() => indexSelect(sample, 0, indexTensor(pool.slice(0, this.k), sample)));
  }

  /** Draws n row indices of [0, N) with replacement. */
  private static draw(rng: Rng, N: number, n: number): Int32Array {
    const idx = new Int32Array(n);
    for (let i = 0; i < n; ++i) idx[i] = Math.floor(rng.uniform() * N);
    return idx;
  }

  /** The best of nInit seedings by inertia on `valid` (n, D). */
  private bestSeeding(x: Tensor, rng: Rng, initSize: number, valid: Tensor | null): Tensor {
    let best: Tensor | null = null, bestInertia = Infinity;
    for (let i = 0; i < this.opts.nInit; ++i) {
      const c = tidy(() => {
        const sample = initSize >= x.shape[0] ? x : indexSelect(x, 0, indexTensor(KMeans.draw(rng, x.shape[0], initSize), x));
        return this.seedFrom(sample, rng);
      });
      const inertia = inertiaOf(valid ?? x, c, this.chunk(x.device));
      if (inertia < bestInertia) {
        best?.dispose();
        best = c;
        bestInertia = inertia;
      } else {
        c.dispose();
      }
    }
    return best!;
  }

  private fitMiniBatch(x: Tensor): void {
    const o = this.opts, K = this.k, N = x.shape[0], rng = new Rng(o.seed);
    const batch = Math.min(o.batchSize, N);
    const initSize = Math.min(N, o.initSize ?? Math.max(3 * batch, 3 * K));
    const valid = tidy(() => indexSelect(x, 0, indexTensor(KMeans.draw(rng, N, initSize), x)));
    let C = this.bestSeeding(x, rng, initSize, valid);
    valid.dispose();
    let counts = tensor(new Float32Array(K), [K], { device: x.device }); // (K) frames absorbed
    const steps = Math.max(1, Math.floor((o.maxIter * N) / batch));
    const alpha = Math.min(1, (2 * batch) / (N + 1));
    const tolAbs = o.tol ? o.tol * meanVariance(x) : 0;
    const history: number[] = [];
    let ewa: number | null = null, ewaMin = Infinity, noImprove = 0, sinceReassign = 0, reseeded = 0, converged = false, step = 0;
    for (; step < steps; ++step) {
      const idx = KMeans.draw(rng, N, batch);
      const r = tidy(() => {
        const xb = indexSelect(x, 0, indexTensor(idx, x)); // (b, D)
        const p = prepare(C);
        const { labels, dist } = assign(xb, p);
        const { sums, counts: bc } = clusterSums(xb, labels, K); // (K, D), (K)
        const n0 = reshape(counts, [K, 1]), total = add(counts, bc); // (K, 1), (K)
        // running mean: (c · n + Σx) / (n + b) where the batch has points; unchanged elsewhere
        const moved = where(gt(reshape(bc, [K, 1]), 0), div(add(mul(C, n0), sums), maximum(reshape(total, [K, 1]), 1)), C);
        const shift = o.tol ? sum(square(sub(moved, C))).item() : 0;
        return { C: moved, counts: total, inertia: sum(dist).item() / batch, shift };
      });
      C.dispose();
      counts.dispose();
      C = r.C;
      counts = r.counts;
      sinceReassign += batch;
      if (sinceReassign > 10 * K) {
        sinceReassign = 0;
        const out = this.reassign(C, counts, idx, x, rng);
        if (out) {
          reseeded += out.n;
          C.dispose();
          counts.dispose();
          C = out.C;
          counts = out.counts;
        }
      }
      // sklearn's _mini_batch_convergence: skip the first step, then smooth and watch for a new low.
      if (step === 0) continue;
      ewa = ewa === null ? r.inertia : ewa * (1 - alpha) + r.inertia * alpha;
      history.push(ewa);
      o.onStep?.(step, ewa);
      if (o.tol && r.shift <= tolAbs) { converged = true; step += 1; break; }
      if (ewa < ewaMin) { ewaMin = ewa; noImprove = 0; } else if (++noImprove >= o.maxNoImprovement) { converged = true; step += 1; break; }
    }
    this.setCentroids(C);
    this.counts = Float64Array.from(counts.dataSync());
    counts.dispose();
    this.info = { steps: step, history, reseeded, converged };
  }

  /** Re-seeds empty centroids (and, with reassignmentRatio > 0, those with count < ratio · max) on
   *  distinct random frames of the last batch; their count becomes the smallest kept count. */
  private reassign(C: Tensor, counts: Tensor, batchIdx: Int32Array, x: Tensor, rng: Rng): { C: Tensor; counts: Tensor; n: number } | null {
    const K = this.k;
    const cnt = counts.dataSync() as Float32Array;
    let maxCount = 0;
    for (const c of cnt) maxCount = Math.max(maxCount, c);
    const which: number[] = [];
    for (let k = 0; k < K; ++k) if (cnt[k] === 0 || cnt[k] < this.opts.reassignmentRatio * maxCount) which.push(k);
    if (which.length === 0 || which.length === K) return null;
    const n = Math.min(which.length, Math.floor(batchIdx.length / 2) || 1);
    const pick = which.slice(0, n);
    const pool = Array.from(batchIdx);
    for (let i = 0; i < n; ++i) {
      const j = i + Math.floor(rng.uniform() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    let keptMin = Infinity;
    for (let k = 0; k < K; ++k) if (!which.includes(k)) keptMin = Math.min(keptMin, cnt[k]);
    const newCounts = Float32Array.from(cnt);
    pick.forEach((k) => (newCounts[k] = keptMin));
    return tidy(() => {
      const mask = new Float32Array(K), rowsIdx = new Int32Array(K);
      pick.forEach((k, i) => { mask[k] = 1; rowsIdx[k] = pool[i]; });
      const seeds = indexSelect(x, 0, tensor(rowsIdx, [K], { device: x.device, dtype: 'int32' })); // (K, D)
      const m = tensor(mask, [K, 1], { device: x.device });
      return { C: where(m, seeds, C), counts: tensor(newCounts, [K], { device: x.device }), n };
    });
  }

  private fitLloyd(x: Tensor): void {
    const o = this.opts, K = this.k, N = x.shape[0], rng = new Rng(o.seed);
    const initSize = Math.min(N, o.initSize ?? N);
    let C = this.bestSeeding(x, rng, initSize, null);
    const tolAbs = (o.tol ?? 1e-4) * meanVariance(x);
    const history: number[] = [];
    let reseeded = 0, converged = false, it = 0, counts = new Float64Array(K);
    for (; it < o.maxIter; ++it) {
      const { sums, cnt, inertia } = this.accumulate(x, C);
      history.push(inertia);
      o.onStep?.(it, inertia / N);
      let next = tidy(() => meansOrOld(sums, tensor(cnt, [K], { device: x.device }), C));
      sums.dispose();
      counts = Float64Array.from(cnt);
      const empty: number[] = [];
      cnt.forEach((c, k) => { if (c === 0) empty.push(k); });
      if (empty.length) {
        const far = this.farthest(x, C, empty.length);
        reseeded += empty.length;
        const moved = tidy(() => {
          const mask = new Float32Array(K), rowsIdx = new Int32Array(K);
          empty.forEach((k, i) => { mask[k] = 1; rowsIdx[k] = far[i]; });
          return where(tensor(mask, [K, 1], { device: x.device }), indexSelect(x, 0, tensor(rowsIdx, [K], { device: x.device, dtype: 'int32' })), next);
        });
        next.dispose();
        next = moved;
      }
      const shift = tidy(() => sum(square(sub(next, C))).item());
      C.dispose();
      C = next;
      if (shift <= tolAbs && empty.length === 0) { converged = true; it += 1; break; }
    }
    this.setCentroids(C);
    this.counts = counts;
    this.info = { steps: it, history, reseeded, converged };
  }

  /** One pass over x in blocks: per-cluster sums (K, D) (a tensor), counts (host) and total inertia. */
  private accumulate(x: Tensor, C: Tensor): { sums: Tensor; cnt: Float32Array; inertia: number } {
    const K = this.k, N = x.shape[0], ch = this.chunk(x.device);
    const p = prepare(C);
    let sums: Tensor | null = null, counts: Tensor | null = null, inertia = 0;
    for (let s = 0; s < N; s += ch) {
      const r = tidy(() => {
        const xb = rows(x, s, Math.min(N, s + ch));
        const { labels, dist } = assign(xb, p);
        const cs = clusterSums(xb, labels, K);
        return { sums: sums ? add(sums, cs.sums) : cs.sums, counts: counts ? add(counts, cs.counts) : cs.counts, inertia: sum(dist).item() };
      });
      sums?.dispose();
      counts?.dispose();
      sums = r.sums;
      counts = r.counts;
      inertia += r.inertia;
    }
    release(p);
    const cnt = counts!.dataSync() as Float32Array;
    counts!.dispose();
    return { sums: sums!, cnt, inertia };
  }

  /** Indices of the m frames farthest from their nearest centroid (sklearn's empty-cluster relocation). */
  private farthest(x: Tensor, C: Tensor, m: number): number[] {
    const N = x.shape[0], ch = this.chunk(x.device);
    const d = new Float32Array(N);
    const p = prepare(C);
    for (let s = 0; s < N; s += ch) d.set(tidy(() => assign(rows(x, s, Math.min(N, s + ch)), p).dist.dataSync()), s);
    release(p);
    return Array.from(d.keys()).sort((a, b) => d[b] - d[a] || a - b).slice(0, m);
  }

  /** Nearest centroid of every row of X (N, D) -> Int32Array (N), in blocks of `chunkSize` rows. */
  predict(X: Tensor): Int32Array {
    const C = this.need('predict');
    const x = checkFrames(X, 'frames', C.shape[1]);
    const N = x.shape[0], ch = this.chunk(x.device), out = new Int32Array(N);
    noGrad(() => {
      const Cx = C.device === x.device ? C : C.to(x.device);
      const p = prepare(Cx);
      for (let s = 0; s < N; s += ch) out.set(tidy(() => nearest(rows(x, s, Math.min(N, s + ch)), p).dataSync()), s);
      release(p);
      if (Cx !== C) Cx.dispose();
    });
    if (x !== X) x.dispose();
    return out;
  }

  /** Total squared distance of the rows of X (N, D) to their nearest centroid. */
  inertia(X: Tensor): number {
    const C = this.need('inertia');
    const x = checkFrames(X, 'frames', C.shape[1]);
    const Cx = C.device === x.device ? C : C.to(x.device);
    try {
      return inertiaOf(x, Cx, this.chunk(x.device));
    } finally {
      if (Cx !== C) Cx.dispose();
      if (x !== X) x.dispose();
    }
  }

  /** Mean squared distance per frame (fairseq logs -score / N as the k-means inertia). */
  score(X: Tensor): number {
    return X.shape[0] === 0 ? 0 : this.inertia(X) / X.shape[0];
  }

  /** Moves the centroids to `device`; returns this. */
  to(device: Device): this {
    const C = this.need('to');
    if (C.device !== device) this.setCentroids(C.to(device));
    return this;
  }

  /** Writes the centroids (K, D) and the options as safetensors metadata, atomically. */
  save(file: string): void {
    const C = this.need('save');
    const { onStep: _onStep, ...rest } = this.opts;
    saveSafetensors(file, { centroids: C }, { format: 'mamba-speech.kmeans', version: '1', options: JSON.stringify(rest) });
  }

  /** Reads a file written by `save`; the centroids go to `device` (default: the default device). */
  static load(file: string, opts: { device?: Device } = {}): KMeans {
    const { tensors, metadata } = loadSafetensors(file, { device: opts.device, asFloat32: true });
    const C = tensors.centroids;
    const drop = () => Object.values(tensors).forEach((t) => t !== C && t.dispose());
    if (!C || C.ndim !== 2 || metadata.format !== 'mamba-speech.kmeans') {
      drop();
      C?.dispose();
      fail(`${file} is not a k-means file (expected a 'centroids' (K, D) tensor and format 'mamba-speech.kmeans')`);
    }
    drop();
    let saved: Partial<KMeansOptions> = {};
    try {
      saved = JSON.parse(metadata.options ?? '{}');
    } catch { /* options are informational; K comes from the tensor */ }
    const km = new KMeans({ ...saved, k: C.shape[0] });
    km.setCentroids(C);
    return km;
  }

  /** Frees the centroids. */
  dispose(): void {
    this.centroids?.dispose();
    this.centroids = null;
  }
}

/** Mean over features of the per-feature variance of X (sklearn's scale for tol). */
function meanVariance(x: Tensor): number {
  return noGrad(() => tidy(() => mean(variance(x, 0, { correction: 0 })).item()));
}
