/** Noise generators: unit RMS, spectral slopes, determinism; mixing at an SNR; recipes. */
import { NOISE_TYPES, TEST_SNRS, TRAIN_SNRS, addNoiseAtSnr, babbleNoise, brownNoise, drawNoiseSpec, humNoise, makeNoise, pinkNoise, whiteNoise } from '../../lib/data/noise';

const seed = Date.now() % 1e6;
const rms = (x: Float32Array): number => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);
/** Power ratio (dB) of the first difference to the signal: higher = brighter spectrum. */
const brightness = (x: Float32Array): number => {
  let d = 0;
  for (let i = 1; i < x.length; i++) d += (x[i] - x[i - 1]) ** 2;
  return 10 * Math.log10(d / x.reduce((a, v) => a + v * v, 0));
};

test('generators: unit RMS, deterministic by seed, spectra ordered white > pink > brown', () => {
  const n = 16000;
  for (const f of [whiteNoise, pinkNoise, brownNoise]) {
    const x = f(n, seed);
    expect(rms(x)).toBeCloseTo(1, 4);
    expect(f(n, seed)).toEqual(x);
    expect(f(n, seed + 1)).not.toEqual(x);
  }
  const [w, p, b] = [whiteNoise(n, seed), pinkNoise(n, seed), brownNoise(n, seed)];
  expect(brightness(w)).toBeGreaterThan(brightness(p) + 3);
  expect(brightness(p)).toBeGreaterThan(brightness(b) + 3);
  const h = humNoise(n, 16000, seed, 50);
  expect(rms(h)).toBeCloseTo(1, 4);
  // a 50 Hz hum repeats every 320 samples (up to the ±0.2 % drift)
  let c = 0;
  for (let i = 0; i < n - 320; i++) c += h[i] * h[i + 320];
  expect(c / (n - 320)).toBeGreaterThan(0.9);
  const talkers = [whiteNoise(3000, 1), pinkNoise(5000, 2), humNoise(700, 16000, 3)];
  expect(rms(babbleNoise(n, talkers, seed))).toBeCloseTo(1, 4);
});

test('addNoiseAtSnr hits the SNR', () => {
  const clean = pinkNoise(8000, seed).map((v) => v * 0.1);
  for (const snr of [...TRAIN_SNRS, ...TEST_SNRS, -5]) {
    const noise = whiteNoise(8000, seed + 3);
    const mix = addNoiseAtSnr(clean, noise, snr);
    const resid = mix.map((v, i) => v - clean[i]);
    expect(10 * Math.log10((rms(clean) / rms(resid)) ** 2)).toBeCloseTo(snr, 3);
  }
  expect(() => addNoiseAtSnr(new Float32Array(10), new Float32Array(5), 0)).toThrow('[addNoiseAtSnr] noise has 5 samples');
});

test('noise recipes: grid by split, babble never uses the utterance itself', () => {
  const pool = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const s = drawNoiseSpec(seed, i, { split: i % 2 ? 'test' : 'train', pool, self: 'a' });
    seen.add(s.type);
    expect((i % 2 ? TEST_SNRS : TRAIN_SNRS)).toContain(s.snrDb);
    if (s.type === 'babble') {
      expect(s.babble!.length).toBeGreaterThanOrEqual(3);
      expect(s.babble).not.toContain('a');
    }
    expect(drawNoiseSpec(seed, i, { split: i % 2 ? 'test' : 'train', pool, self: 'a' })).toEqual(s);
    expect(makeNoise(s, 100, 16000, [whiteNoise(50, 1)]).length).toBe(100);
  }
  expect([...seen].sort()).toEqual([...NOISE_TYPES].sort());
  expect(drawNoiseSpec(seed, 0, { split: 'train', pool: ['a'], self: 'a', types: ['babble', 'hum'] }).type).toBe('hum');
});
