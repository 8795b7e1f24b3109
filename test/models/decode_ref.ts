/**
 * decode_ref.ts — independent references for the CTC decoding tests: seeded random
 * log-probabilities and brute-force enumeration of every frame path (V^T, tiny cases only).
 */
import { Rng } from '../../lib/audio/rng';

/** Runs `fn` with a fresh seed; a failure names the seed so the case can be replayed. */
export function withSeed(fn: (rng: Rng, seed: number) => void, seed = (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) >>> 0): void {
  try {
    fn(new Rng(seed), seed);
  } catch (e) {
    if (e instanceof Error) e.message = `[seed ${seed}] ${e.message}`;
    throw e;
  }
}

/** log-softmax of N(0, scale²) logits, (B, T, V) row-major, float64. */
export function randomLogProbs(rng: Rng, B: number, T: number, V: number, scale = 1.5): Float64Array {
  const out = new Float64Array(B * T * V);
  for (let r = 0; r < B * T; ++r) {
    let m = -Infinity;
    for (let c = 0; c < V; ++c) {
      out[r * V + c] = rng.normal() * scale;
      m = Math.max(m, out[r * V + c]);
    }
    let s = 0;
    for (let c = 0; c < V; ++c) s += Math.exp(out[r * V + c] - m);
    const lse = m + Math.log(s);
    for (let c = 0; c < V; ++c) out[r * V + c] -= lse;
  }
  return out;
}

/** CTC collapse written plainly: drop a label equal to its predecessor, then drop blanks. */
export function refCollapse(path: readonly number[], blank: number): number[] {
  return path.filter((c, i) => c !== blank && (i === 0 || c !== path[i - 1]));
}

/** Calls visit(path, log-prob) for every one of the V^T frame paths of one utterance. */
export function forEachPath(lp: ArrayLike<number>, off: number, T: number, V: number, visit: (path: number[], logp: number) => void): void {
  const path = new Array<number>(T).fill(0);
  const total = V ** T;
  for (let n = 0; n < total; ++n) {
    let r = n;
    let logp = 0;
    for (let t = 0; t < T; ++t) {
      path[t] = r % V;
      r = Math.floor(r / V);
      logp += lp[off + t * V + path[t]];
    }
    visit(path, logp);
  }
}

/** Every label sequence with its summed path probability: key = tokens joined by ','. */
export function bruteForcePrefixes(lp: ArrayLike<number>, off: number, T: number, V: number, blank: number): Map<string, { tokens: number[]; logp: number }> {
  const sums = new Map<string, { tokens: number[]; p: number }>();
  forEachPath(lp, off, T, V, (path, logp) => {
    const tokens = refCollapse(path, blank);
    const key = tokens.join(',');
    const e = sums.get(key);
    if (e) e.p += Math.exp(logp);
    else sums.set(key, { tokens, p: Math.exp(logp) });
  });
  const out = new Map<string, { tokens: number[]; logp: number }>();
  for (const [k, e] of sums) out.set(k, { tokens: e.tokens, logp: Math.log(e.p) });
  return out;
}
