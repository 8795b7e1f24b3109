/**
 * quality.ts — how well discrete units (k-means clusters, a model's predictions) match frame
 * labels (phones), with the three measures of the HuBERT paper (Hsu et al. 2021, §IV-E), from the
 * joint distribution p(y, z) of phone y and cluster z over every aligned frame:
 *
 *   phone purity    E_z[ max_y p(y | z) ] = Σ_z max_y p(y, z): frame accuracy when each cluster
 *                   is read as its most frequent phone (high for many small clusters)
 *   cluster purity  E_y[ max_z p(z | y) ] = Σ_y max_z p(y, z): how concentrated each phone is in
 *                   its most frequent cluster (high for few large clusters)
 *   PNMI            I(y; z) / H(y): the share of the phone entropy the clusters explain, 0 for
 *                   independent units, 1 when the phone is a function of the cluster
 *
 * Glossary:
 *   P, K      phone and cluster counts (the table is P × K, float64 frame counts)
 *   frames    pairs (phone, cluster) at one frame rate; labels at another rate are brought over
 *             with resampleLabels (targets.ts) first, as fairseq reads labels at model frames
 *   nats      entropies use ln; the ratio PNMI does not depend on the base
 */

function fail(msg: string): never {
  throw new Error(`[clusterQuality] ${msg}`);
}

/** The three measures and what they came from. */
export interface ClusterQuality {
  phonePurity: number;
  clusterPurity: number;
  pnmi: number;
  /** I(y; z) and H(y) in nats. */
  mutualInfo: number;
  phoneEntropy: number;
  frames: number;
  /** Phones / clusters that occur at least once. */
  phonesUsed: number;
  clustersUsed: number;
}

/**
 * Accumulates the P × K contingency table over utterances: add(phones, clusters) per utterance
 * (equal lengths, one label per frame), then result(). Phones may be strings (mapped to indices
 * in order of first appearance, see `phoneNames`) or integer ids ≥ 0; clusters integer ids ≥ 0.
 * The table grows as new ids appear.
 */
export class QualityAccumulator {
  private counts = new Map<number, Map<number, number>>(); // phone -> cluster -> frames
  private readonly phoneIndex = new Map<string, number>();
  private total = 0;

  /** Phone names in index order (string phones only). */
  get phoneNames(): string[] {
    return [...this.phoneIndex.keys()];
  }

  /** Adds one utterance's frames; `phones` and `clusters` must have the same length. */
  add(phones: ArrayLike<number> | readonly string[], clusters: ArrayLike<number>): this {
    if (!phones || typeof phones.length !== 'number' || !clusters || typeof clusters.length !== 'number') fail('phones and clusters must be arrays of frame labels');
    if (phones.length !== clusters.length) {
      fail(`phones have ${phones.length} frames but clusters have ${clusters.length}; bring both to one frame rate first (models.resampleLabels)`);
    }
    for (let i = 0; i < phones.length; ++i) {
      const p = phones[i], z = clusters[i];
      let y: number;
      if (typeof p === 'string') {
        y = this.phoneIndex.get(p) ?? this.phoneIndex.size;
        if (!this.phoneIndex.has(p)) this.phoneIndex.set(p, y);
      } else {
        if (!Number.isInteger(p) || p < 0) fail(`phones[${i}] = ${p} is not a label id >= 0`);
        y = p;
      }
      if (!Number.isInteger(z) || z < 0) fail(`clusters[${i}] = ${z} is not a cluster id >= 0`);
      let row = this.counts.get(y);
      if (!row) this.counts.set(y, (row = new Map()));
      row.set(z, (row.get(z) ?? 0) + 1);
    }
    this.total += phones.length;
    return this;
  }

  /** The contingency table: rows = phone ids 0..P-1, columns = cluster ids 0..K-1 (float64 counts). */
  table(): { counts: Float64Array; P: number; K: number } {
    let P = 0, K = 0;
    for (const [y, row] of this.counts) {
      P = Math.max(P, y + 1);
      for (const z of row.keys()) K = Math.max(K, z + 1);
    }
    const counts = new Float64Array(P * K);
    for (const [y, row] of this.counts) for (const [z, n] of row) counts[y * K + z] = n;
    return { counts, P, K };
  }

  /** Phone purity, cluster purity and PNMI of everything added. */
  result(): ClusterQuality {
    if (this.total === 0) fail('no frames were added');
    const { counts, P, K } = this.table();
    return qualityFromTable(counts, P, K);
  }
}

/** The measures from a P × K table of frame counts (row-major, any non-negative numbers). */
export function qualityFromTable(counts: ArrayLike<number>, P: number, K: number): ClusterQuality {
  if (!Number.isInteger(P) || !Number.isInteger(K) || P < 1 || K < 1 || counts.length !== P * K) {
    fail(`table must have P × K values with P, K >= 1, got ${counts.length} values for P = ${P}, K = ${K}`);
  }
  let N = 0;
  for (let i = 0; i < counts.length; ++i) {
    if (!(counts[i] >= 0) || !Number.isFinite(counts[i])) fail(`table[${i}] = ${counts[i]} is not a count >= 0`);
    N += counts[i];
  }
  if (N === 0) fail('the table has no frames');
  // Marginals from count sums, divided once: a single phone has p(y) = 1 exactly and H(y) = 0.
  const py = new Float64Array(P), pz = new Float64Array(K);
  for (let y = 0; y < P; ++y) for (let z = 0; z < K; ++z) { py[y] += counts[y * K + z]; pz[z] += counts[y * K + z]; }
  for (let y = 0; y < P; ++y) py[y] /= N;
  for (let z = 0; z < K; ++z) pz[z] /= N;
  let phonePurity = 0, clusterPurity = 0, mi = 0, hy = 0;
  for (let z = 0; z < K; ++z) {
    let m = 0;
    for (let y = 0; y < P; ++y) m = Math.max(m, counts[y * K + z]);
    phonePurity += m / N;
  }
  for (let y = 0; y < P; ++y) {
    let m = 0;
    for (let z = 0; z < K; ++z) {
      const pyz = counts[y * K + z] / N;
      m = Math.max(m, pyz);
      if (pyz > 0) mi += pyz * Math.log(pyz / (py[y] * pz[z]));
    }
    clusterPurity += m;
    if (py[y] > 0) hy -= py[y] * Math.log(py[y]);
  }
  mi = Math.max(0, mi); // rounding can leave -1e-17 for independent labels
  return {
    phonePurity, clusterPurity, mutualInfo: mi, phoneEntropy: hy,
    // A single phone has H(y) = 0: nothing to explain, PNMI is defined as 1 when the clusters
    // cannot lose information about it (and 0/0 would be NaN).
    pnmi: hy > 0 ? mi / hy : 1,
    frames: N,
    phonesUsed: Array.from(py).filter((p) => p > 0).length,
    clustersUsed: Array.from(pz).filter((p) => p > 0).length,
  };
}

/** Phone purity, cluster purity and PNMI of one set of aligned frames (see the module header). */
export function clusterQuality(phones: ArrayLike<number> | readonly string[], clusters: ArrayLike<number>): ClusterQuality {
  return new QualityAccumulator().add(phones, clusters).result();
}
