/**
 * Synthetic speakers: the voice and speaking-style parameters that make utterances of the synth
 * engine differ between speakers the way real voices do (pitch, vocal-tract length, tempo, voice
 * quality), drawn deterministically from (seed, speaker index).
 *
 * Glossary:
 *   f0        mean fundamental frequency in Hz (male 90–140, female 165–250; Hillenbrand 1995)
 *   vtl       formant scale factor = 1 / relative vocal-tract length (male ≈ 1.0, female ≈ 1.17:
 *             a 17 cm vs 14.5 cm tract)
 *   rate      speaking-rate multiplier (durations are divided by it): 0.85 slow .. 1.2 fast
 *   breath    breathiness 0..1: more aspiration noise mixed into voicing, longer open phase,
 *             wider formant bandwidths, steeper spectral tilt
 *   oq        open quotient of the glottal pulse (fraction of the period the glottis is open)
 *   tilt      pole of the one-pole low-pass on the source (0 = flat; 0.6 ≈ −6 dB at 2 kHz)
 *   jitter    period-to-period F0 perturbation (fraction; 0.5–1.5 % in normal voices)
 *   shimmer   period-to-period amplitude perturbation (fraction)
 *   accent    pitch-accent height as a fraction of f0
 *   shift     per-vowel formant multipliers (±5 %): dialect/idiolect differences between speakers
 */

import { Rng, deriveSeed, uniform } from '../rng';
import { PHONES, isVowel } from './phones';

export interface Speaker {
  id: string;
  sex: 'm' | 'f';
  f0: number;
  vtl: number;
  rate: number;
  breath: number;
  oq: number;
  tilt: number;
  jitter: number;
  shimmer: number;
  accent: number;
  /** loudness offset in dB applied to every utterance of this speaker */
  gainDb: number;
  shift: Record<string, [number, number, number]>;
}

/** Speaker number `index` of a corpus with seed `seed`; even and odd indices alternate sexes so
 *  small corpora still have both. `id` is e.g. 'spk003'. */
export function makeSpeaker(seed: number, index: number): Speaker {
  const rng = new Rng(deriveSeed(seed, 'speaker', index));
  const sex: 'm' | 'f' = index % 2 === 0 ? 'm' : 'f';
  const male = sex === 'm';
  const breath = male ? uniform(rng, 0, 0.45) : uniform(rng, 0.15, 0.7);
  const shift: Record<string, [number, number, number]> = {};
  for (const p of PHONES) {
    if (!isVowel(p)) continue;
    shift[p.name] = [1 + 0.05 * clampN(rng), 1 + 0.05 * clampN(rng), 1 + 0.03 * clampN(rng)];
  }
  return {
    id: `spk${String(index).padStart(3, '0')}`,
    sex,
    f0: male ? uniform(rng, 90, 140) : uniform(rng, 165, 250),
    vtl: male ? uniform(rng, 0.94, 1.06) : uniform(rng, 1.1, 1.24),
    rate: uniform(rng, 0.85, 1.2),
    breath,
    oq: uniform(rng, 0.5, 0.62) + 0.12 * breath,
    tilt: uniform(rng, 0, 0.2) + 0.25 * breath,
    jitter: uniform(rng, 0.004, 0.015),
    shimmer: uniform(rng, 0.02, 0.08),
    accent: uniform(rng, 0.08, 0.25),
    gainDb: uniform(rng, -4, 2),
    shift,
  };
}

/** Standard normal clipped to ±2 (keeps perturbations inside a plausible range). */
function clampN(rng: Rng): number {
  const z = rng.normal();
  return z < -2 ? -2 : z > 2 ? 2 : z;
}
