/**
 * mi_stage.ts — stage 5 of the main job: layer-wise I(X; T_l) and I(T_l; Y) of every trained
 * model with analysis.layerwiseMi, the corrected protocol for every model and the paper's
 * protocol beside it for the first seed's models.
 *
 * Glossary:
 *   X        'features': the model's input log-mel frames brought to the layer frame rate (the
 *            same X for every model, so values compare across models); the paper protocol uses
 *            hs0 (the encoder input), as the paper's code does
 *   Y        the synth corpus' exact phone labels at the layer frame rate
 *   rise     late-layer rise of I(X; T_l): I(X; T_L) − min over l of I(X; T_l), per estimator
 *            seed — the "reconstruction step" the paper's hypothesis speaks of
 *   result   <stage>/<model>.mi.json (written last, atomically: a finished model is not redone)
 */
import * as fs from 'fs';
import * as path from 'path';
import { layerwiseMi } from '../analysis/layerwise';
import type { LayerwiseMiResult } from '../analysis/types';
import type { Alignment } from '../data/manifest';
import { readManifest } from '../data/manifest';
import { loadModel } from '../models/registry';
import type { BatchSource, TaskModel } from '../models/task';
import { Device } from '../tensor/types';
import { writeFileAtomic } from '../train/atomic';
import { CorpusRecord, Utterance } from './corpus';
import type { Preset } from './presets';
import { ModelResult, sourceFor } from './training';

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

/** Layer-wise MI of one trained model (cached in `dir`). */
export async function analyseModel(o: {
  dir: string; result: ModelResult; preset: Preset; corpus: CorpusRecord; test: readonly Utterance[]; alignments: Map<string, Alignment>;
  device: Device; paper: boolean; onProgress?: (what: string) => void;
}): Promise<MiRecord> {
  const file = path.join(o.dir, `${o.result.name}.mi.json`);
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as MiRecord;
  const t0 = Date.now();
  const a = o.preset.analysis;
  const model = loadTrained(o.result, o.device);
  const settings = { steps: 1, maxFrames: 4000, lr: 0, warmup: 1, evalEvery: 1 };
  const batches = (): Iterable<unknown> => (sourceFor(o.result.task, o.test, o.corpus, settings, 0, false, o.device) as BatchSource<unknown>).epoch(0) as Iterable<unknown>;
  const corrected = await layerwiseMi(model, batches(), {
    x: 'features', y: 'phones', alignments: o.alignments, maxFrames: a.maxFrames, perUtterance: 64, seed: o.result.seed,
    pca: a.pca, seeds: a.seeds, estimator: { steps: a.steps, batchSize: a.batchSize }, device: o.device,
    onProgress: (stage, detail) => o.onProgress?.(`${stage}: ${detail}`),
  });
  corrected.label = o.result.name;
  let paper: LayerwiseMiResult | null = null;
  if (o.paper) {
    paper = await layerwiseMi(model, batches(), {
      x: 'hs0', paper: { maxUtterances: 4, short: 'skip' }, seed: o.result.seed, device: o.device,
      onProgress: (stage, detail) => o.onProgress?.(`paper ${stage}: ${detail}`),
    });
    paper.label = `${o.result.name} (paper protocol)`;
  }
  model.parameters().forEach((p) => p.dispose());
  const rec: MiRecord = { model: o.result.name, task: o.result.task, encoder: o.result.encoder, seed: o.result.seed, corrected, paper, seconds: (Date.now() - t0) / 1000 };
  writeFileAtomic(file, JSON.stringify(rec) + '\n');
  return rec;
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
