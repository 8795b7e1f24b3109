// errorRate: hand-worked alignments, the tie rule, units, empty references, corpus-level vs
// per-utterance rates, formatAlignment, and a brute-force enumeration of every edit script.
import { models } from '../../lib';
import { withSeed } from './decode_ref';

const { errorRate, alignTokens, formatAlignment, splitTranscript } = models;

test('hand-worked word alignment: one substitution, one deletion', () => {
  const r = errorRate('the cat sat on the mat', 'the cat sit on mat');
  expect([r.substitutions, r.deletions, r.insertions, r.hits, r.refLength, r.numUtterances]).toEqual([1, 1, 0, 4, 6, 1]);
  expect(r.rate).toBeCloseTo(2 / 6, 15);
  expect(r.utterances[0].alignment).toEqual([
    { op: 'ok', ref: 'the', hyp: 'the' }, { op: 'ok', ref: 'cat', hyp: 'cat' }, { op: 'sub', ref: 'sat', hyp: 'sit' },
    { op: 'ok', ref: 'on', hyp: 'on' }, { op: 'del', ref: 'the' }, { op: 'ok', ref: 'mat', hyp: 'mat' },
  ]);
});

test('ties: equal edit counts resolve to substitutions; insertions at the start and end', () => {
  // "a b" -> "b c": 2 substitutions or delete a + insert c; the rule takes the substitutions.
  const t = errorRate('a b', 'b c').utterances[0];
  expect(t.alignment).toEqual([{ op: 'sub', ref: 'a', hyp: 'b' }, { op: 'sub', ref: 'b', hyp: 'c' }]);
  const ins = errorRate('b c', 'a b c d');
  expect([ins.substitutions, ins.deletions, ins.insertions, ins.hits]).toEqual([0, 0, 2, 2]);
  expect(ins.utterances[0].alignment.map((s) => s.op)).toEqual(['ins', 'ok', 'ok', 'ins']);
  expect(ins.rate).toBe(1);
});

test('units: char (code points, whitespace runs -> one space), phone, token arrays, transform', () => {
  const k = errorRate('kitten', 'sitting', { unit: 'char' });
  expect([k.substitutions, k.deletions, k.insertions, k.refLength]).toEqual([2, 0, 1, 6]);
  expect(k.utterances[0].alignment.map((s) => s.op).join(' ')).toBe('sub ok ok ok sub ok ins');
  expect(splitTranscript('  a \t b ', 'char')).toEqual(['a', ' ', 'b']);
  expect(splitTranscript('héllo 😀', 'char')).toEqual(['h', 'é', 'l', 'l', 'o', ' ', '😀']);
  expect(splitTranscript('  k  ae t ', 'phone')).toEqual(['k', 'ae', 't']);
  const ph = errorRate(['k ae t', 'd ao g'], ['k a t', 'd ao g z'], { unit: 'phone' });
  expect([ph.substitutions, ph.insertions, ph.refLength]).toEqual([1, 1, 6]);
  const tok = errorRate([[1, 2, 3]], [[1, 3]], { unit: 'token' });
  expect([tok.deletions, tok.hits]).toEqual([1, 2]);
  const low = errorRate('The Cat', 'the cat', { transform: (s) => s.toLowerCase() });
  expect(low.rate).toBe(0);
  expect(errorRate('The Cat', 'the cat').rate).toBe(1);
});

test('empty references: 0 when the hypothesis is empty too, Infinity otherwise; corpus counts them', () => {
  expect(errorRate('', '').rate).toBe(0);
  const e = errorRate('', 'x y');
  expect([e.rate, e.insertions, e.refLength]).toEqual([Infinity, 2, 0]);
  const c = errorRate(['', 'a b'], ['x', 'a b']);
  expect(c.utterances[0].rate).toBe(Infinity);
  expect(c.rate).toBe(0.5); // 1 insertion over 2 reference words
  expect(errorRate([], []).rate).toBe(0);
});

test('corpus rate = total edits / total reference length = length-weighted mean of utterance rates', () => {
  withSeed((rng) => {
    const words = ['a', 'b', 'c', 'd'];
    const sent = (n: number): string => Array.from({ length: n }, () => words[rng.int(0, 3)]).join(' ');
    const refs = Array.from({ length: 9 }, () => sent(rng.int(1, 12)));
    const hyps = refs.map(() => sent(rng.int(0, 12)));
    const r = errorRate(refs, hyps);
    const edits = r.utterances.reduce((s, u) => s + u.substitutions + u.deletions + u.insertions, 0);
    const N = refs.reduce((s, x) => s + x.split(' ').length, 0);
    expect(r.refLength).toBe(N);
    expect(r.rate).toBeCloseTo(edits / N, 14);
    const weighted = r.utterances.reduce((s, u) => s + u.rate * u.ref.length, 0) / N;
    expect(r.rate).toBeCloseTo(weighted, 12);
    expect(r.hits + r.substitutions + r.deletions).toBe(N);
  });
  // A short, wrong utterance weighs less than in the mean of per-utterance rates.
  const r = errorRate(['a', 'a b c d e f g h i j'], ['x', 'a b c d e f g h i j']);
  expect(r.rate).toBeCloseTo(1 / 11, 15);
  expect((r.utterances[0].rate + r.utterances[1].rate) / 2).toBeCloseTo(0.5, 15);
});

/** Every edit script from (i, j) to the end, as [S, D, I] triples (no memo: exponential, tiny inputs). */
function allScripts(ref: string[], hyp: string[], i = 0, j = 0): Array<[number, number, number]> {
  if (i === ref.length && j === hyp.length) return [[0, 0, 0]];
  const out: Array<[number, number, number]> = [];
  if (i < ref.length && j < hyp.length) {
    const s = ref[i] === hyp[j] ? 0 : 1;
    for (const [a, b, c] of allScripts(ref, hyp, i + 1, j + 1)) out.push([a + s, b, c]);
  }
  if (i < ref.length) for (const [a, b, c] of allScripts(ref, hyp, i + 1, j)) out.push([a, b + 1, c]);
  if (j < hyp.length) for (const [a, b, c] of allScripts(ref, hyp, i, j + 1)) out.push([a, b, c + 1]);
  return out;
}

test('brute force over every edit script: minimal edits, then most substitutions; a consistent alignment', () => {
  withSeed((rng) => {
    const alpha = ['a', 'b', 'c'];
    for (let trial = 0; trial < 150; ++trial) {
      const ref = Array.from({ length: rng.int(0, 5) }, () => alpha[rng.int(0, 2)]);
      const hyp = Array.from({ length: rng.int(0, 5) }, () => alpha[rng.int(0, 2)]);
      const scripts = allScripts(ref, hyp);
      const minE = Math.min(...scripts.map(([s, d, i]) => s + d + i));
      const maxS = Math.max(...scripts.filter(([s, d, i]) => s + d + i === minE).map(([s]) => s));
      const u = alignTokens(ref, hyp);
      expect(u.substitutions + u.deletions + u.insertions).toBe(minE);
      expect(u.substitutions).toBe(maxS);
      // The alignment rebuilds both sequences and agrees with the counts.
      expect(u.alignment.filter((s) => s.op !== 'ins').map((s) => s.ref)).toEqual(ref);
      expect(u.alignment.filter((s) => s.op !== 'del').map((s) => s.hyp)).toEqual(hyp);
      for (const s of u.alignment) {
        if (s.op === 'ok') expect(s.ref).toBe(s.hyp);
        if (s.op === 'sub') expect(s.ref).not.toBe(s.hyp);
      }
      const count = (o: string): number => u.alignment.filter((s) => s.op === o).length;
      expect([count('sub'), count('del'), count('ins'), count('ok')]).toEqual([u.substitutions, u.deletions, u.insertions, u.hits]);
    }
  });
});

test('formatAlignment: three aligned lines, stars for the missing side, S/D/I marks; wrapping', () => {
  const u = errorRate('the cat sat on mat', 'the bat sat in on mat now').utterances[0];
  expect(formatAlignment(u)).toBe([
    'REF:  the cat sat ** on mat ***',
    'HYP:  the bat sat in on mat now',
    'EVAL:     S       I         I',
  ].join('\n'));
  const wrapped = formatAlignment(u, { lineWidth: 16 }).split('\n\n');
  expect(wrapped.length).toBeGreaterThan(1);
  for (const block of wrapped) for (const line of block.split('\n')) expect(line.length).toBeLessThanOrEqual(16);
  expect(formatAlignment(errorRate('a b', 'ab', { unit: 'char' }).utterances[0])).toBe('REF:  a ␣ b\nHYP:  a * b\nEVAL:   D');
});

test('errors name errorRate and say what came', () => {
  expect(() => errorRate(['a'], ['a', 'b'])).toThrow('[errorRate] refs and hyps must have the same number of utterances, got 1 and 2');
  expect(() => errorRate('a', 'a', { unit: 'syllable' as never })).toThrow("[errorRate] unit must be one of word, char, phone, token, got \"syllable\"");
  expect(() => errorRate([3 as never], ['a'])).toThrow('[errorRate] refs[0] must be a string or an array of tokens, got number');
  expect(() => errorRate(null as never, [])).toThrow('[errorRate] refs must be a string or an array of transcripts, got null');
  expect(() => errorRate([[{}] as never], [[1]])).toThrow('[errorRate] refs[0][0] must be a string or number token, got object');
  expect(() => formatAlignment({} as never)).toThrow('[formatAlignment]');
});
