/**
 * forced_align.ts — CTC forced alignment: the most probable frame labelling that collapses to a
 * known transcript (Viterbi over the CTC lattice, see lattice.ts), as torchaudio's
 * `forced_align` + `merge_tokens`. Gives frame labels for the layer-wise I(T_l; Y) analysis of
 * CTC models that have no phone alignments.
 *
 * Glossary: T frames, V classes (blank included), S target tokens; logProbs (T, V) or batched
 * (B, T, V); frames (T) the class of each frame on the best path (blank or the token being
 * emitted); a token span [start, end) is the run of frames that emit one target token; score the
 * best path's log-probability (a max, not the CTC sum over paths: see ctcLogProb).
 */
import { Tensor } from '../../tensor/tensor';
import type { Lengths } from '../../ops/selective_scan';
import { checkBlank, describe, LogProbsInput, readLengths, readLogProbs } from './input';
import { ctcLogProbAt, minFrames, viterbiAt } from './lattice';

/** One target token's frames: `token` emitted on frames [start, end). */
export interface TokenSpan {
  token: number;
  start: number;
  end: number;
}

/** The best path of one utterance: `frames` (T) labels, `tokenSpans` (S), `score` its log-probability. */
export interface ForcedAlignment {
  frames: Int32Array;
  tokenSpans: TokenSpan[];
  score: number;
}

/** Options of ctcForcedAlign. */
export interface ForcedAlignOptions {
  /** Index of the blank class (default 0). */
  blank?: number;
}

/** Options of ctcForcedAlignBatch. */
export interface BatchForcedAlignOptions extends ForcedAlignOptions {
  /** Valid frames per utterance (default T). */
  inputLengths?: Lengths;
  /** Valid tokens per utterance; required when `targets` is a padded (B, S) tensor. */
  targetLengths?: Lengths;
  /** 'throw' (default): an utterance without any path throws; 'null': its entry is null. */
  infeasible?: 'throw' | 'null';
}

/**
 * Forced alignment of one utterance: logProbs (T, V) (or (1, T, V)) against `target` (S token ids,
 * none the blank, all < V). Returns the Viterbi path's frame labels (T), the frames of each target
 * token, and the path's log-probability. Throws `[ctcForcedAlign] ...` when T is too short
 * (T < S + adjacent repeats) or when every path has probability 0.
 */
export function ctcForcedAlign(logProbs: LogProbsInput, target: ArrayLike<number>, opts: ForcedAlignOptions = {}): ForcedAlignment {
  const op = 'ctcForcedAlign';
  const v = readLogProbs(op, logProbs, undefined, true);
  if (v.B !== 1) throw new Error(`[${op}] logProbs must be (T, V) or (1, T, V), got B = ${v.B}; use ctcForcedAlignBatch for a batch`);
  const blank = opts.blank ?? 0;
  checkBlank(op, blank, v.V);
  const y = checkTarget(op, target, v.V, blank, '');
  const r = alignOne(op, v.data, 0, v.T, v.V, y, blank, '');
  return r as ForcedAlignment;
}

/**
 * Forced alignment of a batch: logProbs (B, T, V), `targets` as B token lists or a padded int32
 * tensor (B, S) with `targetLengths`, valid frames `inputLengths` (default T). Each result covers
 * that utterance's first inputLengths[b] frames. An infeasible utterance throws naming its index,
 * or gives null with `infeasible: 'null'`.
 */
export function ctcForcedAlignBatch(
  logProbs: LogProbsInput, targets: ReadonlyArray<ArrayLike<number>> | Tensor, opts: BatchForcedAlignOptions = {},
): Array<ForcedAlignment | null> {
  const op = 'ctcForcedAlignBatch';
  const v = readLogProbs(op, logProbs, opts.inputLengths, false);
  const blank = opts.blank ?? 0;
  checkBlank(op, blank, v.V);
  const infeasible = opts.infeasible ?? 'throw';
  if (infeasible !== 'throw' && infeasible !== 'null') throw new Error(`[${op}] infeasible must be 'throw' or 'null', got ${String(infeasible)}`);
  const lists = targetLists(op, targets, v.B, opts.targetLengths);
  const out: Array<ForcedAlignment | null> = [];
  for (let b = 0; b < v.B; ++b) {
    const where = ` (utterance ${b})`;
    const y = checkTarget(op, lists[b], v.V, blank, where);
    const r = alignOne(op, v.data, b * v.T * v.V, v.lengths[b], v.V, y, blank, where, infeasible === 'null');
    out.push(r);
  }
  return out;
}

/**
 * log P(target | x) for one utterance: logProbs (T, V) (or (1, T, V)), the log of the summed
 * probability of every frame path collapsing to `target` (float64; -Infinity when T is too
 * short). The same quantity as the negative of `ops.ctcLoss` with reduction 'none', on the host.
 */
export function ctcLogProb(logProbs: LogProbsInput, target: ArrayLike<number>, opts: ForcedAlignOptions = {}): number {
  const op = 'ctcLogProb';
  const v = readLogProbs(op, logProbs, undefined, true);
  if (v.B !== 1) throw new Error(`[${op}] logProbs must be (T, V) or (1, T, V), got B = ${v.B}`);
  const blank = opts.blank ?? 0;
  checkBlank(op, blank, v.V);
  return ctcLogProbAt(v.data, 0, v.T, v.V, checkTarget(op, target, v.V, blank, ''), blank);
}

function alignOne(
  op: string, data: ArrayLike<number>, off: number, T: number, V: number, y: Int32Array, blank: number, where: string, soft = false,
): ForcedAlignment | null {
  const need = minFrames(y);
  if (need > T) {
    if (soft) return null;
    const reps = need - y.length;
    throw new Error(`[${op}] T = ${T} frames are too few for a target of S = ${y.length} tokens with ${reps} adjacent repeat${reps === 1 ? '' : 's'}${where}: needs T >= ${need}`);
  }
  const path = viterbiAt(data, off, T, V, y, blank);
  if (path === null) {
    if (soft) return null;
    throw new Error(`[${op}] every alignment of the target has probability 0 (log-probability -Infinity)${where}`);
  }
  return { frames: path.frames, tokenSpans: spans(path.frames, blank), score: path.score };
}

/** Runs of equal non-blank labels: on a path that collapses to y they are y's tokens, in order. */
function spans(frames: Int32Array, blank: number): TokenSpan[] {
  const out: TokenSpan[] = [];
  for (let t = 0; t < frames.length; ++t) {
    const c = frames[t];
    if (c === blank) continue;
    if (t > 0 && frames[t - 1] === c) out[out.length - 1].end = t + 1;
    else out.push({ token: c, start: t, end: t + 1 });
  }
  return out;
}

function checkTarget(op: string, target: ArrayLike<number>, V: number, blank: number, where: string): Int32Array {
  if (target === null || typeof target !== 'object' || typeof target.length !== 'number') {
    throw new Error(`[${op}] target must be a number[] or Int32Array of token ids${where}, got ${describe(target)}`);
  }
  const y = new Int32Array(target.length);
  for (let i = 0; i < target.length; ++i) {
    const c = target[i];
    if (!Number.isInteger(c) || c < 0 || c >= V) throw new Error(`[${op}] target[${i}] must be a token id in [0, ${V})${where}, got ${c}`);
    if (c === blank) throw new Error(`[${op}] target[${i}] is the blank (${blank})${where}; targets hold tokens only`);
    y[i] = c;
  }
  return y;
}

function targetLists(op: string, targets: ReadonlyArray<ArrayLike<number>> | Tensor, B: number, targetLengths: Lengths | undefined): ArrayLike<number>[] {
  if (targets instanceof Tensor) {
    if (targets.dtype !== 'int32' || targets.ndim !== 2 || targets.shape[0] !== B) {
      throw new Error(`[${op}] targets tensor must be int32 (B, S) with B = ${B}, got ${targets.dtype} (${targets.shape.join(', ')})`);
    }
    const S = targets.shape[1];
    if (targetLengths === undefined) throw new Error(`[${op}] targetLengths are required with a padded targets tensor`);
    const tl = readLengths(op, targetLengths, B, S, 'targetLengths');
    const d = targets.dataSync();
    return Array.from({ length: B }, (_, b) => d.subarray(b * S, b * S + tl[b]));
  }
  if (!Array.isArray(targets)) throw new Error(`[${op}] targets must be B token lists or an int32 (B, S) tensor, got ${describe(targets)}`);
  if (targets.length !== B) throw new Error(`[${op}] targets must have B = ${B} lists, got ${targets.length}`);
  if (targetLengths === undefined) return targets as ArrayLike<number>[];
  const tl = readLengths(op, targetLengths, B, 0x7fffffff, 'targetLengths');
  return targets.map((t: ArrayLike<number>, b: number) => {
    if (tl[b] > t.length) throw new Error(`[${op}] targetLengths[${b}] = ${tl[b]} exceeds the ${t.length} tokens given`);
    return Array.prototype.slice.call(t, 0, tl[b]) as number[];
  });
}
