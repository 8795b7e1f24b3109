/**
 * attention.ts — MultiHeadAttention with torch.nn.MultiheadAttention's parameters and init
 * (in_proj_weight (3E, E) xavier-uniform, in_proj_bias (3E) zeros, out_proj.weight (E, E),
 * out_proj.bias zeros), batch-first, on the fused attention op (no L×L matrix in memory).
 *
 * Glossary: E embed dim, H heads, Dh = E / H. query (B, Lq, E), key/value (B, Lk, E) (default:
 * the query, i.e. self-attention) -> (B, Lq, E). keyLengths mask padded keys (key padding);
 * queryLengths give 0 on padded query rows. Under autocast('bfloat16') on CUDA the projections
 * and the attention run in bfloat16.
 */
import { native } from '../native';
import { autocastInputs } from '../autograd/autocast';
import { attention } from '../ops/attention';
import { linear } from '../ops/matmul';
import { reshape, split, transpose } from '../ops/shape';
import { tidy } from '../tensor/scope';
import { zeros } from '../tensor/creation';
import { Tensor } from '../tensor/tensor';
import { deriveSeed, xavierUniform } from './init';
import { LayerOptions, Linear } from './layers';
import { Module } from './module';
import { Lengths } from './sequence';

export interface MultiHeadAttentionOptions extends LayerOptions {
  bias?: boolean;
  /** Attention-probability dropout, applied in training mode only. */
  dropout?: number;
}

export interface AttentionCallOptions {
  key?: Tensor;
  value?: Tensor;
  keyLengths?: Lengths | null;
  queryLengths?: Lengths | null;
  causal?: boolean;
  /** Seed for attention dropout (default: a fresh one per call). */
  seed?: number;
}

export class MultiHeadAttention extends Module {
  readonly headDim: number;
  in_proj_weight: Tensor;
  in_proj_bias: Tensor | null;
  out_proj: Linear;
  readonly dropout: number;

  constructor(readonly embedDim: number, readonly numHeads: number, o: MultiHeadAttentionOptions = {}) {
    super();
    if (!Number.isInteger(embedDim) || !Number.isInteger(numHeads) || numHeads < 1 || embedDim % numHeads !== 0) {
      throw new Error(`[MultiHeadAttention] embedDim ${embedDim} must be divisible by numHeads ${numHeads}`);
    }
    this.headDim = embedDim / numHeads;
    this.dropout = o.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout < 1)) throw new Error(`[MultiHeadAttention] dropout must be in [0, 1), got ${this.dropout}`);
    const seed = o.seed ?? 0;
    this.in_proj_weight = this.param('in_proj_weight', xavierUniform([3 * embedDim, embedDim], 1, { seed: deriveSeed(seed, 'in_proj_weight'), device: o.device }));
    this.in_proj_bias = o.bias === false ? null : this.param('in_proj_bias', zeros([3 * embedDim], { device: o.device }));
    this.out_proj = this.module('out_proj', new Linear(embedDim, embedDim, { seed: deriveSeed(seed, 'out_proj'), device: o.device, bias: o.bias !== false }));
    if (this.out_proj.bias) {
      const b = this.out_proj.bias;
      const z = zeros(b.shape, { device: b.device });
      native.copyInto(b.handle('MultiHeadAttention'), z.handle('MultiHeadAttention'));
      z.dispose();
    }
  }

  /** query (B, Lq, E) [, key, value (B, Lk, E)] -> (B, Lq, E) */
  forward(query: Tensor, opts: AttentionCallOptions = {}): Tensor {
    const E = this.embedDim, H = this.numHeads, Dh = this.headDim;
    if (query.ndim !== 3 || query.shape[2] !== E) throw new Error(`[MultiHeadAttention] query must be (B, L, ${E}), got (${query.shape.join(', ')})`);
    const key = opts.key ?? query;
    const value = opts.value ?? key;
    return tidy(() => {
      const [B, Lq] = query.shape;
      const Lk = key.shape[1];
      const [wq, wk, wv] = split(this.in_proj_weight, [E, E, E], 0);
      const [bq, bk, bv] = this.in_proj_bias ? split(this.in_proj_bias, [E, E, E], 0) : [null, null, null];
      const heads = (x: Tensor, w: Tensor, b: Tensor | null, L: number) =>
        transpose(reshape(linear(x, w, b), [B, L, H, Dh]), 1, 2); // (B, H, L, Dh)
      let q: Tensor, k: Tensor, v: Tensor;
      if (key === query && value === query) {
        // Self-attention: one (B L, E) x (E, 3E) product.
        const qkv = reshape(linear(query, this.in_proj_weight, this.in_proj_bias), [B, Lq, 3, H, Dh]);
        [q, k, v] = split(qkv, [1, 1, 1], 2).map((t) => transpose(reshape(t, [B, Lq, H, Dh]), 1, 2));
      } else {
        q = heads(query, wq, bq, Lq);
        k = heads(key, wk, bk, Lk);
        v = heads(value, wv, bv, Lk);
      }
      [q, k, v] = autocastInputs(q, k, v) as Tensor[];
      const o = attention(q.contiguous(), k.contiguous(), v.contiguous(), {
        causal: opts.causal ?? false,
        keyLengths: (opts.keyLengths ?? undefined) as never,
        queryLengths: (opts.queryLengths ?? undefined) as never,
        dropout: this.training ? this.dropout : 0,
        seed: opts.seed,
      }); // (B, H, Lq, Dh)
      return this.out_proj.forward(reshape(transpose(o, 1, 2), [B, Lq, E])); // (B, Lq, E)
    });
  }
}
