/**
 * adam.ts — Adam and AdamW, as torch.optim.Adam / AdamW (step t counted from 1, lr η, betas
 * β1 β2, eps ε, weight decay λ):
 *
 *   Adam:  g = grad + λ p            AdamW:  p = p - η λ p    (decoupled, before the moments)
 *   m = β1 m + (1 - β1) g;  v = β2 v + (1 - β2) g²;  v̂ = max(v̂, v) (amsgrad)
 *   p = p - η / (1 - β1^t) · m / (sqrt(v or v̂) / sqrt(1 - β2^t) + ε)
 *
 * m, v, v̂ are the float32 buffers expAvg, expAvgSq, maxExpAvgSq. bfloat16 params are allowed
 * (their grads bfloat16, the buffers float32; see native/ops/optim/optim.h for the rounding).
 */
import { checkBeta, checkBoolean, checkNumber } from './check';
import { hyperRow } from './fused';
import { BaseHyper, BufferName, Optimizer, ParamsInput } from './optimizer';

/** Hyper-parameters of an Adam/AdamW group. */
export interface AdamHyper extends BaseHyper {
  betas: [number, number];
  eps: number;
  amsgrad: boolean;
}

/** Options of Adam and AdamW (defaults as PyTorch: lr 1e-3, betas [0.9, 0.999], eps 1e-8). */
export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  /** Adam: L2 penalty added to the grad (default 0). AdamW: decoupled decay (default 1e-2). */
  weightDecay?: number;
  amsgrad?: boolean;
}

abstract class AdamBase extends Optimizer<AdamHyper> {
  protected abstract readonly decoupled: boolean;

  protected constructor(name: string, params: ParamsInput<AdamHyper>, opts: AdamOptions, weightDecay: number) {
    if (opts === null || typeof opts !== 'object') throw new Error(`[${name}] options must be an object`);
    super(name, params, {
      lr: opts.lr ?? 1e-3,
      betas: opts.betas ?? [0.9, 0.999],
      eps: opts.eps ?? 1e-8,
      weightDecay: opts.weightDecay ?? weightDecay,
      amsgrad: opts.amsgrad ?? false,
    });
  }

  protected checkHyper(h: AdamHyper, where: string): void {
    checkNumber(this.name, where, 'lr', h.lr);
    checkNumber(this.name, where, 'eps', h.eps);
    checkNumber(this.name, where, 'weightDecay', h.weightDecay);
    if (!Array.isArray(h.betas) || h.betas.length !== 2) throw new Error(`[${this.name}] ${where}: betas must be [beta1, beta2], got ${String(h.betas)}`);
    checkBeta(this.name, where, 'beta1', h.betas[0]);
    checkBeta(this.name, where, 'beta2', h.betas[1]);
    checkBoolean(this.name, where, 'amsgrad', h.amsgrad);
  }

  protected algo(): 1 {
    return 1;
  }

  protected buffersFor(h: AdamHyper): BufferName[] {
    return h.amsgrad ? ['expAvg', 'expAvgSq', 'maxExpAvgSq'] : ['expAvg', 'expAvgSq'];
  }

  protected hyperRow(h: AdamHyper): number[] {
    return hyperRow({
      lr: h.lr, weightDecay: h.weightDecay, beta1: h.betas[0], beta2: h.betas[1], eps: h.eps,
      amsgrad: h.amsgrad, decoupled: this.decoupled,
    });
  }
}

/** Adam: weight decay as an L2 term added to the gradient. */
export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: ParamsInput<AdamHyper>, opts: AdamOptions = {}) {
    super('Adam', params, opts, 0);
  }
}

/** AdamW: decoupled weight decay (Loshchilov & Hutter), default weightDecay 1e-2. */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: ParamsInput<AdamHyper>, opts: AdamOptions = {}) {
    super('AdamW', params, opts, 1e-2);
  }
}
