/**
 * MFCC against the reference mel spectrogram + dB/top_db + direct DCT-II; DCT matrix properties;
 * delta features against the regression formula with replicate padding.
 */
import { cepstra, computeDeltas, createDct, liftering, mfcc } from '../../lib/audio/mfcc';
import { maxAbsErr, randomSignal, refDct, refMelSpec, refRng, testSeed } from '../helpers/audio_ref';

const seed = testSeed('mfcc.test');
const rng = refRng(seed);

const REF = { sr: 16000, nFft: 400, hop: 160, winLength: 400, window: 'hann' as const, periodic: true, center: true, padMode: 'reflect' as const, nMels: 80, fMin: 0, fMax: 8000, norm: null, scale: 'htk' as const, power: 2 };

describe('createDct', () => {
  test('ortho DCT-II matrix is orthonormal (square) and matches the direct DCT', () => {
    const M = 23;
    const d = createDct(M, M, 'ortho'); // (M, M)
    for (let a = 0; a < M; a++) {
      for (let b = 0; b < M; b++) {
        let s = 0;
        for (let m = 0; m < M; m++) s += d[m * M + a] * d[m * M + b];
        expect(Math.abs(s - (a === b ? 1 : 0))).toBeLessThan(1e-13);
      }
    }
    const x = Float64Array.from({ length: M }, () => rng.normal());
    const c = cepstra(x, 1, M, 13);
    expect(maxAbsErr(c, refDct(x, 13))).toBeLessThan(1e-5);
  });

  test('norm null is 2 cos(...) as torchaudio', () => {
    const d = createDct(4, 6, null);
    expect(d[1 * 4 + 2]).toBeCloseTo(2 * Math.cos((Math.PI / 6) * 1.5 * 2), 14);
  });

  test('lifter 1 + L/2 sin(pi k / L)', () => {
    const w = liftering(13, 22);
    expect(w[0]).toBe(1);
    expect(w[11]).toBeCloseTo(1 + 11 * Math.sin(Math.PI / 2), 14);
  });
});

describe('mfcc', () => {
  test('defaults: dB log-mels with an 80 dB floor, DCT-II ortho, 40 coefficients', () => {
    const x = randomSignal(rng.int(4000, 9000), rng, Float64Array);
    // A quiet stretch makes the 80 dB floor bite.
    for (let i = 1000; i < 2500; i++) x[i] *= 1e-6;
    const out = mfcc(x);
    const mel = refMelSpec(x, REF);
    const db = mel.data.map((v) => 10 * Math.log10(Math.max(v, 1e-10)));
    const top = Math.max(...db);
    const clamped = db.map((v) => Math.max(v, top - 80));
    expect(clamped.some((v, i) => v !== db[i])).toBe(true);
    expect(out.numFrames).toBe(mel.frames);
    expect(out.dim).toBe(40);
    const want = new Float64Array(out.numFrames * 40);
    for (let t = 0; t < mel.frames; t++) want.set(refDct(clamped.subarray(t * 80, (t + 1) * 80), 40), t * 40);
    expect(maxAbsErr(out.data, want)).toBeLessThan(2e-3); // dB values ~ +-100, float32 outputs
  });

  test('logMels, lifter, nMfcc 13, 40 mels', () => {
    const x = randomSignal(rng.int(3000, 5000), rng, Float64Array);
    const out = mfcc(x, { logMels: true, lifter: 22, nMfcc: 13, nMels: 40 });
    const mel = refMelSpec(x, { ...REF, nMels: 40 });
    const lift = liftering(13, 22);
    for (let t = 0; t < mel.frames; t++) {
      const c = refDct(mel.data.subarray(t * 40, (t + 1) * 40).map((v) => Math.log(v + 1e-6)), 13);
      for (let k = 0; k < 13; k++) expect(Math.abs(out.data[t * 13 + k] - c[k] * lift[k])).toBeLessThan(1e-3);
    }
  });

  test('useEnergy replaces c0 by the log energy of the windowed frame', () => {
    const x = randomSignal(4000, rng, Float64Array);
    const a = mfcc(x, { nMfcc: 13 });
    const b = mfcc(x, { nMfcc: 13, useEnergy: true });
    // frame 5 lies inside the signal: window * x[800 - 200 .. 800 + 200)
    let e = 0;
    for (let j = 0; j < 400; j++) e += (x[5 * 160 - 200 + j] * (0.5 - 0.5 * Math.cos((2 * Math.PI * j) / 400))) ** 2;
    expect(b.data[5 * 13]).toBeCloseTo(Math.log(e), 4);
    expect(Array.from(b.data.subarray(5 * 13 + 1, 6 * 13))).toEqual(Array.from(a.data.subarray(5 * 13 + 1, 6 * 13)));
  });

  test('bad input', () => {
    expect(() => mfcc(new Float32Array(4000), { nMfcc: 100, nMels: 80 })).toThrow('[mfcc] nMfcc = 100 is more than nMels = 80');
    expect(() => mfcc(new Float32Array(0))).toThrow('[mfcc] signal is empty (0 samples)');
  });
});

describe('computeDeltas', () => {
  test.each([3, 5, 7, 9])('winLength %i matches the regression formula with replicate padding', (win) => {
    const T = rng.int(1, 40);
    const D = rng.int(1, 7);
    const x = Float32Array.from({ length: T * D }, () => rng.normal());
    const out = computeDeltas(x, T, D, win);
    const N = (win - 1) / 2;
    let denom = 0;
    for (let n = 1; n <= N; n++) denom += 2 * n * n;
    for (let t = 0; t < T; t++) {
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let n = -N; n <= N; n++) acc += n * x[Math.min(T - 1, Math.max(0, t + n)) * D + d];
        expect(Math.abs(out[t * D + d] - acc / denom)).toBeLessThan(1e-6);
      }
    }
  });

  test('a ramp has delta 1 away from the edges; a constant has delta 0', () => {
    const T = 20;
    const ramp = Float32Array.from({ length: T }, (_, t) => 3 * t);
    const d = computeDeltas(ramp, T, 1);
    for (let t = 2; t < T - 2; t++) expect(d[t]).toBeCloseTo(3, 6);
    expect(Math.max(...computeDeltas(new Float32Array(T).fill(4), T, 1).map(Math.abs))).toBe(0);
  });

  test('bad input', () => {
    expect(() => computeDeltas(new Float32Array(10), 5, 2, 1)).toThrow('[computeDeltas] winLength must be >= 3, got 1');
    expect(() => computeDeltas(new Float32Array(10), 3, 2)).toThrow('[computeDeltas] features has 10 values, expected frames * dim = 3*2');
  });
});
