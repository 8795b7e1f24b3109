/**
 * mamba.ts — the Mamba-1 mixer as mamba-ssm's `Mamba` (mamba_ssm/modules/mamba_simple.py), with
 * the same parameter names, shapes and initialisation, plus lengths and a reverse direction.
 *
 * Glossary (mamba-ssm names): d_model C, d_inner E = expand * C, d_state N, d_conv W,
 * dt_rank R = ceil(C / 16). Shapes per line below; x (B, L, C) in, (B, L, C) out.
 *
 * lengths: padded steps (t >= lengths[b]) never reach the state (conv and scan both stop at the
 * length) and give 0 before out_proj. reverse: the block reads each sequence from its last
 * valid step back to the first — the conv runs on the length-aware time flip (padding stays at
 * the end) and the scan uses its own `reverse` + lengths, so a padded batch gives, on valid
 * steps, exactly what each item gives alone.
 */
import { native } from '../native';
import { add, exp, log, mul, neg } from '../ops/elementwise';
import { linear } from '../ops/matmul';
import { chunk, contiguous, reshape, split, transpose } from '../ops/shape';
import { causalConv1d } from '../ops/causal_conv1d';
import { selectiveScan } from '../ops/selective_scan';
import { noGrad } from '../autograd/tape';
import { tidy } from '../tensor/scope';
import { arange, full, rand, tensor } from '../tensor/creation';
import { Tensor } from '../tensor/tensor';
import { deriveSeed, kaimingUniform, uniform } from './init';
import { LayerOptions, Linear } from './layers';
import { Module } from './module';
import { flipWithinLengths, Lengths } from './sequence';

export interface MambaOptions extends LayerOptions {
  dModel: number;
  dState?: number;
  dConv?: number;
  expand?: number;
  dtRank?: number | 'auto';
  dtMin?: number;
  dtMax?: number;
  dtInit?: 'random' | 'constant';
  dtScale?: number;
  dtInitFloor?: number;
  convBias?: boolean;
  bias?: boolean;
  /** Read sequences backwards (the second direction of a bidirectional block). */
  reverse?: boolean;
  /** Bitwise-reproducible backward of the scan. */
  deterministic?: boolean;
}

export class Mamba extends Module {
  readonly dModel: number;
  readonly dState: number;
  readonly dConv: number;
  readonly dInner: number;
  readonly dtRank: number;
  readonly reverse: boolean;
  readonly deterministic: boolean;
  in_proj: Linear;
  x_proj: Linear;
  dt_proj: Linear;
  A_log: Tensor;
  D: Tensor;
  out_proj: Linear;

  constructor(o: MambaOptions) {
    super();
    const seed = o.seed ?? 0;
    const dev = o.device;
    if (!Number.isInteger(o.dModel) || o.dModel < 1) throw new Error(`[Mamba] dModel must be an integer >= 1, got ${o.dModel}`);
    this.dModel = o.dModel;
    this.dState = o.dState ?? 16;
    this.dConv = o.dConv ?? 4;
    const expand = o.expand ?? 2;
    this.dInner = Math.round(expand * this.dModel);
    this.dtRank = o.dtRank === undefined || o.dtRank === 'auto' ? Math.ceil(this.dModel / 16) : o.dtRank;
    this.reverse = o.reverse ?? false;
    this.deterministic = o.deterministic ?? false;
    if (this.dConv < 1 || this.dConv > 8) throw new Error(`[Mamba] dConv must be in [1, 8], got ${this.dConv}`);
    const E = this.dInner, N = this.dState, R = this.dtRank, W = this.dConv;
    const bias = o.bias ?? false;
    this.in_proj = this.module('in_proj', new Linear(this.dModel, 2 * E, { seed: deriveSeed(seed, 'in_proj'), device: dev, bias }));
    // conv1d as torch.nn.Conv1d(E, E, W, groups=E, padding=W-1): weight (E, 1, W), fan_in = W.
    this.module('conv1d', new ConvParams(E, W, o.convBias ?? true, seed, dev));
    this.x_proj = this.module('x_proj', new Linear(E, R + 2 * N, { seed: deriveSeed(seed, 'x_proj'), device: dev, bias: false }));
    this.dt_proj = this.module('dt_proj', new Linear(R, E, { seed: deriveSeed(seed, 'dt_proj'), device: dev, bias: true }));
    noGrad(() => tidy(() => {
      // dt_proj.weight ~ U(±dt_rank^-0.5 * dt_scale) ("random") or constant; dt_proj.bias =
      // softplus^-1(dt) with dt = exp(U(log dt_min, log dt_max)) clamped at dt_init_floor.
      const std = R ** -0.5 * (o.dtScale ?? 1);
      const w = o.dtInit === 'constant' ? full([E, R], std, { device: dev })
        : uniform([E, R], -std, std, { seed: deriveSeed(seed, 'dt_proj.weight'), device: dev });
      const dtMin = o.dtMin ?? 0.001, dtMax = o.dtMax ?? 0.1, floor = o.dtInitFloor ?? 1e-4;
      const u = rand([E], { seed: deriveSeed(seed, 'dt_proj.bias'), device: 'cpu' }).dataSync();
      const b = Float32Array.from(u, (v) => {
        const dt = Math.max(Math.exp(v * (Math.log(dtMax) - Math.log(dtMin)) + Math.log(dtMin)), floor);
        return dt + Math.log(-Math.expm1(-dt)); // inverse of softplus
      });
      this.copyParam(this.dt_proj.weight, w);
      this.copyParam(this.dt_proj.bias!, tensor(b, [E], { device: dev }));
    }));
    // S4D-real: A = -(1..N) for every channel, stored as A_log; D = 1.
    const aLog = noGrad(() => tidy(() => log(add(mul(full([E, 1], 1, { device: dev }), reshape(arange(0, N, 1, { device: dev, dtype: 'float32' }), [1, N])), 1))));
    this.A_log = this.param('A_log', aLog);
    this.D = this.param('D', full([E], 1, { device: dev }));
    this.out_proj = this.module('out_proj', new Linear(E, this.dModel, { seed: deriveSeed(seed, 'out_proj'), device: dev, bias }));
  }

  private copyParam(dst: Tensor, src: Tensor): void {
    native.copyInto(dst.handle('Mamba'), src.handle('Mamba'));
  }

  /** The scan branch's parameters (conv1d, x_proj, dt_proj, A_log, D). */
  branch(): Branch {
    const conv = this.children().find((m) => m instanceof ConvParams) as ConvParams;
    return { convWeight: conv.weight, convBias: conv.bias, xProj: this.x_proj.weight, dtProj: this.dt_proj.weight,
      dtBias: this.dt_proj.bias!, aLog: this.A_log, D: this.D };
  }

  /** x (B, L, C), lengths (B) -> (B, L, C). */
  forward(x: Tensor, lengths?: Lengths | null): Tensor {
    if (x.ndim !== 3 || x.shape[2] !== this.dModel) {
      throw new Error(`[Mamba] x must be (B, L, ${this.dModel}), got (${x.shape.join(', ')})`);
    }
    return tidy(() => {
      const xz = transpose(this.in_proj.forward(x), 1, 2); // (B, 2E, L)
      const [xs, z] = chunk(xz, 2, 1); // (B, E, L) each
      const y = scanBranch(this, this.branch(), xs, z, lengths ?? null, this.reverse); // (B, E, L)
      return this.out_proj.forward(transpose(y, 1, 2)); // (B, L, C)
    });
  }
}

/** One direction's parameters: conv (E, 1, W) + bias, x_proj (R + 2N, E), dt_proj (E, R) + bias, A_log (E, N), D (E). */
export interface Branch {
  convWeight: Tensor;
  convBias: Tensor | null;
  xProj: Tensor;
  dtProj: Tensor;
  dtBias: Tensor;
  aLog: Tensor;
  D: Tensor;
}

/**
 * conv -> x_proj -> dt_proj -> selective scan for one direction: xs, z (B, E, L) -> y (B, E, L)
 * (gated by silu(z), zero on padded steps). `reverse` reads each sequence backwards.
 */
export function scanBranch(m: { dInner: number; dState: number; dtRank: number; dConv: number; deterministic: boolean },
  p: Branch, xs: Tensor, z: Tensor, lengths: Lengths | null, reverse: boolean): Tensor {
  const [Bsz, , L] = xs.shape;
  const E = m.dInner, N = m.dState, R = m.dtRank;
  const w2 = reshape(p.convWeight, [E, m.dConv]); // (E, W)
  let xc: Tensor;
  if (reverse) {
    // The conv runs on each sequence flipped within its length (padding stays at the end).
    const f = flipWithinLengths(contiguous(xs), lengths, 2);
    xc = flipWithinLengths(causalConv1d(f, w2, p.convBias, { activation: 'silu', lengths }), lengths, 2);
  } else {
    xc = causalConv1d(contiguous(xs), w2, p.convBias, { activation: 'silu', lengths }); // (B, E, L)
  }
  const xdbl = linear(reshape(transpose(xc, 1, 2), [Bsz * L, E]), p.xProj); // (B L, R + 2N)
  const [dt, Bm, Cm] = split(xdbl, [R, N, N], 1);
  const delta = transpose(reshape(linear(dt, p.dtProj), [Bsz, L, E]), 1, 2); // (B, E, L)
  const toBNL = (t: Tensor) => contiguous(transpose(reshape(t, [Bsz, L, N]), 1, 2)); // (B, N, L)
  const A = neg(exp(p.aLog)); // (E, N)
  return selectiveScan(contiguous(xc), contiguous(delta), A, toBNL(Bm), toBNL(Cm), {
    D: p.D, z: contiguous(z), deltaBias: p.dtBias, deltaSoftplus: true,
    lengths, reverse, deterministic: m.deterministic,
  }).out; // (B, E, L)
}

/** Holds conv1d.weight (E, 1, W) and conv1d.bias (E) under PyTorch's names. */
export class ConvParams extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(E: number, W: number, bias: boolean, seed: number, device: LayerOptions['device']) {
    super();
    this.weight = this.param('weight', kaimingUniform([E, 1, W], Math.sqrt(5), { seed: deriveSeed(seed, 'conv1d.weight'), device }));
    const bound = 1 / Math.sqrt(W);
    this.bias = bias ? this.param('bias', uniform([E], -bound, bound, { seed: deriveSeed(seed, 'conv1d.bias'), device })) : null;
  }
  forward(): never {
    throw new Error('[Mamba] conv1d parameters have no forward of their own');
  }
}
