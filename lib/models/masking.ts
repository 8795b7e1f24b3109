/**
 * masking.ts — span masks for masked prediction (HuBERT, wav2vec 2.0, masked reconstruction),
 * with the semantics of fairseq's `compute_mask_indices` (fairseq/data/data_utils.py; torchaudio's
 * `_compute_mask_indices` is the same code), seeded so a run is reproducible.
 *
 * Glossary:
 *   B, T        batch size and padded frame count of the (B, T) mask
 *   sz          an item's valid length (T minus its padding), from `lengths`
 *   maskProb    p: the share of frames that would be masked if spans never overlapped (0.65 in
 *               HuBERT: 0.8 for wav2vec 2.0 base; 0.65 for HuBERT base/large)
 *   maskLength  L: span length in frames (10 in HuBERT: 200 ms at 50 Hz)
 *   numMask     spans per item = max(minMasks, floor(p · sz / L + u)), u ~ U[0, 1) — "probabilistic
 *               rounding": E[floor(x + u)] = x, so the expected span count is exactly p · sz / L
 *   starts      numMask span starts drawn WITHOUT replacement from [0, sz - L): spans may overlap
 *               (static type), so the masked fraction is below p (≈ 0.49 for p 0.65, L 10, long T)
 *   noOverlap   fairseq's alternative: spans placed one by one in the free parts, `minSpace`
 *               frames apart
 *   sameCount   fairseq's `require_same_masks` (default on): every item keeps only as many masked
 *               frames as the least-masked item of the batch (a random subset of its own), so a
 *               batch has the same masked count per row
 *
 * fairseq details kept on purpose: starts come from [0, sz - L), so the last frame of an item is
 * never masked; when sz - L <= numMask the range grows to numMask + 1 starts; positions at or
 * beyond sz are dropped, so no span ever enters the padding. An item of length 0 gets no mask, and
 * with sameCount it empties every row of its batch (as in fairseq): callers that need masked
 * frames must check `maskedCount` (the HuBERT loss throws on a batch with no masked frame).
 */
import { Rng } from '../audio/rng';
import { Tensor } from '../tensor/tensor';
import { tensor } from '../tensor/creation';
import { Device } from '../tensor/types';

/** Options of `computeMaskIndices` (fairseq argument names in brackets). */
export interface MaskOptions {
  /** p [mask_prob], in [0, 1]. */
  maskProb: number;
  /** L [mask_length], span length in frames, integer >= 1. */
  maskLength: number;
  /** [min_masks] spans per item at least (default 0; HuBERT passes 2). */
  minMasks?: number;
  /** [mask_type] span length distribution: 'static' (every span L, default), 'uniform'
   *  (randint(maskOther, 2L + 1)), 'normal' (N(L, maskOther) rounded, >= 1), 'poisson' (Poisson(L)). */
  maskType?: 'static' | 'uniform' | 'normal' | 'poisson';
  /** [mask_other] the second parameter of 'uniform' / 'normal' (default 0). */
  maskOther?: number;
  /** [no_overlap] place spans without overlap (default false). */
  noOverlap?: boolean;
  /** [min_space] frames kept free between spans with noOverlap (default 0). */
  minSpace?: number;
  /** [require_same_masks] trim every row to the smallest masked count of the batch (default true). */
  sameCount?: boolean;
  /** Seed of a fresh generator (default 0); ignored when `rng` is given. */
  seed?: number;
  /** A generator to draw from (a training loop passes its own, so every step gets a new mask). */
  rng?: Rng;
}

/** What `computeMaskIndices` returns: `mask` (B·T) row-major, 1 at masked frames; `counts` (B)
 *  the masked frames per row; `shape` [B, T]. */
export interface SpanMask {
  mask: Uint8Array;
  counts: Int32Array;
  shape: [number, number];
}

function checkInt(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new Error(`[computeMaskIndices] ${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Poisson(lambda) by inversion (lambda <= ~30 here: span lengths), exact for every lambda used. */
function poisson(rng: Rng, lambda: number): number {
  let k = 0, p = Math.exp(-lambda), s = p;
  const u = rng.uniform();
  while (u > s && k < 10 * lambda + 100) {
    k += 1;
    p *= lambda / k;
    s += p;
  }
  return k;
}

/** `n` distinct integers from [0, m) in draw order (partial Fisher–Yates; m is a frame count). */
function choose(rng: Rng, m: number, n: number): Int32Array {
  const pool = new Int32Array(m);
  for (let i = 0; i < m; ++i) pool[i] = i;
  const out = new Int32Array(n);
  for (let i = 0; i < n; ++i) {
    const j = i + Math.floor(rng.uniform() * (m - i));
    const t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
    out[i] = pool[i];
  }
  return out;
}

function spanLengths(rng: Rng, n: number, o: Required<Pick<MaskOptions, 'maskType' | 'maskLength' | 'maskOther'>>): number[] {
  const L = o.maskLength, lens: number[] = [];
  for (let i = 0; i < n; ++i) {
    switch (o.maskType) {
      case 'static': lens.push(L); break;
      case 'uniform': lens.push(rng.int(Math.trunc(o.maskOther), 2 * L)); break;
      case 'normal': lens.push(Math.max(1, Math.round(L + o.maskOther * rng.normal()))); break;
      case 'poisson': lens.push(poisson(rng, L)); break;
    }
  }
  return lens;
}

/** One item's masked positions (sorted, unique, all < sz), fairseq's per-item body. */
function itemMask(rng: Rng, sz: number, o: Required<Omit<MaskOptions, 'seed' | 'rng' | 'sameCount'>>): number[] {
  if (sz <= 0) return [];
  const numMask = Math.max(o.minMasks, Math.floor((o.maskProb * sz) / o.maskLength + rng.uniform()));
  const lengths = spanLengths(rng, numMask, o);
  if (lengths.length === 0) return [];
  if (lengths.reduce((a, b) => a + b, 0) === 0) lengths[0] = Math.min(o.maskLength, sz - 1);
  const idc: number[] = [];
  if (o.noOverlap) {
    // Free parts [s, e); each span goes into a part drawn with probability ∝ its usable length.
    let parts: [number, number][] = [[0, sz]];
    const minLength = Math.min(...lengths);
    for (const len of [...lengths].sort((a, b) => b - a)) {
      const w = parts.map(([s, e]) => (e - s >= len + o.minSpace ? e - s : 0));
      const total = w.reduce((a, b) => a + b, 0);
      if (total === 0) break;
      let u = rng.uniform() * total, c = w.findIndex((x) => x > 0);
      for (let i = c; i < w.length; ++i) {
        if (w[i] === 0) continue;
        c = i;
        if (u < w[i]) break;
        u -= w[i];
      }
      const [s, e] = parts[c];
      parts = parts.filter((_, i) => i !== c);
      const start = s + Math.floor(rng.uniform() * (e - len - s)); // randint(s, e - len)
      for (let k = 0; k < len; ++k) idc.push(start + k);
      if (start - s - o.minSpace >= minLength) parts.push([s, start - o.minSpace + 1]);
      if (e - start - len - o.minSpace > minLength) parts.push([start + len + o.minSpace, e]);
    }
  } else {
    let minLen = Math.min(...lengths);
    if (sz - minLen <= numMask) minLen = sz - numMask - 1;
    const starts = choose(rng, sz - minLen, numMask);
    starts.forEach((st, j) => { for (let k = 0; k < lengths[j]; ++k) idc.push(st + k); });
  }
  return [...new Set(idc.filter((i) => i < sz))].sort((a, b) => a - b);
}

/**
 * Span mask for a (B, T) batch with fairseq `compute_mask_indices` semantics (see the module
 * header): for each item, numMask = max(minMasks, floor(p · sz / L + u)) span starts drawn without
 * replacement from [0, sz - L), spans of L frames that may overlap, never past the item's valid
 * length sz = lengths[b] (every item T long when `lengths` is null); with `sameCount` (default)
 * rows are trimmed to the batch's smallest count. Seeded: the same seed (or generator state) gives
 * the same mask. Returns { mask (B·T) Uint8Array, counts (B), shape [B, T] }.
 */
export function computeMaskIndices(shape: readonly [number, number] | readonly number[], lengths: ArrayLike<number> | Tensor | null, opts: MaskOptions): SpanMask {
  if (!Array.isArray(shape) || shape.length !== 2) throw new Error(`[computeMaskIndices] shape must be [B, T], got ${JSON.stringify(shape)}`);
  const B = checkInt('B', shape[0], 0), T = checkInt('T', shape[1], 0);
  if (opts === null || typeof opts !== 'object') throw new Error('[computeMaskIndices] expected an options object { maskProb, maskLength, ... }');
  const maskProb = opts.maskProb;
  if (typeof maskProb !== 'number' || !(maskProb >= 0 && maskProb <= 1)) throw new Error(`[computeMaskIndices] maskProb must be in [0, 1], got ${JSON.stringify(maskProb)}`);
  const o = {
    maskProb,
    maskLength: checkInt('maskLength', opts.maskLength, 1),
    minMasks: checkInt('minMasks', opts.minMasks ?? 0, 0),
    maskType: opts.maskType ?? 'static',
    maskOther: opts.maskOther ?? 0,
    noOverlap: opts.noOverlap ?? false,
    minSpace: checkInt('minSpace', opts.minSpace ?? 0, 0),
  };
  if (!['static', 'uniform', 'normal', 'poisson'].includes(o.maskType)) {
    throw new Error(`[computeMaskIndices] maskType must be static, uniform, normal or poisson, got ${JSON.stringify(o.maskType)}`);
  }
  const sz = new Int32Array(B).fill(T);
  if (lengths !== null && lengths !== undefined) {
    const v = lengths instanceof Tensor ? lengths.dataSync() : lengths;
    if (v.length !== B) throw new Error(`[computeMaskIndices] lengths must have B = ${B} entries, got ${v.length}`);
    for (let b = 0; b < B; ++b) {
      if (!Number.isInteger(v[b]) || v[b] < 0 || v[b] > T) throw new Error(`[computeMaskIndices] lengths[${b}] = ${v[b]} is outside [0, T = ${T}]`);
      sz[b] = v[b];
    }
  }
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const rows = Array.from(sz, (n) => itemMask(rng, n, o));
  const mask = new Uint8Array(B * T), counts = new Int32Array(B);
  const minCount = rows.length ? Math.min(...rows.map((r) => r.length)) : 0;
  rows.forEach((r, b) => {
    let keepIdx = r;
    if ((opts.sameCount ?? true) && r.length > minCount) keepIdx = Array.from(choose(rng, r.length, minCount), (i) => r[i]);
    for (const t of keepIdx) mask[b * T + t] = 1;
    counts[b] = keepIdx.length;
  });
  return { mask, counts, shape: [B, T] };
}

/** The mask as a float32 (B, T) tensor of 0/1 on `device` (to multiply or select frames with). */
export function maskTensor(m: SpanMask, device?: Device): Tensor {
  return tensor(Float32Array.from(m.mask), m.shape, { device });
}
