/** The verdict's statistics: t intervals against scipy's values, bootstrap coverage, decisions. */
import { decide, meanCi, pairedBootstrap, t975 } from '../../lib/reproduce/stats';

describe('reproduce stats', () => {
  test('t975 matches scipy.stats.t.ppf(0.975, df)', () => {
    // scipy: 1 -> 12.7062, 2 -> 4.3027, 9 -> 2.2622, 30 -> 2.0423, 60 -> 2.0003, 1000 -> 1.9623
    const ref: Array<[number, number]> = [[1, 12.7062], [2, 4.3027], [9, 2.2622], [30, 2.0423], [60, 2.0003], [1000, 1.9623]];
    for (const [df, t] of ref) expect(Math.abs(t975(df) - t) / t).toBeLessThan(2e-3);
    expect(() => t975(0)).toThrow(/\[t975\]/);
  });

  test('meanCi: mean, sample sd and the t interval; errors on empty or non-finite input', () => {
    const v = [1.2, 0.7, 1.9, 1.4];
    const r = meanCi(v);
    const mean = (1.2 + 0.7 + 1.9 + 1.4) / 4;
    const sd = Math.sqrt(v.reduce((a, x) => a + (x - mean) ** 2, 0) / 3);
    expect(r.mean).toBeCloseTo(mean, 12);
    expect(r.sd).toBeCloseTo(sd, 12);
    expect(r.hi - r.mean).toBeCloseTo(3.182 * sd / 2, 9);
    expect(meanCi([3]).lo).toBe(3);
    expect(() => meanCi([])).toThrow(/\[meanCi\]/);
    expect(() => meanCi([1, NaN])).toThrow(/not finite/);
  });

  test('pairedBootstrap covers a known difference about 95 % of the time and separates a clear one', () => {
    const seed = Date.now() % 100000;
    let covered = 0;
    const trials = 60;
    let s = seed;
    const rand = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
    const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    for (let t = 0; t < trials; ++t) {
      // 3 seeds x 40 utterances, true mean difference 0.3, utterance noise 1, seed noise 0.1.
      const a: number[][] = [], b: number[][] = [];
      for (let k = 0; k < 3; ++k) {
        const off = 0.1 * gauss();
        const ra: number[] = [], rb: number[] = [];
        for (let u = 0; u < 40; ++u) { const base = gauss(); ra.push(base + 0.3 + off + gauss()); rb.push(base + gauss()); }
        a.push(ra); b.push(rb);
      }
      const r = pairedBootstrap(a, b, { draws: 400, seed: t });
      if (r.lo <= 0.3 && 0.3 <= r.hi) ++covered;
    }
    // Binomial(60, 0.95): P(covered < 50) < 1 %. The bootstrap is slightly anti-conservative with 3 seeds.
    if (covered < 50) process.stderr.write(`pairedBootstrap coverage ${covered}/${trials} with data seed ${seed}\n`);
    expect(covered).toBeGreaterThanOrEqual(50);
    const clear = pairedBootstrap([[5, 6, 7, 5.5]], [[1, 1.5, 2, 1.2]], { draws: 500 });
    expect(clear.lo).toBeGreaterThan(0);
    expect(() => pairedBootstrap([[1]], [[1, 2]])).toThrow(/seed 0/);
  });

  test('decide: supported / not supported / inconclusive, with a non-inferiority margin', () => {
    expect(decide({ lo: -0.5, hi: -0.1 })).toBe('supported');
    expect(decide({ lo: 0.1, hi: 0.5 })).toBe('not supported');
    expect(decide({ lo: -0.1, hi: 0.1 })).toBe('inconclusive');
    expect(decide({ lo: -0.1, hi: 0.05 }, { margin: 0.1 })).toBe('supported');
  });
});
