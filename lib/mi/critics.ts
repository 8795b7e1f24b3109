/**
 * critics.ts — the score networks T(x, y), batched over P independent critics.
 *
 * Glossary: P critics (one per (pair, seed)), B batch, dx/dy inputs, H1 first hidden width,
 * E embedding width (separable). Weights are stacked as (P, in, out) so one batched matmul on
 * (P, B, in) runs all P critics: 13 layers x 1 seed cost one GEMM launch per layer, not 13.
 *
 *   concat     T = MLP([x; y]), widths dx+dy -> hidden... -> 1, ReLU (the paper's 1536-100-100-1).
 *              The first layer is split, W0 [x; y] = W0x x + W0y y, so a shuffled marginal
 *              reuses W0y y with its rows permuted (B x H1 gather) instead of a second B x dy x H1
 *              product, and all B² pairs are a broadcast add (P, B, 1, H1) + (P, 1, B, H1).
 *   separable  T = g(x)ᵀ h(y), g and h MLPs to E; all pairs are one (P, B, E) x (P, E, B) product.
 *   Module     any user network forward(x (B, dx), y (B, dy)) -> (B) or (B, 1); P = 1.
 *
 * Init: critic member with seed s builds layer l exactly as nn.Linear(in, out, { seed:
 * deriveSeed(s, String(2 l)) }) — the layer names of nn.Sequential(Linear, ReLU, Linear, ...) —
 * so ConcatCritic(dx, dy, hidden, s) below is the same network as a Module.
 */
import { indexSelect } from '../ops/indexing';
import { add, mul, relu } from '../ops/elementwise';
import { sum } from '../ops/reduce';
import { matmul } from '../ops/matmul';
import { concat, expand, reshape, slice, split, stack, transpose, unsqueeze } from '../ops/shape';
import { noGrad } from '../autograd/tape';
import { Linear, ReLU, Sequential } from '../nn/layers';
import { deriveSeed, kaimingUniform, uniform } from '../nn/init';
import { Module } from '../nn/module';
import { keep, tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { Device } from '../tensor/types';

export interface Critic {
  readonly params: Tensor[];
  /** [T(x_i, y_i), T(x_i, y_perm(i))], each (P, B); perm: int32 (P*B) row indices into the flattened (P*B) batch. */
  shuffled(xb: Tensor, yb: Tensor, perm: Tensor): [Tensor, Tensor];
  /** S (P, B, B) with S[p, i, j] = T(x_i, y_j). */
  allPairs(xb: Tensor, yb: Tensor): Tensor;
  dispose(): void;
}

/** (weight (in, out) transposed from nn.Linear's (out, in), bias (out)) of member seed s, layer l. */
function linearInit(inF: number, outF: number, seed: number, l: number, device: Device): [Tensor, Tensor] {
  const s = deriveSeed(seed, String(2 * l));
  const w = kaimingUniform([outF, inF], Math.sqrt(5), { seed: deriveSeed(s, 'weight'), device });
  const bound = 1 / Math.sqrt(inF);
  const b = uniform([outF], -bound, bound, { seed: deriveSeed(s, 'bias'), device });
  return [transpose(w), b];
}

/** Stacks per-member tensors into one leaf parameter (P, ...). */
function param(ts: Tensor[]): Tensor {
  return keep(noGrad(() => stack(ts, 0).contiguous())).requiresGrad_(true);
}

/** A batched MLP (P critics): widths[0] -> ... -> widths[n], ReLU between (not after the last). */
class BatchedMlp {
  readonly w: Tensor[] = [];
  readonly b: Tensor[] = [];
  constructor(widths: number[], seeds: number[], device: Device, firstLayer = 0) {
    for (let l = 0; l + 1 < widths.length; ++l) {
      tidy(() => {
        const per = seeds.map((s) => linearInit(widths[l], widths[l + 1], s, firstLayer + l, device));
        this.w.push(param(per.map((p) => p[0])));                       // (P, in, out)
        this.b.push(param(per.map((p) => reshape(p[1], [1, -1]))));      // (P, 1, out)
      });
    }
  }
  /** h (P, M, in) -> (P, M, out); `from` skips layers already applied (ReLU first then). */
  forward(h: Tensor, from = 0): Tensor {
    for (let l = from; l < this.w.length; ++l) {
      if (l > 0) h = relu(h);
      h = add(matmul(h, this.w[l]), this.b[l]);
    }
    return h;
  }
  get params(): Tensor[] {
    return this.w.flatMap((w, i) => [w, this.b[i]]);
  }
}

/** Rows of a (P, B, C) tensor permuted by flat row indices perm (P*B). */
function permuteRows(t: Tensor, perm: Tensor): Tensor {
  const [P, B, C] = t.shape;
  return reshape(indexSelect(reshape(t, [P * B, C]), 0, perm), [P, B, C]);
}

export class BatchedConcatCritic implements Critic {
  private readonly wx: Tensor;
  private readonly wy: Tensor;
  private readonly b0: Tensor;
  private readonly head: BatchedMlp;
  constructor(dx: number, dy: number, hidden: number[], seeds: number[], device: Device) {
    const widths = [dx + dy, ...hidden, 1];
    const first = tidy(() => {
      const per = seeds.map((s) => linearInit(dx + dy, widths[1], s, 0, device));
      return {
        wx: param(per.map((p) => slice(p[0], 0, 0, dx))),              // (P, dx, H1)
        wy: param(per.map((p) => slice(p[0], 0, dx))),                 // (P, dy, H1)
        b0: param(per.map((p) => reshape(p[1], [1, -1]))),             // (P, 1, H1)
      };
    });
    this.wx = first.wx;
    this.wy = first.wy;
    this.b0 = first.b0;
    // Layers 1.. of the MLP; forward(h, 1) applies ReLU then layer 1 onwards.
    this.head = new BatchedMlp(widths.slice(1), seeds, device, 1);
  }
  get params(): Tensor[] {
    return [this.wx, this.wy, this.b0, ...this.head.params];
  }
  private out(pre: Tensor): Tensor {
    // pre (P, M, H1) -> scores (P, M)
    const h = this.head.w.length ? this.head.forward(relu(pre)) : pre;
    return reshape(h, h.shape.slice(0, 2));
  }
  shuffled(xb: Tensor, yb: Tensor, perm: Tensor): [Tensor, Tensor] {
    const B = xb.shape[1];
    const hx = matmul(xb, this.wx);                                    // (P, B, H1)
    const hy = matmul(yb, this.wy);                                    // (P, B, H1)
    const pre = add(concat([add(hx, hy), add(hx, permuteRows(hy, perm))], 1), this.b0); // (P, 2B, H1)
    const [j, m] = split(this.out(pre), B, 1);
    return [j, m];
  }
  allPairs(xb: Tensor, yb: Tensor): Tensor {
    const [P, B] = xb.shape;
    const hx = add(matmul(xb, this.wx), this.b0);                      // (P, B, H1)
    const hy = matmul(yb, this.wy);                                    // (P, B, H1)
    const pre = add(unsqueeze(hx, 2), unsqueeze(hy, 1));               // (P, B, B, H1)
    return reshape(this.out(reshape(pre, [P, B * B, -1])), [P, B, B]);
  }
  dispose(): void {
    for (const p of this.params) p.dispose();
  }
}

export class BatchedSeparableCritic implements Critic {
  private readonly g: BatchedMlp;
  private readonly h: BatchedMlp;
  constructor(dx: number, dy: number, hidden: number[], embedDim: number, seeds: number[], device: Device) {
    this.g = new BatchedMlp([dx, ...hidden, embedDim], seeds.map((s) => deriveSeed(s, 'g')), device);
    this.h = new BatchedMlp([dy, ...hidden, embedDim], seeds.map((s) => deriveSeed(s, 'h')), device);
  }
  get params(): Tensor[] {
    return [...this.g.params, ...this.h.params];
  }
  shuffled(xb: Tensor, yb: Tensor, perm: Tensor): [Tensor, Tensor] {
    const gx = this.g.forward(xb);                                     // (P, B, E)
    const hy = this.h.forward(yb);                                     // (P, B, E)
    return [sum(mul(gx, hy), 2), sum(mul(gx, permuteRows(hy, perm)), 2)];
  }
  allPairs(xb: Tensor, yb: Tensor): Tensor {
    return matmul(this.g.forward(xb), transpose(this.h.forward(yb))); // (P, B, B)
  }
  dispose(): void {
    for (const p of this.params) p.dispose();
  }
}

/** A user Module as a critic (P = 1). Its parameters are trained in place. */
export class ModuleCritic implements Critic {
  constructor(private readonly m: Module) {}
  get params(): Tensor[] {
    return this.m.parameters().filter((p) => p.requiresGrad);
  }
  private call(x: Tensor, y: Tensor): Tensor {
    const out = (this.m.forward as unknown as (a: Tensor, b: Tensor) => Tensor).call(this.m, x, y);
    if (!(out instanceof Tensor) || out.size !== x.shape[0]) {
      throw new Error(`[mi.estimate] the critic Module must return (B) or (B, 1) scores for B = ${x.shape[0]} pairs, got ${out instanceof Tensor ? `(${out.shape.join(', ')})` : typeof out}`);
    }
    return reshape(out, [1, x.shape[0]]);
  }
  shuffled(xb: Tensor, yb: Tensor, perm: Tensor): [Tensor, Tensor] {
    const x = reshape(xb, xb.shape.slice(1));
    const y = reshape(yb, yb.shape.slice(1));
    return [this.call(x, y), this.call(x, indexSelect(y, 0, perm))];
  }
  allPairs(xb: Tensor, yb: Tensor): Tensor {
    const [, B, dx] = xb.shape;
    const dy = yb.shape[2];
    const x = reshape(expand(reshape(xb, [B, 1, dx]), [B, B, dx]).contiguous(), [B * B, dx]); // x_i repeated
    const y = reshape(expand(reshape(yb, [1, B, dy]), [B, B, dy]).contiguous(), [B * B, dy]); // y_j tiled
    return reshape(this.call(x, y), [1, B, B]);
  }
  dispose(): void {}
}

/**
 * The concat critic as an ordinary Module, the same network (and init) as member `seed` of
 * BatchedConcatCritic: forward(x (B, dx), y (B, dy)) -> (B). Passing one instance to several
 * estimate calls trains it on, as the paper's script does with its one statistics network.
 */
export class ConcatCritic extends Module {
  readonly net: Sequential;
  constructor(dx: number, dy: number, hidden: number[] = [100, 100], opts: { seed?: number; device?: Device } = {}) {
    super();
    const widths = [dx + dy, ...hidden, 1];
    const layers: Module[] = [];
    for (let l = 0; l + 1 < widths.length; ++l) {
      if (l > 0) layers.push(new ReLU());
      layers.push(new Linear(widths[l], widths[l + 1], { seed: deriveSeed(opts.seed ?? 0, String(2 * l)), device: opts.device }));
    }
    this.net = this.module('net', new Sequential(...layers));
  }
  forward(x: Tensor, y: Tensor): Tensor {
    return tidy(() => {
      const out = this.net.forward(concat([x, y], 1)) as Tensor;     // (B, 1)
      return reshape(out, [x.shape[0]]);
    });
  }
}
