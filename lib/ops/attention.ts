/**
 * attention.ts — fused scaled-dot-product attention (FlashAttention-2) with its gradient.
 *
 * Glossary: B batch, H heads, Lq query length, Lk key/value length, Dh head dim (1..256).
 * out = softmax(scale * q k^T + mask) v, computed tile by tile (native/ops/attention): the
 * (Lq, Lk) matrix is never stored; forward saves the row log-sum-exp `lse` and backward
 * recomputes the probabilities from it.
 *
 *   q (B, H, Lq, Dh), k (B, H, Lk, Dh), v (B, H, Lk, Dh) -> out (B, H, Lq, Dh)
 *
 * Masks: `causal` lets query i see keys j <= i + (Lk - Lq) (bottom-right aligned, as
 * FlashAttention >= 2.1); `keyLengths[b]` hides keys j >= it; `queryLengths[b]` zeroes query
 * rows i >= it (and their gradients). A row that sees no key gives 0, never NaN.
 * Dropout: P_ij kept with probability 1 - p and scaled by 1/(1 - p); the keep bit is a pure
 * function of (seed, element index) (Philox, native/core/philox.h), so backward regenerates it
 * and cpu and cuda draw the same mask.
 */
import { nextSeedOffset } from '../tensor/creation';
import { underAutocast } from '../autograd/autocast';
import { native, NativeHandle } from '../native';
import { record } from '../autograd/tape';
import { lengthsTensor } from './lengths';
import { describe, Tensor } from '../tensor/tensor';

/** Options of attention(). */
export interface AttentionOptions {
  /** Causal mask, bottom-right aligned when Lq != Lk. */
  causal?: boolean;
  /** (B) valid keys per batch item: keys at t >= keyLengths[b] are masked. */
  keyLengths?: Int32Array | Tensor | readonly number[];
  /** (B) valid queries per batch item: rows past it give 0 and no gradient. */
  queryLengths?: Int32Array | Tensor | readonly number[];
  /** Score scale; default 1 / sqrt(Dh). */
  scale?: number;
  /** Attention-probability dropout p in [0, 1); default 0. */
  dropout?: number;
  /** Dropout seed (integer >= 0 or BigInt < 2^64); default the global generator's next draw (manualSeed). */
  seed?: number | bigint;
  /**
   * Bitwise-reproducible backward. Off (default), the bfloat16 CUDA backward adds dQ with float
   * atomics (FlashAttention-2; the summation order varies); on, dQ gets its own pass (slower, ~1.6x
   * the backward matmuls). float32 and cpu backwards are always deterministic.
   */
  deterministic?: boolean;
  /** Let the float32 path use TF32 tensor cores. Accepted; float32 currently stays exact. */
  allowTF32?: boolean;
}

/** Lengths on q's device (host lengths are checked by the shared parser; a tensor's values by the addon). */
function lengthsArg(name: string, x: AttentionOptions['keyLengths'], batch: number, max: number, maxName: string,
  device: Tensor['device']): { t: Tensor | null; own: boolean } {
  const r = lengthsTensor('attention', name, x, batch, max, maxName, device);
  if (r.t && r.t.device !== device) return { t: r.t.to(device), own: true };
  return r;
}

function checkTensor(name: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) throw new Error(`[attention] ${name} must be a Tensor, got ${describe(x)}`);
  return x;
}

/**
 * Scaled-dot-product attention of q (B, H, Lq, Dh) over k, v (B, H, Lk, Dh) -> (B, H, Lq, Dh).
 * float32 on cpu and cuda, bfloat16 on cuda (tensor cores, float32 accumulation). Records its
 * gradient (dq, dk, dv) when an input requires grad.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const ac = underAutocast([q, k, v], (qc, kc, vc) => attention(qc as Tensor, kc as Tensor, vc as Tensor, opts));
  if (ac) return ac;
  checkTensor('q', q);
  checkTensor('k', k);
  checkTensor('v', v);
  if (opts === null || typeof opts !== 'object') throw new Error(`[attention] options must be an object, got ${describe(opts)}`);
  const dh = q.shape.length === 4 ? q.shape[3] : 1;
  const scale = opts.scale ?? 1 / Math.sqrt(dh);
  if (typeof scale !== 'number' || !Number.isFinite(scale)) throw new Error(`[attention] scale must be a finite number, got ${describe(scale)}`);
  const dropout = opts.dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) throw new Error(`[attention] dropout must be in [0, 1), got ${describe(dropout)}`);
  let seed: number | bigint = 0;
  let offset: bigint = 0n;
  if (dropout > 0) {
    if (opts.seed !== undefined) {
      seed = opts.seed;
      if (typeof seed === 'bigint' ? seed < 0n || seed >= 1n << 64n : !Number.isSafeInteger(seed) || seed < 0) {
        throw new Error(`[attention] seed must be an integer >= 0 (or a BigInt < 2^64), got ${describe(seed)}`);
      }
    } else {
      // No seed: draw from the global Philox generator as dropout() does, so manualSeed() and a
      // trainer's saved RNG state make attention dropout reproducible (and resumable bitwise).
      const lq = q.shape.length === 4 ? q.shape[2] : 1, lk = k.shape.length === 4 ? k.shape[2] : 1;
      const g = nextSeedOffset((q.shape[0] ?? 1) * (q.shape[1] ?? 1) * lq * lk, 'attention');
      seed = g.seed;
      offset = g.offset;
    }
  }
  const causal = opts.causal === true;
  const deterministic = opts.deterministic === true;
  const allowTF32 = opts.allowTF32 === true;
  const device = q.device;
  // With malformed q/k the addon reports their shapes; lengths are checked against valid ones.
  const shaped = q.ndim === 4 && k.ndim === 4;
  const none = { t: null, own: false };
  const kl = shaped ? lengthsArg('keyLengths', opts.keyLengths, q.shape[0], k.shape[2], '', device) : none;
  const ql = shaped ? lengthsArg('queryLengths', opts.queryLengths, q.shape[0], q.shape[2], '', device) : none;
  try {
    const klh: NativeHandle | null = kl.t ? kl.t.handle('attention') : null;
    const qlh: NativeHandle | null = ql.t ? ql.t.handle('attention') : null;
    const [oh, lh] = native.attentionForward(q.handle('attention'), k.handle('attention'), v.handle('attention'),
      klh, qlh, causal, scale, dropout, seed, offset, allowTF32);
    const out = new Tensor(oh);
    const lse = new Tensor(lh);
    const saved = [q, k, v, out, lse];
    if (kl.t) saved.push(kl.t);
    if (ql.t) saved.push(ql.t);
    record('attention', [q, k, v], [out], saved, (grads, s) => {
      const g = grads[0];
      if (!g) return [null, null, null];
      const sk = kl.t ? s[5] : null;
      const sq = ql.t ? s[kl.t ? 6 : 5] : null;
      const [dq, dk, dv] = native.attentionBackward(g.handle('attention'), s[0].handle('attention'), s[1].handle('attention'),
        s[2].handle('attention'), s[3].handle('attention'), s[4].handle('attention'),
        sk ? sk.handle('attention') : null, sq ? sq.handle('attention') : null,
        causal, scale, dropout, seed, offset, deterministic, allowTF32);
      return [new Tensor(dq), new Tensor(dk), new Tensor(dv)];
    });
    lse.dispose(); // the tape keeps its own alias when it recorded
    return out;
  } finally {
    if (kl.own && kl.t) kl.t.dispose();
    if (ql.own && ql.t) ql.t.dispose();
  }
}
