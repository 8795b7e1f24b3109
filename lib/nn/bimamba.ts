/**
 * bimamba.ts — bidirectional Mamba blocks. Both read the backward direction with the scan's
 * `reverse` + lengths (and a length-aware flip for the conv), so a right-padded batch is exact:
 * flipping a padded batch naively would feed the padding into the start of the backward scan.
 *
 *   kind 'outer' (ExtBiMamba, as in the paper's ConBiMamba, Tonyyouyou/Mamba-in-Speech
 *     outer_bimamba.py): forward_mamba and backward_mamba are two separate Mamba mixers; their
 *     outputs are concatenated and output_proj: Linear(2C -> C) maps back. x (B, L, C) -> (B, L, C).
 *   kind 'inner' (Vision-Mamba v2): one in_proj and out_proj; two scan branches (conv1d/x_proj/
 *     dt_proj/A_log/D and conv1d_b/x_proj_b/dt_proj_b/A_b_log/D_b) summed before out_proj.
 */
import { add } from '../ops/elementwise';
import { concat, chunk, transpose } from '../ops/shape';
import { tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { deriveSeed } from './init';
import { LayerOptions, Linear } from './layers';
import { ConvParams, Mamba, MambaOptions, scanBranch } from './mamba';
import { Module } from './module';
import { Lengths } from './sequence';

export interface BiMambaOptions extends Omit<MambaOptions, 'reverse'> {
  kind?: 'outer' | 'inner';
}

/** ExtBiMamba: two Mamba mixers, concatenated, Linear(2C -> C). */
export class BiMambaOuter extends Module {
  forward_mamba: Mamba;
  backward_mamba: Mamba;
  output_proj: Linear;
  constructor(o: Omit<MambaOptions, 'reverse'>) {
    super();
    const seed = o.seed ?? 0;
    this.forward_mamba = this.module('forward_mamba', new Mamba({ ...o, seed: deriveSeed(seed, 'forward_mamba') }));
    this.backward_mamba = this.module('backward_mamba', new Mamba({ ...o, seed: deriveSeed(seed, 'backward_mamba'), reverse: true }));
    this.output_proj = this.module('output_proj', new Linear(2 * o.dModel, o.dModel, { seed: deriveSeed(seed, 'output_proj'), device: o.device }));
  }
  /** x (B, L, C), lengths (B) -> (B, L, C) */
  forward(x: Tensor, lengths?: Lengths | null): Tensor {
    return tidy(() => this.output_proj.forward(concat([this.forward_mamba.forward(x, lengths), this.backward_mamba.forward(x, lengths)], 2)));
  }
}

/** Vision-Mamba-v2-style inner bidirectional mixer: shared projections, two scans summed. */
export class BiMambaInner extends Mamba {
  conv1d_b: ConvParams;
  x_proj_b: Linear;
  dt_proj_b: Linear;
  A_b_log: Tensor;
  D_b: Tensor;
  constructor(o: Omit<MambaOptions, 'reverse'>) {
    super({ ...o, reverse: false });
    // The backward branch is initialised exactly as a Mamba's own branch (same formulas, its own
    // seed): build one and take over its branch parameters; its projections are not needed.
    const donor = new Mamba({ ...o, seed: deriveSeed(o.seed ?? 0, 'backward_branch') });
    const b = donor.branch();
    this.conv1d_b = this.module('conv1d_b', donor.children().find((m) => m instanceof ConvParams) as ConvParams);
    this.x_proj_b = this.module('x_proj_b', donor.x_proj);
    this.dt_proj_b = this.module('dt_proj_b', donor.dt_proj);
    this.A_b_log = this.param('A_b_log', b.aLog);
    this.D_b = this.param('D_b', b.D);
    donor.in_proj.parameters().forEach((t) => t.dispose());
    donor.out_proj.parameters().forEach((t) => t.dispose());
  }

  /** x (B, L, C), lengths (B) -> (B, L, C) */
  override forward(x: Tensor, lengths?: Lengths | null): Tensor {
    if (x.ndim !== 3 || x.shape[2] !== this.dModel) {
      throw new Error(`[BiMamba] x must be (B, L, ${this.dModel}), got (${x.shape.join(', ')})`);
    }
    return tidy(() => {
      const xz = transpose(this.in_proj.forward(x), 1, 2); // (B, 2E, L)
      const [xs, z] = chunk(xz, 2, 1);
      const lens = lengths ?? null;
      const yf = scanBranch(this, this.branch(), xs, z, lens, false);
      const yb = scanBranch(this, {
        convWeight: this.conv1d_b.weight, convBias: this.conv1d_b.bias, xProj: this.x_proj_b.weight,
        dtProj: this.dt_proj_b.weight, dtBias: this.dt_proj_b.bias!, aLog: this.A_b_log, D: this.D_b,
      }, xs, z, lens, true);
      return this.out_proj.forward(transpose(add(yf, yb), 1, 2)); // (B, L, C)
    });
  }
}

/** A bidirectional Mamba mixer of either kind (default 'outer', the paper's ExtBiMamba). */
export function BiMamba(o: BiMambaOptions): BiMambaOuter | BiMambaInner {
  const kind = o.kind ?? 'outer';
  if (kind === 'outer') return new BiMambaOuter(o);
  if (kind === 'inner') return new BiMambaInner(o);
  throw new Error(`[BiMamba] kind must be 'outer' or 'inner', got '${String(kind)}'`);
}

export type { LayerOptions };
