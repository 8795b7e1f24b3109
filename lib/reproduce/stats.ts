/**
 * stats.ts — the statistics the main job's verdict rests on: means with Student-t confidence
 * intervals over seeds, and a hierarchical bootstrap of the difference between two models that
 * resamples seeds and then test utterances, so both sources of variation widen the interval.
 *
 * Glossary:
 *   seed-level CI   mean ± t(0.975, n − 1) · sd / √n over per-seed values (n ≥ 2); with 2 seeds
 *                   t = 12.71, so such intervals are wide: that is the honest width
 *   paired values   per-utterance metrics of two models on the same test utterances, per seed
 *   hierarchical    each bootstrap draw picks n seeds with replacement, and within each picked
 *   bootstrap       seed n_u utterances with replacement; the statistic is the pooled mean of the
 *                   (model A − model B) per-utterance differences (Davison & Hinkley 1997, §3.8)
 */
import { Rng } from '../data/rng';

/** Two-sided 95 % Student-t quantiles t(0.975, df) for df = 1..30; beyond, the normal 1.96 + a
 *  small correction (within 0.2 % of the exact value up to df = 1000). */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** t(0.975, df): the two-sided 95 % quantile of Student's t with df ≥ 1 degrees of freedom. */
export function t975(df: number): number {
  if (!(df >= 1)) throw new Error(`[t975] degrees of freedom must be ≥ 1, got ${df}`);
  const d = Math.floor(df);
  return d <= 30 ? T975[d - 1] : 1.959964 + 2.4 / d;
}

/** A mean with its 95 % interval and the values it came from. */
export interface MeanCi {
  mean: number;
  lo: number;
  hi: number;
  sd: number;
  n: number;
  values: number[];
}

/** Mean and 95 % Student-t interval of `values` (one per seed). One value: the interval is the
 *  point (n = 1 says it has no width to trust). Non-finite values are an error. */
export function meanCi(values: readonly number[]): MeanCi {
  if (values.length === 0) throw new Error('[meanCi] needs at least one value');
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new Error(`[meanCi] value ${i} is not finite (${v})`);
  });
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, lo: mean, hi: mean, sd: 0, n, values: [...values] };
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  const h = t975(n - 1) * sd / Math.sqrt(n);
  return { mean, lo: mean - h, hi: mean + h, sd, n, values: [...values] };
}

/** The 95 % percentile interval of the hierarchical bootstrap of mean(a − b), where a[s][u] and
 *  b[s][u] are the per-utterance metrics of two models for seed s on utterance u (same utterances
 *  for both within a seed). Returns { mean (the observed pooled difference), lo, hi }. */
export function pairedBootstrap(a: readonly (readonly number[])[], b: readonly (readonly number[])[], opts: { draws?: number; seed?: number } = {}): { mean: number; lo: number; hi: number; draws: number } {
  if (a.length === 0 || a.length !== b.length) throw new Error(`[pairedBootstrap] a and b need the same number (≥ 1) of seeds, got ${a.length} and ${b.length}`);
  const diffs = a.map((row, s) => {
    if (row.length === 0 || row.length !== b[s].length) throw new Error(`[pairedBootstrap] seed ${s}: a and b need the same number (≥ 1) of utterances, got ${row.length} and ${b[s].length}`);
    return row.map((v, u) => v - b[s][u]);
  });
  const draws = opts.draws ?? 2000;
  const rng = new Rng(opts.seed ?? 12345);
  const pooled = (d: number[][]) => {
    let sum = 0, n = 0;
    for (const r of d) for (const v of r) { sum += v; ++n; }
    return sum / n;
  };
  const observed = pooled(diffs);
  const stats = new Float64Array(draws);
  for (let k = 0; k < draws; ++k) {
    let sum = 0, n = 0;
    for (let s = 0; s < diffs.length; ++s) {
      const row = diffs[Math.floor(rng.uniform() * diffs.length)];
      for (let u = 0; u < row.length; ++u) { sum += row[Math.floor(rng.uniform() * row.length)]; ++n; }
    }
    stats[k] = sum / n;
  }
  stats.sort();
  const q = (p: number) => stats[Math.min(draws - 1, Math.max(0, Math.round(p * (draws - 1))))];
  return { mean: observed, lo: q(0.025), hi: q(0.975), draws };
}

export type Decision = 'supported' | 'not supported' | 'inconclusive';

/** Decides a directional claim "A − B < 0" (lowerIsBetter: A better than B) from the 95 % interval
 *  of the difference: supported when the whole interval is below 0, not supported when it is
 *  entirely above 0, inconclusive when it contains 0. `margin` > 0 turns it into a
 *  non-inferiority claim "A − B < margin" (A at most `margin` worse than B). */
export function decide(diff: { lo: number; hi: number }, opts: { margin?: number } = {}): Decision {
  const m = opts.margin ?? 0;
  if (diff.hi < m) return 'supported';
  if (diff.lo > m) return 'not supported';
  return 'inconclusive';
}
