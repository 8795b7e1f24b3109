/**
 * helpers.ts — known-answer data for the MI tests: correlated Gaussians with their exact MI.
 *
 *   y = ρ x + sqrt(1 - ρ²) ε,  x, ε ~ N(0, I_d)   =>   I(X; Y) = -(d / 2) ln(1 - ρ²)
 */
import { add, mul, randn, Tensor, tidy } from '../../lib';
import type { Device } from '../../lib';

/** ρ giving `nats` of MI in d dims. */
export function rhoFor(nats: number, d: number): number {
  return Math.sqrt(1 - Math.exp((-2 * nats) / d));
}

/** N pairs (x, y) of d-dim correlated Gaussians with I(X; Y) = nats. */
export function gaussians(N: number, d: number, nats: number, seed: number, device?: Device): [Tensor, Tensor] {
  const rho = rhoFor(nats, d);
  return tidy(() => {
    const x = randn([N, d], { seed, device });
    const e = randn([N, d], { seed: seed + 7919, device });
    return [x, add(mul(x, rho), mul(e, Math.sqrt(1 - rho * rho)))] as [Tensor, Tensor];
  });
}

/** |a - b| / b */
export function relErr(a: number, b: number): number {
  return Math.abs(a - b) / b;
}
