/**
 * mutate.ts — byte- and structure-level mutations of valid inputs, the way AFL-style fuzzers
 * damage files: bit flips, "interesting" values written over 1/2/4/8-byte fields (0, -1, 2^31,
 * 2^32 - 1, 2^63), truncation, random bytes appended or inserted, spans duplicated or removed.
 * Each mutation applies 1-4 of these at random offsets; near the start of the file (headers)
 * with higher probability, since that is where parsers make decisions.
 */
import type { Rng } from '../../../lib/data/rng';

const INTERESTING_32 = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 16, 24, 44];

function offset(rng: Rng, len: number): number {
  if (len === 0) return 0;
  // Half of the mutations hit the first 64 bytes (magic, sizes, format fields).
  return rng.uniform() < 0.5 ? rng.int(0, Math.min(len, 64) - 1) : rng.int(0, len - 1);
}

/** Writes `v` little-endian over `width` bytes at `at` (clipped at the end). */
function put(b: Uint8Array, at: number, width: number, v: number): void {
  for (let k = 0; k < width && at + k < b.length; ++k) b[at + k] = Math.floor(v / 2 ** (8 * k)) & 0xff;
}

/** One random mutation of `src` (a new buffer; `src` is untouched). */
export function mutate(src: Uint8Array, rng: Rng): Buffer {
  let b = Buffer.from(src);
  const steps = rng.int(1, 4);
  for (let s = 0; s < steps; ++s) {
    const kind = rng.int(0, 8);
    const at = offset(rng, b.length);
    switch (kind) {
      case 0: // bit flip
        if (b.length) b[at] ^= 1 << rng.int(0, 7);
        break;
      case 1: // random byte
        if (b.length) b[at] = rng.int(0, 255);
        break;
      case 2: // interesting 16/32-bit value
        put(b, at, rng.uniform() < 0.5 ? 2 : 4, INTERESTING_32[rng.int(0, INTERESTING_32.length - 1)]);
        break;
      case 3: // interesting 64-bit value (sizes, offsets)
        put(b, at, 8, [0, 1, 2 ** 32, 2 ** 53, 2 ** 63, 2 ** 64 - 1, b.length, b.length + 1][rng.int(0, 7)]);
        break;
      case 4: // truncate
        b = b.subarray(0, rng.int(0, b.length));
        break;
      case 5: { // append random bytes
        const extra = Buffer.alloc(rng.int(1, 64));
        for (let k = 0; k < extra.length; ++k) extra[k] = rng.int(0, 255);
        b = Buffer.concat([b, extra]);
        break;
      }
      case 6: { // insert random bytes
        const extra = Buffer.alloc(rng.int(1, 16));
        for (let k = 0; k < extra.length; ++k) extra[k] = rng.int(0, 255);
        b = Buffer.concat([b.subarray(0, at), extra, b.subarray(at)]);
        break;
      }
      case 7: { // remove a span
        const len = rng.int(1, 32);
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + len))]);
        break;
      }
      default: { // duplicate a span
        const len = rng.int(1, 64);
        b = Buffer.concat([b.subarray(0, at + len), b.subarray(at, Math.min(b.length, at + len)), b.subarray(Math.min(b.length, at + len))]);
        break;
      }
    }
  }
  return b;
}

/** A random JSON-ish value: the kinds of wrong values parsers meet (types, ranges, shapes). */
export function oddValue(rng: Rng, depth = 0): unknown {
  const pool: (() => unknown)[] = [
    () => rng.int(-3, 10),
    () => [-1, 0, 1, 2 ** 31, 2 ** 32 + 1, 2 ** 53, 2 ** 64, 1e300, -1e300, 0.5, -0.5][rng.int(0, 10)],
    () => ['', 'F32', 'I32', 'BF16', 'x', '__proto__', 'constructor', '0', '1e3', 'NaN'][rng.int(0, 9)],
    () => [true, false, null][rng.int(0, 2)],
    () => (depth < 2 ? Array.from({ length: rng.int(0, 4) }, () => oddValue(rng, depth + 1)) : []),
    () => (depth < 2 ? { a: oddValue(rng, depth + 1) } : {}),
  ];
  return pool[rng.int(0, pool.length - 1)]();
}
