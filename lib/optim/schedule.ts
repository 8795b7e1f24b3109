/**
 * schedule.ts — learning-rate schedules and the LRScheduler that applies them.
 *
 * A Schedule maps the step index s (0 for the first optimizer step, as PyTorch's LambdaLR and
 * Hugging Face's schedules count) to a factor; the group's lr is baseLr · factor(s).
 * Glossary: W warmup steps, T total steps, r = (s - W) / (T - W) clamped to [0, 1] the decay
 * progress, f_min the final factor.
 *
 *   constant             1
 *   warmup (all below)   s / W                                  for s < W
 *   warmupCosine         f_min + (1 - f_min) · ½ (1 + cos(π r))
 *   warmupLinear         f_min + (1 - f_min) · (1 - r)
 *   warmupPolynomial     f_min + (1 - f_min) · (1 - r)^power
 *   noam                 scale · d_model^-0.5 · min(n^-0.5, n · W^-1.5), n = s + 1
 *                        (Vaswani et al.; peaks at n = W; use baseLr 1, or scale as the lr)
 */
import type { BaseHyper, Optimizer } from './optimizer';

/** The lr factor at step index `step` (0-based). */
export type Schedule = (step: number) => number;

function int(op: string, name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new Error(`[${op}] ${name} must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

function factor(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) throw new Error(`[${op}] ${name} must be a finite number >= 0, got ${String(v)}`);
  return v;
}

/** Options of the warmup-then-decay schedules. */
export interface WarmupDecayOptions {
  /** W: steps of linear warmup from 0 (0 for none). */
  warmupSteps: number;
  /** T: the step at which the decay reaches minFactor (and stays). */
  totalSteps: number;
  /** f_min: the factor at the end of the decay. Default 0. */
  minFactor?: number;
}

function warmupDecay(op: string, o: WarmupDecayOptions, decay: (r: number) => number): Schedule {
  if (!o || typeof o !== 'object') throw new Error(`[${op}] options { warmupSteps, totalSteps } are required`);
  const W = int(op, 'warmupSteps', o.warmupSteps, 0);
  const T = int(op, 'totalSteps', o.totalSteps, 1);
  if (T < W) throw new Error(`[${op}] totalSteps (${T}) must be >= warmupSteps (${W})`);
  const fmin = factor(op, 'minFactor', o.minFactor ?? 0);
  return (s: number) => {
    if (s < W) return s / W;
    const r = T === W ? 1 : Math.min(Math.max((s - W) / (T - W), 0), 1);
    return fmin + (1 - fmin) * decay(r);
  };
}

/** Factor 1 at every step. */
export function constant(): Schedule {
  return () => 1;
}

/** Linear warmup, then a half cosine from 1 down to minFactor at totalSteps. */
export function warmupCosine(o: WarmupDecayOptions): Schedule {
  return warmupDecay('warmupCosine', o, (r) => 0.5 * (1 + Math.cos(Math.PI * r)));
}

/** Linear warmup, then a straight line from 1 down to minFactor at totalSteps. */
export function warmupLinear(o: WarmupDecayOptions): Schedule {
  return warmupDecay('warmupLinear', o, (r) => 1 - r);
}

/** Linear warmup, then (1 - r)^power from 1 down to minFactor at totalSteps (power 1 = linear). */
export function warmupPolynomial(o: WarmupDecayOptions & { power?: number }): Schedule {
  const power = factor('warmupPolynomial', 'power', o?.power ?? 1);
  return warmupDecay('warmupPolynomial', o, (r) => (1 - r) ** power);
}

/** Options of noam. */
export interface NoamOptions {
  dModel: number;
  warmupSteps: number;
  /** Multiplies the factor (ESPnet's "lr" of the Noam scheduler). Default 1. */
  scale?: number;
}

/** The Transformer schedule: scale · dModel^-0.5 · min(n^-0.5, n · warmup^-1.5) with n = step + 1. */
export function noam(o: NoamOptions): Schedule {
  const op = 'noam';
  if (!o || typeof o !== 'object') throw new Error(`[${op}] options { dModel, warmupSteps } are required`);
  const d = int(op, 'dModel', o.dModel, 1);
  const W = int(op, 'warmupSteps', o.warmupSteps, 1);
  const scale = factor(op, 'scale', o.scale ?? 1);
  return (s: number) => {
    const n = s + 1;
    return scale * d ** -0.5 * Math.min(n ** -0.5, n * W ** -1.5);
  };
}

/** State of an LRScheduler: the next step index and each group's base lr. */
export interface LRSchedulerState {
  step: number;
  baseLrs: number[];
}

/**
 * Sets each group's lr to baseLr · schedule(step). Construction applies step 0 (the lr of the
 * first optimizer step); call `step()` after each `optimizer.step()` to move to the next:
 *
 *   const sched = new LRScheduler(opt, warmupCosine({ warmupSteps: 100, totalSteps: 1000 }));
 *   for (...) { loss.backward(); opt.step(); opt.zeroGrad(); sched.step(); }
 */
export class LRScheduler {
  /** Each group's lr before scheduling (its lr when the scheduler was made). */
  baseLrs: number[];
  /** The step index whose lr the groups hold now. */
  stepIndex = 0;

  constructor(readonly optimizer: Optimizer<BaseHyper>, readonly schedule: Schedule) {
    if (typeof schedule !== 'function') throw new Error('[LRScheduler] schedule must be a function step -> factor');
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
    this.apply();
  }

  /** Advances to the next step index and sets the groups' lr. */
  step(): void {
    this.stepIndex += 1;
    this.apply();
  }

  /** The lr of each group now. */
  get lastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): LRSchedulerState {
    return { step: this.stepIndex, baseLrs: [...this.baseLrs] };
  }

  /** Restores the step index and base lrs, and sets the groups' lr for that step. */
  loadStateDict(sd: LRSchedulerState): void {
    if (!sd || typeof sd !== 'object') throw new Error('[LRScheduler] loadStateDict expects { step, baseLrs }');
    int('LRScheduler', 'step', sd.step, 0);
    const n = this.optimizer.paramGroups.length;
    if (!Array.isArray(sd.baseLrs) || sd.baseLrs.length !== n || !sd.baseLrs.every((x) => typeof x === 'number' && x >= 0)) {
      throw new Error(`[LRScheduler] loadStateDict: baseLrs must be ${n} numbers >= 0 (one per group), got ${String(sd.baseLrs)}`);
    }
    this.stepIndex = sd.step;
    this.baseLrs = [...sd.baseLrs];
    this.apply();
  }

  private apply(): void {
    const f = this.schedule(this.stepIndex);
    if (!Number.isFinite(f) || f < 0) throw new Error(`[LRScheduler] schedule(${this.stepIndex}) gave ${f}; a factor must be a finite number >= 0`);
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = this.baseLrs[i] * f;
    });
  }
}
