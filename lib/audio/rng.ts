/**
 * Small seeded pseudo-random generator for the audio ops (dither, SpecAugment, noise offsets):
 * the same seed gives the same numbers on every platform and Node version, which Math.random
 * cannot promise.
 *
 * Glossary:
 *   seed     any integer; hashed with splitmix32 so that seeds 0, 1, 2 give unrelated streams
 *   uniform  float in [0, 1) with 32 random bits (mulberry32)
 *   normal   standard normal N(0, 1) by Box–Muller (the second value is cached)
 */

export class Rng {
  private state: number;
  private spare: number | null = null;

  constructor(seed: number) {
    // splitmix32 finaliser: spreads nearby seeds (0, 1, 2) over the whole 32-bit state.
    let z = (Math.trunc(seed) + 0x9e3779b9) | 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    this.state = (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform float in [0, 1) (mulberry32; period 2^32, passes gjrand/PractRand to 2^32 bytes). */
  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.uniform() * (hi - lo + 1));
  }

  /** Standard normal sample (Box–Muller; 1 - u keeps log away from log(0)). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const u = 1 - this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** An independent copy at the same point of the stream (to replay a stretch of draws). */
  clone(): Rng {
    const c = new Rng(0);
    c.state = this.state;
    c.spare = this.spare;
    return c;
  }
}

/** Returns a function giving uniform floats in [0, 1) from `seed` (mulberry32 after splitmix32). */
export function mulberry32(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.uniform();
}
