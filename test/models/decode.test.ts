// CTC greedy decoding and prefix beam search: against an independent argmax + collapse, against
// brute-force enumeration of every frame path (T <= 6, V <= 3), width 1 = greedy, never below
// greedy, exact acoustic scores, lengths/padding, token pruning, Tensor inputs, errors.
import { models, tensor } from '../../lib';
import { describeCuda } from '../helpers/devices';
import { bruteForcePrefixes, randomLogProbs, refCollapse, withSeed } from './decode_ref';

const { beamSearch, collapse, ctcLogProb, greedyDecode } = models;

/** Argmax per frame (first maximum) and collapse, written independently of the library. */
function refGreedy(lp: ArrayLike<number>, off: number, T: number, V: number, blank: number): number[] {
  const path: number[] = [];
  for (let t = 0; t < T; ++t) {
    const row = Array.from({ length: V }, (_, c) => lp[off + t * V + c]);
    path.push(row.indexOf(Math.max(...row)));
  }
  return refCollapse(path, blank);
}

const host = (data: Float64Array | Float32Array, shape: number[]) => ({ data, shape });

test('collapse merges runs then drops blanks', () => {
  expect(collapse([1, 1, 0, 1, 2, 2, 0, 0])).toEqual([1, 1, 2]);
  expect(collapse([3, 3, 3], 3)).toEqual([]);
  expect(collapse(new Int32Array([0, 2, 0, 2, 1]), 1)).toEqual([0, 2, 0, 2]);
  expect(collapse([])).toEqual([]);
});

test('greedyDecode equals argmax + collapse on random inputs, within lengths, for any blank', () => {
  withSeed((rng) => {
    for (const [B, T, V] of [[3, 7, 5], [2, 129, 29], [1, 1, 2], [4, 13, 1]]) {
      const lp = randomLogProbs(rng, B, T, V, 2);
      const lengths = Array.from({ length: B }, () => rng.int(0, T));
      const blank = rng.int(0, V - 1);
      const got = greedyDecode(host(lp, [B, T, V]), lengths, { blank });
      for (let b = 0; b < B; ++b) expect(got[b]).toEqual(refGreedy(lp, b * T * V, lengths[b], V, blank));
      // Padding content cannot change the result.
      const junk = lp.slice();
      for (let b = 0; b < B; ++b) for (let i = (b * T + lengths[b]) * V; i < (b + 1) * T * V; ++i) junk[i] = rng.normal() * 50;
      expect(greedyDecode(host(junk, [B, T, V]), Int32Array.from(lengths), { blank })).toEqual(got);
    }
  });
});

test('Tensor inputs (cpu) decode like the same float32 values on the host; (T, V) is one utterance', () => {
  withSeed((rng) => {
    const [B, T, V] = [3, 17, 6];
    const v = Float32Array.from(randomLogProbs(rng, B, T, V));
    const t = tensor(v, [B, T, V]);
    const lens = tensor(Int32Array.from([17, 5, 0]), [3], { dtype: 'int32' });
    expect(greedyDecode(t, lens)).toEqual(greedyDecode(host(v, [B, T, V]), [17, 5, 0]));
    expect(beamSearch(t, lens, { beamWidth: 4, nBest: 3 })).toEqual(beamSearch(host(v, [B, T, V]), [17, 5, 0], { beamWidth: 4, nBest: 3 }));
    expect(greedyDecode(host(v.subarray(0, T * V), [T, V]))).toEqual([greedyDecode(t)[0]]);
    t.dispose();
    lens.dispose();
  });
});

test('beam width 1 equals greedy on random inputs (flat and peaked, with and without pruning)', () => {
  withSeed((rng) => {
    for (let trial = 0; trial < 300; ++trial) {
      const T = rng.int(1, 40);
      const V = rng.int(2, 7);
      const blank = rng.int(0, V - 1);
      const lp = randomLogProbs(rng, 1, T, V, [0.3, 1.5, 4][trial % 3]);
      const tokenPrune = trial % 2 === 0 ? undefined : { topK: rng.int(1, V), minLogProb: -3 };
      const [[h]] = beamSearch(host(lp, [T, V]), undefined, { beamWidth: 1, blank, tokenPrune });
      expect(h.tokens).toEqual(refGreedy(lp, 0, T, V, blank));
      expect(h.acoustic).toBeCloseTo(ctcLogProb(host(lp, [T, V]), h.tokens, { blank }), 9);
    }
  });
});

test('keepGreedy false is the textbook search: width 1 can keep a prefix greedy would extend', () => {
  // Frame 0 emits 1; at frame 1 the argmax is 2 (0.4) but blank + repeat of 1 (0.3 + 0.3) win.
  const p = [[0.1, 0.8, 0.1], [0.3, 0.3, 0.4]];
  const lp = host(Float64Array.from(p.flat().map(Math.log)), [2, 3]);
  expect(greedyDecode(lp)).toEqual([[1, 2]]);
  expect(beamSearch(lp, undefined, { beamWidth: 1 })[0][0].tokens).toEqual([1, 2]);
  const [[plain]] = beamSearch(lp, undefined, { beamWidth: 1, keepGreedy: false });
  expect(plain.tokens).toEqual([1]);
  // P([1]) = .8*.3 + .8*.3 + .1*.3 (paths 1-, 11, -1): exact, not the pruned running value.
  expect(plain.acoustic).toBeCloseTo(Math.log(0.8 * 0.3 + 0.8 * 0.3 + 0.1 * 0.3), 12);
});

test('the best hypothesis never scores below greedy; every score is the exact prefix log-probability', () => {
  withSeed((rng) => {
    for (let trial = 0; trial < 120; ++trial) {
      const T = rng.int(1, 60);
      const V = rng.int(2, 8);
      const W = rng.int(2, 6);
      const lp = randomLogProbs(rng, 1, T, V, [0.5, 2, 5][trial % 3]);
      const x = host(lp, [T, V]);
      const hyps = beamSearch(x, undefined, { beamWidth: W, nBest: W })[0];
      const greedy = ctcLogProb(x, greedyDecode(x)[0]);
      expect(hyps[0].acoustic).toBeGreaterThanOrEqual(greedy - 1e-9);
      const keys = new Set(hyps.map((h) => h.tokens.join(',')));
      expect(keys.size).toBe(hyps.length);
      hyps.forEach((h, i) => {
        expect(h.acoustic).toBeCloseTo(ctcLogProb(x, h.tokens), 9);
        expect(h.score).toBe(h.acoustic);
        expect(h.lm).toBe(0);
        if (i > 0) expect(h.score).toBeLessThanOrEqual(hyps[i - 1].score);
      });
    }
  });
});

test('brute force (T <= 6, V <= 3): a wide beam returns the n-best label sequences by summed path probability', () => {
  withSeed((rng) => {
    for (let trial = 0; trial < 80; ++trial) {
      const T = rng.int(1, 6);
      const V = rng.int(2, 3);
      const blank = rng.int(0, V - 1);
      const lp = randomLogProbs(rng, 1, T, V, 1.5);
      const all = [...bruteForcePrefixes(lp, 0, T, V, blank).values()].sort((a, b) => b.logp - a.logp);
      const n = Math.min(6, all.length);
      const hyps = beamSearch(host(lp, [1, T, V]), undefined, { beamWidth: 128, nBest: n, blank })[0];
      expect(hyps.length).toBe(n);
      hyps.forEach((h, i) => {
        expect(h.tokens).toEqual(all[i].tokens);
        expect(Math.abs(h.acoustic - all[i].logp)).toBeLessThan(1e-9);
      });
      // A narrow beam may miss the best, but what it reports is still exact.
      const byKey = bruteForcePrefixes(lp, 0, T, V, blank);
      for (const h of beamSearch(host(lp, [1, T, V]), undefined, { beamWidth: 2, nBest: 2, blank })[0]) {
        expect(Math.abs(h.acoustic - (byKey.get(h.tokens.join(','))?.logp ?? NaN))).toBeLessThan(1e-9);
      }
      // ctcLogProb: the forward sum equals the brute-force sum for every label sequence.
      for (const e of all) expect(Math.abs(ctcLogProb(host(lp, [T, V]), e.tokens, { blank }) - e.logp)).toBeLessThan(1e-9);
    }
  });
});

test('lengths: only the valid frames are searched; padding content and zero lengths', () => {
  withSeed((rng) => {
    const [B, T, V] = [3, 25, 5];
    const lp = randomLogProbs(rng, B, T, V, 2);
    const lengths = [25, 11, 0];
    const got = beamSearch(host(lp, [B, T, V]), lengths, { beamWidth: 5, nBest: 3 });
    for (let b = 0; b < 2; ++b) {
      const alone = lp.slice(b * T * V, (b * T + lengths[b]) * V);
      expect(got[b]).toEqual(beamSearch(host(alone, [lengths[b], V]), undefined, { beamWidth: 5, nBest: 3 })[0]);
    }
    expect(got[2]).toEqual([{ tokens: [], score: 0, acoustic: 0, lm: 0 }]);
    const junk = lp.slice();
    for (let i = (T + 11) * V; i < 2 * T * V; ++i) junk[i] = rng.normal() * 30;
    expect(beamSearch(host(junk, [B, T, V]), lengths, { beamWidth: 5, nBest: 3 })).toEqual(got);
  });
});

test('token pruning: only tokens inside each frame\'s limit are emitted; a loose limit changes nothing', () => {
  withSeed((rng) => {
    for (let trial = 0; trial < 30; ++trial) {
      const [T, V] = [rng.int(5, 40), rng.int(4, 12)];
      const lp = randomLogProbs(rng, 1, T, V, 2);
      const x = host(lp, [T, V]);
      const full = beamSearch(x, undefined, { beamWidth: 6, nBest: 4 });
      expect(beamSearch(x, undefined, { beamWidth: 6, nBest: 4, tokenPrune: { topK: V, minLogProb: -Infinity } })).toEqual(full);
      const topK = 2;
      const allowed = new Set<number>(); // tokens in some frame's non-blank top 2
      for (let t = 0; t < T; ++t) {
        const order = Array.from({ length: V - 1 }, (_, i) => i + 1).sort((a, b) => lp[t * V + b] - lp[t * V + a]);
        order.slice(0, topK).forEach((c) => allowed.add(c));
      }
      for (const h of beamSearch(x, undefined, { beamWidth: 6, nBest: 4, tokenPrune: { topK } })[0]) {
        for (const c of h.tokens) expect(allowed.has(c)).toBe(true);
        expect(h.acoustic).toBeCloseTo(ctcLogProb(x, h.tokens), 9);
      }
    }
  });
});

test('bad input: errors name the decoder and say what came', () => {
  const lp = host(new Float64Array(2 * 3 * 4), [2, 3, 4]);
  expect(() => greedyDecode(host(new Float64Array(5), [1, 2, 3]))).toThrow('[greedyDecode] logProbs.data has 5 values but shape (1, 2, 3) needs 6');
  expect(() => greedyDecode(host(new Float64Array(24), [2, 3, 4, 1]))).toThrow('[greedyDecode] logProbs must have shape (B, T, V) or (T, V), got (2, 3, 4, 1)');
  expect(() => greedyDecode(lp, [3, 4])).toThrow('[greedyDecode] lengths[1] must be an integer in [0, 3], got 4');
  expect(() => greedyDecode(lp, [3])).toThrow('[greedyDecode] lengths must have B = 2 entries, got 1');
  expect(() => greedyDecode(lp, undefined, { blank: 4 })).toThrow('[greedyDecode] blank must be an integer in [0, 4), got 4');
  expect(() => greedyDecode(new Float32Array(4) as never)).toThrow('[greedyDecode] logProbs must be a Tensor or { data: Float32Array | Float64Array, shape }, got Float32Array');
  const nan = new Float64Array(24);
  nan[17] = NaN;
  expect(() => beamSearch(host(nan, [2, 3, 4]))).toThrow('[beamSearch] logProbs has NaN at utterance 1, frame 1, class 1');
  expect(() => beamSearch(host(nan, [2, 3, 4]), [3, 1])).not.toThrow(); // the NaN lies in padding
  expect(() => beamSearch(lp, undefined, { beamWidth: 0 })).toThrow('[beamSearch] beamWidth must be an integer >= 1, got 0');
  expect(() => beamSearch(lp, undefined, { beamWidth: 2, nBest: 3 })).toThrow('[beamSearch] nBest must be an integer in [1, beamWidth = 2], got 3');
  expect(() => beamSearch(lp, undefined, { tokenPrune: { topK: 0 } })).toThrow('[beamSearch] tokenPrune.topK must be an integer >= 1, got 0');
  expect(() => beamSearch(lp, undefined, { lm: {} as never })).toThrow('[beamSearch] lm must implement initialState()');
  const dead = new Float64Array(24);
  dead.fill(-Infinity, 4, 8);
  expect(() => beamSearch(host(dead, [2, 3, 4]))).toThrow('[beamSearch] utterance 0, frame 1: every class has log-probability -Infinity');
  const it = tensor(new Int32Array(24), [2, 3, 4], { dtype: 'int32' });
  expect(() => greedyDecode(it)).toThrow('[greedyDecode] logProbs must be a float tensor, got int32');
  it.dispose();
});

describeCuda('decoding a cuda tensor', () => {
  test('greedy and beam search read a cuda tensor like its host copy', () => {
    withSeed((rng) => {
      const [B, T, V] = [2, 33, 7];
      const v = Float32Array.from(randomLogProbs(rng, B, T, V));
      const t = tensor(v, [B, T, V], { device: 'cuda' });
      expect(greedyDecode(t, [33, 20])).toEqual(greedyDecode(host(v, [B, T, V]), [33, 20]));
      expect(beamSearch(t, [33, 20], { beamWidth: 4 })).toEqual(beamSearch(host(v, [B, T, V]), [33, 20], { beamWidth: 4 }));
      t.dispose();
    });
  });
});
