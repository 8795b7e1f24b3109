/**
 * helpers.ts — known-answer data for the MI tests: correlated Gaussians with their exact MI.
 *
 *   y = ρ x + sqrt(1 - ρ²) ε,  x, ε ~ N(0, I_d)   =>   I(X; Y) = -(d / 2) ln(1 - ρ²)
 */
import { add, mul, randn, Tensor, tidy } from '../../lib';
import type { Device } from '../../lib';
import { Rng } from '../../lib/data/rng';

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

/**
 * What SMILE and InfoNCE read with the exact log-ratio as critic, by Monte Carlo:
 *   log r(x, y) = -(d/2) ln(1 - ρ²) - Σ_k [ρ² (x_k² + y_k²) - 2ρ x_k y_k] / (2 (1 - ρ²))
 *   smile   I - ln E_q[e^clip(log r, -τ, τ)]                 (n marginal pairs)
 *   infonce ln B + E[log r(x_i, y_i) - logsumexp_j log r(x_i, y_j)]   (reps batches of B)
 * Neither is a bound a trained critic must stay under by construction, but a critic trained to
 * the log-ratio approaches these from below; they are the estimators' known biases: SMILE's
 * clipping lifts it above the truth once I > τ (9.3-10.4 nats at 8), InfoNCE falls below the
 * truth as I nears ln B (3.57-3.81 at 4 nats, B = 256).
 */
export function optimalCritic(d: number, nats: number, o: { tau: number; B: number; n?: number; reps?: number; seed?: number }): { smile: number; infonce: number } {
  const rho = rhoFor(nats, d);
  const c0 = -(d / 2) * Math.log(1 - rho * rho);
  const k = 1 / (2 * (1 - rho * rho));
  const rng = new Rng(o.seed ?? 97);
  const logr = (x: Float64Array, i: number, y: Float64Array, j: number): number => {
    let q = 0;
    for (let t = 0; t < d; ++t) {
      const a = x[i * d + t];
      const b = y[j * d + t];
      q += rho * rho * (a * a + b * b) - 2 * rho * a * b;
    }
    return c0 - k * q;
  };
  const n = o.n ?? 200000;
  const x = new Float64Array(d);
  const y = new Float64Array(d);
  let m = 0;
  for (let s = 0; s < n; ++s) {
    for (let t = 0; t < d; ++t) (x[t] = rng.normal()), (y[t] = rng.normal());
    m += Math.exp(Math.min(o.tau, Math.max(-o.tau, logr(x, 0, y, 0))));
  }
  const { B } = o;
  const reps = o.reps ?? 100;
  const xb = new Float64Array(B * d);
  const yb = new Float64Array(B * d);
  const row = new Float64Array(B);
  let nce = 0;
  for (let r = 0; r < reps; ++r) {
    for (let i = 0; i < B * d; ++i) xb[i] = rng.normal();
    for (let i = 0; i < B * d; ++i) yb[i] = rho * xb[i] + Math.sqrt(1 - rho * rho) * rng.normal();
    for (let i = 0; i < B; ++i) {
      let mx = -Infinity;
      for (let j = 0; j < B; ++j) mx = Math.max(mx, (row[j] = logr(xb, i, yb, j)));
      let s = 0;
      for (let j = 0; j < B; ++j) s += Math.exp(row[j] - mx);
      nce += row[i] - mx - Math.log(s);
    }
  }
  return { smile: nats - Math.log(m / n), infonce: Math.log(B) + nce / (reps * B) };
}
