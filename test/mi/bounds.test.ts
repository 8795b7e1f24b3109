/**
 * bounds.test.ts — the held-out value, reduced per chunk on the device (chunkStats) and combined
 * over chunks on the host (HeldOutAcc), equals each bound's formula in float64 over all the
 * scores at once; and shuffled negatives are derangements (no row paired with its own y).
 */
import { tensor, tidy } from '../../lib';
import { Rng } from '../../lib/data/rng';
import { allPairsScores, chunkStats, HeldOutAcc, offDiag } from '../../lib/mi/bounds';
import { derangement } from '../../lib/mi/data';
import type { Estimator } from '../../lib/mi';
import { testDevices } from '../helpers/devices';

const TAU = 1.5;
const lme = (v: number[]): number => {
  const mx = Math.max(...v);
  return mx + Math.log(v.reduce((a, x) => a + Math.exp(x - mx), 0) / v.length);
};

/** The formula over every chunk's scores at once (float64). */
function reference(est: Estimator, chunks: { tj: number[]; tm: number[]; C: number; allPairs: boolean }[]): number {
  if (est === 'infonce') {
    let s = 0;
    let rows = 0;
    for (const { C, tm } of chunks) {
      for (let i = 0; i < C; ++i) {
        const row = tm.slice(i * C, (i + 1) * C);
        s += Math.log(C) + row[i] - (lme(row) + Math.log(C));
      }
      rows += C;
    }
    return s / rows;
  }
  const tj = chunks.flatMap((c) => c.tj);
  const tm = chunks.flatMap((c) => (c.allPairs ? c.tm.filter((_, k) => Math.floor(k / c.C) !== k % c.C) : c.tm));
  const jm = tj.reduce((a, b) => a + b, 0) / tj.length;
  if (est === 'nwj') return jm - tm.reduce((a, t) => a + Math.exp(t - 1), 0) / tm.length;
  return jm - lme(est === 'smile' ? tm.map((t) => Math.min(TAU, Math.max(-TAU, t))) : tm);
}

describe.each(testDevices)('held-out value over chunks on %s', (device) => {
  const cases: [Estimator, boolean][] = [
    ['dv', false], ['dv', true], ['mine', false], ['nwj', false], ['nwj', true], ['smile', false], ['smile', true], ['infonce', true],
  ];
  test.each(cases)('%s (all-pairs: %s) equals the float64 formula on all scores', (est, allPairs) => {
    const rng = new Rng(5);
    const P = 2;
    const sizes = est === 'infonce' ? [7, 7, 7] : [7, 6, 2];
    const per: { tj: number[]; tm: number[]; C: number; allPairs: boolean }[][] = [[], []];
    const accs = [new HeldOutAcc(est), new HeldOutAcc(est)];
    for (const C of sizes) {
      const S = Array.from({ length: P * C * C }, () => 3 * rng.normal() + 1);       // (P, C, C)
      const tmS = Array.from({ length: P * C }, () => 3 * rng.normal() - 1);         // (P, C) shuffled
      const v = tidy(() => {
        const mask = offDiag(C, device);
        const sc = allPairs
          ? allPairsScores(tensor(Float32Array.from(S), [P, C, C], { device }), mask)
          : { tj: tensor(Float32Array.from(S.slice(0, P * C)), [P, C], { device }), tm: tensor(Float32Array.from(tmS), [P, C], { device }), S: null, mask: null };
        const out = chunkStats(est, sc, TAU).dataSync();
        mask.log.dispose();
        mask.w.dispose();
        return out;
      });
      const f = (k: number[]): number[] => Array.from(Float32Array.from(k));      // the float32 values the device saw
      for (let m = 0; m < P; ++m) {
        const Sm = f(S.slice(m * C * C, (m + 1) * C * C));
        const tj = allPairs ? Sm.filter((_, k) => Math.floor(k / C) === k % C) : f(S.slice(m * C, (m + 1) * C));
        const tm = allPairs ? Sm : f(tmS.slice(m * C, (m + 1) * C));
        per[m].push({ tj, tm, C, allPairs });
        accs[m].add(v[2 * m], v[2 * m + 1], C, allPairs ? C * (C - 1) : C);
      }
    }
    for (let m = 0; m < P; ++m) expect(Math.abs(accs[m].value() - reference(est, per[m]))).toBeLessThan(2e-5 * (1 + Math.abs(reference(est, per[m]))));
  });
});

test('shuffled negatives are derangements: every row gets another row\'s y, each y used once', () => {
  const rng = new Rng(9);
  for (const n of [2, 3, 7, 256]) {
    for (let rep = 0; rep < 20; ++rep) {
      const p = derangement(rng, n);
      expect(new Set(p).size).toBe(n);
      p.forEach((j, i) => expect(j).not.toBe(i));
    }
  }
});
