/**
 * paper.ts — the paper's protocol (Tonyyouyou/Mutual-Information-Analysis, analysis/
 * MI_Calculator.py), so the published numbers can be reproduced and set beside the corrected
 * ones:
 *   - X = hs0 and T_l = hs_l of one utterance: every frame of the padded batch (padding included)
 *   - one statistics network (concat 2C-100-100-1, ReLU) for every layer and utterance, trained
 *     on from one estimate to the next; loop order per batch: layer, then utterance
 *   - per (utterance, layer): DV bound, Adam 1e-4 (fresh optimiser), 100 epochs of shuffled
 *     batches of 128 with the remainder dropped, no standardisation (mi's `paper: true`)
 *   - value: DV on the frames it trained on; a layer's number is the mean over utterances
 *   - layer 0 is not estimated (I(hs0; hs0) is infinite)
 * Short utterances: with fewer than 128 frames the reference trains zero steps (its batch loop is
 * empty) and still reports the DV of the shared network. `short: 'skip'` (default) leaves them out
 * and counts them per layer; `short: 'reference'` reproduces the reference.
 *
 * Differences from the corrected protocol: padding frames are data here; the value is measured
 * on training frames (optimistic); DV has high variance; no CI in the reference (we give a
 * t-interval over utterances); the critic carries over between layers, so a layer's number
 * depends on the layers estimated before it.
 */
import { noGrad } from '../autograd/tape';
import { deriveSeed, Rng } from '../data/rng';
import { ConcatCritic, estimate } from '../mi';
import type { TaskModel } from '../models/task';
import { logsumexp, mean } from '../ops/reduce';
import { indexSelect } from '../ops/indexing';
import { tensor } from '../tensor/creation';
import { tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { plainOptions } from './estimate';
import { describeProtocol, Resolved } from './options';
import { LayerResult, LayerwiseMiResult } from './types';

const PAPER_BATCH = 128;

/** DV of `critic` on all rows: mean T(x_i, y_i) − ln mean T(x_i, y_π(i)), π a plain permutation (as the reference's mi()). */
function dvValue(critic: ConcatCritic, x: Tensor, y: Tensor, rng: Rng): number {
  const n = x.shape[0];
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; --i) {
    const j = rng.int(0, i);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return noGrad(() => tidy(() => {
    const xf = x.to('float32');
    const yf = y.to('float32');
    const tj = critic.forward(xf, yf);                                 // (n)
    const tm = critic.forward(xf, indexSelect(yf, 0, tensor(perm, [n], { device: y.device }))); // (n)
    return mean(tj).item() - (logsumexp(tm, 0).item() - Math.log(n));
  }));
}

function meanCi(v: number[]): { mean: number; ci: [number, number] | null } {
  const n = v.length;
  if (n === 0) return { mean: NaN, ci: null };
  const m = v.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean: m, ci: null };
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1));
  const T = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131];
  const half = (n - 1 <= T.length ? T[n - 2] : 1.96) * sd / Math.sqrt(n);
  return { mean: m, ci: [m - half, m + half] };
}

/** The paper's protocol over a model's batches (see the module comment). */
export async function paperMi<B>(model: TaskModel<B>, batches: Iterable<B> | AsyncIterable<B>, r: Resolved<B>): Promise<LayerwiseMiResult> {
  const op = 'analysis.layerwiseMi';
  const p = r.paper!;
  const t0 = Date.now();
  let critic: ConcatCritic | null = null;
  let layerIndex: number[] = [];
  let values: number[][] = [];
  let skipped: number[] = [];
  let C = 0;
  let used = 0;
  let nBatches = 0;
  let frames = 0;
  let validFrames = 0;
  let subsampling = 1;
  const rng = new Rng(deriveSeed(p.seed, 'paper-eval'));
  try {
    for await (const batch of batches as AsyncIterable<B>) {
      if (used >= p.maxUtterances) break;
      const hs = model.hiddenStates(batch);
      const own = new Set(Object.values(batch as object).filter((v): v is Tensor => v instanceof Tensor));
      try {
        const { states, lengths } = hs;
        const [B, T] = states[0].shape;
        if (!critic) {
          C = states[0].shape[2];
          subsampling = hs.subsampling;
          layerIndex = (r.layers ?? states.map((_, i) => i)).filter((l) => l > 0);
          if (layerIndex.some((l) => l >= states.length)) throw new Error(`[${op}] layers must be indices in [1, ${states.length - 1}] in paper mode`);
          if (states.some((s, i) => i > 0 && layerIndex.includes(i) && s.shape[2] !== C)) throw new Error(`[${op}] paper mode needs every analysed layer to have the input's width ${C}`);
          critic = new ConcatCritic(C, C, [100, 100], { seed: p.seed, device: r.device });
          values = layerIndex.map(() => []);
          skipped = layerIndex.map(() => 0);
        }
        const take = Math.min(B, p.maxUtterances - used);
        for (let b = 0; b < take; ++b) validFrames += Math.min(lengths[b], T);
        frames += take * T;
        for (const [li, l] of layerIndex.entries()) {
          r.onProgress('paper', `batch ${nBatches + 1}, layer ${l}: ${take} utterances of ${T} frames`);
          for (let b = 0; b < take; ++b) {
            // Every frame of the padded batch, as the reference's exp_tensor[l][index].
            const x = states[0].slice(0, b, b + 1).reshape([T, C]);
            const t = states[l].slice(0, b, b + 1).reshape([T, C]);
            try {
              if (T < PAPER_BATCH) {
                if (p.short === 'skip') { skipped[li] += 1; continue; }
                values[li].push(dvValue(critic, x, t, rng));
              } else {
                const res = await estimate(x, t, { paper: true, critic, device: r.device });
                values[li].push(res.nats);
              }
            } finally {
              x.dispose();
              t.dispose();
            }
          }
        }
        used += take;
      } finally {
        const seen = new Set<Tensor>();
        for (const t of [...hs.states, hs.inputs]) if (t instanceof Tensor && !own.has(t) && !seen.has(t) && !t.isDisposed) (seen.add(t), t.dispose());
      }
      nBatches += 1;
    }
  } finally {
    if (critic) for (const prm of critic.parameters()) prm.dispose();
  }
  if (!critic || used === 0) throw new Error(`[${op}] the batches gave no utterance`);
  const layers: LayerResult[] = layerIndex.map((l, li) => {
    const s = meanCi(values[li]);
    return {
      index: l,
      name: r.names?.[li] ?? `layer ${l}`,
      dim: C, k: C, explained: 1,
      ixt: { nats: s.mean, ci: s.ci, perSeed: [s.mean], perUtterance: values[li], ceiling: null, calibration: null },
      utterances: values[li].length,
      skipped: skipped[li],
    };
  });
  const seconds = (Date.now() - t0) / 1000;
  const skippedAll = skipped[0] ?? 0;
  return {
    protocol: 'paper',
    layers,
    x: { kind: 'hs0 (encoder input), padding included', dim: C, k: C, explained: 1 },
    y: null,
    frames: { n: frames, utterances: used, batches: nBatches, validFrames, candidates: frames, subsampling },
    options: plainOptions(r),
    seeds: [p.seed],
    calibration: null,
    comparability: [
      'Paper protocol: DV measured on the frames the critic trained on, padding frames included, one critic carried across layers and utterances: values are optimistic, depend on the order of estimation and on padding, and are not comparable with corrected-protocol numbers.',
      ...(r.y !== null ? ['The paper protocol measures I(X; T_l) only: the y option was ignored (run the corrected protocol for I(T_l; Y)).'] : []),
      skippedAll ? `${skippedAll} of ${used} utterances had fewer than ${PAPER_BATCH} frames and were skipped (the reference trains zero steps on them and still reports a value).` : `No utterance was shorter than ${PAPER_BATCH} frames${p.short === 'reference' ? '' : ' (none skipped)'}.`,
    ],
    protocolText: describeProtocol(r, frames),
    timings: { paper: seconds, total: seconds },
  };
}
