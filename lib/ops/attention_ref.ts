/**
 * attention_ref.ts — float64 reference for attention(): plain loops over the full score matrix,
 * the textbook softmax and its textbook gradient. Shares no code with the native op, so the tests
 * comparing the two mean something. Slow (O(B H Lq Lk Dh) in JS): for tests only.
 *
 * Glossary: B, H, Lq, Lk, Dh as in attention.ts; S scores, P softmax(S) per row, Z the dropout
 * keep mask, P~ = P * Z / (1 - p) the probabilities applied to v.
 * Layout: row-major (B, H, L, Dh) arrays, as the tensors' dataSync() gives them.
 */

/** Options of attentionRef (the same masks as attention(); dropout through a keep function). */
export interface AttentionRefOptions {
  causal?: boolean;
  keyLengths?: ArrayLike<number>;
  queryLengths?: ArrayLike<number>;
  scale?: number;
  /** Dropout p; `keep(b, h, i, j)` says whether P_ij is kept (required when p > 0). */
  dropout?: number;
  keep?: (b: number, h: number, i: number, j: number) => boolean;
}

export interface AttentionRefResult {
  out: Float64Array; // (B, H, Lq, Dh)
  lse: Float64Array; // (B, H, Lq); +Infinity where a row sees no key
  /** Gradients for an output gradient dout (B, H, Lq, Dh). */
  backward(dout: ArrayLike<number>): { dq: Float64Array; dk: Float64Array; dv: Float64Array };
}

/** Reference attention over flat arrays; `shape` = [B, H, Lq, Lk, Dh]. */
export function attentionRef(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>,
  shape: readonly [number, number, number, number, number], opts: AttentionRefOptions = {},
): AttentionRefResult {
  const [B, H, Lq, Lk, Dh] = shape;
  const scale = opts.scale ?? 1 / Math.sqrt(Dh);
  const p = opts.dropout ?? 0;
  if (p > 0 && !opts.keep) throw new Error('attentionRef: dropout needs a keep function');
  const diag = Lk - Lq;
  const visible = (b: number, i: number, j: number): boolean => {
    const ql = opts.queryLengths ? opts.queryLengths[b] : Lq;
    const kl = opts.keyLengths ? opts.keyLengths[b] : Lk;
    return i < ql && j < kl && (!opts.causal || j <= i + diag);
  };
  const dropScale = (b: number, h: number, i: number, j: number): number =>
    p > 0 ? (opts.keep!(b, h, i, j) ? 1 / (1 - p) : 0) : 1;

  const out = new Float64Array(B * H * Lq * Dh);
  const lse = new Float64Array(B * H * Lq);
  const P = new Float64Array(B * H * Lq * Lk); // softmax probabilities, 0 where masked
  for (let b = 0; b < B; ++b) {
    for (let h = 0; h < H; ++h) {
      const bh = b * H + h;
      for (let i = 0; i < Lq; ++i) {
        const s = new Float64Array(Lk);
        let mx = -Infinity;
        for (let j = 0; j < Lk; ++j) {
          if (!visible(b, i, j)) continue;
          let dot = 0;
          for (let d = 0; d < Dh; ++d) dot += q[(bh * Lq + i) * Dh + d] * k[(bh * Lk + j) * Dh + d];
          s[j] = scale * dot;
          mx = Math.max(mx, s[j]);
        }
        if (mx === -Infinity) {
          lse[bh * Lq + i] = Infinity; // no visible key: out row stays 0
          continue;
        }
        let sum = 0;
        for (let j = 0; j < Lk; ++j) if (visible(b, i, j)) sum += Math.exp(s[j] - mx);
        lse[bh * Lq + i] = mx + Math.log(sum);
        for (let j = 0; j < Lk; ++j) {
          if (!visible(b, i, j)) continue;
          const pij = Math.exp(s[j] - mx) / sum;
          P[(bh * Lq + i) * Lk + j] = pij;
          const pd = pij * dropScale(b, h, i, j);
          for (let d = 0; d < Dh; ++d) out[(bh * Lq + i) * Dh + d] += pd * v[(bh * Lk + j) * Dh + d];
        }
      }
    }
  }

  const backward = (dout: ArrayLike<number>): { dq: Float64Array; dk: Float64Array; dv: Float64Array } => {
    const dq = new Float64Array(B * H * Lq * Dh);
    const dk = new Float64Array(B * H * Lk * Dh);
    const dv = new Float64Array(B * H * Lk * Dh);
    for (let b = 0; b < B; ++b) {
      for (let h = 0; h < H; ++h) {
        const bh = b * H + h;
        for (let i = 0; i < Lq; ++i) {
          // dP_ij = d out_i / d P_ij = (dO_i . v_j) * Z_ij / (1 - p); dS = P o (dP - rowsum(P o dP)).
          const dP = new Float64Array(Lk);
          let rowsum = 0;
          for (let j = 0; j < Lk; ++j) {
            const pij = P[(bh * Lq + i) * Lk + j];
            if (pij === 0) continue;
            let dot = 0;
            for (let d = 0; d < Dh; ++d) dot += dout[(bh * Lq + i) * Dh + d] * v[(bh * Lk + j) * Dh + d];
            const z = dropScale(b, h, i, j);
            dP[j] = dot * z;
            rowsum += pij * dP[j];
            for (let d = 0; d < Dh; ++d) dv[(bh * Lk + j) * Dh + d] += pij * z * dout[(bh * Lq + i) * Dh + d];
          }
          for (let j = 0; j < Lk; ++j) {
            const pij = P[(bh * Lq + i) * Lk + j];
            if (pij === 0) continue;
            const ds = scale * pij * (dP[j] - rowsum);
            for (let d = 0; d < Dh; ++d) {
              dq[(bh * Lq + i) * Dh + d] += ds * k[(bh * Lk + j) * Dh + d];
              dk[(bh * Lk + j) * Dh + d] += ds * q[(bh * Lq + i) * Dh + d];
            }
          }
        }
      }
    }
    return { dq, dk, dv };
  };
  return { out, lse, backward };
}
