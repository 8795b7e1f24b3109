/**
 * estimate.ts — the corrected protocol on sampled frames: reduce X and every T_l, estimate
 * I(X; T̃_l) for all layers together (mi.estimateMany: layers x seeds critics in one batched
 * network), I(T_l; Y) with a held-out probe and with the critics, the matched calibration, and
 * the result record with ceilings and comparability notes.
 *
 * Glossary: T̃_l = z(PCA_k(T_l)) + σZ (reduce.ts); X̃ = z(PCA_k(X)); N frames; L + 1 layers.
 */
import { deriveSeed } from '../data/rng';
import { estimateMany, EstimateOptions, EstimateResult } from '../mi';
import { tensor } from '../tensor/creation';
import { Tensor } from '../tensor/tensor';
import { calibrate, levelsNear, nearestError } from './calibrate';
import { describeProtocol, Resolved } from './options';
import { probeLayer } from './probe';
import { addNoise, channelCapacity, Frames, reduceFrames } from './reduce';
import { Ceiling, LayerResult, LayerwiseMiResult, MiValue, ProbeValue } from './types';

export interface FramesInput {
  x: Frames;
  layers: Frames[];
  layerIndex: number[];
  /** Labels per row (-1: none) and class count, or null. */
  y: { labels: Int32Array; classes: number; names: string[] | null; kind: string } | null;
  xKind: string;
  frames: LayerwiseMiResult['frames'];
  /** Utterance of each row (the probe splits by utterance), or null. */
  groups: Int32Array | null;
}

function ceiling(all: Record<string, number>): Ceiling | null {
  const e = Object.entries(all).filter(([, v]) => Number.isFinite(v));
  if (!e.length) return null;
  const [kind, nats] = e.reduce((a, b) => (b[1] < a[1] ? b : a));
  return { nats, kind, all: Object.fromEntries(e) };
}

function value(r: EstimateResult, ceil: Ceiling | null): MiValue {
  return { nats: r.nats, ci: r.ci ?? null, perSeed: r.perSeed, ceiling: ceil };
}

const toTensor = (f: Frames, device: Resolved["device"]): Tensor => tensor(f.data, [f.n, f.d], { device });

function meanCi(v: number[]): { mean: number; ci: [number, number] | null } {
  const n = v.length;
  const m = v.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean: m, ci: null };
  const T = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1));
  const half = (n - 1 <= T.length ? T[n - 2] : 1.96) * sd / Math.sqrt(n);
  return { mean: m, ci: [m - half, m + half] };
}

/** Rows of `f` whose label is >= 0. */
function labelledRows(f: Frames, y: Int32Array): { frames: Frames; labels: Int32Array } {
  const keep: number[] = [];
  for (let i = 0; i < f.n; ++i) if (y[i] >= 0) keep.push(i);
  if (keep.length === f.n) return { frames: f, labels: y };
  const data = new Float32Array(keep.length * f.d);
  keep.forEach((src, i) => data.set(f.data.subarray(src * f.d, (src + 1) * f.d), i * f.d));
  return { frames: { data, n: keep.length, d: f.d }, labels: Int32Array.from(keep, (i) => y[i]) };
}

/** The corrected protocol on frames (see the module comment). */
export async function analyzeFrames<B>(inp: FramesInput, r: Resolved<B>, names: string[], t0: number, timings: Record<string, number>): Promise<LayerwiseMiResult> {
  const { x, layers } = inp;
  const N = x.n;
  const tick = (name: string, since: number): number => {
    const now = Date.now();
    timings[name] = (timings[name] ?? 0) + (now - since) / 1000;
    return now;
  };
  let t = Date.now();
  r.onProgress('reduce', `PCA and noise for X and ${layers.length} layers (N = ${N})`);
  const xr = reduceFrames(x, { k: r.pca, sigma: 0, seed: deriveSeed(r.seed, 'noise-x'), pcaSeed: deriveSeed(r.seed, 'pca-x'), device: r.device });
  const reduced = layers.map((f, i) => reduceFrames(f, { k: r.pca, sigma: 0, seed: 0, pcaSeed: deriveSeed(r.seed, 'pca', inp.layerIndex[i]), device: r.device }));
  // The noisy copies seen by I(X; T̃); I(T; Y) uses the reduced T without noise.
  const noisy = reduced.map((red, i) => {
    const f = { data: Float32Array.from(red.frames.data), n: red.frames.n, d: red.frames.d };
    if (r.noise > 0) {
      const rng = deriveSeed(r.seed, 'noise', inp.layerIndex[i]);
      const ones = Array.from(red.stds, (s) => (s > 0 ? 1 : 0));
      // reduceFrames standardised the components; add σZ to the standardised copy.
      addNoise(f, r.noise, ones, rng);
    }
    return f;
  });
  t = tick('reduce', t);

  // Few frames: the default batch (256) would not fit the training split; halve it until it does
  // (a batch the user chose is left to mi's error).
  const fit = (n: number): EstimateOptions => {
    const train = n - Math.max(2, Math.round((r.estimator.heldOut ?? 0.2) * n));
    let B = r.estimator.batchSize ?? 128;
    if (r.batchAuto) while (B > 8 && B > train / 2) B = Math.floor(B / 2);
    if (B !== r.estimator.batchSize) r.onProgress('note', `batch size ${B} for ${n} frames (default ${r.estimator.batchSize})`);
    return { ...r.estimator, batchSize: B, device: r.device };
  };
  const estOpts = fit(N);
  r.onProgress('ixt', `${r.estimator.estimator} on ${layers.length} layers x ${r.seeds} seeds`);
  const xt = toTensor(xr.frames, r.device);
  const ts = noisy.map((f) => toTensor(f, r.device));
  let ixt: EstimateResult[];
  try {
    ixt = await estimateMany(ts.map((tt) => [xt, tt] as [Tensor, Tensor]), estOpts);
  } finally {
    xt.dispose();
    for (const tt of ts) tt.dispose();
  }
  t = tick('ixt', t);

  const heldN = Math.max(2, Math.round((r.estimator.heldOut ?? 0.2) * N));
  const ixtCeil = (k: number): Ceiling | null => ceiling({
    ...(r.noise > 0 ? { 'channel capacity k/2·ln(1+1/σ²)': channelCapacity(k, r.noise) } : {}),
    ...(r.estimator.estimator === 'infonce' ? { 'ln(batch) (InfoNCE)': Math.log(estOpts.batchSize ?? 128) } : {}),
    'ln(held-out frames)': Math.log(heldN),
  });

  // I(T; Y): probe on full T and critics on reduced T.
  const y = inp.y;
  let probes: Array<LayerResult['ity']> = layers.map(() => undefined);
  if (y) {
    const seeds = Array.from({ length: r.seeds }, (_, i) => r.seed + i);
    const labelled = y.labels.reduce((a, v) => a + (v >= 0 ? 1 : 0), 0);
    const hCeil = (h: number): Ceiling | null => ceiling({ 'H(Y)': h, 'ln(classes)': Math.log(y.classes) });
    const probeVals: ProbeValue[] = [];
    if (r.probe) {
      for (const [i, f] of layers.entries()) {
        r.onProgress('probe', `layer ${inp.layerIndex[i]} (${i + 1}/${layers.length})`);
        const pr = await probeLayer(f, y.labels, y.classes, seeds, { ...r.probe, device: r.device, groups: inp.groups });
        const s = meanCi(pr.perSeed);
        const h = pr.entropy.reduce((a, b) => a + b, 0) / pr.entropy.length;
        probeVals.push({
          nats: s.mean, ci: s.ci, perSeed: pr.perSeed, ceiling: hCeil(h), entropy: h,
          accuracy: pr.accuracy.reduce((a, b) => a + b, 0) / pr.accuracy.length,
          chance: pr.chance.reduce((a, b) => a + b, 0) / pr.chance.length,
        });
      }
      t = tick('probe', t);
    }
    let critic: EstimateResult[] | null = null;
    if (r.ityCritic) {
      r.onProgress('ity', `${r.estimator.estimator} on (T, Y) for ${layers.length} layers x ${r.seeds} seeds (${labelled} labelled frames)`);
      const yt = tensor(labelledRows(reduced[0].frames, y.labels).labels, [labelled], { dtype: 'int32', device: r.device });
      const tts = reduced.map((red) => toTensor(labelledRows(red.frames, y.labels).frames, r.device));
      try {
        critic = await estimateMany(tts.map((tt) => [tt, yt] as [Tensor, Tensor]), fit(labelled));
      } finally {
        yt.dispose();
        for (const tt of tts) tt.dispose();
      }
      t = tick('ityCritic', t);
    }
    const hAll = entropyOf(y.labels, y.classes);
    probes = layers.map((_, i) => ({
      probe: probeVals[i] ?? null,
      critic: critic ? value(critic[i], hCeil(hAll)) : null,
    }));
  }

  let cal: LayerwiseMiResult['calibration'] = null;
  if (r.calibrate) {
    const kEff = Math.min(r.pca ?? Infinity, x.d, layers[0].d);
    const levels = r.calibrate.levels ?? levelsNear(ixt.map((v) => v.nats), channelCapacity(kEff, r.noise));
    r.onProgress('calibrate', `Gaussian frames dX = ${x.d}, dT = ${layers[0].d}, N = ${N}, levels ${levels.join(', ')} nats`);
    cal = await calibrate({ dX: x.d, dT: layers[0].d, n: N, levels, k: r.pca, sigma: r.noise, estimator: estOpts, seed: deriveSeed(r.seed, 'calibration'), device: r.device });
    t = tick('calibrate', t);
  }

  const results: LayerResult[] = layers.map((f, i) => {
    const red = reduced[i];
    return {
      index: inp.layerIndex[i],
      name: names[i],
      dim: f.d,
      k: red.frames.d,
      explained: red.pca ? red.pca.explained : 1,
      ixt: { ...value(ixt[i], ixtCeil(red.frames.d)), calibration: cal ? nearestError(cal, ixt[i].nats) : null },
      ...(y ? { ity: probes[i] } : {}),
    };
  });
  timings.total = (Date.now() - t0) / 1000;
  const comparability = [
    r.noise > 0
      ? `I(X; T̃_l) values are one quantity (same X, k, σ = ${r.noise}, estimator and frames): comparable across layers and across models analysed with the same options; each is at most its channel capacity.`
      : 'σ = 0: for deterministic layers I(X; T_l) is infinite in theory; the values are what the estimator reaches (see ceilings and calibration), comparable only in order within one run.',
    'Differences smaller than the CIs, or than the calibration error at that level, are not evidence.',
    ...(y ? ['I(T_l; Y) by the probe is a lower bound (H(Y) − CE on held-out frames): comparable across layers and models with the same labels and probe; the critic value is an estimate on PCA-reduced T_l.'] : []),
    'Paper-protocol numbers (per-utterance DV on training frames, padding included) are not comparable with these.',
  ];
  return {
    protocol: 'corrected',
    layers: results,
    x: { kind: inp.xKind, dim: x.d, k: xr.frames.d, explained: xr.pca ? xr.pca.explained : 1 },
    y: y ? { kind: y.kind, classes: y.classes, names: y.names, labelled: y.labels.reduce((a, v) => a + (v >= 0 ? 1 : 0), 0), entropy: entropyOf(y.labels, y.classes) } : null,
    frames: inp.frames,
    options: { ...plainOptions(r), estimator: { ...plainOptions(r).estimator as object, batchSize: estOpts.batchSize } },
    seeds: Array.from({ length: r.seeds }, (_, i) => r.seed + i),
    calibration: cal,
    comparability,
    protocolText: describeProtocol({ ...r, estimator: estOpts }, N),
    timings,
  };
}

/** Plug-in entropy (nats) of the labels >= 0. */
export function entropyOf(y: Int32Array, K: number): number {
  const c = new Float64Array(K);
  let n = 0;
  for (const v of y) if (v >= 0) (c[v] += 1), (n += 1);
  let h = 0;
  for (const v of c) if (v > 0) h -= (v / n) * Math.log(v / n);
  return h;
}

/** The options as JSON (functions named, not serialised). */
export function plainOptions<B>(r: Resolved<B>): Record<string, unknown> {
  const fn = (v: unknown): unknown => (typeof v === 'function' ? `function ${(v as { name?: string }).name || '(anonymous)'}` : v);
  const { onProgress: _p, alignments, ...rest } = r;
  return JSON.parse(JSON.stringify({ ...rest, x: fn(r.x), y: fn(r.y), alignments: alignments ? 'given' : null }, (_, v) => fn(v)));
}
