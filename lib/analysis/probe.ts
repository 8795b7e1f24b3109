/**
 * probe.ts — I(T; Y) for discrete Y as H(Y) − CE of a probe classifier evaluated on held-out
 * frames: the Barber–Agakov lower bound I(T; Y) >= H(Y) + E log q(y | t) for any classifier q.
 *
 * Glossary:
 *   P        probes trained together (one per seed; all on the same layer), weights (P, in, out)
 *   split    per seed: 20% of the labelled frames held out for the report; of the rest, 10%
 *            validate (early stopping, best weights kept), 90% train. With utterance ids (at
 *            least 10 utterances) whole utterances are assigned, so no test frame has its
 *            neighbour (a near copy) in training
 *   H(Y)     cross-entropy of the training split's class frequencies (add-½ smoothing) on the
 *            held-out labels: the same held-out frames and the same estimator form as the CE,
 *            so H − CE is an honest held-out bound (a plug-in H on all frames would not be)
 *   probe    'linear' (softmax regression, the standard probe) or an MLP (hidden widths, ReLU)
 * Inputs are the layer's full frames, z-scored with the training split's statistics.
 */
import { noGrad } from '../autograd/tape';
import { native } from '../native';
import { deriveSeed, Rng } from '../data/rng';
import { kaimingUniform, uniform } from '../nn/init';
import { add, relu } from '../ops/elementwise';
import { indexSelect } from '../ops/indexing';
import { crossEntropy } from '../ops/loss';
import { matmul } from '../ops/matmul';
import { logSoftmax } from '../ops/reduce';
import { reshape, stack, transpose } from '../ops/shape';
import { Adam } from '../optim/adam';
import { tensor } from '../tensor/creation';
import { keep, tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { Device } from '../tensor/types';
import { Frames } from './reduce';

export interface ProbeOptions {
  /** [] = linear (default); e.g. [256] for a one-hidden-layer MLP. */
  hidden?: number[];
  /** Optimiser steps at most (default 1500); early stopping on the validation frames. */
  steps?: number;
  batchSize?: number;
  /** Adam learning rate (default 3e-3). */
  lr?: number;
  /** Validation checks without improvement before stopping (default 6, one check per steps / 30). */
  patience?: number;
}

/** One layer's probe result over seeds. */
export interface ProbeResult {
  /** H(Y) − CE per seed (nats). */
  perSeed: number[];
  /** Held-out cross-entropy of the probe, of the class prior (= H(Y)), and accuracy, per seed. */
  ce: number[];
  entropy: number[];
  accuracy: number[];
  /** Accuracy of always answering the training split's most frequent class (per seed). */
  chance: number[];
  steps: number[];
}

interface Split { train: Int32Array; val: Int32Array; test: Int32Array }

function shuffle(a: Int32Array, rng: Rng): Int32Array {
  const p = Int32Array.from(a);
  for (let i = p.length - 1; i > 0; --i) {
    const j = rng.int(0, i);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** Frames split at random, or whole groups (utterances) when `groups` has at least 10 of them. */
function splitRows(rows: Int32Array, seed: number, groups: Int32Array | null): Split {
  const rng = new Rng(deriveSeed(seed, 'probe-split'));
  const ids = groups ? [...new Set(Array.from(rows, (r) => groups[r]))] : [];
  if (groups && ids.length >= 10) {
    // Whole utterances go to one side: neighbouring frames are nearly copies of each other, so a
    // frame split lets the probe see the test frames' twins in training (an optimistic bound).
    const order = shuffle(Int32Array.from(ids), rng);
    const byGroup = new Map<number, number[]>();
    for (const r of rows) (byGroup.get(groups[r]) ?? byGroup.set(groups[r], []).get(groups[r])!).push(r);
    const test: number[] = [];
    const val: number[] = [];
    const train: number[] = [];
    let g = 0;
    while (g < order.length && test.length < 0.2 * rows.length) test.push(...byGroup.get(order[g++])!);
    while (g < order.length && val.length < 0.1 * (rows.length - test.length)) val.push(...byGroup.get(order[g++])!);
    while (g < order.length) train.push(...byGroup.get(order[g++])!);
    if (train.length > 0 && val.length > 0) return { test: Int32Array.from(test), val: Int32Array.from(val), train: Int32Array.from(train) };
  }
  const p = shuffle(rows, rng);
  const nTest = Math.max(1, Math.round(0.2 * p.length));
  const nVal = Math.max(1, Math.round(0.1 * (p.length - nTest)));
  return { test: p.slice(0, nTest), val: p.slice(nTest, nTest + nVal), train: p.slice(nTest + nVal) };
}

/**
 * Trains `seeds.length` probes on frames `t` (n, d) with labels `y` (n, -1 = unlabelled, skipped)
 * of `classes` classes and returns each seed's held-out bound (see the module comment).
 */
export async function probeLayer(t: Frames, y: Int32Array, classes: number, seeds: number[], o: ProbeOptions & { device?: Device; groups?: Int32Array | null }): Promise<ProbeResult> {
  const { n, d } = t;
  const labelled = Int32Array.from({ length: n }, (_, i) => i).filter((i) => y[i] >= 0);
  if (labelled.length < 20) throw new Error(`[analysis.probe] ${labelled.length} labelled frames; at least 20 needed`);
  const K = classes;
  const P = seeds.length;
  const splits = seeds.map((s) => splitRows(labelled, s, o.groups ?? null));
  const hidden = o.hidden ?? [];
  const steps = o.steps ?? 1500;
  const B = Math.min(o.batchSize ?? 256, Math.min(...splits.map((s) => s.train.length)));
  const checkEvery = Math.max(1, Math.floor(steps / 30));
  const patience = o.patience ?? 6;
  const device = o.device;
  // z-score with the statistics of the union of training rows (the splits differ; one set of
  // statistics keeps one device copy of the frames; the held-out rows never enter them).
  const inTrain = new Uint8Array(n);
  for (const s of splits) for (const i of s.train) inTrain[i] = 1;
  const mean = new Float64Array(d);
  const sd = new Float64Array(d);
  let m = 0;
  for (let i = 0; i < n; ++i) if (inTrain[i]) { m++; for (let j = 0; j < d; ++j) mean[j] += t.data[i * d + j]; }
  for (let j = 0; j < d; ++j) mean[j] /= m;
  for (let i = 0; i < n; ++i) if (inTrain[i]) for (let j = 0; j < d; ++j) sd[j] += (t.data[i * d + j] - mean[j]) ** 2;
  const z = new Float32Array(n * d);
  for (let j = 0; j < d; ++j) sd[j] = Math.sqrt(sd[j] / m) || 1;
  for (let i = 0; i < n; ++i) for (let j = 0; j < d; ++j) z[i * d + j] = (t.data[i * d + j] - mean[j]) / sd[j];

  const own: Tensor[] = [];
  const hold = <T extends Tensor>(x: T): T => (own.push(keep(x)), x);
  try {
    const X = hold(tensor(z, [n, d], { device }));                       // (n, d)
    const Y = hold(tensor(y, [n], { device }));                          // (n)
    const widths = [d, ...hidden, K];
    const W: Tensor[] = [];
    const Bs: Tensor[] = [];
    for (let l = 0; l + 1 < widths.length; ++l) {
      tidy(() => {
        const per = seeds.map((s) => {
          const ls = deriveSeed(s, 'probe', l);
          const w = kaimingUniform([widths[l + 1], widths[l]], Math.sqrt(5), { seed: deriveSeed(ls, 'w'), device });
          const bound = 1 / Math.sqrt(widths[l]);
          return [transpose(w), reshape(uniform([widths[l + 1]], -bound, bound, { seed: deriveSeed(ls, 'b'), device }), [1, -1])];
        });
        W.push(hold(noGrad(() => stack(per.map((p) => p[0]), 0).contiguous())).requiresGrad_(true));  // (P, in, out)
        Bs.push(hold(noGrad(() => stack(per.map((p) => p[1]), 0).contiguous())).requiresGrad_(true)); // (P, 1, out)
      });
    }
    const params = [...W, ...Bs];
    const logits = (rows: Int32Array, C: number): Tensor => {
      let h = reshape(indexSelect(X, 0, tensor(rows, [P * C], { device })), [P, C, d]); // (P, C, d)
      for (let l = 0; l < W.length; ++l) {
        if (l > 0) h = relu(h);
        h = add(matmul(h, W[l]), Bs[l]);
      }
      return h;                                                          // (P, C, K)
    };
    /** Mean CE and accuracy of each probe on its own rows (rowsPer[p], equal lengths not required). */
    const evalSets = async (rowsPer: Int32Array[]): Promise<{ ce: number[]; acc: number[] }> => {
      const ce = new Array(P).fill(0);
      const acc = new Array(P).fill(0);
      const len = Math.max(...rowsPer.map((r) => r.length));
      const chunk = 1024;
      for (let at = 0; at < len; at += chunk) {
        const C = Math.min(chunk, len - at);
        const rows = new Int32Array(P * C);
        rowsPer.forEach((r, p) => { for (let i = 0; i < C; ++i) rows[p * C + i] = r[Math.min(at + i, r.length - 1)]; });
        const lp = noGrad(() => tidy(() => logSoftmax(logits(rows, C), -1).dataSync() as Float32Array));
        const yl = Y.dataSync() as Int32Array;
        rowsPer.forEach((r, p) => {
          for (let i = 0; i < C && at + i < r.length; ++i) {
            const base = (p * C + i) * K;
            const lab = yl[r[at + i]];
            ce[p] -= lp[base + lab];
            let best = 0;
            for (let k = 1; k < K; ++k) if (lp[base + k] > lp[base + best]) best = k;
            if (best === lab) acc[p] += 1;
          }
        });
        await new Promise((res) => setImmediate(res));
      }
      return { ce: ce.map((v, p) => v / rowsPer[p].length), acc: acc.map((v, p) => v / rowsPer[p].length) };
    };
    const opt = new Adam(params, { lr: o.lr ?? 3e-3 });
    const rngs = seeds.map((s) => new Rng(deriveSeed(s, 'probe-batches')));
    const best = seeds.map(() => ({ ce: Infinity, since: 0, step: 0 }));
    const copyInto = (dst: Tensor, src: Tensor): void => native.copyInto(dst.handle('analysis.probe'), src.handle('analysis.probe'));
    const bestW = params.map((p) => hold(noGrad(() => add(p.detach(), 0))));
    const stopped = new Array(P).fill(false);
    const rows = new Int32Array(P * B);
    try {
      for (let step = 1; step <= steps; ++step) {
        splits.forEach((s, p) => { for (let i = 0; i < B; ++i) rows[p * B + i] = s.train[rngs[p].int(0, s.train.length - 1)]; });
        tidy(() => {
          const lg = logits(rows, B);                                    // (P, B, K)
          const lab = indexSelect(Y, 0, tensor(rows, [P * B], { device }));
          // Sum over probes of each one's mean CE: disjoint parameters, so each gets its own gradient.
          crossEntropy(reshape(lg, [P * B, K]), lab).mul(P).backward();
        });
        opt.step();
        opt.zeroGrad();
        if (step % checkEvery !== 0 && step !== steps) continue;
        const v = await evalSets(splits.map((s) => s.val));
        const improved: boolean[] = v.ce.map((c, p) => {
          if (stopped[p]) return false;
          if (c < best[p].ce - 1e-4) { best[p] = { ce: c, since: 0, step }; return true; }
          if (++best[p].since >= patience) stopped[p] = true;
          return false;
        });
        if (improved.some(Boolean)) {
          // Keep the improved probes' weights (slice p of every parameter).
          noGrad(() => tidy(() => {
            params.forEach((prm, i) => {
              const mask = tensor(Float32Array.from(improved, (b) => (b ? 1 : 0)), [P, ...new Array(prm.ndim - 1).fill(1)], { device });
              const next = add(prm.detach().mul(mask), bestW[i].mul(mask.neg().add(1)));
              copyInto(bestW[i], next);
            });
          }));
        }
        if (stopped.every(Boolean)) break;
      }
    } finally {
      opt.disposeState();
    }
    params.forEach((prm, i) => copyInto(prm, bestW[i]));
    const test = await evalSets(splits.map((s) => s.test));
    const yl = Y.dataSync() as Int32Array;
    const entropy: number[] = [];
    const chance: number[] = [];
    splits.forEach((s) => {
      const cnt = new Float64Array(K).fill(0.5);
      for (const i of s.train) cnt[yl[i]] += 1;
      const tot = cnt.reduce((a, b) => a + b, 0);
      let h = 0;
      for (const i of s.test) h -= Math.log(cnt[yl[i]] / tot);
      entropy.push(h / s.test.length);
      let major = 0;
      for (let k = 1; k < K; ++k) if (cnt[k] > cnt[major]) major = k;
      let hit = 0;
      for (const i of s.test) if (yl[i] === major) hit++;
      chance.push(hit / s.test.length);
    });
    return {
      perSeed: entropy.map((h, p) => h - test.ce[p]),
      ce: test.ce,
      entropy,
      accuracy: test.acc,
      chance,
      steps: best.map((b) => b.step),
    };
  } finally {
    for (const x of own) if (!x.isDisposed) x.dispose();
  }
}
