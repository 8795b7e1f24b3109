// NgramLM (add-k with history backoff) against hand counts, normalisation over every outcome,
// JSON round trip; shallow fusion in beam search: brute force over every label sequence of tiny
// cases, and constructed cases where the LM or the insertion bonus must change the decision.
import { models } from '../../lib';
import { bruteForcePrefixes, randomLogProbs, withSeed } from './decode_ref';

const { NgramLM, EOS, beamSearch, ctcLogProb } = models;
type LM = ReturnType<typeof NgramLM.fit>;

const corpus = [[1, 2, 3], [1, 2, 2], [3]];

test('hand counts: bigram with <s>, </s>, k = 0.5 over |W| = 3 tokens + </s>', () => {
  const lm = NgramLM.fit(corpus, { vocabSize: 4, order: 2, k: 0.5 });
  expect(lm.numOutcomes).toBe(4);
  // After <s>: 1 twice, 3 once (total 3): (c + 0.5) / (3 + 2).
  expect(lm.logProb([], 1)).toBeCloseTo(Math.log(2.5 / 5), 14);
  expect(lm.logProb([], 2)).toBeCloseTo(Math.log(0.5 / 5), 14);
  expect(lm.logProb([], EOS)).toBeCloseTo(Math.log(0.5 / 5), 14);
  // After 1: 2 twice (total 2); after 2: 3, 2, </s> once each; after 3: </s> twice.
  expect(lm.logProb([1], 2)).toBeCloseTo(Math.log(2.5 / 4), 14);
  expect(lm.logProb([1, 2], EOS)).toBeCloseTo(Math.log(1.5 / 5), 14);
  expect(lm.logProb([3], EOS)).toBeCloseTo(Math.log(2.5 / 4), 14);
  expect(lm.logProb([1], 0)).toBe(-Infinity); // the blank is never predicted
  const s = Math.log(2.5 / 5) + Math.log(2.5 / 4) + Math.log(1.5 / 5) + Math.log(2.5 / 4);
  expect(lm.sequenceLogProb([1, 2, 3])).toBeCloseTo(s, 13);
  // Perplexity over the corpus: exp(-(total log-prob) / (7 tokens + 3 ends)).
  const total = corpus.reduce((a, x) => a + lm.sequenceLogProb(x), 0);
  expect(lm.perplexity(corpus)).toBeCloseTo(Math.exp(-total / 10), 12);
});

test('hand counts: trigram backs off to the longest seen history; no bos / no eos', () => {
  const lm = NgramLM.fit(corpus, { vocabSize: 4, order: 3, k: 0.5 });
  expect(lm.logProb([1, 2], 3)).toBeCloseTo(Math.log(1.5 / 4), 14); // c(1 2 3) = 1, c(1 2) = 2
  expect(lm.logProb([3, 1], 2)).toBeCloseTo(Math.log(2.5 / 4), 14); // (3 1) unseen -> (1)
  expect(lm.logProb([3, 3], 1)).toBeCloseTo(Math.log(0.5 / 4), 14); // (3 3) unseen -> (3): </s> x2
  expect(lm.logProb([], 1)).toBeCloseTo(Math.log(2.5 / 5), 14); // (<s> <s>)
  const plain = NgramLM.fit(corpus, { vocabSize: 4, order: 2, k: 1, bos: false, eos: false });
  expect(plain.numOutcomes).toBe(3);
  // No <s>: the first token uses the unigram: counts 1:2, 2:3, 3:2 (total 7).
  expect(plain.logProb([], 2)).toBeCloseTo(Math.log(4 / 10), 14);
  expect(() => plain.logProb([], EOS)).toThrow('[NgramLM.logProb] this model was fit without eos');
  expect(plain.sequenceLogProb([2])).toBeCloseTo(Math.log(4 / 10), 14);
});

function randomLm(rng: { int(a: number, b: number): number; uniform(): number }): { lm: LM; V: number; blank: number | null } {
  const V = rng.int(2, 7);
  const blank = rng.uniform() < 0.7 ? 0 : null;
  const lo = blank === 0 ? 1 : 0;
  const seqs = Array.from({ length: rng.int(0, 12) }, () => Array.from({ length: rng.int(0, 6) }, () => rng.int(lo, V - 1)));
  const lm = NgramLM.fit(seqs, { vocabSize: V, order: rng.int(1, 4), k: 0.05 + rng.uniform(), blank, bos: rng.uniform() < 0.8, eos: rng.uniform() < 0.8 });
  return { lm, V, blank };
}

test('every history: probabilities over all tokens (+ </s>) sum to 1; states agree with contexts; JSON round trip', () => {
  withSeed((rng) => {
    for (let trial = 0; trial < 60; ++trial) {
      const { lm, V, blank } = randomLm(rng);
      const lo = blank === 0 ? 1 : 0;
      const back = NgramLM.fromJSON(JSON.parse(JSON.stringify(lm.toJSON())));
      for (let q = 0; q < 10; ++q) {
        const ctx = Array.from({ length: rng.int(0, 5) }, () => rng.int(lo, V - 1));
        let sum = 0;
        for (let w = 0; w < V; ++w) sum += Math.exp(lm.logProb(ctx, w));
        if (lm.eos) sum += Math.exp(lm.logProb(ctx, EOS));
        expect(Math.abs(sum - 1)).toBeLessThan(1e-12);
        let state = lm.initialState();
        for (const w of ctx) state = lm.nextState(state, w);
        const w = rng.int(lo, V - 1);
        expect(lm.scoreToken(state, w)).toBe(lm.logProb(ctx, w));
        expect(back.logProb(ctx, w)).toBe(lm.logProb(ctx, w));
        if (lm.eos) expect(lm.scoreEnd(state)).toBe(lm.logProb(ctx, EOS));
        expect(back.sequenceLogProb(ctx)).toBe(lm.sequenceLogProb(ctx));
      }
    }
  });
});

test('NgramLM errors name the method and the bad value', () => {
  expect(() => NgramLM.fit([[1, 0]], { vocabSize: 4 })).toThrow('[NgramLM.fit] sequence 0, position 1: token the blank (0) is not a token the model predicts');
  expect(() => NgramLM.fit([[7]], { vocabSize: 4 })).toThrow('[NgramLM.fit] sequence 0, position 0: token 7, outside [0, 4) is not a token the model predicts');
  expect(() => NgramLM.fit([], { vocabSize: 4, k: 0 })).toThrow('[NgramLM] k must be a finite number > 0, got 0');
  expect(() => NgramLM.fit([], { vocabSize: 4, order: 0 })).toThrow('[NgramLM] order must be an integer >= 1, got 0');
  const lm = NgramLM.fit(corpus, { vocabSize: 4 });
  expect(() => lm.logProb([1], 9)).toThrow('[NgramLM.logProb] token must be an id in [0, 4) or EOS (-1), got 9');
  expect(() => NgramLM.fromJSON({ kind: 'x' } as never)).toThrow("[NgramLM.fromJSON] expected { kind: 'ngram', version: 1, counts: [...] }");
  const bad = lm.toJSON();
  bad.counts[0][1][1] = -3;
  expect(() => NgramLM.fromJSON(bad)).toThrow('[NgramLM.fromJSON] count of');
  // An empty corpus is uniform over the outcomes.
  expect(NgramLM.fit([], { vocabSize: 4 }).logProb([2], 3)).toBeCloseTo(-Math.log(4), 14);
});

test('fusion: the LM overturns a close acoustic decision; the insertion bonus trades length', () => {
  // One frame: acoustics prefer token 1 (0.5) over token 2 (0.4); transcripts only ever say "2".
  const x = { data: Float64Array.from([0.1, 0.5, 0.4].map(Math.log)), shape: [1, 3] };
  const lm = NgramLM.fit([[2], [2], [2], [2]], { vocabSize: 3, order: 2, k: 0.5 });
  expect(beamSearch(x, undefined, { beamWidth: 4 })[0][0].tokens).toEqual([1]);
  expect(beamSearch(x, undefined, { beamWidth: 4, lm, lmWeight: 0 })[0][0].tokens).toEqual([1]);
  const fused = beamSearch(x, undefined, { beamWidth: 4, lm, lmWeight: 1, nBest: 3 })[0];
  expect(fused[0].tokens).toEqual([2]);
  for (const h of fused) {
    expect(h.acoustic).toBeCloseTo(ctcLogProb(x, h.tokens), 12);
    expect(h.lm).toBeCloseTo(lm.sequenceLogProb(h.tokens), 12);
    expect(h.score).toBeCloseTo(h.acoustic + h.lm, 12);
  }
  // Without the </s> term: [2] still wins (P(2 | <s>) = 4.5 / 5.5 vs 0.5 / 5.5).
  const noEos = beamSearch(x, undefined, { beamWidth: 4, lm, lmWeight: 1, lmEos: false })[0][0];
  expect(noEos.tokens).toEqual([2]);
  expect(noEos.lm).toBeCloseTo(Math.log(4.5 / 5.5), 12);

  // Two frames of one token A (0.2) against blank (0.8): P([]) = 0.64 > P([A]) = 0.36;
  // a bonus of 1 per token makes [A] win (log 0.36 + 1 > log 0.64).
  const y = { data: Float64Array.from([0.8, 0.2, 0.8, 0.2].map(Math.log)), shape: [2, 2] };
  expect(beamSearch(y, undefined, { beamWidth: 3 })[0][0].tokens).toEqual([]);
  const [[b]] = beamSearch(y, undefined, { beamWidth: 3, insertionBonus: 1 });
  expect(b.tokens).toEqual([1]);
  expect(b.score).toBeCloseTo(Math.log(0.36) + 1, 12);
});

test('fusion against brute force: a wide beam finds the argmax of acoustic + w·lm + bonus·len', () => {
  withSeed((rng) => {
    for (let trial = 0; trial < 60; ++trial) {
      const T = rng.int(1, 6);
      const V = 3;
      const seqs = Array.from({ length: rng.int(1, 8) }, () => Array.from({ length: rng.int(0, 4) }, () => rng.int(1, 2)));
      const lm = NgramLM.fit(seqs, { vocabSize: V, order: rng.int(1, 3), k: 0.1 + rng.uniform() });
      const lmWeight = 0.2 + 2 * rng.uniform();
      const insertionBonus = 2 * rng.uniform() - 1;
      const lmEos = rng.uniform() < 0.5;
      const lp = randomLogProbs(rng, 1, T, V, 1.5);
      // Reference LM score through the context API, token by token.
      const lmRef = (tokens: number[]): number => {
        let s = 0;
        tokens.forEach((w, i) => (s += lm.logProb(tokens.slice(0, i), w)));
        return lmEos ? s + lm.logProb(tokens, EOS) : s;
      };
      const ranked = [...bruteForcePrefixes(lp, 0, T, V, 0).values()]
        .map((e) => ({ tokens: e.tokens, score: e.logp + lmWeight * lmRef(e.tokens) + insertionBonus * e.tokens.length }))
        .sort((a, b) => b.score - a.score);
      const n = Math.min(4, ranked.length);
      const hyps = beamSearch({ data: lp, shape: [T, V] }, undefined, { beamWidth: 128, nBest: n, lm, lmWeight, insertionBonus, lmEos })[0];
      hyps.forEach((h, i) => {
        expect(h.tokens).toEqual(ranked[i].tokens);
        expect(Math.abs(h.score - ranked[i].score)).toBeLessThan(1e-9);
        expect(Math.abs(h.lm - lmRef(h.tokens))).toBeLessThan(1e-12);
      });
    }
  });
});
