/**
 * optimizer.ts — the Optimizer base: parameter groups, per-parameter state, step(), zeroGrad(),
 * stateDict()/loadStateDict(). SGD, Adam and AdamW (sgd.ts, adam.ts) add their update rule;
 * fused.ts runs it as one native update over every parameter.
 *
 * Glossary: a group is a list of parameters sharing hyper-parameters (lr, weightDecay, ...; a
 * group's own values override the optimizer's defaults); state is per parameter: its step count
 * and float32 buffers of its shape on its device (momentumBuffer for SGD; expAvg, expAvgSq,
 * maxExpAvgSq for Adam — PyTorch's momentum_buffer, exp_avg, exp_avg_sq, max_exp_avg_sq).
 *
 * Parameters are updated in place: the Tensor objects and their memory stay the same, so modules
 * holding them see the new values. A step that throws (a grad of the wrong shape, a disposed
 * tensor, ...) changes no parameter, buffer or step count.
 */
import { keep } from '../tensor/scope';
import { describe, Tensor } from '../tensor/tensor';
import { fusedStep, StepItem } from './fused';
import { copyToDevice, fromValues, sameShape, shapeStr } from './util';

/** Names of the per-parameter buffers (PyTorch's names in camelCase). */
export type BufferName = 'momentumBuffer' | 'expAvg' | 'expAvgSq' | 'maxExpAvgSq';

/** Hyper-parameters every optimizer has. */
export interface BaseHyper {
  lr: number;
  weightDecay: number;
}

/** A group as the optimizer holds it: every hyper-parameter resolved. Change `lr` freely. */
export type ParamGroup<H> = H & { params: Tensor[] };
/** A group as given to the constructor: params plus any hyper-parameters to override. */
export type ParamGroupInput<H> = Partial<H> & { params: readonly Tensor[] };
/** A list of parameters (one group), or a list of groups. */
export type ParamsInput<H> = readonly Tensor[] | readonly ParamGroupInput<H>[];

/** A parameter's state in a state dict: step count and buffers (tensors or plain arrays, row-major). */
export interface ParamStateDict {
  step: number;
  momentumBuffer?: Tensor | ArrayLike<number>;
  expAvg?: Tensor | ArrayLike<number>;
  expAvgSq?: Tensor | ArrayLike<number>;
  maxExpAvgSq?: Tensor | ArrayLike<number>;
}

/**
 * An optimizer's state, as PyTorch's: `state[i]` for the i-th parameter counting through the
 * groups in order (parameters without state are absent), and each group's hyper-parameters
 * with `params` as those indices.
 */
export interface OptimizerStateDict<H = Record<string, unknown>> {
  state: Record<number, ParamStateDict>;
  paramGroups: (H & { params: number[] })[];
}

/** Options of stateDict(). */
export interface StateDictOptions {
  /** Buffers as plain number arrays (JSON-ready) instead of tensor copies. Default false. */
  arrays?: boolean;
}

/** @internal Per-parameter state. */
export interface ParamState {
  step: number;
  buffers: Partial<Record<BufferName, Tensor>>;
}

const BUFFER_NAMES: readonly BufferName[] = ['momentumBuffer', 'expAvg', 'expAvgSq', 'maxExpAvgSq'];

function copyHyper<H>(h: H): H {
  const out = { ...h } as Record<string, unknown>;
  for (const [k, v] of Object.entries(out)) if (Array.isArray(v)) out[k] = [...v];
  return out as H;
}

export abstract class Optimizer<H extends BaseHyper> {
  /** The groups; a scheduler (or you) may set `lr` and other hyper-parameters between steps. */
  readonly paramGroups: ParamGroup<H>[] = [];
  /** Hyper-parameters a group gets unless it sets its own. */
  readonly defaults: Readonly<H>;
  /** @internal */
  protected readonly state = new Map<Tensor, ParamState>();

  protected constructor(readonly name: string, params: ParamsInput<H>, defaults: H) {
    this.checkHyper(defaults, 'options');
    this.defaults = copyHyper(defaults);
    if (!Array.isArray(params)) throw new Error(`[${name}] params must be an array of tensors or of groups { params, ... }, got ${describe(params)}`);
    if (params.length === 0) throw new Error(`[${name}] got an empty parameter list`);
    const groups: readonly ParamGroupInput<H>[] = params[0] instanceof Tensor
      ? [{ params: params as readonly Tensor[] } as ParamGroupInput<H>]
      : (params as readonly ParamGroupInput<H>[]);
    for (const g of groups) this.addParamGroup(g);
  }

  /** Throws `[name] ...` when a hyper-parameter is out of range; `where` says which group. */
  protected abstract checkHyper(h: H, where: string): void;
  /** The native algorithm and the update's per-parameter inputs. */
  protected abstract algo(): 0 | 1;
  protected abstract buffersFor(h: H): BufferName[];
  /** The group's row of the native hyper table (fused.ts's order; step and first are set per param). */
  protected abstract hyperRow(h: H): number[];

  /** Adds a group (its own hyper-parameters override the defaults). */
  addParamGroup(group: ParamGroupInput<H>): void {
    const where = `group ${this.paramGroups.length}`;
    if (group === null || typeof group !== 'object' || !Array.isArray(group.params)) {
      throw new Error(`[${this.name}] ${where} must be { params: Tensor[], ... }, got ${describe(group)}`);
    }
    const seen = new Set<Tensor>();
    for (const g of this.paramGroups) for (const p of g.params) seen.add(p);
    group.params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new Error(`[${this.name}] ${where}: param ${i} must be a Tensor, got ${describe(p)}`);
      p.handle(this.name);
      if (!p.isLeaf) throw new Error(`[${this.name}] ${where}: param ${i} is not a leaf tensor (made by an op); optimize leaves (detach() it)`);
      if (p.dtype === 'int32') throw new Error(`[${this.name}] ${where}: param ${i} is int32; only float32 or bfloat16 params can be optimized`);
      if (seen.has(p)) throw new Error(`[${this.name}] ${where}: param ${i} appears more than once (in this or another group)`);
      seen.add(p);
    });
    const { params, ...own } = group;
    for (const k of Object.keys(own)) {
      if (!(k in this.defaults)) throw new Error(`[${this.name}] ${where}: unknown option '${k}'; expected one of ${Object.keys(this.defaults).join(', ')}`);
    }
    const h = copyHyper({ ...this.defaults, ...(own as unknown as Partial<H>) }) as H;
    this.checkHyper(h, where);
    this.paramGroups.push({ ...h, params: [...params] });
  }

  /**
   * Updates every parameter that has a grad, in place, in one fused native call. Parameters
   * without a grad are skipped (their step count does not advance). `closure`, when given, is
   * called first (it should recompute the loss and grads) and its value returned.
   */
  step(closure?: () => number): number | undefined {
    const loss = closure ? closure() : undefined;
    const items: StepItem[] = [];
    let index = 0;
    this.paramGroups.forEach((g, gi) => {
      const names = this.buffersFor(g);
      const row = this.hyperRow(g);
      if (!row.every(Number.isFinite)) throw new Error(`[${this.name}] group ${gi}: hyper-parameters must be finite numbers, got lr ${g.lr}, weightDecay ${g.weightDecay}`);
      for (const p of g.params) {
        if (p._h === null) throw new Error(`[${this.name}] param ${index} was disposed; it cannot be updated`);
        if (p.grad !== null) {
          const state = this.state.get(p) ?? { step: 0, buffers: {} };
          items.push({ param: p, index, names, state, row });
        }
        index += 1;
      }
    });
    const fresh = fusedStep(this.name, this.algo(), items);
    // The native step succeeded: commit step counts and the buffers made for first steps.
    for (const it of items) {
      const st = it.state;
      st.step += 1;
      const made = fresh.get(it.param);
      if (made) Object.assign(st.buffers, made);
      this.state.set(it.param, st);
    }
    return loss;
  }

  /**
   * Clears the grads of every parameter: disposes them and sets `.grad = null` (default, as
   * PyTorch), or with `setToNone: false` replaces each with zeros of its shape (a new tensor).
   */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    const toNone = opts.setToNone ?? true;
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        const old = p.grad;
        if (old === null) continue;
        // Zeros of the param's shape, dtype and device: a new tensor, so a grad shared with
        // another leaf or a user tensor (autograd may hand out aliases) is never overwritten.
        p.grad = toNone ? null : keep(fromValues(null, p.shape, p.device, p.dtype));
        old.dispose();
      }
    }
  }

  /** The step count of `param` (0 before its first update). */
  stepCount(param: Tensor): number {
    return this.state.get(param)?.step ?? 0;
  }

  /**
   * The state to save: step counts, buffers (tensor copies you own, or plain arrays with
   * `{ arrays: true }`) and each group's hyper-parameters. See OptimizerStateDict.
   */
  stateDict(opts: StateDictOptions = {}): OptimizerStateDict<H> {
    const state: Record<number, ParamStateDict> = {};
    const paramGroups: (H & { params: number[] })[] = [];
    let i = 0;
    for (const g of this.paramGroups) {
      const { params, ...h } = g;
      const ids: number[] = [];
      for (const p of params) {
        const st = this.state.get(p);
        if (st) {
          const e: ParamStateDict = { step: st.step };
          for (const k of BUFFER_NAMES) {
            const t = st.buffers[k];
            if (t) e[k] = opts.arrays ? Array.from(t.dataSync()) : copyToDevice(t, t.device);
          }
          state[i] = e;
        }
        ids.push(i++);
      }
      paramGroups.push({ ...copyHyper(h as unknown as H), params: ids });
    }
    return { state, paramGroups };
  }

  /**
   * Restores a state dict saved from an optimizer of the same kind over parameters of the same
   * shapes in the same group layout. Buffers are copied (to each parameter's device). Everything
   * is checked first: on error the optimizer is unchanged.
   */
  loadStateDict(sd: OptimizerStateDict<Partial<H>>): void {
    const name = this.name;
    if (!sd || typeof sd !== 'object' || !Array.isArray(sd.paramGroups) || typeof sd.state !== 'object' || sd.state === null) {
      throw new Error(`[${name}] loadStateDict expects { state, paramGroups }, got ${describe(sd)}`);
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`[${name}] loadStateDict: the state dict has ${sd.paramGroups.length} param groups, the optimizer ${this.paramGroups.length}`);
    }
    const params: Tensor[] = [];
    const hypers: H[] = [];
    sd.paramGroups.forEach((lg, gi) => {
      const g = this.paramGroups[gi];
      if (!lg || !Array.isArray(lg.params) || lg.params.length !== g.params.length) {
        throw new Error(`[${name}] loadStateDict: group ${gi} has ${lg && Array.isArray(lg.params) ? lg.params.length : 'no'} params in the state dict, ${g.params.length} in the optimizer`);
      }
      const { params: _ids, ...lh } = lg;
      const { params: _ps, ...cur } = g;
      const h = copyHyper({ ...(cur as unknown as H) }) as Record<string, unknown>;
      for (const [k, v] of Object.entries(lh)) if (k in this.defaults) h[k] = Array.isArray(v) ? [...v] : v;
      this.checkHyper(h as H, `state dict group ${gi}`);
      hypers.push(h as H);
      params.push(...g.params);
    });
    const made: Tensor[] = [];
    const next = new Map<Tensor, ParamState>();
    try {
      for (const [key, e] of Object.entries(sd.state)) {
        const i = Number(key);
        if (!Number.isInteger(i) || i < 0 || i >= params.length) throw new Error(`[${name}] loadStateDict: state for param ${key}, but there are ${params.length} params`);
        const p = params[i];
        if (!e || typeof e !== 'object' || !Number.isInteger(e.step) || e.step < 0) {
          throw new Error(`[${name}] loadStateDict: param ${i} needs a step count (integer >= 0), got ${describe(e && e.step)}`);
        }
        const st: ParamState = { step: e.step, buffers: {} };
        for (const [k, v] of Object.entries(e)) {
          if (k === 'step' || v === undefined || v === null) continue;
          if (!BUFFER_NAMES.includes(k as BufferName)) throw new Error(`[${name}] loadStateDict: param ${i} has an unknown buffer '${k}'`);
          st.buffers[k as BufferName] = keep(bufferFrom(name, i, k, v as Tensor | ArrayLike<number>, p));
          made.push(st.buffers[k as BufferName]!);
        }
        next.set(p, st);
      }
    } catch (err) {
      made.forEach((t) => t.dispose());
      throw err;
    }
    this.disposeState();
    for (const [p, st] of next) this.state.set(p, st);
    hypers.forEach((h, gi) => Object.assign(this.paramGroups[gi], h));
  }

  /** Frees every state buffer (the optimizer starts over from step 0). */
  disposeState(): void {
    for (const st of this.state.values()) for (const t of Object.values(st.buffers)) t?.dispose();
    this.state.clear();
  }

}

/** A state buffer for `p` from a saved tensor or array: float32, p's shape and device. */
function bufferFrom(op: string, i: number, k: string, v: Tensor | ArrayLike<number>, p: Tensor): Tensor {
  if (v instanceof Tensor) {
    v.handle(op);
    if (!sameShape(v.shape, p.shape)) throw new Error(`[${op}] loadStateDict: param ${i} ${k} has shape ${shapeStr(v.shape)}, the param ${shapeStr(p.shape)}`);
    return copyToDevice(v, p.device);
  }
  if (typeof v !== 'object' || typeof (v as ArrayLike<number>).length !== 'number') {
    throw new Error(`[${op}] loadStateDict: param ${i} ${k} must be a Tensor or an array of numbers, got ${describe(v)}`);
  }
  if (v.length !== p.size) throw new Error(`[${op}] loadStateDict: param ${i} ${k} has ${v.length} values, the param ${shapeStr(p.shape)} has ${p.size}`);
  return fromValues(v, p.shape, p.device, 'float32');
}
