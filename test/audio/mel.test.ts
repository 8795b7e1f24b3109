/**
 * Mel filterbanks against torchaudio's melscale_fbanks transcribed in float64, and fbank (log-mel)
 * against a reference built from a direct framed DFT and a dense filterbank product.
 */
import { fbank, hzToMel, melscaleFbanks, melToHz } from '../../lib/audio/mel';
import { maxAbsErr, maxRelErr, randomSignal, refMelFbanks, refMelSpec, refRng, testSeed } from '../helpers/audio_ref';

const seed = testSeed('mel.test');
const rng = refRng(seed);

describe('mel scales', () => {
  test('htk and slaney: known points and inverse', () => {
    expect(hzToMel(700, 'htk')).toBeCloseTo(2595 * Math.log10(2), 12);
    expect(hzToMel(1000, 'slaney')).toBeCloseTo(15, 12); // 1 kHz is 15 Slaney mels
    expect(hzToMel(6400, 'slaney')).toBeCloseTo(15 + 27, 12); // 27 mels per factor 6.4 above 1 kHz
    for (let i = 0; i < 50; i++) {
      const f = rng.uniform() * 22050;
      for (const s of ['htk', 'slaney'] as const) expect(melToHz(hzToMel(f, s), s)).toBeCloseTo(f, 8);
    }
  });

  test.each([
    [201, 0, 8000, 80, 16000, null, 'htk'],
    [201, 0, 8000, 80, 16000, 'slaney', 'slaney'],
    [257, 20, 7600, 40, 16000, 'slaney', 'htk'],
    [513, 50, 11025, 128, 22050, null, 'slaney'],
    [9, 0, 4000, 3, 8000, null, 'htk'],
  ] as const)('melscaleFbanks(%i, %d, %d, %i, %i, %s, %s) matches the torchaudio formula', (nF, lo, hi, nM, sr, norm, scale) => {
    const fb = melscaleFbanks(nF, lo, hi, nM, sr, norm, scale);
    const ref = refMelFbanks(nF, lo, hi, nM, sr, norm, scale);
    expect(fb.length).toBe(nF * nM);
    expect(maxRelErr(fb, ref)).toBeLessThan(1e-12);
  });

  test('htk triangles without norm peak at <= 1 and are nonnegative', () => {
    const fb = melscaleFbanks(201, 0, 8000, 40, 16000);
    expect(Math.min(...fb)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...fb)).toBeLessThanOrEqual(1);
  });
});

describe('fbank', () => {
  const base = { sr: 16000, nFft: 400, hop: 160, winLength: 400, window: 'hann' as const, periodic: true, center: true, padMode: 'reflect' as const, nMels: 80, fMin: 0, fMax: 8000, norm: null, scale: 'htk' as const, power: 2 };

  test('defaults: (frames, 80) log-mel within 1e-4 relative of the reference; frames = 1 + floor(n / 160)', () => {
    const n = 16000 + rng.int(0, 159);
    const x = randomSignal(n, rng, Float32Array);
    const out = fbank(x);
    expect(out.numFrames).toBe(1 + Math.floor(n / 160));
    expect(out.dim).toBe(80);
    expect(out.data).toBeInstanceOf(Float32Array);
    const ref = refMelSpec(x, base);
    const lin = fbank(x, { log: 'none' });
    expect(maxRelErr(lin.data, ref.data)).toBeLessThan(1e-4);
    let worst = 0;
    for (let i = 0; i < ref.data.length; i++) worst = Math.max(worst, Math.abs(out.data[i] - Math.log(Math.max(ref.data[i], 1e-10))));
    expect(worst).toBeLessThan(1e-4); // absolute in ln units = relative in the mel energy
  });

  test.each([
    { nFft: 512, winLength: 400, hop: 128, nMels: 64, scale: 'slaney', norm: 'slaney', fMin: 20, fMax: 7600, power: 1, window: 'hamming', padMode: 'constant', center: true, sr: 16000 },
    { nFft: 400, winLength: 321, hop: 97, nMels: 23, scale: 'htk', norm: null, fMin: 133, fMax: 6855, power: 2, window: 'hann', padMode: 'reflect', center: false, sr: 16000 },
    { nFft: 256, winLength: 256, hop: 80, nMels: 40, scale: 'htk', norm: 'slaney', fMin: 0, fMax: 4000, power: 2, window: 'rectangular', padMode: 'reflect', center: true, sr: 8000 },
  ] as const)('nFft $nFft win $winLength hop $hop nMels $nMels $scale mels, $window window, center $center: matches the reference', (c) => {
    const sr: number = c.sr;
    const x = randomSignal(rng.int(2000, 5000), rng, Float64Array);
    const o = { ...base, ...c, sr };
    const ref = refMelSpec(x, o);
    const opts = { sampleRate: sr, nFft: c.nFft, winLength: c.winLength, hopLength: c.hop, nMels: c.nMels, melScale: c.scale, norm: c.norm, fMin: c.fMin, fMax: c.fMax, power: c.power, window: c.window, padMode: c.padMode, center: c.center };
    const lin = fbank(x, { ...opts, log: 'none' });
    expect(lin.numFrames).toBe(ref.frames);
    expect(maxRelErr(lin.data, ref.data)).toBeLessThan(1e-4);
    const db = fbank(x, { ...opts, log: 'db' });
    const mult = c.power === 1 ? 20 : 10;
    expect(maxAbsErr(db.data, ref.data.map((v) => mult * Math.log10(Math.max(v, 1e-10))))).toBeLessThan(1e-3);
  });

  test('floor clamps silence: ln(1e-10) and custom floor', () => {
    const out = fbank(new Float32Array(4000));
    expect(Math.max(...out.data.map((v) => Math.abs(v - Math.log(1e-10))))).toBeLessThan(1e-5);
    const out2 = fbank(new Float32Array(4000), { floor: 1e-5, log: 'db' });
    expect(out2.data[0]).toBeCloseTo(-50, 4);
  });

  test('a 1 kHz tone peaks in the mel band that contains 1 kHz', () => {
    const x = Float32Array.from({ length: 8000 }, (_, i) => Math.sin((2 * Math.PI * 1000 * i) / 16000));
    const out = fbank(x, { nMels: 40 });
    const t = 20;
    const row = Array.from(out.data.subarray(t * 40, t * 40 + 40));
    const peak = row.indexOf(Math.max(...row));
    const fb = melscaleFbanks(201, 0, 8000, 40, 16000);
    const bin = 1000 / 40; // 25: 1 kHz at 40 Hz per bin
    const col = Array.from({ length: 40 }, (_, m) => fb[bin * 40 + m]);
    expect(peak).toBe(col.indexOf(Math.max(...col)));
  });

  test('bad input throws [fbank] with the expected message', () => {
    const x = new Float32Array(16000);
    expect(() => fbank(x, { nMels: 300 })).toThrow('[fbank] nMels = 300 is more than the 201 frequency bins of nFft = 400');
    expect(() => fbank(x, { nFft: 256, winLength: 400 })).toThrow('[fbank] nFft = 256 is less than winLength = 400');
    expect(() => fbank(x, { hopLength: 0 })).toThrow('[fbank] hopLength must be a positive integer, got 0');
    expect(() => fbank(x, { sampleRate: NaN })).toThrow('[fbank] sampleRate must be a finite sample rate > 0, got NaN');
    expect(() => fbank(x, { sampleRate: Infinity })).toThrow(/^\[fbank\] sampleRate/);
    expect(() => fbank(x, { fMax: 9000 })).toThrow('[fbank] fMax = 9000 Hz is above the Nyquist frequency 8000 Hz of sampleRate = 16000');
    expect(() => fbank(x, { fMin: 5000, fMax: 4000 })).toThrow('[fbank] fMin = 5000 Hz must be below fMax = 4000 Hz');
    expect(() => fbank(new Float32Array(0))).toThrow('[fbank] signal is empty (0 samples)');
    expect(() => fbank(Float32Array.of(0, Infinity, 0))).toThrow('[fbank] signal[1] = Infinity is not finite');
    expect(() => fbank(x, { log: 'log2' as 'ln' })).toThrow(/^\[fbank\] log must be/);
    expect(() => fbank(new Float32Array(150))).toThrow(/^\[fbank\] reflect padding of 200 samples/);
  });
});
