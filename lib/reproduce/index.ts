/**
 * lib/reproduce — the main job: the paper's comparison end to end, from one call, with a verdict.
 *
 *   const r = await reproduce({ preset: 'tiny', out: 'runs/tiny' });   // r.report = report.md path
 *
 * Stages (each in <out>/<k>-<name>/, skipped when finished, an interrupted one resumed):
 *   1 corpus          synth corpus + cached 80-d log-mel features and phone alignments, or
 *                     (preset paper) LibriSpeech-100 from --data-root with a char tokenizer and
 *                     VoiceBank-DEMAND pair manifests (realdata.ts); the data root is checked
 *                     before the run folder is made
 *   2 reconstruction  masked-spectrogram reconstruction: Transformer, Mamba, ConBiMamba; then
 *                     speech enhancement (MaskEnhancer) with the same encoders where the preset
 *                     lists it (small: synth noisy pairs, paper: VoiceBank-DEMAND)
 *   3 classification  CTC phone (synth) or character (LibriSpeech) recognition: Transformer,
 *                     Mamba, ConBiMamba, BiMamba
 *   4 self-supervised HuBERT (presets with a `hubert` field: small, paper): MFCC k-means targets,
 *                     Transformer-, TransBiMamba- and ConBiMamba-HuBERT pre-trained, then
 *                     fine-tuned with CTC (hubert_stage.ts)
 *   5 analysis        layer-wise I(X; T_l), I(T_l; Y) of every trained model (fine-tuned HuBERTs too)
 *   6 report          report.md, report.json, plots, verdict
 *
 * --dry-run: 10 steps of every model, one seed, a subset of the data (48 synth utterances, or at
 * most 64 training and 16 dev / test utterances and pairs of a data root) and a short MI
 * estimate. On the CPU it also shrinks every model to 2 layers of d 64 (HuBERT's front end to 32
 * channels) and batches to 2000 frames: it validates the pipeline (data, config, every stage, the
 * report), not the sizes; on CUDA the preset's model and batch sizes are kept, so a dry run also
 * shows that they fit.
 */
import * as fs from 'fs';
import * as path from 'path';
import { getDefaultDevice } from '../tensor/device';
import { Device } from '../tensor/types';
import { writeFileAtomic } from '../train/atomic';
import { CorpusRecord, loadSplit, prepareCorpus } from './corpus';
import { EnhancementSplits, loadEnhancementSplit, loadEnhancementSplits, trainEnhancer } from './enhancement_stage';
import { matchEncoders, MatchedEncoder } from './encoders';
import { analyseModel, corpusAlignments, ctcAlignments, lateRise, MiRecord } from './mi_stage';
import { inspectRunData, prepareRealCorpus } from './realdata';
import { HubertStageRecord, hubertEncoders, runHubertStage } from './hubert_stage';
import { getPreset, Preset, PresetName, PRESETS } from './presets';
import { writeReport, ReportFiles } from './report';
import { runStage, StageEvents } from './stages';
import { FeatureTask, modelName, ModelResult, trainModel } from './training';
import { verdict, VerdictItem } from './verdict';

export { getPreset, PRESETS } from './presets';
export type { Preset, PresetName } from './presets';
export type { ModelResult } from './training';
export type { VerdictItem } from './verdict';
export { meanCi, pairedBootstrap, decide, t975 } from './stats';
export { runHubertStage, hubertEncoders } from './hubert_stage';
export type { HubertStageRecord, HubertHooks } from './hubert_stage';
export type { HubertTargetsRecord } from './hubert_data';

/** Options of reproduce(); every one has a default. */
export interface ReproduceOptions {
  /** 'smoke' | 'tiny' (default) | 'small' | 'paper' */
  preset?: PresetName;
  /** run folder (default runs/<preset>, or runs/<preset>-dry-run) */
  out?: string;
  /** folder with LibriSpeech / VoiceBank-DEMAND (preset paper) */
  dataRoot?: string | null;
  /** number of seeds (default: the preset's) */
  seeds?: number;
  device?: Device;
  /** require an existing run folder and continue it (a rerun continues anyway) */
  resume?: boolean;
  /** validate and run 10 steps of every stage on a small corpus, in a separate folder */
  dryRun?: boolean;
  /** progress events (the CLI draws them) */
  onEvent?: (e: ReproduceEvent) => void;
}

/** What the progress display receives. */
export type ReproduceEvent =
  | { kind: 'plan'; preset: Preset; out: string; stages: string[]; models: number; device: Device; parameters: Record<string, Record<string, number>> }
  | { kind: 'stage'; index: number; total: number; name: string; cached: boolean; done: boolean; seconds?: number }
  | { kind: 'model'; name: string; done: number; total: number; cached: boolean }
  | { kind: 'step'; model: string; step: number; total: number; loss: number }
  | { kind: 'progress'; what: string; done: number; total: number }
  | { kind: 'note'; message: string };

export interface ReproduceResult {
  out: string;
  report: ReportFiles;
  verdict: VerdictItem[];
  results: ModelResult[];
  seconds: number;
  stopped: boolean;
}

/** Thrown when a signal stopped the run between steps; `out` can be resumed. */
export class ReproduceInterrupted extends Error {
  constructor(readonly out: string, readonly signal: NodeJS.Signals) {
    super(`[reproduce] stopped by ${signal}; continue with: npx mamba-speech reproduce --out ${out} --resume`);
    this.name = 'ReproduceInterrupted';
  }
}

const STAGES = ['corpus', 'reconstruction', 'classification', 'self-supervised', 'analysis', 'report'] as const;

function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The model of a CPU dry run (see the module header). */
export const DRY_RUN_MODEL: Preset['model'] = { layers: 2, dModel: 64, heads: 2, dropout: 0, dState: 8 };
/** Utterances (and enhancement pairs) a dry run keeps of a data root's training set; dev and test
 *  keep a quarter as many (realdata.ts). */
export const DRY_RUN_DATA_ROOT_UTTERANCES = 64;

/** The preset after the options' overrides (seeds, dry run; see the module header). */
export function resolvePreset(o: ReproduceOptions): Preset {
  const name = o.preset ?? 'tiny';
  if (!PRESETS.includes(name)) throw new Error(`[reproduce] --preset must be one of ${PRESETS.join(', ')}, got ${JSON.stringify(name)}`);
  const p = getPreset(name);
  if (o.seeds !== undefined) {
    if (!Number.isInteger(o.seeds) || o.seeds < 1 || o.seeds > 20) throw new Error(`[reproduce] --seeds must be an integer in 1..20, got ${JSON.stringify(o.seeds)}`);
    p.seeds = o.seeds;
  }
  if (o.dryRun) {
    const ten = (s: Preset['classification']['train']) => ({ ...s, steps: 10, evalEvery: 10, warmup: 2 });
    p.reconstruction.train = ten(p.reconstruction.train);
    p.classification.train = ten(p.classification.train);
    if (p.enhancement) p.enhancement.train = ten(p.enhancement.train);
    if (p.hubert) p.hubert = { ...p.hubert, pretrain: ten(p.hubert.pretrain), finetune: ten(p.hubert.finetune) };
    p.seeds = 1;
    if (p.corpus.source === 'synth') p.corpus = { ...p.corpus, numUtterances: Math.min(p.corpus.numUtterances, 48), numSpeakers: Math.min(p.corpus.numSpeakers, 8) };
    else p.corpus = { ...p.corpus, numUtterances: DRY_RUN_DATA_ROOT_UTTERANCES };
    const cpu = (o.device ?? getDefaultDevice()) === 'cpu';
    p.description = `dry run of preset ${p.name}: 10 steps per model on a data subset${cpu ? `, models shrunk to ${DRY_RUN_MODEL.layers} layers of d ${DRY_RUN_MODEL.dModel} (validates the pipeline, not the sizes)` : ' at the preset\'s sizes'}`;
    if (cpu) {
      p.model = { ...DRY_RUN_MODEL };
      const small = (s: Preset['classification']['train']) => ({ ...s, maxFrames: Math.min(s.maxFrames, 2000) });
      p.reconstruction.train = small(p.reconstruction.train);
      p.classification.train = small(p.classification.train);
      if (p.enhancement) p.enhancement.train = small(p.enhancement.train);
      if (p.hubert) {
        p.hubert = {
          ...p.hubert, model: { ...DRY_RUN_MODEL }, extractorChannels: Math.min(p.hubert.extractorChannels, 32),
          pretrain: small(p.hubert.pretrain), finetune: small(p.hubert.finetune),
        };
      }
    }
    // a batch of the MI critic must fit in the held-out split of the few frames a dry run samples;
    // one utterance per model for the paper protocol (100 critic epochs per utterance and layer)
    p.analysis = {
      ...p.analysis, steps: 20, seeds: 1, maxFrames: Math.min(p.analysis.maxFrames, 500), batchSize: Math.min(p.analysis.batchSize, 64),
      probeSteps: Math.min(p.analysis.probeSteps, 100), paperUtterances: 1,
    };
  }
  return p;
}

/** Mean absolute deviation of the test frames from the training set's mean spectrum: the masked-L1
 *  a model that ignores its input would reach (masks are random, so the expectation is the same). */
function meanSpectrumL1(corpus: CorpusRecord): number {
  const train = loadSplit(corpus, 'train'), test = loadSplit(corpus, 'test');
  const F = corpus.featureDim;
  const mu = new Float64Array(F);
  let n = 0;
  for (const u of train) for (let t = 0; t < u.features.numFrames; ++t, ++n) for (let f = 0; f < F; ++f) mu[f] += u.features.data[t * F + f];
  mu.forEach((v, f) => (mu[f] = v / Math.max(1, n)));
  let s = 0, m = 0;
  for (const u of test) for (let t = 0; t < u.features.numFrames; ++t, ++m) for (let f = 0; f < F; ++f) s += Math.abs(u.features.data[t * F + f] - mu[f]);
  return s / Math.max(1, m * F);
}

/**
 * Runs the main job (see the module header) into `out` and returns the report's paths, the
 * verdict and every model's result. Finished stages and models are reused; Ctrl-C (SIGINT) or
 * SIGTERM stop after the current training step and throw ReproduceInterrupted (resume with the
 * same `out`). Errors name the stage: `[reproduce: stage 3 classification] ...`.
 */
export async function reproduce(o: ReproduceOptions = {}): Promise<ReproduceResult> {
  const preset = resolvePreset(o);
  const device = o.device ?? getDefaultDevice();
  const out = path.resolve(o.out ?? path.join('runs', `${preset.name}${o.dryRun ? '-dry-run' : ''}`));
  if (o.resume && !fs.existsSync(path.join(out, 'config.json'))) throw new Error(`[reproduce] --resume: ${out} holds no run (no config.json); start one without --resume`);
  if (preset.corpus.source === 'data-root' && !o.dataRoot) throw new Error(`[reproduce] preset ${preset.name} trains on LibriSpeech-100 and VoiceBank-DEMAND: give --data-root DIR (or use --preset tiny / small, which need no data)`);
  if (preset.corpus.source !== 'data-root' && o.dataRoot) throw new Error(`[reproduce] preset ${preset.name} uses the built-in synth corpus and would ignore --data-root ${o.dataRoot}; drop it, or use --preset paper`);
  const emit = o.onEvent ?? (() => undefined);
  // The data root is checked before anything is written: a missing or malformed one is one clear
  // DataRootError (every problem listed) and no run folder appears.
  const dataRoot = preset.corpus.source === 'data-root' ? path.resolve(o.dataRoot!) : null;
  const dataInfo = dataRoot ? await inspectRunData(dataRoot, preset) : null;
  const seeds = Array.from({ length: preset.seeds }, (_, i) => i);
  // Each stage depends on part of the preset only: changing the analysis settings must not
  // retrain the models.
  const fp = (...parts: unknown[]) => JSON.stringify([device, seeds.length, ...parts]);
  // a data root's stage 1 depends on where it is and what it holds
  const fpCorpus = JSON.stringify(dataInfo ? [preset.corpus, dataRoot, dataInfo.librispeech?.counts, dataInfo.voicebank?.counts ?? null] : preset.corpus);
  const fpRecon = fp(fpCorpus, preset.model, preset.reconstruction, ...(preset.enhancement ? [preset.enhancement] : []));
  const fpCls = fp(fpCorpus, preset.model, preset.classification);
  const fpHub = fp(fpCorpus, preset.model, preset.hubert);
  const fpAnalysis = fp(fpRecon, fpCls, ...(preset.hubert ? [fpHub] : []), preset.analysis);
  fs.mkdirSync(out, { recursive: true });
  writeFileAtomic(path.join(out, 'config.json'), JSON.stringify({ preset, device, seeds, dataRoot, dryRun: !!o.dryRun }, null, 1) + '\n');

  const t0 = Date.now();
  const startedAt = new Date().toISOString();
  const stageSeconds: Record<string, number> = {};
  const total = STAGES.length;
  const events: StageEvents = {
    onStageStart: (index, n, name, cached) => emit({ kind: 'stage', index, total: n, name, cached, done: false }),
    onStageEnd: (index, n, name, seconds, cached) => {
      stageSeconds[name] = seconds;
      emit({ kind: 'stage', index, total: n, name, cached, done: true, seconds });
    },
  };
  let signal: NodeJS.Signals | null = null;
  let stopCurrent: (() => void) | null = null;
  const onSignal = (s: NodeJS.Signals) => {
    signal ??= s;
    stopCurrent?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const checkStop = () => {
    if (signal) throw new ReproduceInterrupted(out, signal);
  };
  try {
    const recEnc = matchEncoders(preset.reconstruction.encoders, preset.model);
    const clsEnc = matchEncoders(preset.classification.encoders, preset.model);
    const enhEnc = preset.enhancement ? matchEncoders(preset.enhancement.encoders, preset.model) : [];
    const params = (m: MatchedEncoder[]) => Object.fromEntries(m.map((e) => [e.type, e.parameters]));
    const hubEnc = preset.hubert ? hubertEncoders(preset) : [];
    const nModels = (recEnc.length + clsEnc.length + enhEnc.length + hubEnc.length) * seeds.length;
    emit({
      kind: 'plan', preset, out, stages: [...STAGES], models: nModels, device,
      parameters: {
        reconstruction: params(recEnc), classification: params(clsEnc), ...(enhEnc.length ? { enhancement: params(enhEnc) } : {}),
        ...(hubEnc.length ? { 'self-supervised': params(hubEnc) } : {}),
      },
    });

    const progress = (done: number, n: number, what: string) => emit({ kind: 'progress', what, done, total: n });
    const corpus = await runStage(out, 1, total, 'corpus', fpCorpus, (ctx) => (dataInfo ? prepareRealCorpus(ctx.dir, preset, dataInfo, progress) : prepareCorpus(ctx.dir, preset, 1234, progress)), events);
    checkStop();
    const train = loadSplit(corpus, 'train'), dev = loadSplit(corpus, 'dev'), test = loadSplit(corpus, 'test');
    let finished = 0;
    // seeds outside, encoders inside: a stopped run has every encoder of the first seeds
    const trainAll = async (task: FeatureTask | 'enhancement', encs: MatchedEncoder[], dir: string, pairs?: EnhancementSplits): Promise<ModelResult[]> => {
      const res: ModelResult[] = [];
      for (const seed of seeds) {
        for (const e of encs) {
          checkStop();
          const name = modelName(task, e.type, seed);
          emit({ kind: 'model', name, done: finished, total: nModels, cached: fs.existsSync(path.join(dir, name, 'result.json')) });
          const common = {
            dir, encoder: e.type, spec: e.spec, encoderParameters: e.parameters, seed, preset, device,
            onStep: (step: number, n: number, loss: number) => emit({ kind: 'step', model: name, step, total: n, loss }),
            onTrainer: (stop: () => void) => { stopCurrent = stop; },
          };
          const r = task === 'enhancement' ? await trainEnhancer({ ...common, pairs: pairs! }) : await trainModel({ ...common, task, corpus, train, dev, test });
          stopCurrent = null;
          checkStop();
          res.push(r);
          ++finished;
        }
      }
      return res;
    };
    const stage2 = await runStage(out, 2, total, 'reconstruction', fpRecon, async (ctx) => {
      const rec = await trainAll('reconstruction', recEnc, ctx.dir);
      if (!enhEnc.length) return rec;
      const pairs = await loadEnhancementSplits(corpus, (d, n) => progress(d, n, 'enhancement pairs (splits)'));
      checkStop();
      return [...rec, ...await trainAll('enhancement', enhEnc, ctx.dir, pairs)];
    }, events);
    const recon = stage2.filter((r) => r.task === 'reconstruction');
    const cls = await runStage(out, 3, total, 'classification', fpCls, (ctx) => trainAll('ctc', clsEnc, ctx.dir), events);
    const hub = await runStage(out, 4, total, 'self-supervised', fpHub, async (ctx): Promise<HubertStageRecord | null> => {
      if (!preset.hubert) {
        emit({ kind: 'note', message: `preset ${preset.name} has no self-supervised stage` });
        return null;
      }
      return runHubertStage({
        dir: ctx.dir, preset, corpus, train, dev, test, device, seeds, encoders: hubEnc,
        hooks: {
          onModel: (name, cached) => emit({ kind: 'model', name, done: finished, total: nModels, cached }),
          onModelDone: () => { stopCurrent = null; ++finished; },
          onStep: (name, step, n, loss) => emit({ kind: 'step', model: name, step, total: n, loss }),
          onProgress: (what, d, n) => progress(d, n, what),
          onTrainer: (stop) => { stopCurrent = stop; },
          checkStop,
        },
      });
    }, events);
    const results = [...stage2, ...cls, ...(hub?.results ?? [])];
    const mi = await runStage(out, 5, total, 'analysis', fpAnalysis, async (ctx) => {
      // Y: the synth corpus' phone alignments; on LibriSpeech characters placed by CTC forced
      // alignment (mi_stage.ts), for the LibriSpeech models only (VoiceBank has other utterances).
      const synthAl = corpus.source === 'librispeech' ? null : corpusAlignments(corpus);
      const ctcAl = corpus.source === 'librispeech' ? await ctcAlignments({ dir: ctx.dir, results: cls, corpus, test, device }) : null;
      for (const [seed, a] of ctcAl ?? []) {
        if (a.infeasible) emit({ kind: 'note', message: `MI: ${a.infeasible} test utterance(s) have no CTC path under ${a.model} (seed ${seed}) and are left out of the analysis` });
      }
      const alignmentsOf = (r: ModelResult) => (synthAl ?? (r.task === 'enhancement' ? null : ctcAl?.get(r.seed)?.alignments ?? null));
      const pairs = results.some((r) => r.task === 'enhancement') ? await loadEnhancementSplit(corpus, 'test') : undefined;
      const recs: MiRecord[] = [];
      for (const [i, r] of results.entries()) {
        checkStop();
        emit({ kind: 'progress', what: `MI ${r.name}`, done: i, total: results.length });
        recs.push(await analyseModel({ dir: ctx.dir, result: r, preset, corpus, test, alignments: alignmentsOf(r), pairs, device, paper: r.seed === 0, onProgress: () => undefined }));
      }
      return recs;
    }, events);
    const report = await runStage(out, 6, total, 'report', JSON.stringify({ fpAnalysis, at: Date.now() }), async () => {
      const rises = new Map(mi.map((m) => [m.model, lateRise(m.corrected)]));
      const baselines = { reconstructionMeanL1: recon.length ? meanSpectrumL1(corpus) : null };
      const v = verdict(results, rises, baselines);
      const files = writeReport({
        outDir: out, corpus, results, mi, verdict: v, baselines, hubert: hub,
        encoders: { reconstruction: recEnc, classification: clsEnc, ...(enhEnc.length ? { enhancement: enhEnc } : {}) },
        info: { preset, device, seeds, startedAt, seconds: (Date.now() - t0) / 1000, stageSeconds, version: packageVersion(), dryRun: !!o.dryRun },
      });
      return { files, verdict: v };
    }, events);
    return { out, report: report.files, verdict: report.verdict, results, seconds: (Date.now() - t0) / 1000, stopped: false };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
