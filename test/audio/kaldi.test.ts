/**
 * Kaldi fbank and MFCC against a reference written from Kaldi's formulas (feature-window.cc,
 * mel-computations.cc, feature-mfcc.cc): mirrored edges, DC removal, raw energy, pre-emphasis,
 * povey window, naive DFT, Kaldi mel triangles, DCT and lifter.
 */
import { kaldiFbank, kaldiMelBanks, kaldiMfcc } from '../../lib/audio/kaldi';
import { maxAbsErr, randomSignal, refDct, refKaldiFbank, RefKaldiOpts, refRng, testSeed } from '../helpers/audio_ref';

const seed = testSeed('kaldi.test');
const rng = refRng(seed);

const DEF: RefKaldiOpts = {
  sampleFrequency: 16000, frameLength: 25, frameShift: 10, numMelBins: 23, lowFreq: 20, highFreq: 0,
  preemph: 0.97, removeDc: true, rawEnergy: true, energyFloor: 1, snipEdges: true, usePower: true,
  window: 'povey', roundPow2: true,
};

/** Kaldi-scale audio: int16 range, as Kaldi reads WAV files. */
function kaldiSignal(n: number): Float64Array {
  return randomSignal(n, rng, Float64Array).map((v) => Math.round(v * 8000)) as Float64Array;
}

// Outputs are float32 logs of energies computed in float64; 1e-4 absolute in ln units is a
// 1e-4 relative error in the energy, far below any real difference (a wrong bin edge is ~1e-1).
const TOL = 1e-4;

describe('kaldiFbank', () => {
  test('defaults (23 bins, povey, 25/10 ms, snip edges) match the Kaldi formulas', () => {
    const n = rng.int(4000, 9000);
    const x = kaldiSignal(n);
    const out = kaldiFbank(x);
    const ref = refKaldiFbank(x, DEF);
    expect(out.numFrames).toBe(1 + Math.floor((n - 400) / 160));
    expect(out.numFrames).toBe(ref.frames);
    expect(out.dim).toBe(23);
    expect(maxAbsErr(out.data, ref.mel)).toBeLessThan(TOL);
  });

  test.each([
    [{ snipEdges: false }, { snipEdges: false }],
    [{ useEnergy: true }, {}],
    [{ useEnergy: true, htkCompat: true }, {}],
    [{ useEnergy: true, rawEnergy: false, energyFloor: 0 }, { rawEnergy: false, energyFloor: 0 }],
    [{ usePower: false, numMelBins: 40, lowFreq: 60, highFreq: -400 }, { usePower: false, numMelBins: 40, lowFreq: 60, highFreq: -400 }],
    [{ windowType: 'hamming', preemphasisCoefficient: 0, removeDcOffset: false }, { window: 'hamming', preemph: 0, removeDc: false }],
    [{ windowType: 'rectangular', roundToPowerOfTwo: false, frameLength: 20, frameShift: 7.5, sampleFrequency: 8000, highFreq: 3700 }, { window: 'rectangular', roundPow2: false, frameLength: 20, frameShift: 7.5, sampleFrequency: 8000, highFreq: 3700 }],
  ] as const)('options %o match the Kaldi formulas', (opts, refOpts) => {
    const x = kaldiSignal(rng.int(3000, 6000));
    const out = kaldiFbank(x, opts);
    const ref = refKaldiFbank(x, { ...DEF, ...refOpts });
    const withE = 'useEnergy' in opts && opts.useEnergy;
    const htk = 'htkCompat' in opts && opts.htkCompat;
    const nb = ('numMelBins' in opts ? opts.numMelBins : 23) as number;
    expect(out.numFrames).toBe(ref.frames);
    expect(out.dim).toBe(nb + (withE ? 1 : 0));
    const mel = new Float64Array(out.numFrames * nb);
    const energy = new Float64Array(out.numFrames);
    for (let t = 0; t < out.numFrames; t++) {
      for (let b = 0; b < nb; b++) mel[t * nb + b] = out.data[t * out.dim + (withE && !htk ? 1 : 0) + b];
      if (withE) energy[t] = out.data[t * out.dim + (htk ? nb : 0)];
    }
    expect(maxAbsErr(mel, ref.mel)).toBeLessThan(TOL);
    if (withE) expect(maxAbsErr(energy, ref.energy)).toBeLessThan(TOL);
  });

  test('snipEdges = false frame count is floor((n + shift/2) / shift)', () => {
    for (const n of [400, 401, 1000, 16000, 16079, 16080]) {
      expect(kaldiFbank(kaldiSignal(n), { snipEdges: false }).numFrames).toBe(Math.floor((n + 80) / 160));
    }
  });

  test('subtractMean leaves zero column means', () => {
    const out = kaldiFbank(kaldiSignal(5000), { subtractMean: true, useEnergy: true });
    for (let d = 0; d < out.dim; d++) {
      let s = 0;
      for (let t = 0; t < out.numFrames; t++) s += out.data[t * out.dim + d];
      expect(Math.abs(s / out.numFrames)).toBeLessThan(1e-5);
    }
  });

  test('dither is seeded: same seed same output, different seed different, and small', () => {
    const x = kaldiSignal(3000);
    const a = kaldiFbank(x, { dither: 1, seed: 5 });
    const b = kaldiFbank(x, { dither: 1, seed: 5 });
    const c = kaldiFbank(x, { dither: 1, seed: 6 });
    const clean = kaldiFbank(x);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(maxAbsErr(a.data, c.data)).toBeGreaterThan(0);
    expect(maxAbsErr(a.data, clean.data)).toBeLessThan(0.5); // dither 1 on int16-scale audio
  });

  test('mel banks: triangles peak at 1 between lowFreq and highFreq and vanish outside', () => {
    const banks = kaldiMelBanks(23, 512, 16000, 20, 0); // (23, 256)
    expect(banks.length).toBe(23 * 256);
    expect(Math.max(...banks)).toBeLessThanOrEqual(1);
    expect(banks[0]).toBe(0); // bin 0 (0 Hz) is below lowFreq = 20 Hz
  });

  test('minDuration returns no frames for short input', () => {
    expect(kaldiFbank(kaldiSignal(1000), { minDuration: 0.1 }).numFrames).toBe(0);
  });

  test('bad input throws [kaldiFbank]', () => {
    const x = kaldiSignal(2000);
    expect(() => kaldiFbank(kaldiSignal(300))).toThrow('[kaldiFbank] signal of 300 samples is shorter than one frame of 400 samples (25 ms at 16000 Hz)');
    expect(() => kaldiFbank(x, { numMelBins: 3 })).toThrow('[kaldiFbank] numMelBins must be more than 3, got 3');
    expect(() => kaldiFbank(x, { highFreq: 9000 })).toThrow(/^\[kaldiFbank\] need 0 <= lowFreq < highFreq <= Nyquist = 8000 Hz/);
    expect(() => kaldiFbank(x, { sampleFrequency: NaN })).toThrow(/^\[kaldiFbank\] sampleFrequency must be a finite sample rate/);
    expect(() => kaldiFbank(x, { frameShift: 0 })).toThrow('[kaldiFbank] frameShift must be a finite number > 0, got 0');
    expect(() => kaldiFbank(x, { vtlnWarp: 0.9 })).toThrow(/^\[kaldiFbank\] vtlnWarp = 0.9 is not supported/);
    expect(() => kaldiFbank(x, { preemphasisCoefficient: 1.5 })).toThrow(/^\[kaldiFbank\] preemphasisCoefficient must be in \[0, 1\]/);
  });
});

describe('kaldiMfcc', () => {
  test.each([
    [{}, false, false],
    [{ useEnergy: true }, true, false],
    [{ htkCompat: true }, false, true],
    [{ useEnergy: true, htkCompat: true, numCeps: 20, cepstralLifter: 0, numMelBins: 30 }, true, true],
  ] as const)('options %o: DCT-II ortho + lifter of the reference log-mels', (opts, useEnergy, htk) => {
    const x = kaldiSignal(rng.int(3000, 6000));
    const out = kaldiMfcc(x, opts);
    const nb = ('numMelBins' in opts ? opts.numMelBins : 23) as number;
    const nc = ('numCeps' in opts ? opts.numCeps : 13) as number;
    const L = ('cepstralLifter' in opts ? opts.cepstralLifter : 22) as number;
    const ref = refKaldiFbank(x, { ...DEF, numMelBins: nb });
    expect(out.dim).toBe(nc);
    const want = new Float64Array(out.numFrames * nc);
    for (let t = 0; t < ref.frames; t++) {
      const c = refDct(ref.mel.subarray(t * nb, (t + 1) * nb), nc);
      for (let k = 0; k < nc; k++) c[k] *= L === 0 ? 1 : 1 + (L / 2) * Math.sin((Math.PI * k) / L);
      if (useEnergy) c[0] = ref.energy[t];
      if (htk) {
        const c0 = useEnergy ? c[0] : c[0] * Math.SQRT2;
        for (let k = 1; k < nc; k++) want[t * nc + k - 1] = c[k];
        want[t * nc + nc - 1] = c0;
      } else {
        want.set(c, t * nc);
      }
    }
    expect(maxAbsErr(out.data, want)).toBeLessThan(5e-4); // sums of ~23 terms of size ~20
  });

  test('numCeps > numMelBins throws', () => {
    expect(() => kaldiMfcc(kaldiSignal(2000), { numCeps: 30 })).toThrow('[kaldiMfcc] numCeps = 30 is more than numMelBins = 23');
  });
});
