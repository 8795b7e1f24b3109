/**
 * The `espeak` corpus engine: English-like sentences from a small grammar, spoken by espeak-ng
 * voices (language variant × voice variant × pitch × speed = one speaker), phones from
 * `espeak-ng -q --ipa --sep=_`, audio from `espeak-ng --stdout` (22050 Hz pcm16) resampled to the
 * corpus rate.
 *
 * Glossary:
 *   voice      espeak-ng language voice, e.g. en-us, en-gb-x-rp, en-gb-scotland
 *   variant    voice quality file from espeak-ng-data/voices/!v, e.g. m3, f2, klatt
 *   speaker    one (voice, variant, pitch 0..99, speed wpm) combination, fixed for all its utterances
 *   phones     IPA segments with stress marks (ˈ ˌ) removed, length mark kept (ɑː is one phone)
 */

import { execFile, spawnSync } from 'child_process';
import { resample } from '../audio/resample';
import { decodeWav } from '../audio/wav';
import { Rng, deriveSeed, pick } from './rng';

/** Path of espeak-ng when it is on PATH and runs, else null. */
export function findEspeak(): string | null {
  const r = spawnSync('espeak-ng', ['--version'], { encoding: 'utf8' });
  return r.status === 0 && /eSpeak NG/i.test(r.stdout) ? 'espeak-ng' : null;
}

export interface EspeakSpeaker {
  id: string;
  voice: string;
  pitch: number;
  speed: number;
}

const VOICES = ['en-us', 'en-gb-x-rp', 'en', 'en-gb-scotland', 'en-gb-x-gbclan', 'en-029'];
const VARIANTS = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'f1', 'f2', 'f3', 'f4', 'f5', 'klatt', 'klatt2', 'klatt3', 'croak', 'whisperf'];

/** Speaker `index` of a corpus seeded with `seed`: voices and variants are walked in a fixed order
 *  (so 100 speakers are 100 distinct voice × variant pairs), pitch 25–75 and speed 140–190 wpm
 *  drawn from the seed. */
export function makeEspeakSpeaker(seed: number, index: number): EspeakSpeaker {
  const rng = new Rng(deriveSeed(seed, 'espeak-speaker', index));
  const variant = VARIANTS[index % VARIANTS.length];
  const voice = VOICES[Math.floor(index / VARIANTS.length) % VOICES.length];
  return { id: `${voice}+${variant}-${index}`, voice: `${voice}+${variant}`, pitch: rng.int(25, 75), speed: rng.int(140, 190) };
}

const DET = ['the', 'a', 'this', 'that', 'every', 'one', 'my', 'your', 'our', 'his', 'her'];
const ADJ = ['small', 'green', 'quiet', 'heavy', 'bright', 'old', 'young', 'cold', 'warm', 'strange', 'happy', 'tired', 'little', 'large', 'quick', 'slow', 'clever', 'gentle', 'empty', 'golden'];
const NOUN = ['dog', 'river', 'teacher', 'garden', 'window', 'letter', 'doctor', 'mountain', 'city', 'farmer', 'bottle', 'table', 'morning', 'story', 'engine', 'basket', 'island', 'student', 'kitchen', 'music', 'planet', 'horse', 'bridge', 'candle', 'pencil', 'forest', 'captain', 'market', 'winter', 'pocket'];
const VERB_T = ['found', 'moved', 'painted', 'watched', 'carried', 'opened', 'closed', 'cleaned', 'followed', 'visited', 'remembered', 'repaired', 'described', 'borrowed', 'noticed'];
const VERB_I = ['slept', 'waited', 'laughed', 'arrived', 'disappeared', 'listened', 'smiled', 'stopped', 'returned', 'answered'];
const ADV = ['quickly', 'slowly', 'again', 'today', 'yesterday', 'quietly', 'early', 'later', 'suddenly', 'twice'];
const PREP = ['near', 'behind', 'under', 'above', 'beside', 'inside', 'across', 'without'];
const NAME = ['Anna', 'Peter', 'Maria', 'John', 'Clara', 'David', 'Laura', 'Simon', 'Helen', 'Martin'];

/** A sentence from the grammar, lower case, no punctuation, 5–12 words (≈2–4 s at 140–190 wpm). */
export function makeSentence(rng: Rng): string {
  const np = (): string => (rng.uniform() < 0.2 ? pick(NAME, rng) : `${pick(DET, rng)} ${rng.uniform() < 0.5 ? `${pick(ADJ, rng)} ` : ''}${pick(NOUN, rng)}`);
  const templates: Array<() => string> = [
    () => `${np()} ${pick(VERB_T, rng)} ${np()}`,
    () => `${np()} ${pick(VERB_I, rng)} ${pick(ADV, rng)}`,
    () => `${np()} ${pick(VERB_T, rng)} ${np()} ${pick(PREP, rng)} ${np()}`,
    () => `${np()} ${pick(VERB_I, rng)} ${pick(PREP, rng)} ${np()} ${pick(ADV, rng)}`,
    () => `${pick(ADV, rng)} ${np()} ${pick(VERB_T, rng)} ${np()}`,
  ];
  return pick(templates, rng)().toLowerCase();
}

function run(args: string[], encoding: 'buffer' | 'utf8'): Promise<Buffer | string> {
  return new Promise((resolve, reject) => {
    execFile('espeak-ng', args, { encoding, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`[espeak] espeak-ng ${args.slice(0, -1).join(' ')} failed: ${String(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
  });
}

/** IPA phones of `text` as spoken by `sp` (stress marks removed, word boundaries dropped). */
export async function espeakPhones(text: string, sp: EspeakSpeaker): Promise<string[]> {
  const out = (await run(['-q', '--ipa', '--sep=_', '-v', sp.voice, text], 'utf8')) as string;
  return out.split(/[\s_]+/).map((p) => p.replace(/[ˈˌ]/g, '')).filter((p) => p.length > 0);
}

/** Speaks `text` with `sp` and returns float samples at `sampleRate`, zero-padded at the end to a
 *  whole number of 10 ms frames so durations match the synth engine's convention. */
export async function espeakAudio(text: string, sp: EspeakSpeaker, sampleRate: number): Promise<Float32Array> {
  const wav = (await run(['--stdout', '-v', sp.voice, '-p', String(sp.pitch), '-s', String(sp.speed), text], 'buffer')) as Buffer;
  const a = decodeWav(wav, { name: `espeak-ng -v ${sp.voice}`, mono: true });
  const x = a.sampleRate === sampleRate ? a.channels[0] : resample(a.channels[0], a.sampleRate, sampleRate);
  const hop = sampleRate / 100;
  const n = Math.ceil(x.length / hop) * hop;
  if (n === x.length) return x;
  const out = new Float32Array(n);
  out.set(x);
  return out;
}

/** One espeak utterance: sentence from (seed, index), audio and phones for speaker `sp`. */
export async function espeakUtterance(seed: number, index: number, sp: EspeakSpeaker, sampleRate: number): Promise<{ samples: Float32Array; text: string; phones: string[] }> {
  const text = makeSentence(new Rng(deriveSeed(seed, 'espeak-sentence', index)));
  const [samples, phones] = await Promise.all([espeakAudio(text, sp, sampleRate), espeakPhones(text, sp)]);
  return { samples, text, phones };
}
