/**
 * train.ts — trains P critics together (the members: one per (pair, seed) of a group of pairs
 * with equal N, dx, dy) and evaluates each on its held-out rows.
 *
 * Glossary: Q pairs in the group, stacked on the device as X (Q*N, dx), Y (Q*N, dy); member m
 * reads rows slot_m * N + i; P members, B batch, C held-out chunk (<= B).
 *
 * One step: the host writes each member's B row indices (and, for shuffled negatives, a
 * permutation of its batch) into two int32 (P*B) tensors — the only per-step upload — the device
 * gathers (P, B, dx) and (P, B, dy), the batched critic scores them, and one fused Adam update
 * moves all P critics. Members never mix: the loss is a sum of per-member terms over disjoint
 * parameters, so each member follows the trajectory it would follow alone.
 */
import { noGrad } from '../autograd/tape';
import { Rng, deriveSeed } from '../data/rng';
import { Module } from '../nn/module';
import { add } from '../ops/elementwise';
import { indexSelect } from '../ops/indexing';
import { reshape } from '../ops/shape';
import { Adam } from '../optim/adam';
import { tensor } from '../tensor/creation';
import { getDefaultDevice } from '../tensor/device';
import { keep, tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { allPairsScores, BoundState, chunkStats, HeldOutAcc, objective, offDiag, OffDiag, Scores, zerosP } from './bounds';
import { BatchedConcatCritic, BatchedSeparableCritic, Critic, ModuleCritic } from './critics';
import { BatchOrder, derangement, iota, PairData, shuffled, split } from './data';
import { Resolved } from './options';

/** One point of the training curve: mean train value since the last point, and the held-out value. */
export interface HistoryEntry {
  step: number;
  train: number;
  /** null in paper mode (no held-out rows; the one evaluation is after training). */
  heldOut: number | null;
}

/** What one member (pair, seed) ends with. */
export interface RunOutcome {
  value: number;
  history: HistoryEntry[];
  steps: number;
  /** log of the largest evaluation chunk (infonce's ceiling). */
  bound: number;
}

export interface Member {
  slot: number;  // which pair of the group
  seed: number;
}

/**
 * Evaluation chunks of n >= 2 rows: ceil(n / B) nearly equal parts, each of at least 2 rows so
 * that its negatives can be a derangement (B = 2 or 3 may then give a chunk of B + 1); for
 * infonce, whose value depends on the chunk (ceiling log C), chunks of exactly B with the
 * remainder dropped when n >= B.
 */
function chunkSizes(n: number, B: number, exact: boolean): number[] {
  if (exact && n >= B) return new Array(Math.floor(n / B)).fill(B);
  const k = Math.min(Math.ceil(n / B), Math.floor(n / 2));
  return Array.from({ length: k }, (_, i) => Math.floor((n * (i + 1)) / k) - Math.floor((n * i) / k));
}

function makeCritic(r: Resolved, d: PairData, seeds: number[], module: Module | null, device: 'cpu' | 'cuda'): Critic {
  if (module) return new ModuleCritic(module);
  if (r.critic === 'separable') return new BatchedSeparableCritic(d.dx, d.dy, r.hidden, r.embedDim, seeds, device);
  return new BatchedConcatCritic(d.dx, d.dy, r.hidden, seeds, device);
}

const yieldToLoop = (): Promise<void> => new Promise((res) => setImmediate(res));

export async function trainGroup(pairs: PairData[], members: Member[], r: Resolved, module: Module | null): Promise<RunOutcome[]> {
  const device = r.device ?? getDefaultDevice();
  const { N, dx, dy } = pairs[0];
  const P = members.length;
  const B = r.batchSize;
  const allPairs = r.negatives === 'all-pairs';
  const own: Tensor[] = [];
  const hold = <T extends Tensor>(t: T): T => (own.push(keep(t)), t);
  const join = (k: 'x' | 'y', d: number): Tensor => {
    const a = new Float32Array(pairs.length * N * d);
    pairs.forEach((p, i) => a.set(p[k], i * N * d));
    return hold(tensor(a, [pairs.length * N, d], { device }));
  };
  const X = join('x', dx);                                              // (Q*N, dx)
  const Y = join('y', dy);                                              // (Q*N, dy)
  const splits = members.map((m) => split(N, m.seed, r));
  const orders = members.map((m, i) => new BatchOrder(splits[i].train, B, m.seed));
  const negRng = members.map((m) => new Rng(deriveSeed(m.seed, 'negatives')));
  const evalRng = members.map((m) => new Rng(deriveSeed(m.seed, 'eval')));
  const total = r.epochs !== null ? r.epochs * orders[0].perEpoch : (r.steps as number);
  const evalEvery = r.paper ? orders[0].perEpoch : r.evalEvery ?? Math.max(1, Math.floor(total / 20));
  const critic = makeCritic(r, pairs[0], members.map((m) => m.seed), module, device);
  const opt = new Adam(critic.params, { lr: r.lr });
  // Off-diagonal masks by chunk size (training uses B; held-out chunks are at most two sizes).
  const masks = new Map<number, OffDiag>();
  const maskFor = (C: number): OffDiag => {
    let m = masks.get(C);
    if (!m) masks.set(C, (m = offDiag(C, device))), own.push(m.log, m.w);
    return m;
  };
  const state: BoundState = { ema: null };
  let trainSum = zerosP(P, device);
  let trainCount = 0;
  const rowsArr = new Int32Array(P * B);
  const permArr = new Int32Array(P * B);

  /** Scores of a chunk: rows (P*C) of X/Y, perm (P*C) within-chunk negatives (shuffle mode). */
  const score = (rowsA: Int32Array, permA: Int32Array | null, C: number): Scores => {
    const rowsT = tensor(rowsA, [P * C], { device });
    const xb = reshape(indexSelect(X, 0, rowsT), [P, C, dx]);          // (P, C, dx)
    const yb = reshape(indexSelect(Y, 0, rowsT), [P, C, dy]);          // (P, C, dy)
    if (permA === null) return allPairsScores(critic.allPairs(xb, yb), maskFor(C));
    const [tj, tm] = critic.shuffled(xb, yb, tensor(permA, [P * C], { device }));
    return { tj, tm, S: null, mask: null };
  };

  // Derangements (no row keeps its own y; see derangement()), except in paper mode, which
  // reproduces the reference's torch.randperm, fixed points included.
  const negatives = (rng: Rng, C: number, out: Int32Array, m: number): void => {
    const p = r.paper ? shuffled(rng, iota(C)) : derangement(rng, C);
    for (let i = 0; i < C; ++i) out[m * C + i] = m * C + p[i];
  };

  /** Held-out (or, in paper mode, all-row) value of every member; a fresh order and fresh negatives each call. */
  const evaluate = async (rowSets: Int32Array[], maxChunk: number): Promise<{ values: number[]; bound: number }> => {
    const accs = members.map(() => new HeldOutAcc(r.estimator));
    const order = rowSets.map((rs, m) => shuffled(evalRng[m], rs));
    const sizes = chunkSizes(order[0].length, maxChunk, r.estimator === 'infonce');
    // Every chunk is queued before the first read: one wait per evaluation, not one per chunk.
    const stats: Tensor[] = [];                                        // (P, 2) per chunk
    try {
      let at = 0;
      for (const C of sizes) {
        const rowsA = new Int32Array(P * C);
        const permA = allPairs ? null : new Int32Array(P * C);
        members.forEach((mb, m) => {
          for (let i = 0; i < C; ++i) rowsA[m * C + i] = mb.slot * N + order[m][at + i];
          if (permA) negatives(evalRng[m], C, permA, m);
        });
        stats.push(noGrad(() => tidy(() => chunkStats(r.estimator, score(rowsA, permA, C), r.tau))));
        at += C;
      }
      const vs = await Promise.all(stats.map((t) => t.data()));
      vs.forEach((v, k) => {
        const C = sizes[k];
        accs.forEach((a, m) => a.add(v[2 * m], v[2 * m + 1], C, allPairs ? C * (C - 1) : C));
      });
    } finally {
      for (const t of stats) t.dispose();
    }
    return { values: accs.map((a) => a.value()), bound: Math.log(Math.max(...sizes)) };
  };

  const history: HistoryEntry[][] = members.map(() => []);
  const heldVals: number[][] = members.map(() => []);
  const best = members.map(() => ({ value: -Infinity, since: 0 }));
  const done: (number | null)[] = members.map(() => null);
  const stoppedAt = members.map(() => total);
  let bound = Math.log(B);
  try {
    for (let step = 1; step <= total; ++step) {
      members.forEach((mb, m) => {
        orders[m].next(rowsArr, m * B, mb.slot * N);
        if (!allPairs) negatives(negRng[m], B, permArr, m);
      });
      const next = tidy(() => {
        const sc = score(rowsArr, allPairs ? null : permArr, B);
        const { loss, value } = objective(r.estimator, sc, { alpha: r.emaAlpha, tau: r.tau }, state);
        loss.backward();
        opt.step();
        opt.zeroGrad();
        return noGrad(() => add(trainSum, value.detach()));
      });
      trainSum.dispose();
      trainSum = keep(next);
      trainCount += 1;
      if (step % evalEvery !== 0 && step !== total) continue;
      const train = Array.from(await trainSum.data(), (v) => v / trainCount);
      trainSum.dispose();
      trainSum = zerosP(P, device);
      trainCount = 0;
      const held = r.paper ? null : await evaluate(splits.map((s) => s.held), B);
      if (held) bound = held.bound;
      members.forEach((_, m) => {
        if (done[m] !== null) return;
        history[m].push({ step, train: train[m], heldOut: held ? held.values[m] : null });
        if (!held) return;
        heldVals[m].push(held.values[m]);
        const last = heldVals[m].slice(-r.smoothing);
        const smoothed = last.reduce((a, b) => a + b, 0) / last.length;
        if (!r.earlyStop) return;
        if (smoothed > best[m].value + r.earlyStop.minDelta || best[m].value === -Infinity) {
          best[m] = { value: Math.max(smoothed, best[m].value), since: 0 };
        } else if (++best[m].since >= r.earlyStop.patience) {
          done[m] = best[m].value;
          stoppedAt[m] = step;
        }
      });
      if (done.every((d) => d !== null)) break;
      await yieldToLoop();
    }
    let finals: number[];
    if (r.paper) {
      // The paper's final mine.mi(X, Y): DV on all frames at once, y under a fresh permutation.
      const ev = await evaluate(members.map(() => iota(N)), N);
      finals = ev.values;
      bound = ev.bound;
    } else {
      finals = members.map((_, m) => {
        if (done[m] !== null) return done[m] as number;
        if (r.earlyStop) return best[m].value;
        const last = heldVals[m].slice(-r.smoothing);
        return last.reduce((a, b) => a + b, 0) / last.length;
      });
    }
    return members.map((_, m) => ({ value: finals[m], history: history[m], steps: stoppedAt[m], bound }));
  } finally {
    trainSum.dispose();
    state.ema?.dispose();
    if (!module) critic.dispose();
    opt.zeroGrad();
    opt.disposeState();
    for (const t of own) t.dispose();
  }
}
