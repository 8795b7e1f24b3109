/**
 * linalg.ts — small float64 linear algebra on the host for the analysis: symmetric eigen-
 * decomposition (cyclic Jacobi, for matrices up to ~100 x 100), Cholesky log-determinants, thin
 * QR (modified Gram–Schmidt), and the exact mutual information of jointly Gaussian vectors.
 *
 * Glossary: matrices are row-major Float64Array with their size n (square) or (rows, cols);
 * Σ covariance; I(a; b) = ½ (ln det Σ_aa + ln det Σ_bb − ln det Σ) for (a, b) jointly Gaussian.
 */

/** Eigenvalues (descending) and eigenvectors (columns of `vectors`, n x n row-major) of symmetric `a` (n x n). */
export function symEig(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; ++i) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; ++sweep) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; ++i) {
      diag += m[i * n + i] ** 2;
      for (let j = i + 1; j < n; ++j) off += m[i * n + j] ** 2;
    }
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < n; ++p) {
      for (let q = p + 1; q < n; ++q) {
        const apq = m[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; ++k) {
          const mkp = m[k * n + p];
          const mkq = m[k * n + q];
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; ++k) {
          const mpk = m[p * n + k];
          const mqk = m[q * n + k];
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; ++k) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => m[j * n + j] - m[i * n + i]);
  const values = Float64Array.from(order, (i) => m[i * n + i]);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => { for (let k = 0; k < n; ++k) vectors[k * n + dst] = v[k * n + src]; });
  return { values, vectors };
}

/** ln det of a symmetric positive-definite `a` (n x n) by Cholesky; throws when it is not positive definite. */
export function logDetSpd(a: Float64Array, n: number): number {
  const l = Float64Array.from(a);
  let ld = 0;
  for (let j = 0; j < n; ++j) {
    let d = l[j * n + j];
    for (let k = 0; k < j; ++k) d -= l[j * n + k] ** 2;
    if (!(d > 0)) throw new Error(`[analysis] covariance is not positive definite (pivot ${j} = ${d})`);
    const r = Math.sqrt(d);
    l[j * n + j] = r;
    ld += 2 * Math.log(r);
    for (let i = j + 1; i < n; ++i) {
      let s = l[i * n + j];
      for (let k = 0; k < j; ++k) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = s / r;
    }
  }
  return ld;
}

/**
 * Exact I(a; b) in nats for jointly Gaussian a (p) and b (q) from their joint covariance `joint`
 * ((p + q) x (p + q), a first).
 */
export function gaussianMi(joint: Float64Array, p: number, q: number): number {
  const n = p + q;
  const sub = (o: number, m: number): Float64Array => {
    const s = new Float64Array(m * m);
    for (let i = 0; i < m; ++i) for (let j = 0; j < m; ++j) s[i * m + j] = joint[(o + i) * n + o + j];
    return s;
  };
  return 0.5 * (logDetSpd(sub(0, p), p) + logDetSpd(sub(p, q), q) - logDetSpd(joint, n));
}

/** Orthonormalises the columns of `a` (rows x cols, row-major) in place (modified Gram–Schmidt, twice for stability). */
export function orthonormalizeColumns(a: Float64Array, rows: number, cols: number): void {
  for (let pass = 0; pass < 2; ++pass) {
    for (let j = 0; j < cols; ++j) {
      for (let k = 0; k < j; ++k) {
        let dot = 0;
        for (let i = 0; i < rows; ++i) dot += a[i * cols + j] * a[i * cols + k];
        for (let i = 0; i < rows; ++i) a[i * cols + j] -= dot * a[i * cols + k];
      }
      let nrm = 0;
      for (let i = 0; i < rows; ++i) nrm += a[i * cols + j] ** 2;
      nrm = Math.sqrt(nrm);
      const inv = nrm > 1e-300 ? 1 / nrm : 0;
      for (let i = 0; i < rows; ++i) a[i * cols + j] *= inv;
    }
  }
}
