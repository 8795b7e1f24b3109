/**
 * Seeded pseudo-word lexicon and sentences for the synthetic corpus: phonotactically plausible
 * English-like syllables ((C)(C)V(C)(C)), spelt with a fixed phone → letters map, so that text,
 * phones and audio agree and a character model has something learnable.
 *
 * Glossary:
 *   onset/coda   consonants before/after the vowel; clusters follow English (s+stop, stop+liquid)
 *   stress       index of the stressed syllable (longer, louder, carries the pitch accent)
 *   Zipf         word frequencies ∝ 1/rank, as in natural text: frequent words recur across
 *                utterances and speakers (ASR needs repeats), rare ones give variety
 */

import { Rng, deriveSeed, pick } from '../rng';
import { phoneDef } from './phones';

export interface Word {
  text: string;
  /** phones per syllable */
  syllables: string[][];
  stress: number;
}

export interface Lexicon {
  words: Word[];
  /** cumulative Zipf weights for sampling */
  cdf: Float64Array;
}

const SINGLE_ONSETS = ['p', 'b', 't', 'd', 'k', 'g', 'ch', 'jh', 'f', 'v', 'th', 'dh', 's', 'z', 'sh', 'hh', 'm', 'n', 'l', 'r', 'w', 'y'];
const CLUSTER_ONSETS = [['p', 'l'], ['b', 'l'], ['k', 'l'], ['g', 'l'], ['p', 'r'], ['b', 'r'], ['t', 'r'], ['d', 'r'], ['k', 'r'], ['g', 'r'],
  ['f', 'r'], ['f', 'l'], ['s', 'p'], ['s', 't'], ['s', 'k'], ['s', 'm'], ['s', 'n'], ['s', 'l'], ['s', 'w'], ['t', 'w'], ['k', 'w']];
const SINGLE_CODAS = ['p', 'b', 't', 'd', 'k', 'g', 'ch', 'jh', 'f', 'v', 'th', 's', 'z', 'sh', 'm', 'n', 'ng', 'l'];
const CLUSTER_CODAS = [['s', 't'], ['n', 't'], ['n', 'd'], ['m', 'p'], ['ng', 'k'], ['k', 's'], ['t', 's'], ['l', 'd'], ['l', 't']];
// Lax vowels (ih eh ae ah uh) cannot end a stressed word in English; they always take a coda.
const VOWELS = ['iy', 'ih', 'eh', 'ae', 'aa', 'ah', 'ao', 'uh', 'uw', 'er', 'ey', 'ay', 'ow', 'aw', 'oy'];
const LAX = new Set(['ih', 'eh', 'ae', 'ah', 'uh']);

function syllable(rng: Rng, final: boolean): string[] {
  const s: string[] = [];
  const r = rng.uniform();
  if (r < 0.7) s.push(pick(SINGLE_ONSETS, rng));
  else if (r < 0.88) s.push(...pick(CLUSTER_ONSETS, rng));
  const v = pick(VOWELS, rng);
  s.push(v);
  const needCoda = final && LAX.has(v);
  const c = rng.uniform();
  if (needCoda || c < (final ? 0.55 : 0.3)) {
    if (final && c < 0.12) s.push(...pick(CLUSTER_CODAS, rng));
    else s.push(pick(SINGLE_CODAS, rng));
  }
  return s;
}

/** Letters for a phone sequence (the inventory's spelling map). */
export function spell(phones: readonly string[]): string {
  return phones.map((p) => phoneDef(p).spelling).join('');
}

/** Builds `size` distinct words (distinct spellings) from `seed`: 1–3 syllables (45/40/15 %),
 *  stress mostly on the first syllable. The same seed always gives the same lexicon. */
export function makeLexicon(seed: number, size = 400): Lexicon {
  const rng = new Rng(deriveSeed(seed, 'lexicon'));
  const words: Word[] = [];
  const seen = new Set<string>();
  let guard = 0;
  while (words.length < size) {
    if (++guard > size * 100) throw new Error(`[makeLexicon] could not make ${size} distinct words`);
    const r = rng.uniform();
    const n = r < 0.45 ? 1 : r < 0.85 ? 2 : 3;
    const syllables: string[][] = [];
    for (let i = 0; i < n; i++) syllables.push(syllable(rng, i === n - 1));
    // Two identical consonants across a syllable boundary would merge into one long one.
    let ok = true;
    for (let i = 1; i < n; i++) if (syllables[i - 1][syllables[i - 1].length - 1] === syllables[i][0]) ok = false;
    const text = spell(syllables.flat());
    if (!ok || seen.has(text) || text.length < 2) continue;
    seen.add(text);
    const stress = n > 1 && rng.uniform() < 0.2 ? 1 : 0;
    words.push({ text, syllables, stress });
  }
  const cdf = new Float64Array(size);
  let acc = 0;
  for (let i = 0; i < size; i++) cdf[i] = acc += 1 / (i + 1);
  for (let i = 0; i < size; i++) cdf[i] /= acc;
  return { words, cdf };
}

/** Draws a word with Zipf frequency. */
export function sampleWord(lex: Lexicon, rng: Rng): Word {
  const u = rng.uniform();
  let lo = 0;
  let hi = lex.cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (lex.cdf[mid] < u) lo = mid + 1;
    else hi = mid;
  }
  return lex.words[lo];
}
