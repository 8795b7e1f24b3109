/**
 * losses.ts — the enhancement losses on padded batches, each averaged over valid frames or
 * samples only (padding contributes nothing, whatever it holds).
 *
 * Glossary:
 *   |X|^c       compressed magnitude, c = 0.3 (SEMamba, MP-SENet): quiet bins weigh more than
 *               in a linear MSE (a bin 40 dB down is 0.25× the peak instead of 0.01×)
 *   complex     the compressed complex spectrum |X|^c · e^{jφ} (re and im stacked): carries the
 *               phase, so its MSE is what MP-SENet / SEMamba call the complex loss
 *   SI-SDR      10 log10(|α s|² / |α s − ŝ|²), α = <ŝ, s> / |s|², after removing each item's
 *               mean over its valid samples (Le Roux et al. 2019); the loss is −mean over items
 *   frames      (B) valid frames T_b; samples (B) valid samples L_b
 */
import { log, mul, sub } from '../../ops/elementwise';
import { sum } from '../../ops/reduce';
import { reshape } from '../../ops/shape';
import { fromTypedArray } from '../../tensor/creation';
import { tidy } from '../../tensor/scope';
import { Tensor } from '../../tensor/tensor';
import { frameMask, sampleMask } from './stft';

const LN10 = Math.log(10);

function sameShape(op: string, a: Tensor, b: Tensor, an: string, bn: string): void {
  if (a.shape.join() !== b.shape.join()) throw new Error(`[${op}] ${an} (${a.shape.join(', ')}) and ${bn} (${b.shape.join(', ')}) must have the same shape`);
}

/**
 * Mean of (est − ref)² over the valid frames of (B, T, F) tensors: Σ_b Σ_{t<T_b} Σ_f (·)² /
 * (F · Σ_b T_b). A scalar with gradients to `est` (and `ref` when it requires them).
 */
export function maskedFrameMse(est: Tensor, ref: Tensor, frames: Int32Array, op = 'maskedFrameMse'): Tensor {
  sameShape(op, est, ref, 'estimate', 'reference');
  if (est.ndim !== 3) throw new Error(`[${op}] expected (B, T, F) spectra, got (${est.shape.join(', ')})`);
  const [B, T, F] = est.shape;
  if (frames.length !== B) throw new Error(`[${op}] frames must have ${B} entries, got ${frames.length}`);
  const count = frames.reduce((s, f) => s + Math.min(f, T), 0) * F;
  if (count === 0) throw new Error(`[${op}] no valid frames in the batch`);
  return tidy(() => {
    let d = sub(est, ref);
    if (frames.some((f) => f < T)) d = mul(d, frameMask(frames, T, est.device)); // (B, T, F)
    return mul(sum(mul(d, d)), 1 / count);
  });
}

/** Compressed-magnitude MSE: est and ref are |X|^c (B, T, F); see maskedFrameMse. */
export function compressedMagnitudeLoss(est: Tensor, ref: Tensor, frames: Int32Array): Tensor {
  return maskedFrameMse(est, ref, frames, 'compressedMagnitudeLoss');
}

/** Complex MSE on compressed spectra: mean over valid frames of (re − re')² and (im − im')²
 *  together (2 · F · Σ T_b terms), as torch's mse_loss on the stacked (…, 2) spectra. */
export function complexLoss(estRe: Tensor, estIm: Tensor, refRe: Tensor, refIm: Tensor, frames: Int32Array): Tensor {
  return tidy(() => mul(
    maskedFrameMse(estRe, refRe, frames, 'complexLoss').add(maskedFrameMse(estIm, refIm, frames, 'complexLoss')), 0.5));
}

/**
 * SI-SDR in dB per item, differentiable: est, ref (B, n) over each item's first L_b samples
 * (means removed there; padding ignored) -> (B). `eps` (1e-8) keeps silent items finite.
 */
export function siSdrPerItem(est: Tensor, ref: Tensor, lengths: Int32Array, eps = 1e-8): Tensor {
  const op = 'siSdrPerItem';
  sameShape(op, est, ref, 'estimate', 'reference');
  if (est.ndim !== 2) throw new Error(`[${op}] expected waveforms (B, n), got (${est.shape.join(', ')})`);
  const [B, n] = est.shape;
  if (lengths.length !== B) throw new Error(`[${op}] lengths must have ${B} entries, got ${lengths.length}`);
  lengths.forEach((L, b) => {
    if (!(L >= 1 && L <= n)) throw new Error(`[${op}] lengths[${b}] = ${L} is outside [1, ${n}]`);
  });
  return tidy(() => {
    const m = sampleMask(lengths, n, est.device); // (B, n)
    const inv = fromTypedArray(Float32Array.from(lengths, (L) => 1 / L), [B, 1], { device: est.device }); // (B, 1)
    const centred = (x: Tensor): Tensor => mul(sub(x, mul(sum(mul(x, m), 1, true), inv)), m); // (B, n)
    const e = centred(est);
    const r = centred(ref);
    const rr = sum(mul(r, r), 1, true).add(eps); // (B, 1)
    const alpha = sum(mul(e, r), 1, true).div(rr); // (B, 1)
    const target = mul(r, alpha); // (B, n)
    const resid = sub(e, target); // (B, n)
    const ratio = sum(mul(target, target), 1).add(eps).div(sum(mul(resid, resid), 1).add(eps)); // (B)
    return mul(log(ratio), 10 / LN10); // (B)
  });
}

/** Negative SI-SDR averaged over items (a loss to minimise); see siSdrPerItem. Returns the
 *  scalar loss and the per-item SI-SDR (B) it came from. */
export function negativeSiSdrLoss(est: Tensor, ref: Tensor, lengths: Int32Array): { loss: Tensor; perItem: Tensor } {
  return tidy(() => {
    const perItem = siSdrPerItem(est, ref, lengths);
    return { loss: mul(sum(perItem), -1 / lengths.length), perItem };
  });
}

/** Weighted sum of scalar loss terms, skipping zero weights; `terms` name -> [weight, value]. */
export function weightedSum(terms: Array<[number, Tensor]>): Tensor {
  return tidy(() => {
    let total: Tensor | null = null;
    for (const [w, v] of terms) {
      if (w === 0) continue;
      const t = mul(reshape(v, []), w);
      total = total ? total.add(t) : t;
    }
    if (!total) throw new Error('[weightedSum] every loss weight is 0');
    return total;
  });
}
