/**
 * mi_stage.ts — stage 5 of the main job: layer-wise I(X; T_l) and I(T_l; Y) of every trained
 * model with analysis.layerwiseMi, the corrected protocol for every model and the paper's
 * protocol beside it for the first seed's models.
 *
 * Glossary:
 *   X        'features': the model's input log-mel frames brought to the layer frame rate (the
 *            same X for every model, so values compare across models); the paper protocol uses
 *            hs0 (the encoder input), as the paper's code does
 *   Y        the synth corpus' exact phone labels at the layer frame rate; on LibriSpeech (no
 *            alignments) characters from CTC forced alignment of the reference transcript by a
 *            reference CTC model per seed — the one with the best dev error — with blank frames
 *            filled by the character before them (the analysis' 'fill' labels), so Y is the same
 *            for every model of a seed and I(T; Y) compares across models as it does with phones
 *            (a model's own alignment would make Y depend on the model being measured); test
 *            utterances without a feasible path are left out of the analysis. VoiceBank
 *            enhancement models have no Y (I(X; T) only)
 *   frames   enhancement models read STFT frames (hop 100 at 16 kHz = 6.25 ms) of the noisy
 *            waveform; their X is those compressed magnitudes, not the log-mel of the others;
 *            fine-tuned HuBERTs (stage 4) with the CNN front end read waveforms: their X is
 *            the cached log-mel, two 10 ms frames per 20 ms model frame (hubertAnalysisInput)
 *   rise     late-layer rise of I(X; T_l): I(X; T_L) − min over l of I(X; T_l), per estimator
 *            seed — the "reconstruction step" the paper's hypothesis speaks of
 *   result   <stage>/<model>.mi.json (written last, atomically: a finished model is not redone)
 */
import * as fs from 'fs';
import * as path from 'path';
import type { XFn } from '../analysis/frames';
import { layerwiseMi } from '../analysis/layerwise';
import type { LayerwiseMiResult } from '../analysis/types';
import { noGrad } from '../autograd/tape';
import type { Alignment, AlignmentSegment } from '../data/manifest';
import { readManifest } from '../data/manifest';
import { Tokenizer } from '../data/tokenizer';
import type { CtcAsr } from '../models/ctc_asr';
import type { AsrBatch } from '../models/collate';
import { ctcForcedAlignBatch } from '../models/decode/forced_align';
import type { EnhancementPair } from '../models/enhancement/data';
import type { HubertCtc } from '../models/hubert/hubert_ctc';
import type { MaskEnhancer } from '../models/enhancement/enhancer';
import { loadModel } from '../models/registry';
import type { BatchSource, TaskModel } from '../models/task';
import { logSoftmax } from '../ops/reduce';
import { tidy } from '../tensor/scope';
import { Device } from '../tensor/types';
import { writeFileAtomic } from '../train/atomic';
import { CorpusRecord, Utterance } from './corpus';
import { ENHANCEMENT_RATE, enhancementSource } from './enhancement_stage';
import { hubertAnalysisInput } from './hubert_stage';
import type { Preset } from './presets';
import { ModelResult, sourceFor } from './training';
import { corpusValue } from './verdict';

/** What stage 5 records per model. */
export interface MiRecord {
  model: string;
  task: string;
  encoder: string;
  seed: number;
  corrected: LayerwiseMiResult;
  paper: LayerwiseMiResult | null;
  seconds: number;
}

/** id -> alignment of every utterance of the corpus (the phone labels' source). */
export function corpusAlignments(corpus: CorpusRecord): Map<string, Alignment> {
  const map = new Map<string, Alignment>();
  for (const split of ['train', 'dev', 'test']) {
    const file = path.join(corpus.corpusDir, `${split}.jsonl`);
    if (!fs.existsSync(file)) continue;
    for (const e of readManifest(file).entries) if (e.alignment) map.set(e.id, e.alignment);
  }
  return map;
}

/** Rebuilds a trained model from its weights file (the config is in its metadata). */
export function loadTrained(r: ModelResult, device: Device): TaskModel<unknown> {
  return loadModel(r.weights, { device }) as TaskModel<unknown>;
}

/** The character label of a CTC token in alignments: '|' for the space (wav2vec2's word
 *  delimiter), so segments read as text. */
const charName = (t: string): string => (t === ' ' ? '|' : t);

/**
 * Y for a corpus without alignments (see the glossary): per seed, the test utterances' characters
 * from forced alignment by that seed's reference CTC model, as a Map id -> Alignment at the CTC
 * model's frame rate (10 ms × its subsampling). Cached as `<dir>/alignments-s<seed>.json`.
 * Returns seed -> { model, alignments, infeasible } for every seed with a CTC model.
 */
export async function ctcAlignments(o: { dir: string; results: readonly ModelResult[]; corpus: CorpusRecord; test: readonly Utterance[]; device: Device }):
Promise<Map<number, { model: string; alignments: Map<string, Alignment>; infeasible: number }>> {
  const out = new Map<number, { model: string; alignments: Map<string, Alignment>; infeasible: number }>();
  const tok = Tokenizer.fromJSON(o.corpus.tokenizer);
  for (const seed of [...new Set(o.results.filter((r) => r.task === 'ctc').map((r) => r.seed))].sort((a, b) => a - b)) {
    // The reference: the best dev error (never the test error: the test split must not pick it).
    const cands = o.results.filter((r) => r.task === 'ctc' && r.seed === seed);
    const score = (r: ModelResult) => r.bestDev ?? corpusValue(r);
    const ref = cands.reduce((a, b) => (score(b) < score(a) ? b : a));
    const file = path.join(o.dir, `alignments-s${seed}.json`);
    if (fs.existsSync(file)) {
      const c = JSON.parse(fs.readFileSync(file, 'utf8')) as { model: string; infeasible: number; alignments: Record<string, Alignment> };
      if (c.model === ref.name) {
        out.set(seed, { model: c.model, alignments: new Map(Object.entries(c.alignments)), infeasible: c.infeasible });
        continue;
      }
    }
    const model = loadTrained(ref, o.device) as unknown as CtcAsr;
    const alignments = new Map<string, Alignment>();
    let infeasible = 0;
    try {
      const shift = o.corpus.frameShift * model.frontend.subsampling;
      const settings = { steps: 1, maxFrames: 4000, lr: 0, warmup: 1, evalEvery: 1 };
      model.train(false);
      for (const batch of (sourceFor('ctc', o.test, o.corpus, settings, 0, false, o.device) as BatchSource<AsrBatch>).epoch(0) as Iterable<AsrBatch>) {
        const al = noGrad(() => tidy(() => {
          const f = model.forward(batch.features, batch.lengths);
          const lp = logSoftmax(f.logits.to('float32'), -1); // (B, T', V)
          return ctcForcedAlignBatch(lp, batch.targets, { inputLengths: f.lengths, targetLengths: batch.targetLengths, blank: 0, infeasible: 'null' });
        }));
        al.forEach((a, b) => {
          if (!a || a.tokenSpans.length === 0) return void ++infeasible;
          // 'fill': blank frames take the token before them (the first token before it).
          const frames = Int32Array.from(a.frames);
          let cur = a.tokenSpans[0].token;
          for (let t = 0; t < frames.length; ++t) (frames[t] === 0 ? (frames[t] = cur) : (cur = frames[t]));
          const segments: AlignmentSegment[] = [];
          for (let t = 0; t < frames.length; ++t) {
            const last = segments[segments.length - 1];
            const name = charName(tok.tokens[frames[t]]);
            if (last && last[0] === name && last[2] === t) last[2] = t + 1;
            else segments.push([name, t, t + 1]);
          }
          alignments.set(batch.ids[b], { frameShift: shift, segments });
        });
      }
    } finally {
      model.parameters().forEach((p) => p.dispose());
    }
    writeFileAtomic(file, JSON.stringify({ model: ref.name, infeasible, alignments: Object.fromEntries(alignments) }) + '\n');
    out.set(seed, { model: ref.name, alignments, infeasible });
  }
  return out;
}

/** Layer-wise MI of one trained model (cached in `dir`). `alignments` give Y (null: no Y);
 *  enhancement models need the test `pairs`. */
export async function analyseModel(o: {
  dir: string; result: ModelResult; preset: Preset; corpus: CorpusRecord; test: readonly Utterance[]; alignments: ReadonlyMap<string, Alignment> | null;
  pairs?: readonly EnhancementPair[]; device: Device; paper: boolean; onProgress?: (what: string) => void;
}): Promise<MiRecord> {
  const file = path.join(o.dir, `${o.result.name}.mi.json`);
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as MiRecord;
  const t0 = Date.now();
  const a = o.preset.analysis;
  const model = loadTrained(o.result, o.device);
  const al = o.alignments && o.alignments.size ? o.alignments : null;
  const task = o.result.task;
  let batches: () => Iterable<unknown>;
  let frameShift = o.corpus.frameShift;
  let x: 'features' | XFn<unknown> = 'features';
  if (task === 'enhancement') {
    if (!o.pairs) throw new Error(`[reproduce] MI of ${o.result.name} needs the enhancement test pairs`);
    const pairs = al ? o.pairs.filter((p) => al.has(p.id)) : o.pairs;
    frameShift = (model as unknown as MaskEnhancer).hop / ENHANCEMENT_RATE;
    batches = () => enhancementSource(pairs, 4000, 0, false, o.device).epoch(0) as Iterable<unknown>;
  } else if (task === 'hubert-ctc') {
    // fine-tuned HuBERTs (stage 4): log-mel or waveform input; X the log-mel either way
    ({ batches, frameShift, x } = hubertAnalysisInput(model as unknown as HubertCtc, o.result, o.corpus, al ? o.test.filter((u) => al.has(u.id)) : o.test, o.device));
  } else {
    // utterances the reference aligner found no path for have no Y: leave them out
    const test = al ? o.test.filter((u) => al.has(u.id)) : o.test;
    const settings = { steps: 1, maxFrames: 4000, lr: 0, warmup: 1, evalEvery: 1 };
    batches = () => (sourceFor(task, test, o.corpus, settings, 0, false, o.device) as BatchSource<unknown>).epoch(0) as Iterable<unknown>;
  }
  try {
    const corrected = await layerwiseMi(model, batches(), {
      x, ...(al ? { y: 'phones' as const, alignments: al } : {}), frameShift, maxFrames: a.maxFrames, perUtterance: 64, seed: o.result.seed,
      pca: a.pca, seeds: a.seeds, estimator: { steps: a.steps, batchSize: a.batchSize }, probe: { steps: a.probeSteps }, ityCritic: a.ityCritic,
    calibrate: a.calibrate && o.paper, device: o.device,
      onProgress: (stage, detail) => o.onProgress?.(`${stage}: ${detail}`),
    });
    corrected.label = o.result.name;
    let paper: LayerwiseMiResult | null = null;
    if (o.paper) {
      paper = await layerwiseMi(model, batches(), {
        x: 'hs0', paper: { maxUtterances: a.paperUtterances, short: 'skip' }, seed: o.result.seed, device: o.device,
        onProgress: (stage, detail) => o.onProgress?.(`paper ${stage}: ${detail}`),
      });
      paper.label = `${o.result.name} (paper protocol)`;
    }
    const rec: MiRecord = { model: o.result.name, task: o.result.task, encoder: o.result.encoder, seed: o.result.seed, corrected, paper, seconds: (Date.now() - t0) / 1000 };
    writeFileAtomic(file, JSON.stringify(rec) + '\n');
    return rec;
  } finally {
    model.parameters().forEach((p) => p.dispose());
  }
}

/** Per estimator seed: I(X; T_L) − min_l I(X; T_l) (≥ 0), the late-layer rise of a record. */
export function lateRise(r: LayerwiseMiResult): number[] {
  const layers = r.layers;
  const seeds = layers[0]?.ixt.perSeed.length ?? 0;
  const out: number[] = [];
  for (let s = 0; s < seeds; ++s) {
    const v = layers.map((l) => l.ixt.perSeed[s]);
    out.push(v[v.length - 1] - Math.min(...v));
  }
  return out;
}
