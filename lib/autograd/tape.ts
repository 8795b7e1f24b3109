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
 *
 * Nodes are reference-counted so that a graph nobody can run backward through any more frees its
 * saved tensors at once, without waiting for V8's GC: `refs` counts the node's live outputs plus
 * the edges from live nodes downstream. Disposing the last output of a node (tidy does that for
 * a forward run without noGrad, e.g. an evaluation loop) frees it and, in turn, every node
 * upstream that only it still reached. (Mamba(64) at (4, 256, 64) saves 3.3 MiB per step: an
 * evaluation loop of 500 steps held 1.6 GiB until a GC.)
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
  /** Saved tensors were freed by a backward (without retainGraph) or because nothing reaches the node. */
  released = false;
  /** Live outputs + edges from unfreed downstream nodes (see the file comment). */
  refs = 0;
  /** Freed: saved tensors disposed and the references to upstream nodes dropped. */
  freed = false;
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

  /** Drops one reference (an output disposed); at zero the node and what only it reached are freed. */
  unref(): void {
    if (--this.refs <= 0) freeGraph(this);
  }
}

/** Frees `start` and every upstream node whose last reference was an edge from a freed node. */
function freeGraph(start: GradNode): void {
  const stack = [start];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.freed) continue;
    n.freed = true;
    n.released = true;
    for (const t of n.saved) t.dispose();
    n.saved = [];
    for (const g of n.gradOut) g?.dispose();
    n.gradOut.fill(null);
    for (const e of n.next) {
      if (e && 'node' in e && --e.node.refs <= 0) stack.push(e.node);
    }
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
  for (const e of next) if (e && 'node' in e) e.node.refs++;
  outputs.forEach((o, i) => {
    const prev = o._node;
    o.requiresGrad = true;
    o._node = node;
    o._outIndex = i;
    node.refs++;
    prev?.unref();
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
  if (grad === undefined) {
    if (root.size !== 1) {
      throw new Error(`[backward] grad can be implied only for a 1-element output; this one has shape (${root.shape.join(', ')})`);
    }
  } else {
    if (!(grad instanceof Tensor)) throw new Error('[backward] grad must be a Tensor');
    grad.handle('backward');
    if (grad.shape.join(',') !== root.shape.join(',')) {
      throw new Error(`[backward] grad shape (${grad.shape.join(', ')}) does not match output shape (${root.shape.join(', ')})`);
    }
  }
  // Every check that can fail runs before the seed gradient exists, so a failing call leaves nothing behind.
  const deps = root._node ? dependencies(root._node) : null;
  const g = grad === undefined ? noGrad(() => fullLike(root, 1)) : alias(grad);
  if (!root._node || !deps) {
    // A leaf: its gradient is the seed.
    root.grad = keep(accumulate(root.grad, g));
    return;
  }
  root._node.gradOut[root._outIndex] = accumulate(root._node.gradOut[root._outIndex], g);
  try {
    noGrad(() => run(root._node!, deps, opts));
  } catch (e) {
    // A backward that threw: free the gradients still waiting at nodes it did not reach.
    for (const n of deps.keys()) {
      for (const t of n.gradOut) t?.dispose();
      n.gradOut.fill(null);
    }
    throw e;
  }
}

/** Dependency counts: how many edges point at each node from nodes reachable from `root`. */
function dependencies(root: GradNode): Map<GradNode, number> {
  const deps = new Map<GradNode, number>();
  const stack: GradNode[] = [root];
  deps.set(root, 0);
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
  return deps;
}

/** Runs every node's backward in dependency order from `root`, whose output grad is seeded. */
function run(root: GradNode, deps: Map<GradNode, number>, opts: BackwardOptions): void {
  const ready: GradNode[] = [root];
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
        inGrads.forEach((t) => t?.dispose());
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
        if (e.leaf.isDisposed) {
          gi.dispose(); // a leaf disposed since the forward: nobody can read its grad
          return;
        }
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
