/**
 * From words to synthesis parameters: phone durations (whole 10 ms frames, so the alignment is
 * exact by construction), then per-millisecond parameter tracks (formants, bandwidths, source
 * amplitudes, frication spectrum, F0) smoothed so that formants glide between targets the way
 * articulators move.
 *
 * Glossary:
 *   tick     1 ms step of the parameter tracks (10 ticks per 10 ms frame)
 *   av/ah/af amplitudes of voicing, aspiration (through the vocal tract), frication (parallel)
 *   F/B      formant frequencies / bandwidths F1..F5, B1..B5 in Hz
 *   fnp/fnz  nasal pole / zero in Hz; equal values cancel (oral sounds)
 *   fc/fb/fg frication band centres, bandwidths, linear gains (3 bands) and fby the flat bypass
 *   τ        smoothing time constant, applied forward then backward (zero phase): 12 ms for
 *            formants gives ~40 ms transitions (CV transitions are 30–50 ms), 3 ms for source
 *            amplitudes keeps onsets crisp, 25 ms for F0
 */

import { AlignmentSegment } from '../manifest';
import { Rng } from '../rng';
import { Word } from './lexicon';
import { PhoneDef, isVowel, phoneDef } from './phones';
import { Speaker } from './speaker';

// Math functions bound once: under jest (a vm context) every `Math.x` in a hot loop is a slow
// global lookup (~10× slower synthesis); module-level bindings avoid it everywhere.
const { PI, cos, exp, floor, max, min, round, sin, sqrt } = Math;

export interface Tracks {
  ticks: number;
  f0: Float32Array;
  av: Float32Array;
  ah: Float32Array;
  af: Float32Array;
  F: Float32Array[];
  B: Float32Array[];
  fnp: Float32Array;
  fnz: Float32Array;
  fc: Float32Array[];
  fb: Float32Array[];
  fg: Float32Array[];
  fby: Float32Array;
}

export interface Plan {
  /** phone segments in 10 ms frames, `sil` included, tiling [0, numFrames) */
  segments: AlignmentSegment[];
  numFrames: number;
  tracks: Tracks;
}

interface Slot {
  def: PhoneDef;
  stressed: boolean;
  wordFinal: boolean;
  uttFinal: boolean;
  frames: number;
}

const db = (x: number): number => 10 ** (x / 20);

/** Plans one utterance of `words` for `speaker`: durations, alignment and parameter tracks. */
export function planUtterance(words: readonly Word[], speaker: Speaker, rng: Rng): Plan {
  const slots = layout(words, speaker, rng);
  const segments: AlignmentSegment[] = [];
  let t = 0;
  for (const s of slots) {
    segments.push([s.def.name, t, t + s.frames]);
    t += s.frames;
  }
  return { segments, numFrames: t, tracks: buildTracks(slots, speaker, rng) };
}

/** Phone slots with durations in frames: leading/trailing silence, optional pauses between words. */
function layout(words: readonly Word[], sp: Speaker, rng: Rng): Slot[] {
  const sil = phoneDef('sil');
  const slots: Slot[] = [{ def: sil, stressed: false, wordFinal: false, uttFinal: false, frames: rng.int(15, 35) }];
  words.forEach((w, wi) => {
    w.syllables.forEach((syl, si) => {
      for (let k = 0; k < syl.length; k++) {
        const def = phoneDef(syl[k]);
        const lastSyl = si === w.syllables.length - 1;
        slots.push({ def, stressed: si === w.stress, wordFinal: lastSyl, uttFinal: lastSyl && wi === words.length - 1, frames: 0 });
      }
    });
    if (wi < words.length - 1 && rng.uniform() < 0.15) {
      slots.push({ def: sil, stressed: false, wordFinal: false, uttFinal: false, frames: rng.int(8, 25) });
    }
  });
  slots.push({ def: sil, stressed: false, wordFinal: false, uttFinal: false, frames: rng.int(15, 35) });
  for (const s of slots) {
    if (s.frames > 0) continue;
    const v = isVowel(s.def);
    let ms = s.def.dur * (s.stressed ? (v ? 1.25 : 1.05) : v ? 0.8 : 0.95);
    if (s.wordFinal) ms *= 1.12; // final lengthening (Klatt 1976: ~1.2 phrase-final, less word-final)
    if (s.uttFinal) ms *= 1.3;
    ms = (ms / sp.rate) * min(1.3, max(0.75, 1 + 0.12 * rng.normal()));
    const minFrames = v ? 4 : s.def.cls === 'stop' || s.def.cls === 'affricate' ? 5 : 3;
    s.frames = max(minFrames, round(ms / 10));
  }
  return slots;
}

function smooth(x: Float32Array, tauMs: number): void {
  const a = exp(-1 / tauMs);
  let y = x[0];
  for (let i = 0; i < x.length; i++) x[i] = y = a * y + (1 - a) * x[i];
  y = x[x.length - 1];
  for (let i = x.length - 1; i >= 0; i--) x[i] = y = a * y + (1 - a) * x[i];
}

const arr = (n: number, k: number): Float32Array[] => Array.from({ length: k }, () => new Float32Array(n));

function buildTracks(slots: Slot[], sp: Speaker, rng: Rng): Tracks {
  const ticks = slots.reduce((a, s) => a + s.frames * 10, 0);
  const T: Tracks = {
    ticks, f0: new Float32Array(ticks), av: new Float32Array(ticks), ah: new Float32Array(ticks), af: new Float32Array(ticks),
    F: arr(ticks, 5), B: arr(ticks, 5), fnp: new Float32Array(ticks), fnz: new Float32Array(ticks),
    fc: arr(ticks, 3), fb: arr(ticks, 3), fg: arr(ticks, 3), fby: new Float32Array(ticks),
  };
  const vtl = sp.vtl;
  const bw = 1 + 0.6 * sp.breath;
  const afAmp = new Float32Array(ticks); // frication kept apart: bursts must not be smoothed away
  let t0 = 0;
  let fric = slots[0].def.fric;
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i];
    const d = s.def;
    const n = s.frames * 10;
    // Consonants borrow the neighbouring vowel's formants where they have none of their own (h is
    // voiceless vowel onset); silence takes the next phone's so the smoothing has no false glide.
    const next = slots.slice(i + 1).find((x) => x.def.cls !== 'silence')?.def ?? d;
    const prev = slots.slice(0, i).reverse().find((x) => x.def.cls !== 'silence')?.def ?? d;
    const base = d.cls === 'aspirate' || d.cls === 'silence' ? (d.cls === 'silence' && i > 0 && i === slots.length - 1 ? prev : next) : d;
    const sh = sp.shift[base.name] ?? [1, 1, 1];
    const fA = base.f.map((f, k) => f * vtl * sh[k]);
    const fB = (base.end ?? base.f).map((f, k) => f * vtl * sh[k]);
    if (d.fric) fric = d.fric;
    const fcS = [0, 1, 2].map((q) => (fric?.peaks[q]?.[0] ?? 4000) * sqrt(vtl));
    const fbS = [0, 1, 2].map((q) => fric?.peaks[q]?.[1] ?? 1000);
    const fgS = [0, 1, 2].map((q) => (fric?.peaks[q] ? db(fric.peaks[q][2]) : 0));
    const fbyS = fric ? db(fric.bypassDb) : 0;
    for (let j = 0; j < n; j++) {
      const k = t0 + j;
      // diphthong glide: hold the first target for 20 %, cosine to the second by 85 %
      const u = min(1, max(0, (j / n - 0.2) / 0.65));
      const w = 0.5 - 0.5 * cos(PI * u);
      for (let q = 0; q < 3; q++) T.F[q][k] = fA[q] + (fB[q] - fA[q]) * w;
      T.F[3][k] = 3300 * vtl;
      T.F[4][k] = 3750 * vtl;
      T.B[0][k] = (d.cls === 'nasal' ? 100 : 70) * bw;
      T.B[1][k] = 90 * bw;
      T.B[2][k] = 150 * bw;
      T.B[3][k] = 250;
      T.B[4][k] = 300;
      T.fnp[k] = 270 * vtl;
      T.fnz[k] = d.cls === 'nasal' ? (d.nasalZero ?? 270) * vtl : 270 * vtl;
      for (let q = 0; q < 3; q++) {
        T.fc[q][k] = fcS[q];
        T.fb[q][k] = fbS[q];
        T.fg[q][k] = fgS[q];
      }
      T.fby[k] = fbyS;
    }
    sourceAmps(T, afAmp, s, t0, n, sp, rng);
    t0 += n;
  }
  for (const x of [...T.F, ...T.B, T.fnp, T.fnz, ...T.fc, ...T.fb, ...T.fg, T.fby]) smooth(x, 12);
  smooth(T.av, 3);
  smooth(T.ah, 3);
  T.af.set(afAmp);
  f0Contour(T, slots, sp, rng);
  return T;
}

/** Voicing, aspiration and frication amplitudes for one phone (linear, vowel voicing = 1). */
function sourceAmps(T: Tracks, af: Float32Array, s: Slot, t0: number, n: number, sp: Speaker, rng: Rng): void {
  const d = s.def;
  const breathAh = 0.04 + 0.12 * sp.breath;
  const fricLvl = d.fric ? db(d.fric.levelDb) * 0.5 : 0;
  const set = (a: Float32Array, from: number, to: number, v: number): void => {
    for (let k = t0 + from; k < t0 + to; k++) a[k] = v;
  };
  switch (d.cls) {
    case 'vowel':
    case 'diphthong':
      set(T.av, 0, n, s.stressed ? 1 : 0.7);
      set(T.ah, 0, n, breathAh);
      break;
    case 'approximant':
      set(T.av, 0, n, 0.6);
      set(T.ah, 0, n, breathAh * 0.5);
      break;
    case 'nasal':
      set(T.av, 0, n, 0.45);
      break;
    case 'aspirate':
      set(T.ah, 0, n, 0.35);
      set(T.av, floor(n * 0.7), n, 0.1);
      break;
    case 'fricative': {
      const ramp = min(20, n / 3);
      for (let j = 0; j < n; j++) af[t0 + j] = fricLvl * min(1, j / ramp, (n - j) / ramp) * (d.voiced ? 0.5 : 1);
      if (d.voiced) set(T.av, 0, n, 0.3);
      break;
    }
    case 'stop':
    case 'affricate': {
      // closure (silence, or a low voice bar for voiced stops), then the release
      const closure = round(n * (d.cls === 'affricate' ? 0.4 : d.voiced ? 0.7 : 0.5));
      if (d.voiced) set(T.av, 0, closure, 0.08);
      if (d.cls === 'affricate') {
        const m = n - closure;
        for (let j = 0; j < m; j++) af[t0 + closure + j] = fricLvl * min(1, (m - j) / 15) * (d.voiced ? 0.6 : 1);
        if (d.voiced) set(T.av, closure, n, 0.25);
      } else {
        const burstMs = rng.int(5, 9);
        for (let j = 0; j < burstMs + 10 && closure + j < n; j++) af[t0 + closure + j] = fricLvl * 1.6 * exp(-j / (burstMs * 0.6));
        // voice onset time: long aspiration for p t k (40–70 ms in English), a few ms for b d g
        if (d.voiced) set(T.ah, closure + burstMs, n, 0.08);
        else set(T.ah, closure + burstMs, n, 0.3);
      }
      break;
    }
    case 'silence':
      break;
  }
}

/** F0 in Hz per tick: declination over the utterance, a pitch accent on each stressed vowel,
 *  a final fall, slow random drift; zero where the phone is unvoiced does not matter (av = 0). */
function f0Contour(T: Tracks, slots: Slot[], sp: Speaker, rng: Rng): void {
  const n = T.ticks;
  const bumps: Array<[number, number]> = [];
  let t = 0;
  let lastVowelEnd = n;
  let lastVowelStart = 0;
  for (const s of slots) {
    const len = s.frames * 10;
    if (isVowel(s.def)) {
      if (s.stressed) bumps.push([t + len / 2, sp.accent * (0.5 + 0.7 * rng.uniform())]);
      lastVowelStart = t;
      lastVowelEnd = t + len;
    }
    t += len;
  }
  const ph1 = rng.uniform() * 2 * PI;
  const ph2 = rng.uniform() * 2 * PI;
  const question = rng.uniform() < 0.1; // a rising end now and then
  for (let k = 0; k < n; k++) {
    const x = k / n;
    let f = 1.08 - 0.2 * x + 0.025 * sin(2 * PI * 1.3 * (k / 1000) + ph1) + 0.015 * sin(2 * PI * 3.1 * (k / 1000) + ph2);
    for (const [c, a] of bumps) {
      const z = (k - c) / 70;
      if (z > -4 && z < 4) f += a * exp(-0.5 * z * z);
    }
    if (k >= lastVowelStart) {
      const u = min(1, (k - lastVowelStart) / max(1, lastVowelEnd - lastVowelStart));
      f *= question ? 1 + 0.25 * u : 1 - 0.15 * u;
    }
    T.f0[k] = sp.f0 * f;
  }
  smooth(T.f0, 25);
}
