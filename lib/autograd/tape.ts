/**
 * tape.ts — define-by-run reverse-mode autograd.
 *
 * Glossary: a GradNode is made by an op when grad mode is on and an input requires grad; it
 * records where each input's gradient goes (`next`: the input's own node and output slot, or
 * the leaf tensor), the tensors its backward needs (`saved`: aliases sharing storage with the
 * originals, so tidy/dispose of the user's tensors cannot free them), and the backward function.
 * Outputs point back at their node (`_node`, `_outIndex`); nodes never hold their outputs, so
 * an intermediate tensor can still be disposed or collected while the graph lives.
 *
 * backward(root) walks the graph once in dependency order. Each node's output gradients are
 * summed as they arrive and freed as soon as its backward ran; its saved tensors are freed then
 * too, unless retainGraph is set, after which a second backward through it throws.
 */
import { native } from '../native';
import { keep, tidy } from '../tensor/scope';
import { recycled, setBackwardImpl, setRecordToImpl, Tensor } from '../tensor/tensor';

/** Where one input's gradient goes. */
type Edge = { node: GradNode; index: number } | { leaf: Tensor } | null;

/** The backward function of an op: output grads (null where an output got none) and the saved tensors -> one grad (or null) per input. */
export type BackwardFn = (grads: (Tensor | null)[], saved: Tensor[]) => (Tensor | null | undefined)[];

export class GradNode {
  /** Output gradients accumulated during backward. */
  gradOut: (Tensor | null)[];
  released = false;
  constructor(
    readonly op: string,
    readonly next: Edge[],
    readonly numOutputs: number,
    public saved: Tensor[],
    readonly backward: BackwardFn,
    /** dtype of each output: incoming grads are cast to it (mixed precision paths mix them). */
    readonly outDtypes: string[] = [],
  ) {
    this.gradOut = new Array(numOutputs).fill(null);
  }
}

let gradEnabled = true;

/** True unless inside noGrad(). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording any graph (inference, optimizer updates). Returns what `fn` returns. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** @internal Runs `fn` with grad mode set to `on`. */
export function withGradMode<T>(on: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = on;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** A new tensor sharing `t`'s storage (same shape/strides), not tracked by tidy scopes. */
export function alias(t: Tensor): Tensor {
  return t._sameView('alias', true);
}

/** True when an op on these inputs must record a node. */
export function needsGrad(inputs: readonly (Tensor | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

/**
 * Records an op for backward, if grad mode is on and an input requires grad: `inputs` in the
 * order `backward` returns their grads, `outputs` the tensors the op made, `saved` the tensors
 * `backward` reads (given back to it as aliases, in the same order). Marks the outputs as
 * requiring grad. Returns true when a node was recorded.
 */
export function record(
  op: string,
  inputs: readonly (Tensor | null | undefined)[],
  outputs: readonly Tensor[],
  saved: readonly Tensor[],
  backward: BackwardFn,
): boolean {
  if (!needsGrad(inputs)) return false;
  const next: Edge[] = inputs.map((t) => {
    if (!t || !t.requiresGrad) return null;
    if (t._node) return { node: t._node, index: t._outIndex };
    return { leaf: t };
  });
  const node = new GradNode(op, next, outputs.length, saved.map(alias), backward, outputs.map((o) => o.dtype));
  outputs.forEach((o, i) => {
    o.requiresGrad = true;
    o._node = node;
    o._outIndex = i;
  });
  return true;
}

function accumulate(prev: Tensor | null, g0: Tensor): Tensor {
  if (prev === null) return g0;
  // Paths through casts can deliver one grad in bf16 and another in float32: add in prev's dtype.
  const g = g0.dtype === prev.dtype ? g0 : new Tensor(g0.handle('backward').to(prev.dtype, prev.device, recycled()));
  if (g !== g0) g0.dispose();
  const sum = new Tensor(native.add(prev.handle('backward'), g.handle('backward'), recycled()));
  prev.dispose();
  g.dispose();
  return sum;
}

/** Options of backward(). */
export interface BackwardOptions {
  /** Keep saved tensors so backward can run through the graph again. */
  retainGraph?: boolean;
}

/**
 * Computes gradients of `root` with respect to every leaf that requires grad and adds them to
 * the leaves' `.grad`. `grad` defaults to 1 for a 1-element root and is required otherwise.
 */
export function backward(root: Tensor, grad?: Tensor, opts: BackwardOptions = {}): void {
  if (!(root instanceof Tensor)) throw new Error('[backward] root must be a Tensor');
  root.handle('backward');
  if (!root.requiresGrad) throw new Error('[backward] tensor does not require grad and has no grad_fn');
  let g: Tensor;
  if (grad === undefined) {
    if (root.size !== 1) {
      throw new Error(`[backward] grad can be implied only for a 1-element output; this one has shape (${root.shape.join(', ')})`);
    }
    g = noGrad(() => fullLike(root, 1));
  } else {
    if (!(grad instanceof Tensor)) throw new Error('[backward] grad must be a Tensor');
    if (grad.shape.join(',') !== root.shape.join(',')) {
      throw new Error(`[backward] grad shape (${grad.shape.join(', ')}) does not match output shape (${root.shape.join(', ')})`);
    }
    g = alias(grad);
  }
  if (!root._node) {
    // A leaf: its gradient is the seed.
    root.grad = keep(accumulate(root.grad, g));
    return;
  }
  // Dependency counts: how many edges point at each node from nodes reachable from the root.
  const deps = new Map<GradNode, number>();
  const stack: GradNode[] = [root._node];
  deps.set(root._node, 0);
  while (stack.length) {
    const n = stack.pop()!;
    if (n.released) throw new Error(`[backward] the graph through '${n.op}' was already freed by an earlier backward; pass { retainGraph: true } to the first one`);
    for (const e of n.next) {
      if (e && 'node' in e) {
        const c = deps.get(e.node);
        if (c === undefined) {
          deps.set(e.node, 1);
          stack.push(e.node);
        } else deps.set(e.node, c + 1);
      }
    }
  }
  root._node.gradOut[root._outIndex] = accumulate(root._node.gradOut[root._outIndex], g);
  const ready: GradNode[] = [root._node];
  noGrad(() => {
    while (ready.length) {
      const n = ready.pop()!;
      // A bf16 output can receive a float32 grad from a promoted consumer: hand each backward
      // grads in its outputs' own dtypes.
      const grads = n.gradOut.map((g, i) => {
        const want = n.outDtypes[i];
        if (!g || !want || g.dtype === want) return g;
        const c = new Tensor(g.handle('backward').to(want, g.device, recycled()), false, true);
        g.dispose();
        return c;
      });
      n.gradOut = new Array(n.numOutputs).fill(null);
      let inGrads: (Tensor | null | undefined)[];
      try {
        // tidy frees the backward's temporaries; the grads it returns survive.
        inGrads = tidy(() => n.backward(grads, n.saved));
        if (inGrads.length !== n.next.length) {
          throw new Error(`[backward] '${n.op}' returned ${inGrads.length} grads for ${n.next.length} inputs`);
        }
        // A backward may hand back an incoming grad or one tensor for two inputs (add does);
        // give each slot its own handle so accumulation and disposal stay one-to-one.
        const seen = new Set<Tensor>(grads.filter((t): t is Tensor => t !== null));
        inGrads = inGrads.map((t) => {
          if (!t) return t;
          if (seen.has(t)) return alias(t);
          seen.add(t);
          return t;
        });
      } finally {
        grads.forEach((t) => t && t.dispose());
      }
      n.next.forEach((e, i) => {
        const gi = inGrads[i];
        if (!gi) return;
        if (!e) {
          gi.dispose();
          return;
        }
        if ('leaf' in e) {
          const leafGrad = e.leaf.grad;
          if (leafGrad !== null && leafGrad.isDisposed) e.leaf.grad = null;
          e.leaf.grad = keep(accumulate(e.leaf.grad, gi));
        } else {
          e.node.gradOut[e.index] = accumulate(e.node.gradOut[e.index], gi);
        }
      });
      if (!opts.retainGraph) {
        n.saved.forEach((t) => t.dispose());
        n.saved = [];
        n.released = true;
      }
      for (const e of n.next) {
        if (e && 'node' in e) {
          const c = deps.get(e.node)! - 1;
          deps.set(e.node, c);
          if (c === 0) ready.push(e.node);
        }
      }
    }
  });
}

function fullLike(t: Tensor, v: number): Tensor {
  const h = native.fill(t.shape as number[], v, t.dtype, t.device, recycled());
  return new Tensor(h, false, true);
}

setBackwardImpl(backward);

// to(device/dtype): the gradient returns to the source's device and dtype.
setRecordToImpl((from, out) => {
  const device = from.device;
  const dtype = from.dtype;
  record('to', [from], [out], [], ([g]) => [g ? g.to({ device, dtype }) : null]);
});
