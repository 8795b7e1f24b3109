// Differentiable tensor STFT / iSTFT (models.Stft, tensorStft, tensorIstft): against a float64
// direct-DFT reference written here (torch.stft semantics: periodic Hann zero-padded to nFft,
// centre reflect padding), against lib/audio's array stft/istft, round trip, per-item padding
// (batched = alone, padding content ignored), gradients by finite differences, bad input.
import { audio, gradCheck, models, tensor, Tensor } from '../../lib';
import { describeCuda, testDevices } from '../helpers/devices';
import { closeness } from '../helpers/reference';

const seed0 = Number(process.env.TEST_SEED ?? Date.now() % 100000);
let seed = seed0;
/** Fresh values each run (seeded from the clock; the seed is printed when a test fails). */
function rand(n: number, scale = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    a[i] = (seed / 2147483648 * 2 - 1) * scale;
  }
  return a;
}
afterEach(() => {
  if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) console.log(`stft_tensor seed ${seed0}`);
});

/** torch.stft(x, nFft, hop, win, window=hann|hamming(win, periodic), center, pad_mode) in float64 by a
 *  direct DFT: (frames, bins) re, im. */
function refStft(x: Float64Array, nFft: number, hop: number, win: number, center: boolean, mode: 'reflect' | 'constant', hamming = false) {
  const w = new Float64Array(nFft);
  const off = Math.floor((nFft - win) / 2);
  const [a0, a1] = hamming ? [0.54, 0.46] : [0.5, 0.5];
  for (let k = 0; k < win; k++) w[off + k] = a0 - a1 * Math.cos((2 * Math.PI * k) / win);
  const p = center ? Math.floor(nFft / 2) : 0;
  const n = x.length;
  const at = (i: number): number => {
    if (i >= 0 && i < n) return x[i];
    if (mode === 'constant') return 0;
    return i < 0 ? x[-i] : x[2 * (n - 1) - i];
  };
  const T = 1 + Math.floor((n + 2 * p - nFft) / hop);
  const F = Math.floor(nFft / 2) + 1;
  const re = new Float64Array(T * F), im = new Float64Array(T * F);
  const cos = Float64Array.from({ length: nFft }, (_, m) => Math.cos((2 * Math.PI * m) / nFft)); // e^{-2πi m/N}, m = k·j mod N
  const sin = Float64Array.from({ length: nFft }, (_, m) => Math.sin((2 * Math.PI * m) / nFft));
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < F; k++) {
      let sr = 0, si = 0;
      for (let j = 0; j < nFft; j++) {
        const v = at(t * hop + j - p) * w[j];
        sr += v * cos[(k * j) % nFft];
        si -= v * sin[(k * j) % nFft];
      }
      re[t * F + k] = sr;
      im[t * F + k] = si;
    }
  }
  return { re, im, T, F };
}

describe.each(testDevices)('tensor STFT on %s', (device) => {
  const configs: [string, models.TensorStftOptions][] = [
    ['nFft 400 hop 100 (SEMamba)', { nFft: 400, hop: 100 }],
    ['odd nFft 15, hop 4, win 11', { nFft: 15, hop: 4, win: 11 }],
    ['nFft 16 hop 5 constant padding', { nFft: 16, hop: 5, padMode: 'constant' }],
    // Without centring a Hann window fails NOLA at sample 0 (w[0] = 0), as in torch.istft.
    ['nFft 12 hop 3 no centring, Hamming', { nFft: 12, hop: 3, center: false, window: 'hamming' }],
  ];

  test.each(configs)('%s: matches the float64 direct-DFT reference per item, with ragged lengths', (_, o) => {
    const N = o.nFft, hop = o.hop!, win = o.win ?? N;
    const n = N === 400 ? 1237 : 61;
    const lens = N === 400 ? [n, 403, 977] : [n, 29, 17];
    const x = rand(3 * n);
    const s = new models.Stft(o, { device });
    const { re, im, frames } = s.forward(tensor(Float32Array.from(x), [3, n], { device }), lens);
    const [, T, F] = re.shape;
    const r = re.dataSync(), i = im.dataSync();
    lens.forEach((L, b) => {
      const ref = refStft(x.slice(b * n, b * n + L), N, hop, win, o.center ?? true, o.padMode ?? 'reflect', o.window === 'hamming');
      expect(frames[b]).toBe(ref.T);
      expect(F).toBe(ref.F);
      const got = { re: new Float64Array(ref.T * F), im: new Float64Array(ref.T * F) };
      for (let t = 0; t < ref.T; t++) for (let k = 0; k < F; k++) {
        got.re[t * F + k] = r[(b * T + t) * F + k];
        got.im[t * F + k] = i[(b * T + t) * F + k];
      }
      // float32 sums of N products of O(1) values: ~1e-6 · sqrt(N) absolute.
      expect(closeness(got.re, ref.re, 1e-4, 2e-5 * Math.sqrt(N))).toBeLessThanOrEqual(1);
      expect(closeness(got.im, ref.im, 1e-4, 2e-5 * Math.sqrt(N))).toBeLessThanOrEqual(1);
      for (let t = ref.T; t < T; t++) for (let k = 0; k < F; k++) expect(Math.abs(r[(b * T + t) * F + k])).toBe(0); // padding frames
    });
  });

  test('agrees with lib/audio stft (nFft 400, hop 100) and istft on arbitrary spectra', () => {
    const n = 2001;
    const x = Float64Array.from(rand(n));
    const { re, im } = models.tensorStft(tensor(Float32Array.from(x), [1, n], { device }), { nFft: 400, hop: 100 });
    const a = audio.stft(x, { nFft: 400, hopLength: 100 });
    expect(re.shape).toEqual([1, a.frames, a.bins]);
    expect(closeness(re.dataSync(), a.re, 1e-4, 4e-4)).toBeLessThanOrEqual(1);
    expect(closeness(im.dataSync(), a.im, 1e-4, 4e-4)).toBeLessThanOrEqual(1);
    // iSTFT of a spectrum no signal has (random re, im): overlap-add and envelope must still match.
    const T = 9, F = 201;
    const sr = rand(T * F), si = rand(T * F);
    const y = models.tensorIstft(tensor(Float32Array.from(sr), [1, T, F], { device }), tensor(Float32Array.from(si), [1, T, F], { device }), { nFft: 400, hop: 100, length: 777 });
    const ref = audio.istft(sr, si, T, { nFft: 400, hopLength: 100, length: 777 });
    expect(y.shape).toEqual([1, 777]);
    expect(closeness(y.dataSync(), ref, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    // Default length and a longer one (zero-filled past the overlap-added signal), as torch.istft.
    const yd = models.tensorIstft(tensor(Float32Array.from(sr), [1, T, F], { device }), tensor(Float32Array.from(si), [1, T, F], { device }), { nFft: 400, hop: 100 });
    expect(yd.shape).toEqual([1, 400 + 100 * (T - 1) - 400]);
    const yl = models.tensorIstft(tensor(Float32Array.from(sr), [1, T, F], { device }), tensor(Float32Array.from(si), [1, T, F], { device }), { nFft: 400, hop: 100, length: 1300 }).dataSync();
    const refl = audio.istft(sr, si, T, { nFft: 400, hopLength: 100, length: 1300 });
    expect(closeness(yl, refl, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
  });

  test.each(configs)('%s: stft -> istft returns each item, zero past its length', (_, o) => {
    const n = o.nFft === 400 ? 1600 : 73;
    const lens = o.nFft === 400 ? [n, 1001] : [n, 40];
    const x = Float32Array.from(rand(2 * n));
    const s = new models.Stft(o, { device });
    const { re, im } = s.forward(tensor(x, [2, n], { device }), lens);
    const y = s.inverse(re, im, { length: n, lengths: lens }).dataSync();
    lens.forEach((L, b) => {
      // Without centring the last (L − N) mod hop samples are in no frame (torch leaves them 0 too).
      const covered = o.center === false ? o.nFft + o.hop! * Math.floor((L - o.nFft) / o.hop!) : L;
      for (let j = 0; j < n; j++) {
        const want = j < covered ? x[b * n + j] : 0;
        if (Math.abs(y[b * n + j] - want) > 2e-5) throw new Error(`item ${b} sample ${j}: ${y[b * n + j]} vs ${want}`);
      }
    });
  });

  test('batched = alone, and the padding content changes nothing', () => {
    const s = new models.Stft({ nFft: 64, hop: 16 }, { device });
    const n = 300, L = 157;
    const a = Float32Array.from(rand(n));
    const junk = Float32Array.from(rand(n, 100));
    junk.set(a.subarray(0, L));
    const both = tensor(Float32Array.from([...a, ...junk]), [2, n], { device });
    const sb = s.forward(both, [n, L]);
    const alone = s.forward(tensor(a.slice(0, L), [1, L], { device }));
    const T = sb.re.shape[1], F = 33, Tb = alone.re.shape[1];
    const r = sb.re.dataSync(), ra = alone.re.dataSync();
    expect(closeness(r.subarray(T * F, T * F + Tb * F), ra, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
    const y = s.inverse(sb.re, sb.im, { length: n, lengths: [n, L] }).dataSync();
    const ya = s.inverse(alone.re, alone.im, { length: L }).dataSync();
    expect(closeness(y.subarray(n, n + L), ya, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    expect(Array.from(y.subarray(n + L)).every((v) => v === 0)).toBe(true);
  });

  test('gradients of stft (w.r.t. the signal) and istft (w.r.t. re, im) by finite differences', () => {
    const o = { nFft: 8, hop: 2, win: 7 };
    const x = tensor(Float32Array.from(rand(2 * 13)), [2, 13], { device, requiresGrad: true });
    const r1 = gradCheck((v: Tensor) => {
      const { re, im } = models.tensorStft(v, o, [13, 9]);
      return re.add(im.mul(0.7));
    }, [x]);
    expect(r1.worst).toBeLessThanOrEqual(1);
    const re = tensor(Float32Array.from(rand(2 * 6 * 5)), [2, 6, 5], { device, requiresGrad: true });
    const im = tensor(Float32Array.from(rand(2 * 6 * 5)), [2, 6, 5], { device, requiresGrad: true });
    const r2 = gradCheck((a: Tensor, b: Tensor) => models.tensorIstft(a, b, { ...o, length: 11, lengths: [11, 7] }), [re, im]);
    expect(r2.worst).toBeLessThanOrEqual(1);
  });

  test('bad input: clear errors naming the op', () => {
    const s = new models.Stft({ nFft: 16, hop: 4 }, { device });
    expect(() => s.forward(tensor(new Float32Array(20), [1, 20, 1], { device }))).toThrow('[Stft] signal must be (B, n), got (1, 20, 1)');
    expect(() => s.forward(tensor(new Float32Array(8), [1, 8], { device }))).toThrow('[Stft] item 0 has 8 samples; the STFT (nFft 16, reflect padding of 8) needs at least 9');
    expect(() => s.forward(tensor(new Float32Array(40), [2, 20], { device }), [20, 21])).toThrow('[Stft] lengths[1] = 21 is outside [0, 20]');
    expect(() => s.forward(tensor(new Float32Array(40), [2, 20], { device }), [20])).toThrow('[Stft] lengths must have one entry per batch item (2), got 1');
    const spec = tensor(new Float32Array(2 * 3 * 8), [2, 3, 8], { device });
    expect(() => s.inverse(spec, spec)).toThrow('[Stft] re must be (B, T, 9) for nFft 16, got (2, 3, 8)');
    expect(() => new models.Stft({ nFft: 16, hop: 0 })).toThrow('[Stft] hop must be a positive integer, got 0');
    expect(() => new models.Stft({ nFft: 16, win: 17 })).toThrow('[Stft] win (17) must be <= nFft (16)');
    const gap = new models.Stft({ nFft: 8, hop: 12, center: false }, { device });
    const g = gap.forward(tensor(Float32Array.from(rand(40)), [1, 40], { device }));
    expect(() => gap.inverse(g.re, g.im)).toThrow(/\[Stft\] window envelope is 0\.00e\+0 at sample 0 of item 0: .*NOLA/);
  });
});

describeCuda('tensor STFT: cuda equals cpu', () => {
  test('forward and inverse with ragged lengths', () => {
    const n = 3000;
    const x = Float32Array.from(rand(2 * n));
    const run = (device: 'cpu' | 'cuda') => {
      const s = new models.Stft({ nFft: 400, hop: 100 }, { device });
      const sp = s.forward(tensor(x, [2, n], { device }), [n, 1777]);
      return [sp.re.dataSync(), s.inverse(sp.re, sp.im, { length: n, lengths: [n, 1777] }).dataSync()];
    };
    const [c0, c1] = run('cpu');
    const [g0, g1] = run('cuda');
    expect(closeness(g0, c0, 1e-4, 1e-4)).toBeLessThanOrEqual(1);
    expect(closeness(g1, c1, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
  });
});
