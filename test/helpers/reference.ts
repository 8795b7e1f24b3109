/**
 * reference.ts — independent float64/bit-level references the tests compare against.
 */

/** Random float64 values in [-scale, scale) from Math.random (fresh each run). */
export function randomArray(n: number, scale = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; ++i) a[i] = (Math.random() * 2 - 1) * scale;
  return a;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float -> bfloat16 -> float with round-to-nearest-even, written from the bit layout. */
export function bf16Round(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if ((bits & 0x7fffffff) > 0x7f800000) return NaN;
  const lsb = (bits >>> 16) & 1;
  const rounded = (bits + 0x7fff + lsb) >>> 0;
  u32[0] = (rounded >>> 16) << 16;
  return f32[0];
}

/** NumPy broadcast of two shapes; null when they do not broadcast. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; ++i) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Elementwise f(a, b) over broadcast shapes, in float64, by explicit index arithmetic. */
export function broadcastApply(
  a: ArrayLike<number>, sa: readonly number[], b: ArrayLike<number>, sb: readonly number[],
  f: (x: number, y: number) => number,
): { data: Float64Array; shape: number[] } {
  const shape = broadcastShape(sa, sb);
  if (!shape) throw new Error('shapes do not broadcast');
  const n = shape.reduce((p, d) => p * d, 1);
  const out = new Float64Array(n);
  const idx = new Array(shape.length).fill(0);
  const offset = (s: readonly number[]): number => {
    let off = 0;
    let stride = 1;
    for (let k = s.length - 1; k >= 0; --k) {
      const i = idx[shape.length - s.length + k];
      off += (s[k] === 1 ? 0 : i) * stride;
      stride *= s[k];
    }
    return off;
  };
  for (let i = 0; i < n; ++i) {
    let r = i;
    for (let d = shape.length - 1; d >= 0; --d) {
      idx[d] = r % shape[d];
      r = Math.floor(r / shape[d]);
    }
    out[i] = f(a[offset(sa)], b[offset(sb)]);
  }
  return { data: out, shape };
}

/** Largest |x - y| / max(|y|, floor) over two arrays. */
export function maxRelError(x: ArrayLike<number>, y: ArrayLike<number>, floor = 1e-6): number {
  if (x.length !== y.length) throw new Error(`length ${x.length} vs ${y.length}`);
  let m = 0;
  for (let i = 0; i < x.length; ++i) {
    const e = Math.abs(x[i] - y[i]) / Math.max(Math.abs(y[i]), floor);
    if (!(e <= m)) m = e; // NaN propagates as a failure
  }
  return m;
}

// Philox4x32-10 (Salmon et al. 2011) written from the paper with BigInt arithmetic.
const M0 = 0xd2511f53n;
const M1 = 0xcd9e8d57n;
const W0 = 0x9e3779b9n;
const W1 = 0xbb67ae85n;
const MASK = 0xffffffffn;

export function philox(counter: bigint, key: bigint): bigint[] {
  let c = [counter & MASK, (counter >> 32n) & MASK, 0n, 0n];
  let k0 = key & MASK;
  let k1 = (key >> 32n) & MASK;
  for (let r = 0; r < 10; ++r) {
    const p0 = M0 * c[0];
    const p1 = M1 * c[2];
    c = [((p1 >> 32n) ^ c[1] ^ k0) & MASK, p1 & MASK, ((p0 >> 32n) ^ c[3] ^ k1) & MASK, p0 & MASK];
    k0 = (k0 + W0) & MASK;
    k1 = (k1 + W1) & MASK;
  }
  return c;
}

/** Element i of rand() with (seed, offset): the top 24 bits of Philox word i % 4 of block offset + i/4. */
export function philoxUniform(seed: bigint, offset: bigint, i: number): number {
  const w = philox(offset + BigInt(Math.floor(i / 4)), seed)[i % 4];
  return Number(w >> 8n) / 16777216;
}

/** Element i of randn(): Box-Muller over word pairs (0,1), (2,3), in float64 then rounded to float32. */
export function philoxNormal(seed: bigint, offset: bigint, i: number): number {
  const w = philox(offset + BigInt(Math.floor(i / 4)), seed);
  const lane = i % 4;
  const pair = lane >> 1;
  const u1 = (Number(w[2 * pair]) + 1) / 4294967296;
  const u2 = Number(w[2 * pair + 1]) / 4294967296;
  const r = Math.sqrt(-2 * Math.log(u1));
  const th = 2 * Math.PI * u2;
  return Math.fround(lane & 1 ? r * Math.sin(th) : r * Math.cos(th));
}

/** Worst |x - y| / (atol + rtol |y|) (<= 1 passes), as torch.allclose; NaN where y is NaN must match. */
export function closeness(x: ArrayLike<number>, y: ArrayLike<number>, rtol: number, atol: number): number {
  if (x.length !== y.length) throw new Error(`length ${x.length} vs ${y.length}`);
  let m = 0;
  for (let i = 0; i < x.length; ++i) {
    if (Number.isNaN(y[i]) && Number.isNaN(x[i])) continue;
    if (y[i] === x[i]) continue;
    const e = Math.abs(x[i] - y[i]) / (atol + rtol * Math.abs(y[i]));
    if (!(e <= m)) m = e;
  }
  return m;
}

/** max |x - y| / max |y|: error relative to the tensor's scale (what "1e-4 relative" means for a whole output). */
export function normRelError(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new Error(`length ${x.length} vs ${y.length}`);
  let e = 0;
  let s = 0;
  for (let i = 0; i < x.length; ++i) {
    const d = Math.abs(x[i] - y[i]);
    if (!(d <= e)) e = d;
    s = Math.max(s, Math.abs(y[i]));
  }
  return s === 0 ? e : e / s;
}
