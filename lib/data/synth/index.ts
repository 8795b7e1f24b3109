/**
 * The `synth` engine: one call makes one utterance — words from the seeded lexicon, a plan of
 * phone durations and parameter tracks, then audio from the formant synthesiser — together with
 * its text, phone sequence and frame-exact alignment.
 *
 * Glossary:
 *   frame     10 ms = sampleRate / 100 samples; the audio is a whole number of frames long and
 *             alignment segment k covers samples [start·hop, end·hop)
 *   target    utterance length drawn uniformly in [minSeconds, maxSeconds]; words are added until
 *             the estimated speech time (nominal phone durations) reaches it. Stress, final
 *             lengthening, pauses and the last word's overshoot make utterances longer than the
 *             target: at the defaults (2-4 s) they last 2.0-6.2 s (18,000 utterances).
 *   window    [minSeconds - 0.5, 1.5 maxSeconds + 0.5] s: the length an utterance is guaranteed to
 *             have (0.3 s above the longest seen at the defaults); a plan outside it would be
 *             planned again with a word added or with its last words dropped.
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
  const plan = fitWindow(words, speaker, lexicon, rng, minS - 0.5, 1.5 * maxS + 0.5, seed);
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

/**
 * Plans `words` so that the utterance lasts within [lo, hi] seconds: while too short, one more word
 * (from a stream of its own, so a plan inside the window draws exactly as before); then, while too
 * long, the last word goes. Each plan replays the same planning draws. Only a last word that alone
 * spans more than the window (at least 1.5 maxSeconds - minSeconds + 1 >= 2 s) could leave an
 * utterance below lo; the upper bound holds whenever one word with its silences fits in hi.
 */
function fitWindow(words: Word[], speaker: Speaker, lexicon: Lexicon, rng: Rng, lo: number, hi: number, seed: number): ReturnType<typeof planUtterance> {
  const start = rng.clone();
  let plan = planUtterance(words, speaker, rng);
  let extra: Rng | null = null;
  for (let added = 0; plan.numFrames < lo * 100 && added < 50; ++added) {
    extra ??= new Rng(deriveSeed(seed, 'extra-words'));
    words.push(sampleWord(lexicon, extra));
    plan = planUtterance(words, speaker, start.clone());
  }
  while (plan.numFrames > hi * 100 && words.length > 1) {
    words.pop();
    plan = planUtterance(words, speaker, start.clone());
  }
  return plan;
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
