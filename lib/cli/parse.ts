/**
 * parse.ts — option value parsers for commander: each throws commander's
 * InvalidArgumentError (exit 2, "error: option '--x <n>' argument '12a' is invalid. <why>").
 */
import { InvalidArgumentError } from 'commander';

/** An integer ≥ min. */
export function int(name: string, min: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}.`);
    return n;
  };
}

/** A finite number. */
export function number(name: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number.`);
    return n;
  };
}

/** A percentage or fraction: '5%' or '0.05' -> 0.05. */
export function fraction(name: string): (v: string) => number {
  return (v: string) => {
    const m = /^\s*([0-9]*\.?[0-9]+)\s*(%?)\s*$/.exec(v);
    const n = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
    if (!(n >= 0 && n < 10)) throw new InvalidArgumentError(`${name} must be a percentage like 5% (or a fraction like 0.05).`);
    return n;
  };
}

/** Collects a repeatable option into a list. */
export function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}
