/**
 * The `synth` engine: one call makes one utterance — words from the seeded lexicon, a plan of
 * phone durations and parameter tracks, then audio from the formant synthesiser — together with
 * its text, phone sequence and frame-exact alignment.
 *
 * Glossary:
 *   frame     10 ms = sampleRate / 100 samples; the audio is a whole number of frames long and
 *             alignment segment k covers samples [start·hop, end·hop)
 *   target    utterance length drawn uniformly in [minSeconds, maxSeconds]; words are added until
 *             the estimated speech time reaches it (actual lengths land within ~±0.4 s)
 */

import { Alignment } from '../manifest';
import { Rng, deriveSeed, uniform } from '../rng';
import { renderTracks } from './klatt';
import { Lexicon, Word, sampleWord } from './lexicon';
import { phoneDef } from './phones';
import { planUtterance } from './plan';
import { Speaker } from './speaker';

// Math functions bound once: under jest (a vm context) every `Math.x` in a hot loop is a slow
// global lookup (~10× slower synthesis); module-level bindings avoid it everywhere.
const { abs, max, sqrt } = Math;

export { PHONES, PHONE_NAMES } from './phones';
export { makeLexicon, spell } from './lexicon';
export type { Lexicon, Word } from './lexicon';
export { makeSpeaker } from './speaker';
export type { Speaker } from './speaker';

export interface SynthUtterance {
  samples: Float32Array;
  sampleRate: number;
  text: string;
  /** phones of the words in order, without `sil` */
  phones: string[];
  alignment: Alignment;
}

export interface SynthOptions {
  sampleRate?: number;
  minSeconds?: number;
  maxSeconds?: number;
}

/** Synthesises utterance `seed` for `speaker` from `lexicon`. Deterministic: the same arguments give
 *  bit-identical samples. sampleRate must be a multiple of 100 (whole-sample 10 ms frames) and at
 *  least 8000; formants above 0.47 × sampleRate are left out. Output peaks at ≤ 0.9 and its RMS is
 *  about −21 dBFS plus the speaker's gain. */
export function synthesizeUtterance(seed: number, speaker: Speaker, lexicon: Lexicon, opts: SynthOptions = {}): SynthUtterance {
  const fs = opts.sampleRate ?? 16000;
  if (!Number.isInteger(fs) || fs % 100 !== 0 || fs < 8000) {
    throw new Error(`[synth] sampleRate must be a multiple of 100 and ≥ 8000 (whole-sample 10 ms frames), got ${fs}`);
  }
  const minS = opts.minSeconds ?? 2;
  const maxS = opts.maxSeconds ?? 4;
  if (!(minS > 0.5 && maxS >= minS)) throw new Error(`[synth] need 0.5 < minSeconds ≤ maxSeconds, got ${minS}, ${maxS}`);
  const rng = new Rng(deriveSeed(seed, 'utterance'));
  // speech time excluding ~0.5 s of leading/trailing silence
  const target = uniform(rng, minS, maxS) - 0.5;
  const words: Word[] = [];
  let est = 0;
  while (est < target || words.length === 0) {
    const w = sampleWord(lexicon, rng);
    words.push(w);
    est += w.syllables.flat().reduce((a, p) => a + phoneDef(p).dur, 0) / 1000 / speaker.rate;
  }
  const plan = planUtterance(words, speaker, rng);
  const hop = fs / 100;
  const n = plan.numFrames * hop;
  const samples = renderTracks(plan.tracks, speaker, fs, n, deriveSeed(seed, 'noise'));
  normalise(samples, speaker.gainDb);
  return {
    samples,
    sampleRate: fs,
    text: words.map((w) => w.text).join(' '),
    phones: words.flatMap((w) => w.syllables.flat()),
    alignment: { frameShift: 0.01, segments: plan.segments },
  };
}

/** Scales to RMS −21 dBFS + gainDb over samples above −40 dB of the peak (speech, not silence),
 *  then caps the peak at 0.9 so pcm16 never clips. */
function normalise(x: Float32Array, gainDb: number): void {
  let peak = 0;
  for (let i = 0; i < x.length; i++) peak = max(peak, abs(x[i]));
  if (peak === 0) return;
  const floor = peak * 0.01;
  let ss = 0;
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    if (abs(x[i]) > floor) {
      ss += x[i] * x[i];
      m++;
    }
  }
  const rms = sqrt(ss / max(1, m));
  let g = 10 ** ((-21 + gainDb) / 20) / rms;
  if (peak * g > 0.9) g = 0.9 / peak;
  for (let i = 0; i < x.length; i++) x[i] *= g;
}
