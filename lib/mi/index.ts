/**
 * lib/mi — mutual-information estimators (MINE and its successors) validated on known answers,
 * and the paper-compatible protocol of "Rethinking Mamba in Speech Processing by Self-Supervised
 * Models" (Tonyyouyou/Mutual-Information-Analysis).
 *
 *   const r = await mi.estimate(x, y, { estimator: 'smile', seeds: 3 });   // r.nats, r.ci, r.history
 *   const rs = await mi.estimateMany(layers.map((t) => [x, t]), { paper: true });
 *
 * estimateMany trains one critic per (pair, seed) together with batched matmuls; each gives
 * the value a one-by-one estimate with the same options and seeds gives.
 */
import { Module } from '../nn/module';
import { Tensor } from '../tensor/tensor';
import { meanCi, PairData, preparePair } from './data';
import { EstimateOptions, fail, resolveOptions, Resolved } from './options';
import { HistoryEntry, Member, RunOutcome, trainGroup } from './train';

export type { EstimateOptions, Estimator, Negatives, EarlyStop } from './options';
export type { HistoryEntry } from './train';
export { PAPER } from './options';
export { ConcatCritic } from './critics';

export interface EstimateResult {
  /** The estimate in nats (the mean over seeds): same as `nats`. */
  mi: number;
  nats: number;
  bits: number;
  /** 95% t-interval of the mean over seeds (seeds > 1). */
  ci?: [number, number];
  /** The held-out estimate (paper mode: the all-frame evaluation) of each seed, in nats. */
  perSeed: number[];
  /** Training curve of the first seed. */
  history: HistoryEntry[];
  /** infonce only: log of the evaluation batch, the most it can report. */
  bound?: number;
}

const isModule = (c: unknown): boolean => c instanceof Module;

function summarise(r: Resolved, runs: RunOutcome[]): EstimateResult {
  const perSeed = runs.map((o) => o.value);
  const { mean, ci } = meanCi(perSeed);
  const out: EstimateResult = { mi: mean, nats: mean, bits: mean / Math.LN2, perSeed, history: runs[0].history };
  if (ci) out.ci = ci;
  if (r.estimator === 'infonce') out.bound = runs[0].bound;
  return out;
}

/**
 * I(X; Y) from paired rows x (N, dx) and y (N, dy) or int32 labels (N); see EstimateOptions.
 * Errors start with `[mi.estimate]`.
 */
export async function estimate(x: Tensor, y: Tensor, opts: EstimateOptions = {}): Promise<EstimateResult> {
  const op = 'mi.estimate';
  const r = resolveOptions(op, opts, isModule);
  const data = preparePair(op, x, y, r);
  const members: Member[] = Array.from({ length: r.seeds }, (_, i) => ({ slot: 0, seed: r.seed + i }));
  const module = r.critic instanceof Module ? r.critic : null;
  return summarise(r, await trainGroup([data], members, r, module));
}

/**
 * One estimate per [x, y] pair with the same options; pairs of equal shapes train together
 * (P = pairs x seeds critics in one batched network). Results in the order of `pairs`.
 */
export async function estimateMany(pairs: Array<[Tensor, Tensor]>, opts: EstimateOptions = {}): Promise<EstimateResult[]> {
  const op = 'mi.estimateMany';
  const r = resolveOptions(op, opts, isModule);
  if (!Array.isArray(pairs) || pairs.length === 0) fail(op, 'pairs must be a non-empty array of [x, y]');
  const data: PairData[] = pairs.map((p, i) => {
    if (!Array.isArray(p) || p.length !== 2) fail(op, `pair ${i} must be [x, y]`);
    return preparePair(`${op}] [pair ${i}`, p[0], p[1], r);
  });
  const results: EstimateResult[] = new Array(pairs.length);
  if (r.critic instanceof Module) {
    // One user network: the pairs train one after another (the paper's shared statistics network).
    for (let i = 0; i < data.length; ++i) results[i] = summarise(r, await trainGroup([data[i]], [{ slot: 0, seed: r.seed }], r, r.critic));
    return results;
  }
  const groups = new Map<string, number[]>();
  data.forEach((d, i) => {
    const key = `${d.N},${d.dx},${d.dy}`;
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  for (const idx of groups.values()) {
    const members: Member[] = [];
    idx.forEach((_, slot) => { for (let s = 0; s < r.seeds; ++s) members.push({ slot, seed: r.seed + s }); });
    const runs = await trainGroup(idx.map((i) => data[i]), members, r, null);
    idx.forEach((i, slot) => { results[i] = summarise(r, runs.slice(slot * r.seeds, (slot + 1) * r.seeds)); });
  }
  return results;
}
