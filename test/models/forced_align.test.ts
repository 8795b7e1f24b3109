// CTC forced alignment (Viterbi over the CTC lattice): against brute-force enumeration of every
// frame path (tiny cases) and an independent backward recursion (larger ones); collapse of the
// frames = target; token spans; repeats and the minimal T; the batched form; errors.
import { models, tensor } from '../../lib';
import { forEachPath, randomLogProbs, refCollapse, withSeed } from './decode_ref';

const { collapse, ctcForcedAlign, ctcForcedAlignBatch, ctcLogProb } = models;

const host = (data: Float64Array | Float32Array, shape: number[]) => ({ data, shape });

function randomTarget(rng: { int(a: number, b: number): number }, S: number, V: number, blank: number): number[] {
  const y: number[] = [];
  for (let i = 0; i < S; ++i) {
    let c = rng.int(0, V - 2);
    if (c >= blank) c += 1;
    y.push(c);
  }
  return y;
}

function needFrames(y: number[]): number {
  return y.length + y.filter((c, i) => i > 0 && c === y[i - 1]).length;
}

/** Best path by a backward recursion over (t, s) with memo: best(t, s) = lp + max over successors. */
function backwardViterbi(lp: ArrayLike<number>, T: number, V: number, y: number[], blank: number): { score: number; frames: number[] } {
  const ext = [blank];
  for (const c of y) ext.push(c, blank);
  const N = ext.length;
  const memo = new Map<number, number>();
  const best = (t: number, s: number): number => {
    const key = t * N + s;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let v: number;
    if (t === T - 1) v = s >= N - 2 ? lp[t * V + ext[s]] : -Infinity;
    else {
      const next = [s, s + 1];
      if (s + 2 < N && ext[s + 2] !== blank && ext[s + 2] !== ext[s]) next.push(s + 2);
      v = lp[t * V + ext[s]] + Math.max(...next.filter((n) => n < N).map((n) => best(t + 1, n)));
    }
    memo.set(key, v);
    return v;
  };
  const starts = N > 1 ? [0, 1] : [0];
  let s = starts.reduce((a, b) => (best(0, b) > best(0, a) ? b : a));
  const score = best(0, s);
  const frames: number[] = [];
  for (let t = 0; t < T; ++t) {
    frames.push(ext[s]);
    if (t === T - 1) break;
    const next = [s, s + 1].filter((n) => n < N);
    if (s + 2 < N && ext[s + 2] !== blank && ext[s + 2] !== ext[s]) next.push(s + 2);
    s = next.reduce((a, b) => (best(t + 1, b) > best(t + 1, a) ? b : a));
  }
  return { score, frames };
}

function checkSpans(r: { frames: Int32Array; tokenSpans: { token: number; start: number; end: number }[] }, y: number[], blank: number): void {
  expect(r.tokenSpans.map((s) => s.token)).toEqual(y);
  let prevEnd = 0;
  for (const sp of r.tokenSpans) {
    expect(sp.start).toBeGreaterThanOrEqual(prevEnd);
    expect(sp.end).toBeGreaterThan(sp.start);
    for (let t = prevEnd; t < sp.start; ++t) expect(r.frames[t]).toBe(blank);
    for (let t = sp.start; t < sp.end; ++t) expect(r.frames[t]).toBe(sp.token);
    prevEnd = sp.end;
  }
  for (let t = prevEnd; t < r.frames.length; ++t) expect(r.frames[t]).toBe(blank);
}

test('brute force (T <= 6, V <= 3): the best path over every path that collapses to the target', () => {
  withSeed((rng) => {
    for (let trial = 0; trial < 120; ++trial) {
      const T = rng.int(1, 6);
      const V = rng.int(2, 3);
      const blank = rng.int(0, V - 1);
      const lp = randomLogProbs(rng, 1, T, V, 2);
      let y = randomTarget(rng, rng.int(0, T), V, blank);
      while (needFrames(y) > T) y = y.slice(1);
      let best = -Infinity;
      let bestPath: number[] = [];
      forEachPath(lp, 0, T, V, (path, logp) => {
        if (logp > best && refCollapse(path, blank).join(',') === y.join(',')) {
          best = logp;
          bestPath = path.slice();
        }
      });
      const r = ctcForcedAlign(host(lp, [T, V]), y, { blank });
      expect(Array.from(r.frames)).toEqual(bestPath);
      expect(Math.abs(r.score - best)).toBeLessThan(1e-9);
      expect(collapse(r.frames, blank)).toEqual(y);
      checkSpans(r, y, blank);
      expect(r.score).toBeLessThanOrEqual(ctcLogProb(host(lp, [T, V]), y, { blank }) + 1e-12); // max <= sum
    }
  });
});

test('larger cases: equals an independent backward recursion; frames score their own path', () => {
  withSeed((rng) => {
    for (const [T, V] of [[129, 29], [40, 5], [7, 2]]) {
      const blank = rng.int(0, V - 1);
      const lp = randomLogProbs(rng, 1, T, V, 3);
      let y = randomTarget(rng, rng.int(1, Math.floor(T / 2)), V, blank);
      while (needFrames(y) > T) y = y.slice(1);
      const r = ctcForcedAlign(host(lp, [1, T, V]), y, { blank });
      const ref = backwardViterbi(lp, T, V, y, blank);
      expect(Math.abs(r.score - ref.score)).toBeLessThan(1e-9);
      expect(Array.from(r.frames)).toEqual(ref.frames);
      let own = 0;
      r.frames.forEach((c, t) => (own += lp[t * V + c]));
      expect(Math.abs(own - r.score)).toBeLessThan(1e-9);
      expect(collapse(r.frames, blank)).toEqual(y);
      checkSpans(r, y, blank);
    }
  });
});

test('repeats need a blank between them; T exactly S + repeats; empty targets', () => {
  withSeed((rng) => {
    const lp = randomLogProbs(rng, 1, 3, 3);
    const r = ctcForcedAlign(host(lp, [3, 3]), [1, 1]);
    expect(Array.from(r.frames)).toEqual([1, 0, 1]);
    expect(r.tokenSpans).toEqual([{ token: 1, start: 0, end: 1 }, { token: 1, start: 2, end: 3 }]);
    expect(() => ctcForcedAlign(host(lp.subarray(0, 6), [2, 3]), [1, 1])).toThrow(
      '[ctcForcedAlign] T = 2 frames are too few for a target of S = 2 tokens with 1 adjacent repeat: needs T >= 3');
    const e = ctcForcedAlign(host(lp, [3, 3]), []);
    expect(Array.from(e.frames)).toEqual([0, 0, 0]);
    expect(e.score).toBeCloseTo(lp[0] + lp[3] + lp[6], 14);
    expect(ctcForcedAlign(host(new Float64Array(0), [0, 3]), []).frames.length).toBe(0);
  });
});

test('batched: each utterance equals the single-utterance result; padded tensor targets; infeasible as null', () => {
  withSeed((rng) => {
    const [B, T, V] = [4, 23, 6];
    const lp = randomLogProbs(rng, B, T, V, 2);
    const inputLengths = [23, 17, 9, 2];
    const targets = [randomTarget(rng, 8, V, 0), randomTarget(rng, 5, V, 0), [], [3, 3]];
    const out = ctcForcedAlignBatch(host(lp, [B, T, V]), targets, { inputLengths, infeasible: 'null' });
    for (let b = 0; b < 3; ++b) {
      const one = ctcForcedAlign(host(lp.subarray(b * T * V, (b * T + inputLengths[b]) * V), [inputLengths[b], V]), targets[b]);
      expect(out[b]).toEqual(one);
    }
    expect(out[3]).toBeNull();
    expect(() => ctcForcedAlignBatch(host(lp, [B, T, V]), targets, { inputLengths })).toThrow(
      '[ctcForcedAlignBatch] T = 2 frames are too few for a target of S = 2 tokens with 1 adjacent repeat (utterance 3): needs T >= 3');
    // A padded int32 (B, S) tensor with target lengths; junk past each length is ignored.
    const S = 8;
    const pad = new Int32Array(B * S).fill(99);
    targets.forEach((y, b) => y.forEach((c, i) => (pad[b * S + i] = c)));
    const tt = tensor(pad, [B, S], { dtype: 'int32' });
    const lpT = tensor(Float32Array.from(lp), [B, T, V]);
    const fromTensor = ctcForcedAlignBatch(lpT, tt, { inputLengths, targetLengths: targets.map((y) => y.length), infeasible: 'null' });
    expect(fromTensor.map((r) => r && collapse(r.frames))).toEqual([targets[0], targets[1], [], null]);
    expect(() => ctcForcedAlignBatch(lpT, tt)).toThrow('[ctcForcedAlignBatch] targetLengths are required with a padded targets tensor');
    tt.dispose();
    lpT.dispose();
  });
});

test('bad input: errors name the op and the problem', () => {
  const lp = host(new Float64Array(12), [3, 4]);
  expect(() => ctcForcedAlign(lp, [1, 0])).toThrow('[ctcForcedAlign] target[1] is the blank (0); targets hold tokens only');
  expect(() => ctcForcedAlign(lp, [4])).toThrow('[ctcForcedAlign] target[0] must be a token id in [0, 4), got 4');
  expect(() => ctcForcedAlign(host(new Float64Array(24), [2, 3, 4]), [1])).toThrow('[ctcForcedAlign] logProbs must be (T, V) or (1, T, V), got B = 2');
  expect(() => ctcForcedAlign(lp, 'ab' as never)).toThrow('[ctcForcedAlign] target must be a number[] or Int32Array of token ids, got string');
  const zero = new Float64Array(12).fill(-Infinity);
  zero.fill(0, 0, 4);
  zero.fill(0, 8, 12);
  expect(() => ctcForcedAlign(host(zero, [3, 4]), [1, 2])).toThrow('[ctcForcedAlign] every alignment of the target has probability 0');
  expect(() => ctcForcedAlignBatch(host(new Float64Array(24), [2, 3, 4]), [[1]])).toThrow('[ctcForcedAlignBatch] targets must have B = 2 lists, got 1');
  expect(() => ctcForcedAlignBatch(host(new Float64Array(24), [2, 3, 4]), [[1], [2]], { infeasible: 'skip' as never })).toThrow("[ctcForcedAlignBatch] infeasible must be 'throw' or 'null'");
});
