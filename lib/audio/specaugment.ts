/**
 * SpecAugment (Park et al., 2019) on a padded batch of features with valid lengths: time warp,
 * frequency masks, time masks, all drawn from a seeded generator so a (seed, batch) pair always
 * gives the same result. Only frames t < lengths[b] are ever read or changed.
 *
 * Glossary:
 *   B, T, F     batch, padded frames, feature bins; features are (B, T, F), row-major
 *   L_b         lengths[b], valid frames of item b (padding is on the right)
 *   W           timeWarp: the frame at centre c (uniform in [W, L-1-W]) moves to w = c + uniform
 *               [-W, W], clipped to [1, L-2]; output frame t reads source s(t) = t c / w for
 *               t <= w and c + (t - w)(L-1-c)/(L-1-w) after, linearly interpolated between the two
 *               nearest frames. Frames 0 and L-1 stay put, as the pinned corners of TF's
 *               sparse_image_warp; items with L < max(2W + 1, 3) are not warped
 *   mF, F'      freqMasks masks of width uniform in [0, freqMaskWidth], start uniform
 *   mT, T', p   timeMasks masks of width uniform in [0, min(timeMaskWidth, floor(p L_b))]
 *   draw order  per item b = 0..B-1: warp (centre, target), then each freq mask (width,
 *               start), then each time mask (width, start)
 */

import { checkFinite, checkNonNegativeInt, checkPositiveInt, fail, isFloat32Array, isInt32Array } from './check';
import { Rng } from './rng';

export interface SpecAugmentOptions {
  freqMasks?: number; // 2
  freqMaskWidth?: number; // 27 (LibriSpeech policy F)
  timeMasks?: number; // 2
  timeMaskWidth?: number; // 40
  /** Upper bound on a time mask's width as a fraction of the valid length (p). Default 1. */
  timeMaskProportion?: number;
  /** Time-warp parameter W in frames; 0 = off. Default 0. */
  timeWarp?: number;
  /** Value written into masks: a number, or 'mean' = the item's mean over its valid frames. Default 0. */
  maskValue?: number | 'mean';
  seed?: number; // 0
  /** Modify `features` instead of a copy. Default false. */
  inPlace?: boolean;
}

export interface MaskRecord {
  item: number;
  axis: 'time' | 'freq';
  start: number;
  width: number;
}

export interface WarpRecord {
  item: number;
  center: number;
  warped: number;
}

export interface SpecAugmentResult {
  data: Float32Array; // (B, T, F)
  masks: MaskRecord[];
  warps: WarpRecord[];
}

/**
 * Applies SpecAugment to `features` (B, T, F) with valid `lengths` (B); returns the augmented
 * copy (or `features` itself with inPlace) and the masks and warps drawn, in draw order.
 */
export function specAugment(
  features: Float32Array, shape: readonly [number, number, number], lengths: Int32Array, opts: SpecAugmentOptions = {},
): SpecAugmentResult {
  const op = 'specAugment';
  const [B, T, F] = shape;
  if (!isFloat32Array(features)) fail(op, 'features must be a Float32Array of shape (B, T, F)');
  checkPositiveInt(op, 'B', B);
  checkNonNegativeInt(op, 'T', T);
  checkPositiveInt(op, 'F', F);
  if (features.length !== B * T * F) fail(op, `features has ${features.length} values, expected B*T*F = ${B}*${T}*${F} = ${B * T * F}`);
  if (!isInt32Array(lengths) || lengths.length !== B) fail(op, `lengths must be an Int32Array of ${B} values`);
  for (let b = 0; b < B; b++) {
    if (lengths[b] < 0 || lengths[b] > T) fail(op, `lengths[${b}] = ${lengths[b]} is outside [0, T = ${T}]`);
  }
  const mF = opts.freqMasks ?? 2;
  const wF = opts.freqMaskWidth ?? 27;
  const mT = opts.timeMasks ?? 2;
  const wT = opts.timeMaskWidth ?? 40;
  const p = opts.timeMaskProportion ?? 1;
  const W = opts.timeWarp ?? 0;
  for (const [name, v] of [['freqMasks', mF], ['freqMaskWidth', wF], ['timeMasks', mT], ['timeMaskWidth', wT], ['timeWarp', W]] as const) {
    checkNonNegativeInt(op, name, v);
  }
  checkFinite(op, 'timeMaskProportion', p, 0, 1);
  const maskValue = opts.maskValue ?? 0;
  if (maskValue !== 'mean') checkFinite(op, 'maskValue', maskValue);
  const rng = new Rng(opts.seed ?? 0);
  const data = opts.inPlace ? features : features.slice(); // (B, T, F)
  const masks: MaskRecord[] = [];
  const warps: WarpRecord[] = [];
  for (let b = 0; b < B; b++) {
    const L = lengths[b];
    const base = b * T * F;
    if (W > 0 && L >= Math.max(2 * W + 1, 3)) {
      const center = rng.int(W, L - 1 - W);
      const warped = Math.min(L - 2, Math.max(1, center + rng.int(-W, W)));
      timeWarp(data, base, L, F, center, warped);
      warps.push({ item: b, center, warped });
    }
    const fill = maskValue === 'mean' ? meanOf(data, base, L * F) : maskValue;
    for (let i = 0; i < mF; i++) {
      const width = rng.int(0, Math.min(wF, F));
      const start = rng.int(0, F - width);
      for (let t = 0; t < L; t++) data.fill(fill, base + t * F + start, base + t * F + start + width);
      masks.push({ item: b, axis: 'freq', start, width });
    }
    const maxT = Math.min(wT, Math.floor(p * L));
    for (let i = 0; i < mT; i++) {
      if (L === 0) break;
      const width = rng.int(0, maxT);
      const start = rng.int(0, L - width);
      data.fill(fill, base + start * F, base + (start + width) * F);
      masks.push({ item: b, axis: 'time', start, width });
    }
  }
  return { data, masks, warps };
}

/** Piecewise-linear warp of one item's valid frames (L, F): output t reads source s(t), with
 *  s(0) = 0, s(w) = c, s(L-1) = L-1, linear in between (see glossary). */
function timeWarp(x: Float32Array, base: number, L: number, F: number, c: number, w: number): void {
  const src = x.slice(base, base + L * F); // (L, F) original frames
  for (let t = 0; t < L; t++) {
    const s = t <= w ? (t * c) / w : c + ((t - w) * (L - 1 - c)) / (L - 1 - w);
    const i0 = Math.min(Math.floor(s), L - 1);
    const i1 = Math.min(i0 + 1, L - 1);
    const a = s - i0;
    const o = base + t * F;
    for (let f = 0; f < F; f++) x[o + f] = (1 - a) * src[i0 * F + f] + a * src[i1 * F + f];
  }
}

function meanOf(x: Float32Array, start: number, count: number): number {
  let s = 0;
  for (let i = 0; i < count; i++) s += x[start + i];
  return count > 0 ? s / count : 0;
}
