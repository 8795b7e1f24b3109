/**
 * Seed plumbing for the data pipeline. Every random decision (lexicon, speaker, utterance, noise,
 * batch order) draws from its own stream derived from (seed, purpose, index), so generating item
 * 17 does not depend on how many numbers items 0..16 consumed: corpora stay byte-identical when
 * generation order or parallelism changes.
 *
 * Glossary:
 *   Rng          mulberry32 stream with Box–Muller normals (lib/audio/rng.ts)
 *   deriveSeed   32-bit hash (murmur3 finaliser) of a seed and a list of integers/strings
 */

import { Rng } from '../audio/rng';

export { Rng };

/** Hashes a base seed with further integers or strings into a new 32-bit seed (murmur3 fmix on
 *  each word), so deriveSeed(s, 'utt', 17) and deriveSeed(s, 'utt', 18) give unrelated streams. */
export function deriveSeed(seed: number, ...parts: Array<number | string>): number {
  let h = (Math.trunc(seed) ^ 0x2545f491) >>> 0;
  const mix = (k: number): void => {
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  };
  for (const p of parts) {
    if (typeof p === 'number') mix(Math.trunc(p) | 0);
    else for (let i = 0; i < p.length; i++) mix(p.charCodeAt(i));
    mix(0x5bd1e995); // separator: ('ab', 'c') ≠ ('a', 'bc')
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Fisher–Yates shuffle in place with `rng`; returns the same array. */
export function shuffleInPlace<T>(a: T[], rng: Rng): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

/** Uniform choice from a non-empty array. */
export function pick<T>(a: readonly T[], rng: Rng): T {
  return a[Math.floor(rng.uniform() * a.length)];
}

/** Uniform float in [lo, hi). */
export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng.uniform();
}
