/**
 * selective_scan.ts — the Mamba S6 selective scan with its gradient (native kernels: CPU + CUDA).
 *
 * Glossary (mamba-ssm names, paper symbols in brackets):
 *   u (B, D, L) input [x]; delta (B, D, L) step size before bias/softplus [Δ]; A (D, N) [A];
 *   B, C (B, N, L) or (B, G, N, L) [B_t, C_t] (channel d uses group d / (D / G));
 *   D (D) skip; z (B, D, L) gate; deltaBias (D); states (B, D, N) float32.
 * Math (float32 state and accumulation):
 *   dt = softplus(delta + deltaBias)                          (B, D, L)
 *   h_t = exp(dt_t A) h_{t-1} + dt_t B_t u_t                   (B, D, N)
 *   y_t = C_t . h_t + D u_t;  out = y * silu(z)                (B, D, L)
 * dtypes: u, delta, z, B, C float32 or bfloat16 (all one dtype; out in it); A, D, deltaBias,
 * states float32.
 */
import { native, NativeHandle, NativeScanOptions } from '../native';
import { needsGrad, record } from '../autograd/tape';
import { describe, Tensor } from '../tensor/tensor';
import { Lengths, lengthsTensor } from './lengths';

export type { Lengths } from './lengths';


export interface SelectiveScanOptions {
  /** (D) float32 skip connection: y += D * u. */
  D?: Tensor | null;
  /** (B, D, L) gate: out = y * silu(z). */
  z?: Tensor | null;
  /** (D) float32 added to delta before softplus. */
  deltaBias?: Tensor | null;
  /** dt = softplus(delta + deltaBias) instead of delta + deltaBias. */
  deltaSoftplus?: boolean;
  /** (B, D, N) float32 state before the first step (zeros when absent). */
  initialState?: Tensor | null;
  /** Also return the state after the last valid step, (B, D, N) float32 (differentiable). */
  returnLastState?: boolean;
  /** (B) valid steps per batch item (right padding): steps t >= len give out = 0 and leave the state. */
  lengths?: Lengths | null;
  /** Scan from t = len - 1 down to 0 (the backward half of a bidirectional block). */
  reverse?: boolean;
  /** Bitwise-reproducible backward (no float atomics; CUDA only differs). */
  deterministic?: boolean;
}

export interface SelectiveScanResult {
  out: Tensor;
  lastState?: Tensor;
}

/** @internal */
export function tensorArg(op: string, name: string, x: unknown, optional: boolean): Tensor | null {
  if (optional && (x === undefined || x === null)) return null;
  if (!(x instanceof Tensor)) throw new Error(`[${op}] ${name} must be a Tensor, got ${describe(x)}`);
  return x;
}

function boolArg(op: string, name: string, x: unknown): boolean {
  if (x === undefined || x === null) return false;
  if (typeof x !== 'boolean') throw new Error(`[${op}] ${name} must be a boolean, got ${describe(x)}`);
  return x;
}

/**
 * The selective scan: `{ out, lastState? }` for u, delta (B, D, L), A (D, N), B, C (B, [G,] N, L).
 * Records its gradient (u, delta, A, B, C, D, z, deltaBias, initialState; from out and lastState)
 * when an input requires grad.
 */
export function selectiveScan(u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor,
  opts: SelectiveScanOptions = {}): SelectiveScanResult {
  const op = 'selectiveScan';
  tensorArg(op, 'u', u, false);
  tensorArg(op, 'delta', delta, false);
  tensorArg(op, 'A', A, false);
  tensorArg(op, 'B', B, false);
  tensorArg(op, 'C', C, false);
  if (opts === null || typeof opts !== 'object') throw new Error(`[${op}] options must be an object, got ${describe(opts)}`);
  const D = tensorArg(op, 'D', opts.D, true);
  const z = tensorArg(op, 'z', opts.z, true);
  const deltaBias = tensorArg(op, 'deltaBias', opts.deltaBias, true);
  const init = tensorArg(op, 'initialState', opts.initialState, true);
  const flags = {
    deltaSoftplus: boolArg(op, 'deltaSoftplus', opts.deltaSoftplus),
    reverse: boolArg(op, 'reverse', opts.reverse),
    returnLastState: boolArg(op, 'returnLastState', opts.returnLastState),
    deterministic: boolArg(op, 'deterministic', opts.deterministic),
  };
  // With a malformed u the addon reports u's shape; lengths are checked against a valid one.
  const len = u.ndim === 3 ? lengthsTensor(op, 'lengths', opts.lengths, u.shape[0], u.shape[2]) : { t: null, own: false };
  const inputs = [u, delta, A, B, C, D, z, deltaBias, init];
  const grad = needsGrad(inputs);
  const h = (t: Tensor | null): NativeHandle | null => (t ? t.handle(op) : null);
  const nopts: NativeScanOptions = {
    D: h(D), z: h(z), deltaBias: h(deltaBias), initialState: h(init), lengths: h(len.t),
    ...flags, save: grad && u.device === 'cuda',
  };
  try {
    const [oh, lh, sh] = native.selectiveScanFwd(u.handle(op), delta.handle(op), A.handle(op), B.handle(op), C.handle(op), nopts);
    const out = new Tensor(oh);
    const lastState = lh ? new Tensor(lh) : undefined;
    const savedStates = sh ? new Tensor(sh) : null;
    if (grad) {
      // Saved for backward: the inputs (aliases) and the chunk-boundary states.
      const optional = [D, z, deltaBias, init, len.t, savedStates];
      const saved = [u, delta, A, B, C, ...optional.filter((t): t is Tensor => t !== null)];
      record(op, inputs, lastState ? [out, lastState] : [out], saved, (grads, s) => {
        let i = 5;
        const next = (t: Tensor | null): NativeHandle | null => (t ? s[i++].handle(op) : null);
        const bopts: NativeScanOptions = {
          D: next(D), z: next(z), deltaBias: next(deltaBias), initialState: next(init), lengths: next(len.t),
          ...flags,
        };
        const sv = next(savedStates);
        const gOut = grads[0], gLast = grads[1] ?? null;
        if (!gOut && !gLast) return inputs.map(() => null);
        const r = native.selectiveScanBwd(s[0].handle(op), s[1].handle(op), s[2].handle(op), s[3].handle(op), s[4].handle(op),
          bopts, sv, gOut ? gOut.handle(op) : null, gLast ? gLast.handle(op) : null);
        return r.map((hh) => (hh ? new Tensor(hh) : null));
      });
    }
    savedStates?.dispose(); // the tape keeps its own alias
    return lastState ? { out, lastState } : { out };
  } finally {
    if (len.own && len.t) len.t.dispose();
  }
}
