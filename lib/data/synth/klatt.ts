/**
 * Cascade/parallel formant synthesiser after Klatt (1980, JASA 67:971): a glottal pulse train plus
 * aspiration noise excites a cascade of formant resonators (with a nasal pole–zero pair), and
 * frication noise goes through a parallel bank of band-pass filters. Parameters come per 1 ms tick
 * (plan.ts); filter coefficients are recomputed once per tick, which costs ~10 exp/cos pairs per
 * ms — negligible next to the per-sample filtering.
 *
 * Glossary:
 *   resonator     y[n] = A x[n] + B y[n-1] + C y[n-2]; C = -exp(-2π bw T), B = 2 exp(-π bw T)
 *                 cos(2π f T), A = 1 - B - C (unity gain at 0 Hz, so the cascade gives each formant
 *                 its natural relative level)
 *   antiresonator the inverse filter (FIR): A' = 1/A, B' = -B/A, C' = -C/A
 *   band-pass     RBJ constant-peak-gain biquad (peak 0 dB) for the frication bands
 *   Rosenberg     glottal flow pulse (Rosenberg 1971, type C): 0.5(1 - cos(π φ/Tp)) while opening,
 *                 cos(π (φ - Tp) / 2Tn) while closing, 0 while closed; φ = phase in the period.
 *                 Its first difference is the source: the derivative also stands in for the +6
 *                 dB/octave lip radiation.
 *   tilt          one-pole low-pass on the voicing source (softer voices have steeper tilt)
 */

import { Speaker } from './speaker';
import { Tracks } from './plan';

// Math functions bound once: under jest (a vm context) every `Math.x` in a hot loop is a slow
// global lookup (~10× slower synthesis); module-level bindings avoid it everywhere.
const { PI, cos, exp, floor, max, min, sin } = Math;

interface Biquad { b0: number; b1: number; b2: number; a1: number; a2: number; x1: number; x2: number; y1: number; y2: number }

const newBq = (): Biquad => ({ b0: 1, b1: 0, b2: 0, a1: 0, a2: 0, x1: 0, x2: 0, y1: 0, y2: 0 });

/** Klatt resonator coefficients [A, B, C] for f, bw at fs into `co` at slot q; a frequency at or
 *  above 0.47 fs gives a pass-through (a formant the sample rate cannot hold is simply absent). */
function setResonator(co: Float64Array, q: number, f: number, bw: number, fs: number): void {
  if (f >= 0.47 * fs) {
    co[3 * q] = 1; co[3 * q + 1] = 0; co[3 * q + 2] = 0;
    return;
  }
  const r = exp((-PI * bw) / fs);
  const C = -r * r;
  const B = 2 * r * cos((2 * PI * f) / fs);
  co[3 * q] = 1 - B - C; co[3 * q + 1] = B; co[3 * q + 2] = C;
}

/** RBJ band-pass with 0 dB peak gain at f, bandwidth bw (Q = f / bw). */
function setBandpass(q: Biquad, f: number, bw: number, fs: number): void {
  const fc = min(f, 0.45 * fs);
  const w0 = (2 * PI * fc) / fs;
  const alpha = sin(w0) / (2 * max(0.3, fc / bw));
  const a0 = 1 + alpha;
  q.b0 = alpha / a0; q.b1 = 0; q.b2 = -alpha / a0; q.a1 = (-2 * cos(w0)) / a0; q.a2 = (1 - alpha) / a0;
}

function run(q: Biquad, x: number): number {
  const y = q.b0 * x + q.b1 * q.x1 + q.b2 * q.x2 - q.a1 * q.y1 - q.a2 * q.y2;
  q.x2 = q.x1; q.x1 = x; q.y2 = q.y1; q.y1 = y;
  return y;
}

// Fixed upper formant F6 (Hz at vtl 1, bandwidth Hz): Klatt's "higher-pole" energy so vowels are
// not empty between 4 and 5.5 kHz at 16 kHz sampling; left out automatically at lower rates.
const F6 = 4900;
const B6 = 500;
// cascade slots: 0 = nasal pole, 1..6 = F1..F6
const NRES = 7;

// Level of the frication branch relative to the cascade: chosen so that a stressed vowel is
// ~12 dB above /s/ and ~25 dB above /f/ in RMS, as in measured English (Strevens 1960).
const FRIC_GAIN = 0.9;
const ASP_GAIN = 0.5;

/** Renders `numSamples` samples at `fs` Hz from per-millisecond tracks for `speaker`; `noiseSeed`
 *  seeds the noise sources (xorshift32, so the output is bit-identical for the same inputs). */
export function renderTracks(T: Tracks, sp: Speaker, fs: number, numSamples: number, noiseSeed: number): Float32Array {
  const out = new Float32Array(numSamples);
  const co = new Float64Array(3 * (NRES + 1)); // [A, B, C] per resonator, last slot for the zero
  const y1 = new Float64Array(NRES);
  const y2 = new Float64Array(NRES);
  let zA = 1, zB = 0, zC = 0, zx1 = 0, zx2 = 0; // nasal antiresonator (FIR) and its inputs
  const fricBp = Array.from({ length: 3 }, newBq);
  let ns = (noiseSeed | 0) || 0x1234567;
  // xorshift32: a fast, good-enough white noise (the spectrum is what matters here)
  const noise = (): number => {
    ns ^= ns << 13; ns ^= ns >>> 17; ns ^= ns << 5;
    return (ns >>> 0) / 2147483648 - 1;
  };
  let jitterRng = (noiseSeed ^ 0x5bd1e995) | 1;
  const jnoise = (): number => {
    jitterRng ^= jitterRng << 13; jitterRng ^= jitterRng >>> 17; jitterRng ^= jitterRng << 5;
    return (jitterRng >>> 0) / 2147483648 - 1;
  };
  const Tp = 0.6 * sp.oq;
  const Tn = 0.4 * sp.oq;
  const K = fs / 1000; // makes the flow derivative ≈ 1 at its peak for F0 ≈ 150 Hz
  let phase = 0;
  let periodF0 = T.f0[0];
  let amp = 1;
  let gPrev = 0;
  let tiltY = 0;
  let hpX = 0;
  let hpY = 0;
  let tick = -1;
  let av = 0, ah = 0, af = 0, g0 = 0, g1 = 0, g2 = 0, gby = 0;
  const tilt = min(0.9, sp.tilt);
  const hpR = exp((-2 * PI * 60) / fs); // DC blocker pole for a 60 Hz corner
  for (let n = 0; n < numSamples; n++) {
    const tk = min(T.ticks - 1, floor((n * 1000) / fs));
    if (tk !== tick) {
      tick = tk;
      setResonator(co, 0, T.fnp[tk], 100, fs);
      for (let q = 0; q < 5; q++) setResonator(co, q + 1, T.F[q][tk], T.B[q][tk], fs);
      setResonator(co, 6, F6 * sp.vtl, B6, fs);
      // antiresonator = inverse of a resonator at the nasal zero: A' = 1/A, B' = -B/A, C' = -C/A
      setResonator(co, NRES, T.fnz[tk], 100, fs);
      zA = 1 / co[3 * NRES]; zB = -co[3 * NRES + 1] * zA; zC = -co[3 * NRES + 2] * zA;
      av = T.av[tk]; ah = T.ah[tk]; af = T.af[tk];
      if (af > 1e-4) for (let q = 0; q < 3; q++) setBandpass(fricBp[q], T.fc[q][tk], T.fb[q][tk], fs);
      g0 = T.fg[0][tk]; g1 = T.fg[1][tk]; g2 = T.fg[2][tk]; gby = T.fby[tk];
    }
    // glottal source: a new period draws its jitter (F0) and shimmer (amplitude) perturbations
    phase += periodF0 / fs;
    if (phase >= 1) {
      phase -= 1;
      periodF0 = T.f0[tk] * (1 + sp.jitter * jnoise());
      amp = 1 + sp.shimmer * jnoise();
    }
    let g = 0;
    if (phase < Tp) g = 0.5 - 0.5 * cos((PI * phase) / Tp);
    else if (phase < Tp + Tn) g = cos((PI * (phase - Tp)) / (2 * Tn));
    const dg = (g - gPrev) * K * amp;
    gPrev = g;
    tiltY = (1 - tilt) * dg + tilt * tiltY;
    // aspiration: stronger while the glottis is open (breathy voicing), steady when av = 0
    const asp = ah * ASP_GAIN * noise() * (av > 0.05 ? 0.3 + g : 1);
    let x = av * tiltY * (1 + tilt) + asp;
    const zin = x;
    x = zA * x + zB * zx1 + zC * zx2;
    zx2 = zx1;
    zx1 = zin;
    for (let q = 0; q < NRES; q++) {
      const y = co[3 * q] * x + co[3 * q + 1] * y1[q] + co[3 * q + 2] * y2[q];
      y2[q] = y1[q];
      y1[q] = x = y;
    }
    let y = x;
    if (af > 1e-4) {
      // voiced frication is modulated by the glottal cycle (noise bursts when the folds open)
      const fn = af * FRIC_GAIN * noise() * (av > 0.05 && phase > 0.5 ? 0.4 : 1);
      y += g0 * run(fricBp[0], fn) + g1 * run(fricBp[1], fn) + g2 * run(fricBp[2], fn) + gby * fn;
    }
    // DC blocker: first-order high-pass at 60 Hz
    hpY = y - hpX + hpR * hpY;
    hpX = y;
    out[n] = hpY;
  }
  return out;
}
