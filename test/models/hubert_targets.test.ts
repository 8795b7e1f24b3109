// HuBERT targets and cluster quality: purity and PNMI against an independent float64 computation
// (entropies H(y) + H(z) − H(y, z), brute-force purity) on random odd-sized tables and on known
// extremes; 100 Hz -> 50 Hz label resampling (the MFCC/CNN mismatch) as fairseq's forward_targets;
// label-length checks; the 39-d MFCC layout and deltas; .km files; MFCC k-means targets on synth
// speech carry phone information (PNMI far above a shuffled control).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { kaldiMfcc } from '../../lib/audio/kaldi';
import { Rng } from '../../lib/audio/rng';
import { alignmentFrames } from '../../lib/data/manifest';
import { makeLexicon, makeSpeaker, synthesizeUtterance } from '../../lib/data/synth';
import { FeatureExtractor } from '../../lib/nn/frontend';
import {
  checkLabelLength, clusterQuality, mfcc39, mfccTargets, QualityAccumulator, qualityFromTable, readLabels, resampleLabels, stackFrames, writeLabels,
} from '../../lib/models/hubert';

/** I(y; z) / H(y) via entropies of the marginals and the joint, purities by trying every mapping. */
function reference(y: ArrayLike<number>, z: ArrayLike<number>): { pnmi: number; phonePurity: number; clusterPurity: number } {
  const n = y.length;
  const joint = new Map<string, number>(), cy = new Map<number, number>(), cz = new Map<number, number>();
  for (let i = 0; i < n; ++i) {
    joint.set(`${y[i]}|${z[i]}`, (joint.get(`${y[i]}|${z[i]}`) ?? 0) + 1);
    cy.set(y[i], (cy.get(y[i]) ?? 0) + 1);
    cz.set(z[i], (cz.get(z[i]) ?? 0) + 1);
  }
  const H = (m: Map<unknown, number>) => [...m.values()].reduce((s, c) => s - (c / n) * Math.log(c / n), 0);
  const hy = H(cy), hz = H(cz), hyz = H(joint);
  // phone purity: for each cluster, the best phone's count (try every phone); cluster purity likewise
  let pp = 0, cp = 0;
  for (const zz of cz.keys()) pp += Math.max(...[...cy.keys()].map((yy) => joint.get(`${yy}|${zz}`) ?? 0)) / n;
  for (const yy of cy.keys()) cp += Math.max(...[...cz.keys()].map((zz) => joint.get(`${yy}|${zz}`) ?? 0)) / n;
  return { pnmi: (hy + hz - hyz) / hy, phonePurity: pp, clusterPurity: cp };
}

describe('cluster quality', () => {
  test.each([[7, 13, 500], [1, 5, 40], [13, 1, 40], [5, 129, 3000]])('PNMI and purities equal the float64 reference (P %d, K %d, %d frames)', (P, K, n) => {
    for (let seed = 0; seed < 5; ++seed) {
      const rng = new Rng(seed * 31 + P);
      // correlated labels: z = f(y) with noise
      const y = Int32Array.from({ length: n }, () => rng.int(0, P - 1));
      const z = Int32Array.from(y, (v) => (rng.uniform() < 0.6 ? (v * 3) % K : rng.int(0, K - 1)));
      const q = clusterQuality(y, z), r = reference(y, z);
      if (P > 1) expect(q.pnmi).toBeCloseTo(r.pnmi, 10);
      else expect(q.pnmi).toBe(1);
      expect(q.phonePurity).toBeCloseTo(r.phonePurity, 12);
      expect(q.clusterPurity).toBeCloseTo(r.clusterPurity, 12);
      expect(q.frames).toBe(n);
    }
  });

  test('extremes: a bijection gives 1 everywhere; independent labels give PNMI 0; a function of the cluster gives PNMI 1', () => {
    const y = Int32Array.from({ length: 60 }, (_, i) => i % 6);
    const id = clusterQuality(y, y.map((v) => 5 - v));
    expect([id.pnmi, id.phonePurity, id.clusterPurity]).toEqual([1, 1, 1].map((v) => expect.closeTo(v, 12)));
    // product table: every (y, z) pair equally often
    const yy: number[] = [], zz: number[] = [];
    for (let a = 0; a < 4; ++a) for (let b = 0; b < 7; ++b) for (let r = 0; r < 3; ++r) { yy.push(a); zz.push(b); }
    expect(clusterQuality(yy, zz).pnmi).toBeCloseTo(0, 12);
    // 12 clusters, each inside one phone: phone purity 1, PNMI 1, cluster purity 1/2
    const z12 = Int32Array.from({ length: 120 }, (_, i) => i % 12), y12 = z12.map((v) => Math.floor(v / 2));
    const f = clusterQuality(y12, z12);
    expect(f.phonePurity).toBeCloseTo(1, 12);
    expect(f.pnmi).toBeCloseTo(1, 12);
    expect(f.clusterPurity).toBeCloseTo(0.5, 12);
  });

  test('string phones, per-utterance accumulation and the table form agree', () => {
    const rng = new Rng(3);
    const names = ['sil', 'a', 'b', 'k', 'iy'];
    const acc = new QualityAccumulator();
    const ally: string[] = [], allz: number[] = [];
    for (let u = 0; u < 4; ++u) {
      const y = Array.from({ length: 37 + u }, () => names[rng.int(0, 4)]);
      const z = y.map((p) => (names.indexOf(p) + rng.int(0, 1)) % 6);
      acc.add(y, z);
      ally.push(...y);
      allz.push(...z);
    }
    const a = acc.result(), b = clusterQuality(ally, allz);
    expect(a.pnmi).toBeCloseTo(b.pnmi, 12);
    const { counts, P, K } = acc.table();
    expect(qualityFromTable(counts, P, K).phonePurity).toBeCloseTo(a.phonePurity, 12);
    expect(acc.phoneNames.length).toBe(P);
  });

  test('bad input names the problem', () => {
    expect(() => clusterQuality([1, 2], [1])).toThrow(/\[clusterQuality\] phones have 2 frames but clusters have 1; bring both to one frame rate first/);
    expect(() => clusterQuality([1, -2], [1, 1])).toThrow(/phones\[1\] = -2/);
    expect(() => clusterQuality([], [])).toThrow(/no frames/);
    expect(() => qualityFromTable([1, 2, 3], 2, 2)).toThrow(/P × K values/);
  });
});

describe('label rates', () => {
  test('100 Hz MFCC labels on the 50 Hz CNN frames: frame i takes label 2i, as fairseq', () => {
    for (const seconds of [1, 2.05, 3.3337]) {
      const n = Math.round(seconds * 16000);
      const mfccFrames = kaldiMfcc(new Float32Array(n).map((_, i) => Math.sin(i * 0.01)), { useEnergy: false }).numFrames; // 1 + (n - 400) // 160
      const cnnFrames = FeatureExtractor.outLength(n);
      const labels = Int32Array.from({ length: mfccFrames }, (_, i) => i);
      const out = resampleLabels(labels, 100, 50, cnnFrames);
      // MFCC: 1 + (n - 400) // 160 frames; CNN: about n / 320 - 1. At 2.05 s that is 203 labels
      // for 102 frames: 2 · 102 > 203, so fairseq cuts the last frame (101 frames keep a target).
      const want = 2 * cnnFrames > mfccFrames ? Math.floor(mfccFrames / 2) : cnnFrames;
      expect(out.length).toBe(want);
      expect(want).toBeGreaterThanOrEqual(cnnFrames - 1);
      if (seconds === 2.05) expect([mfccFrames, cnnFrames, out.length]).toEqual([203, 102, 101]);
      out.forEach((v, i) => expect(v).toBe(2 * i));
    }
  });

  test('labels that run out first cut the frames to floor(labels / r); other ratios truncate i · r', () => {
    expect(Array.from(resampleLabels([10, 11, 12, 13, 14, 15, 16], 100, 50, 5))).toEqual([10, 12, 14]);
    expect(Array.from(resampleLabels(Int32Array.from({ length: 40 }, (_, i) => i), 100, 25, 9))).toEqual([0, 4, 8, 12, 16, 20, 24, 28, 32]);
    expect(Array.from(resampleLabels(Int32Array.from({ length: 10 }, (_, i) => i), 100, 30, 3))).toEqual([0, 3, 6]);
    expect(Array.from(resampleLabels([1, 2, 3], 50, 50, 3))).toEqual([1, 2, 3]);
    expect(() => resampleLabels([1], 0, 50, 3)).toThrow(/\[resampleLabels\] rates must be > 0/);
  });

  test('label files of the wrong length for their utterance are errors naming it', () => {
    expect(() => checkLabelLength(199, 2, 100, { id: 'u1' })).not.toThrow();
    expect(() => checkLabelLength(150, 2, 100, { id: 'u1', where: 'Hubert' })).toThrow('[Hubert] labels of "u1" cover 1.500 s (150 labels at 100 Hz) but its audio is 2.000 s (tolerance 0.1 s)');
    expect(() => checkLabelLength(100, 2, 50, { id: 'u2' })).not.toThrow();
  });
});

describe('targets', () => {
  test('mfcc39 = [13 Kaldi cepstra, Δ, ΔΔ] with compute_deltas (window 5, replicated edges)', () => {
    const rng = new Rng(4);
    const x = Float32Array.from({ length: 16000 * 0.37 }, () => rng.normal() * 0.1);
    const f = mfcc39(x);
    const m = kaldiMfcc(x, { useEnergy: false });
    expect(f.dim).toBe(39);
    expect(f.numFrames).toBe(m.numFrames);
    const T = f.numFrames;
    const at = (a: ArrayLike<number>, t: number, d: number, D: number) => a[Math.min(T - 1, Math.max(0, t)) * D + d];
    const delta = (src: (t: number, d: number) => number) => (t: number, d: number) => (src(t + 1, d) - src(t - 1, d) + 2 * (src(t + 2, d) - src(t - 2, d))) / 10;
    const c = (t: number, d: number) => at(m.data, t, d, 13);
    const dc = delta(c);
    const ddc = delta((t, d) => dc(Math.min(T - 1, Math.max(0, t)), d));
    for (let t = 0; t < T; t += 5) {
      for (let d = 0; d < 13; ++d) {
        expect(f.data[t * 39 + d]).toBe(m.data[t * 13 + d]);
        expect(f.data[t * 39 + 13 + d]).toBeCloseTo(dc(t, d), 4);
        expect(f.data[t * 39 + 26 + d]).toBeCloseTo(ddc(t, d), 3);
      }
    }
  });

  test('.km label files round-trip; a bad token names its line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'km-'));
    const file = path.join(dir, 'train.km');
    const labels = [Int32Array.of(3, 3, 7, 0), new Int32Array(0), Int32Array.of(99)];
    writeLabels(file, labels);
    expect(fs.readFileSync(file, 'utf8')).toBe('3 3 7 0\n\n99\n');
    expect(readLabels(file).map((l) => Array.from(l))).toEqual([[3, 3, 7, 0], [], [99]]);
    fs.writeFileSync(file, '1 2\n3 x\n');
    expect(() => readLabels(file)).toThrow(/train\.km:2: "x" is not a label id/);
    fs.rmSync(dir, { recursive: true });
  });

  test('stackFrames keeps valid frames only, or a seeded subset of rows', () => {
    const a = { data: Float32Array.from({ length: 6 }, (_, i) => i), numFrames: 3, dim: 2 };
    const b = { data: Float32Array.from({ length: 4 }, (_, i) => 100 + i), numFrames: 2, dim: 2 };
    expect(Array.from(stackFrames([a, b]).dataSync())).toEqual([0, 1, 2, 3, 4, 5, 100, 101, 102, 103]);
    const sub = stackFrames([a, b], { maxFrames: 3, seed: 1 }).dataSync();
    const rowsAll = [[0, 1], [2, 3], [4, 5], [100, 101], [102, 103]].map((r) => r.join(','));
    for (let i = 0; i < 3; ++i) expect(rowsAll).toContain(`${sub[2 * i]},${sub[2 * i + 1]}`);
    expect(() => stackFrames([a, { ...b, dim: 4, numFrames: 1 }])).toThrow(/item 1 must be a FeatureItem of dim 2/);
  });

  test('iteration 1 on synth speech: MFCC k-means labels carry phone information (PNMI >> shuffled)', () => {
    const lex = makeLexicon(5, 100);
    const utts = Array.from({ length: 6 }, (_, i) => synthesizeUtterance(1000 + i, makeSpeaker(5, i % 3), lex, { minSeconds: 1.5, maxSeconds: 2 }));
    const t = mfccTargets(utts.map((u) => ({ samples: u.samples, sampleRate: u.sampleRate })), { k: 24, seed: 0, batchSize: 512, nInit: 2 });
    expect(t.labelRate).toBe(100);
    const acc = new QualityAccumulator(), shuffled = new QualityAccumulator(), rng = new Rng(1);
    utts.forEach((u, i) => {
      const phones = alignmentFrames(u.alignment); // exact, 100 Hz
      const labels = t.labels[i];
      expect(labels.length).toBe(mfcc39(u.samples).numFrames);
      checkLabelLength(labels.length, u.samples.length / 16000, 100);
      const n = Math.min(phones.length, labels.length);
      acc.add(phones.slice(0, n), labels.subarray(0, n));
      const perm = Array.from(labels.subarray(0, n));
      for (let k = n - 1; k > 0; --k) { const j = rng.int(0, k); [perm[k], perm[j]] = [perm[j], perm[k]]; }
      shuffled.add(phones.slice(0, n), perm);
    });
    const q = acc.result(), s = shuffled.result();
    expect(q.pnmi).toBeGreaterThan(0.25);
    expect(q.pnmi).toBeGreaterThan(4 * s.pnmi);
    expect(q.phonePurity).toBeGreaterThan(s.phonePurity + 0.1);
    t.kmeans.dispose();
  });
});
