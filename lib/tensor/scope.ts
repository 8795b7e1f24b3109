/**
 * scope.ts — tidy/keep: deterministic freeing of intermediate tensors.
 *
 * Every tensor made while a tidy scope is open is recorded in the innermost scope; when the
 * scope's function returns, every recorded tensor that is not returned (or kept) is disposed.
 * Returned tensors move to the enclosing scope, so nested tidy calls compose.
 */
import type { Tensor } from './tensor';

const scopes: Set<Tensor>[] = [];

/** @internal Called by the Tensor constructor; true when a scope now owns `t`. */
export function track(t: Tensor): boolean {
  const n = scopes.length;
  if (n === 0) return false;
  scopes[n - 1].add(t);
  return true;
}

// Called for a tensor that leaves the last scope alive (returned by the outermost tidy, or
// kept): the Tensor class registers it for finalization then, not at creation. Most tensors
// made inside tidy are disposed by it, and FinalizationRegistry.register costs ~0.5 us each.
let onEscape: ((t: Tensor) => void) | null = null;
/** @internal */
export function setEscapeHandler(f: (t: Tensor) => void): void {
  onEscape = f;
}

/** @internal Called on dispose so scopes do not hold disposed tensors. */
export function untrack(t: Tensor): void {
  for (let i = scopes.length - 1; i >= 0; --i) scopes[i].delete(t);
}

function collect(value: unknown, out: Set<Tensor>, seen: Set<unknown>, TensorClass: Function): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof TensorClass) {
    out.add(value as Tensor);
  } else if (Array.isArray(value)) {
    for (const v of value) collect(v, out, seen, TensorClass);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, out, seen, TensorClass);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value as Record<string, unknown>)) collect(v, out, seen, TensorClass);
  }
}

let tensorClass: Function | null = null;
/** @internal */
export function registerTensorClass(c: Function): void {
  tensorClass = c;
}

/**
 * Runs `fn` and disposes every tensor created inside it except those it returns (found in the
 * returned value, arrays, Maps and plain objects, at any depth) and those passed to keep().
 * `fn` must be synchronous: a returned Promise throws `[tidy] ...`, because the scope would
 * close before the async work created its tensors. Returns what `fn` returns.
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new Error('[tidy] expected a function');
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  let ok = false;
  try {
    result = fn();
    ok = true;
  } finally {
    scopes.pop();
    const keepers = new Set<Tensor>();
    if (ok) collect(result!, keepers, new Set(), tensorClass!);
    for (const t of scope) if (!keepers.has(t)) t.dispose();
    // Returned tensors belong to the enclosing scope now, or to nobody (then to the GC).
    if (scopes.length) for (const t of keepers) if (scope.has(t)) scopes[scopes.length - 1].add(t);
    if (!scopes.length) for (const t of keepers) if (scope.has(t)) onEscape!(t);
  }
  if (result! && typeof (result as unknown as PromiseLike<unknown>).then === 'function') {
    throw new Error('[tidy] fn returned a Promise; tidy needs a synchronous function (await outside it)');
  }
  return result!;
}

/** Exempts `t` from disposal by every open tidy scope; returns `t`. */
export function keep<T extends Tensor>(t: T): T {
  untrack(t);
  onEscape!(t);
  return t;
}

/** Number of open tidy scopes (for tests and debugging). */
export function scopeDepth(): number {
  return scopes.length;
}
