/**
 * Seeded noise for noisy copies of clean utterances (speech enhancement training and tests), and
 * the SNR grids used to make them.
 *
 * Glossary:
 *   white   flat spectrum (uniform samples; mulberry32 through Rng)
 *   pink    −3 dB/octave: Paul Kellet's economy filter on white noise (±0.5 dB from 9 Hz to
 *           Nyquist at 44.1 kHz; the same filter at 16 kHz is within ~1 dB above 20 Hz)
 *   brown   −6 dB/octave: leaky integral of white noise (leak 0.998, corner ≈ 5 Hz at 16 kHz)
 *   babble  sum of 3–6 other utterances at random offsets (looped), each at unit RMS
 *   hum     mains hum at 50 or 60 Hz plus harmonics 2..7 with falling amplitudes, slow drift
 *   SNR     10·log10(P_speech / P_noise) with powers as mean squares over the whole utterance
 *
 * Every generator returns unit-RMS noise, so the mixer only needs the SNR.
 */

import { NoiseSpec, NoiseType } from './manifest';
import { Rng, deriveSeed, pick, uniform } from './rng';

// Math functions bound once: under jest (a vm context) every `Math.x` in a hot loop is a slow
// global lookup (~10× slower synthesis); module-level bindings avoid it everywhere.
const { PI, floor, max, min, sin, sqrt } = Math;

/** Training SNRs (dB) — the VoiceBank-DEMAND grid — and held-out test SNRs between them. */
export const TRAIN_SNRS: readonly number[] = [0, 5, 10, 15];
export const TEST_SNRS: readonly number[] = [2.5, 7.5, 12.5, 17.5];
export const NOISE_TYPES: readonly NoiseType[] = ['white', 'pink', 'brown', 'babble', 'hum'];

function toUnitRms(x: Float32Array): Float32Array {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  const rms = sqrt(ss / max(1, x.length));
  if (rms > 0) for (let i = 0; i < x.length; i++) x[i] /= rms;
  return x;
}

/** White noise, n samples, unit RMS. */
export function whiteNoise(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.uniform() * 2 - 1;
  return toUnitRms(x);
}

/** Pink (1/f) noise, n samples, unit RMS (Kellet's 7-pole filter). */
export function pinkNoise(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(n);
  let b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;
  for (let i = 0; i < n; i++) {
    const w = rng.uniform() * 2 - 1;
    b0 = 0.99886 * b0 + w * 0.0555179;
    b1 = 0.99332 * b1 + w * 0.0750759;
    b2 = 0.969 * b2 + w * 0.153852;
    b3 = 0.8665 * b3 + w * 0.3104856;
    b4 = 0.55 * b4 + w * 0.5329522;
    b5 = -0.7616 * b5 - w * 0.016898;
    x[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362;
    b6 = w * 0.115926;
  }
  return toUnitRms(removeMean(x));
}

/** Brown (1/f²) noise, n samples, unit RMS, mean removed. */
export function brownNoise(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(n);
  let y = 0;
  for (let i = 0; i < n; i++) x[i] = y = 0.998 * y + (rng.uniform() * 2 - 1);
  return toUnitRms(removeMean(x));
}

function removeMean(x: Float32Array): Float32Array {
  let m = 0;
  for (let i = 0; i < x.length; i++) m += x[i];
  m /= max(1, x.length);
  for (let i = 0; i < x.length; i++) x[i] -= m;
  return x;
}

/** Mains hum: 50 or 60 Hz (chosen by the seed unless given) and harmonics 2..7 at 1/k amplitude with
 *  random phases and a ±0.2 % frequency drift; unit RMS. */
export function humNoise(n: number, sampleRate: number, seed: number, mains?: 50 | 60): Float32Array {
  const rng = new Rng(seed);
  const f0 = mains ?? (rng.uniform() < 0.5 ? 50 : 60);
  const drift = 1 + uniform(rng, -0.002, 0.002);
  const x = new Float32Array(n);
  for (let k = 1; k <= 7; k++) {
    const f = f0 * k * drift;
    if (f >= sampleRate / 2) break;
    // odd harmonics dominate transformer hum; even ones are weaker
    const a = (k % 2 === 1 ? 1 : 0.5) / k;
    const ph = rng.uniform() * 2 * PI;
    const w = (2 * PI * f) / sampleRate;
    for (let i = 0; i < n; i++) x[i] += a * sin(w * i + ph);
  }
  return toUnitRms(x);
}

/** Babble: the sum of `talkers` (each looped from a random offset, unit RMS), unit RMS overall.
 *  Needs at least one source utterance. */
export function babbleNoise(n: number, talkers: readonly Float32Array[], seed: number): Float32Array {
  if (talkers.length === 0) throw new Error('[babbleNoise] need at least one talker utterance');
  const rng = new Rng(seed);
  const x = new Float32Array(n);
  for (const t of talkers) {
    if (t.length === 0) continue;
    let ss = 0;
    for (let i = 0; i < t.length; i++) ss += t[i] * t[i];
    const g = 1 / sqrt(ss / t.length || 1);
    let p = floor(rng.uniform() * t.length);
    for (let i = 0; i < n; i++) {
      x[i] += g * t[p];
      if (++p === t.length) p = 0;
    }
  }
  return toUnitRms(x);
}

/** Draws a noise recipe for utterance `index`: a noise type (from `types`), an SNR from the grid of
 *  the split (TRAIN_SNRS for 'train' and 'dev', TEST_SNRS for 'test' unless `snrs` is given),
 *  a seed, and for babble 3–6 talker ids picked from `pool` (never the utterance itself). */
export function drawNoiseSpec(seed: number, index: number, opts: {
  split: 'train' | 'dev' | 'test';
  types?: readonly NoiseType[];
  snrs?: readonly number[];
  pool?: readonly string[];
  self?: string;
}): NoiseSpec {
  const rng = new Rng(deriveSeed(seed, 'noise-spec', index));
  const types = (opts.types ?? NOISE_TYPES).filter((t) => t !== 'babble' || (opts.pool?.filter((id) => id !== opts.self).length ?? 0) > 0);
  if (types.length === 0) throw new Error('[drawNoiseSpec] no usable noise type (babble needs other utterances in the pool)');
  const snrs = opts.snrs ?? (opts.split === 'test' ? TEST_SNRS : TRAIN_SNRS);
  const type = pick(types, rng);
  const spec: NoiseSpec = { type, snrDb: pick(snrs, rng), seed: deriveSeed(seed, 'noise', index) };
  if (type === 'babble') {
    const pool = opts.pool!.filter((id) => id !== opts.self);
    const k = min(pool.length, rng.int(3, 6));
    const chosen = new Set<string>();
    while (chosen.size < k) chosen.add(pick(pool, rng));
    spec.babble = [...chosen].sort();
  }
  return spec;
}

/** Makes the unit-RMS noise a recipe describes, `n` samples long. Babble needs the talkers' audio
 *  (`talkers`, in the order of spec.babble). */
export function makeNoise(spec: NoiseSpec, n: number, sampleRate: number, talkers: readonly Float32Array[] = []): Float32Array {
  switch (spec.type) {
    case 'white': return whiteNoise(n, spec.seed);
    case 'pink': return pinkNoise(n, spec.seed);
    case 'brown': return brownNoise(n, spec.seed);
    case 'hum': return humNoise(n, sampleRate, spec.seed);
    case 'babble': return babbleNoise(n, talkers, spec.seed);
    default: throw new Error(`[makeNoise] unknown noise type ${JSON.stringify((spec as { type: unknown }).type)}`);
  }
}

/** clean + noise scaled so that 10·log10(P_clean / P_noise) = snrDb (powers over the whole signal;
 *  a silent clean signal gets no noise added). Returns a new array; `noise` must be at least as
 *  long as `clean`. */
export function addNoiseAtSnr(clean: Float32Array, noise: Float32Array, snrDb: number): Float32Array {
  if (noise.length < clean.length) throw new Error(`[addNoiseAtSnr] noise has ${noise.length} samples, clean has ${clean.length}`);
  if (!Number.isFinite(snrDb)) throw new Error(`[addNoiseAtSnr] snrDb must be finite, got ${snrDb}`);
  let ps = 0;
  let pn = 0;
  for (let i = 0; i < clean.length; i++) {
    ps += clean[i] * clean[i];
    pn += noise[i] * noise[i];
  }
  const out = new Float32Array(clean.length);
  const g = pn > 0 && ps > 0 ? sqrt(ps / pn / 10 ** (snrDb / 10)) : 0;
  for (let i = 0; i < clean.length; i++) out[i] = clean[i] + g * noise[i];
  return out;
}

/** The noisy copy an entry's recipe describes: noise made from the seed, mixed at its SNR. */
export function noisyFromSpec(clean: Float32Array, sampleRate: number, spec: NoiseSpec, talkers: readonly Float32Array[] = []): Float32Array {
  return addNoiseAtSnr(clean, makeNoise(spec, clean.length, sampleRate, talkers), spec.snrDb);
}
