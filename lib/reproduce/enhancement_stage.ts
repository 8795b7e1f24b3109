/**
 * enhancement_stage.ts — speech enhancement in stage 2 of the main job (presets small and paper):
 * one MaskEnhancer per (encoder, seed), trained by train.Trainer in its own folder like the
 * feature tasks (training.ts), then evaluated on the test pairs, as corpus means and per
 * utterance (the per-utterance SI-SDR feeds the verdict's paired bootstrap).
 *
 * Glossary:
 *   pairs        (clean, noisy) waveforms at 16 kHz. Synth corpus: its own speaker-disjoint
 *                train/dev/test utterances, each mixed with a noise recipe drawn from
 *                (NOISE_SEED, split, index) at VoiceBank-DEMAND's SNRs (train/dev 0/5/10/15 dB,
 *                test 2.5/7.5/12.5/17.5 dB; white, pink, brown, babble, hum), so every run sees the
 *                same pairs. Data root: VoiceBank-DEMAND's recorded pairs (realdata.ts), 48 kHz
 *                resampled to 16 kHz as SEMamba does
 *   segment      training crop of SEGMENT_SECONDS = 2 s (SEMamba's 32 000 samples); dev and test
 *                pairs are whole
 *   batch size   the preset's maxFrames counts 10 ms frames, so a batch holds at most
 *                maxFrames × 160 samples (padding included), the same audio per step as the
 *                feature tasks
 *   headline     sisdr: SI-SDR of the enhanced test utterance in dB (higher is better), one value
 *                per utterance with weight 1, so their mean is the corpus value; a non-finite
 *                value (a silent output) is clamped to ±SISDR_LIMIT dB so that the mean and the
 *                bootstrap stay defined
 *   test metrics sisdr, sisdrNoisy, sisdri (improvement), stoi, stoiNoisy, segsnr, lsd and
 *                utterances (models.enhancement.utteranceMetrics, means over utterances; STOI
 *                leaves out utterances under ~0.4 s of speech and says so with stoiCount)
 */
import * as fs from 'fs';
import * as path from 'path';
import type { SplitName } from '../data/corpus';
import { readManifest } from '../data/manifest';
import type { EncoderSpec, EncoderType } from '../models/encoder_spec';
import { withMode } from '../models/common';
import { EnhancementBatch, EnhancementPair, enhancementBatches, loadEnhancementPairs } from '../models/enhancement/data';
import { MaskEnhancer } from '../models/enhancement/enhancer';
import { MetricAverager, utteranceMetrics } from '../models/enhancement/metrics';
import type { BatchSource } from '../models/task';
import { noGrad } from '../autograd/tape';
import { AdamW } from '../optim/adam';
import { warmupCosine } from '../optim/schedule';
import { tidy } from '../tensor/scope';
import { Device } from '../tensor/types';
import { writeFileAtomic } from '../train/atomic';
import { loadCheckpointModel } from '../train/checkpoint';
import { disposing } from '../train/experiment';
import { Trainer } from '../train/trainer';
import type { CorpusRecord } from './corpus';
import { SPLITS } from './corpus';
import type { Preset } from './presets';
import { modelName, ModelResult, StepReport } from './training';

export const ENHANCEMENT_RATE = 16000;
export const SEGMENT_SECONDS = 2;
/** Seed of the synth pairs' noise recipes (fixed: the pairs do not depend on the model seed). */
export const NOISE_SEED = 4321;
export const SISDR_LIMIT = 100;
/** Pairs shorter than this (0.1 s) are left out: one STFT frame (400 samples) is the model's floor. */
const MIN_SAMPLES = 1600;

export type EnhancementSplits = Record<SplitName, EnhancementPair[]>;

/** The manifests of the enhancement pairs of `corpus` per split (see the glossary). */
export function enhancementManifests(corpus: CorpusRecord): Record<SplitName, string> {
  if (corpus.enhancement) return corpus.enhancement.manifests;
  return Object.fromEntries(SPLITS.map((s) => [s, path.join(corpus.corpusDir, `${s}.jsonl`)])) as Record<SplitName, string>;
}

/** The (clean, noisy) pairs of one split at 16 kHz (see the glossary); too-short pairs dropped. */
export async function loadEnhancementSplit(corpus: CorpusRecord, split: SplitName): Promise<EnhancementPair[]> {
  const file = enhancementManifests(corpus)[split];
  const entries = readManifest(file).entries;
  if (entries.length === 0) throw new Error(`[reproduce] enhancement: ${file} lists no ${split} pairs`);
  const pairs = await loadEnhancementPairs(entries, { split, seed: NOISE_SEED, sampleRate: ENHANCEMENT_RATE });
  const kept = pairs.filter((p) => p.clean.length >= MIN_SAMPLES);
  if (kept.length === 0) throw new Error(`[reproduce] enhancement: every ${split} pair in ${file} is shorter than ${MIN_SAMPLES / ENHANCEMENT_RATE} s`);
  return kept;
}

/** Every split's pairs; `onProgress(done, 3)` after each split. */
export async function loadEnhancementSplits(corpus: CorpusRecord, onProgress?: (done: number, total: number) => void): Promise<EnhancementSplits> {
  const out = {} as EnhancementSplits;
  for (const [i, s] of SPLITS.entries()) {
    out[s] = await loadEnhancementSplit(corpus, s);
    onProgress?.(i + 1, SPLITS.length);
  }
  return out;
}


/** Batches of `pairs` for training (shuffled, 2 s crops) or evaluation (length-sorted, whole). */
export function enhancementSource(pairs: readonly EnhancementPair[], maxFrames: number, seed: number, train: boolean, device: Device): BatchSource<EnhancementBatch> {
  const hop = Math.round(ENHANCEMENT_RATE / 100); // samples per 10 ms frame
  return disposing(enhancementBatches(pairs, {
    maxSamples: maxFrames * hop, shuffle: train, seed, device, segment: train ? SEGMENT_SECONDS * ENHANCEMENT_RATE : undefined,
  }));
}

const clampDb = (v: number): number => (Number.isNaN(v) ? -SISDR_LIMIT : Math.max(-SISDR_LIMIT, Math.min(SISDR_LIMIT, v)));

/** Test metrics (corpus means) and per-utterance SI-SDR of `model` on `pairs`, in eval mode. */
export async function evaluateEnhancer(model: MaskEnhancer, pairs: readonly EnhancementPair[], maxFrames: number, device: Device): Promise<{ test: Record<string, number>; perUtterance: ModelResult['perUtterance'] }> {
  const avg = new MetricAverager();
  const ids: string[] = [], values: number[] = [], weights: number[] = [];
  for (const batch of enhancementSource(pairs, maxFrames, 0, false, device).epoch(0) as Iterable<EnhancementBatch>) {
    const enh = withMode(model, false, () => noGrad(() => tidy(() => model.forward(batch.noisy, batch.lengths).enhanced.dataSync() as Float32Array))); // (B, n)
    const [B, n] = batch.noisy.shape;
    const noisy = batch.noisy.dataSync() as Float32Array;
    const clean = batch.clean.dataSync() as Float32Array;
    for (let b = 0; b < B; ++b) {
      const s = b * n, e = s + batch.lengths[b];
      const m = utteranceMetrics(clean.subarray(s, e), enh.subarray(s, e), noisy.subarray(s, e), ENHANCEMENT_RATE);
      m.sisdr = clampDb(m.sisdr);
      m.sisdrNoisy = clampDb(m.sisdrNoisy);
      m.sisdri = m.sisdr - m.sisdrNoisy;
      avg.add({ ...m });
      ids.push(batch.ids[b]);
      values.push(m.sisdr);
      weights.push(1);
    }
    avg.utterances += B;
  }
  return { test: avg.result(), perUtterance: { ids, values, weights } };
}

/** Trains (or resumes, or returns the finished result of) one enhancement model in
 *  `<dir>/enhancement-<encoder>-s<seed>/`, as training.trainModel does for the feature tasks. */
export async function trainEnhancer(o: {
  dir: string; encoder: EncoderType; spec: EncoderSpec; encoderParameters: number; seed: number; preset: Preset;
  pairs: EnhancementSplits; device: Device; onStep?: StepReport; onTrainer?: (stop: () => void) => void;
}): Promise<ModelResult> {
  const settings = o.preset.enhancement;
  if (!settings) throw new Error(`[reproduce] preset ${o.preset.name} has no enhancement stage`);
  const s = settings.train;
  const name = modelName('enhancement', o.encoder, o.seed);
  const dir = path.join(o.dir, name);
  const resultFile = path.join(dir, 'result.json');
  if (fs.existsSync(resultFile)) return JSON.parse(fs.readFileSync(resultFile, 'utf8')) as ModelResult;
  fs.mkdirSync(dir, { recursive: true });
  const model = new MaskEnhancer({ encoder: o.spec, sampleRate: ENHANCEMENT_RATE, seed: o.seed, device: o.device });
  const headline = 'sisdr';
  const free = () => model.parameters().forEach((p) => p.dispose());
  try {
    const optimizer = new AdamW(model.parameters(), { lr: s.lr, weightDecay: 0.01 });
    const trainer = new Trainer({
      model, optimizer, schedule: warmupCosine({ warmupSteps: s.warmup, totalSteps: s.steps, minFactor: 0.05 }),
      train: enhancementSource(o.pairs.train, s.maxFrames, o.seed, true, o.device),
      dev: enhancementSource(o.pairs.dev, s.maxFrames, o.seed, false, o.device),
      maxSteps: s.steps, evalEvery: s.evalEvery, monitor: headline, clipGradNorm: 5, outDir: dir, resume: true, logEvery: 10,
      checkpoint: { keepBest: 1 }, config: { task: 'enhancement', encoder: o.spec, seed: o.seed, preset: o.preset.name },
      callbacks: { onStep: (i) => o.onStep?.(i.step, i.totalSteps ?? s.steps, i.loss) },
    });
    o.onTrainer?.(() => trainer.requestStop());
    const fit = await trainer.fit();
    if (fit.stopReason === 'requested' || fit.stopReason === 'signal') {
      return { name, task: 'enhancement', encoder: o.encoder, seed: o.seed, parameters: 0, encoderParameters: 0, dir, weights: '', steps: fit.step, trainSeconds: fit.elapsedSeconds, lastLoss: fit.lastLoss, bestDev: null, headline, test: {}, perUtterance: { ids: [], values: [], weights: [] } };
    }
    // The weights the verdict uses: the best dev checkpoint (the last one when there is none).
    const best = fit.checkpoints.best[0] ?? fit.checkpoints.last;
    if (best) loadCheckpointModel(best, model);
    const weights = path.join(dir, 'model.safetensors');
    model.save(weights);
    const ev = await evaluateEnhancer(model, o.pairs.test, s.maxFrames, o.device);
    const result: ModelResult = {
      name, task: 'enhancement', encoder: o.encoder, seed: o.seed, parameters: model.numParameters(), encoderParameters: o.encoderParameters,
      dir, weights, steps: fit.step, trainSeconds: fit.elapsedSeconds, lastLoss: fit.lastLoss, bestDev: fit.best?.value ?? null,
      headline, test: ev.test, perUtterance: ev.perUtterance,
    };
    writeFileAtomic(resultFile, JSON.stringify(result, null, 1) + '\n');
    return result;
  } finally {
    free();
  }
}
