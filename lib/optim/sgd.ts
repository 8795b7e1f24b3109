/**
 * sgd.ts — stochastic gradient descent with momentum, dampening, Nesterov and weight decay,
 * as torch.optim.SGD (step t, lr η, momentum μ, dampening τ, weight decay λ):
 *
 *   g = grad + λ p
 *   b = g (first step) | μ b + (1 - τ) g        (only with μ != 0; b is momentumBuffer)
 *   g = g + μ b (nesterov) | b
 *   p = p - η g
 */
import { checkBoolean, checkNumber } from './check';
import { hyperRow } from './fused';
import { BaseHyper, BufferName, Optimizer, ParamsInput } from './optimizer';

/** Hyper-parameters of an SGD group. */
export interface SGDHyper extends BaseHyper {
  momentum: number;
  dampening: number;
  nesterov: boolean;
}

/** Options of SGD (defaults as PyTorch; lr is required). */
export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

export class SGD extends Optimizer<SGDHyper> {
  /**
   * `params`: a list of tensors, or groups `[{ params, lr?, momentum?, ... }, ...]` whose own
   * values override `opts`.
   */
  constructor(params: ParamsInput<SGDHyper>, opts: SGDOptions) {
    if (!opts || typeof opts !== 'object') throw new Error('[SGD] options { lr, ... } are required');
    super('SGD', params, {
      lr: opts.lr,
      momentum: opts.momentum ?? 0,
      dampening: opts.dampening ?? 0,
      nesterov: opts.nesterov ?? false,
      weightDecay: opts.weightDecay ?? 0,
    });
  }

  protected checkHyper(h: SGDHyper, where: string): void {
    checkNumber('SGD', where, 'lr', h.lr);
    checkNumber('SGD', where, 'momentum', h.momentum);
    checkNumber('SGD', where, 'dampening', h.dampening, -Infinity);
    checkNumber('SGD', where, 'weightDecay', h.weightDecay);
    checkBoolean('SGD', where, 'nesterov', h.nesterov);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      throw new Error(`[SGD] ${where}: nesterov momentum requires momentum > 0 and dampening = 0, got momentum ${h.momentum}, dampening ${h.dampening}`);
    }
  }

  protected algo(): 0 {
    return 0;
  }

  protected buffersFor(h: SGDHyper): BufferName[] {
    return h.momentum !== 0 ? ['momentumBuffer'] : [];
  }

  protected hyperRow(h: SGDHyper): number[] {
    return hyperRow({ lr: h.lr, weightDecay: h.weightDecay, momentum: h.momentum, dampening: h.dampening, nesterov: h.nesterov });
  }
}
