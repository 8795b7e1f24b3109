/**
 * run.ts — an experiment run in its folder: `trainRun(config)` starts one, `resumeRun(dir)`
 * continues one from its `last` checkpoint, both through the Trainer.
 *
 * Run folder:
 *   config.yaml                   the resolved config (defaults filled in, overrides applied)
 *   train.jsonl, train.csv        logs (see logger.ts); loss.svg / loss.png at the end
 *   checkpoints/last.safetensors  latest state; best-step<N>.safetensors the best k by the monitor
 */
import * as fs from 'fs';
import * as path from 'path';

import { manualSeed } from '../tensor/creation';
import { writeFileAtomic } from './atomic';
import { readCheckpointMeta } from './checkpoint';
import { ConfigError, configToYaml, ExperimentConfig, loadConfig } from './config';
import { buildExperiment, Experiment, Progress } from './experiment';
import type { FitResult, TrainerCallbacks } from './options';
import { Trainer } from './trainer';

/** Options of trainRun / resumeRun. */
export interface RunOptions {
  callbacks?: TrainerCallbacks;
  handleSignals?: boolean;
  progress?: Progress;
  /** Called once the experiment is built, before training starts (for printing its size). */
  onReady?(exp: Experiment, trainer: Trainer<unknown>): void;
}

/** The run folder of a config: its outDir, else runs/<name>. */
export function runDirOf(cfg: ExperimentConfig): string {
  return path.resolve(cfg.outDir ?? path.join('runs', cfg.name ?? 'run'));
}

async function start(cfg: ExperimentConfig, dir: string, resume: boolean, opts: RunOptions): Promise<FitResult> {
  const last = path.join(dir, 'checkpoints', 'last.safetensors');
  const meta = resume && fs.existsSync(last) ? readCheckpointMeta(last) : null;
  if (!meta) manualSeed(cfg.seed);
  const exp = await buildExperiment(cfg, { modelConfig: meta?.model.config ?? null, progress: opts.progress });
  const t = cfg.trainer;
  const trainer = new Trainer<unknown>({
    model: exp.model, optimizer: exp.optimizer, schedule: exp.schedule, train: exp.train, dev: exp.dev,
    maxSteps: t.maxSteps, maxEpochs: t.maxEpochs, accumulate: t.accumulate, clipGradNorm: t.clipGradNorm, autocast: t.autocast,
    maxNonFiniteSteps: t.maxNonFiniteSteps, evalEvery: t.evalEvery, evalAtEnd: t.evalAtEnd, monitor: t.monitor, monitorMode: t.monitorMode,
    earlyStopping: t.earlyStopping, logEvery: t.logEvery, checkpoint: t.checkpoint,
    outDir: dir, config: cfg as unknown as Record<string, unknown>, resume: meta !== null, callbacks: opts.callbacks, handleSignals: opts.handleSignals,
  });
  opts.onReady?.(exp, trainer);
  return trainer.fit();
}

/**
 * Starts a run of `cfg` in `dir` (default runDirOf(cfg)): writes config.yaml, seeds the RNG from
 * cfg.seed, trains. A folder that already holds a run's checkpoint is refused (resume it, or
 * choose another folder) so nothing is overwritten by mistake.
 */
export async function trainRun(cfg: ExperimentConfig, dir: string = runDirOf(cfg), opts: RunOptions = {}): Promise<FitResult> {
  const last = path.join(dir, 'checkpoints', 'last.safetensors');
  if (fs.existsSync(last)) {
    throw new Error(`[train] ${dir} already holds a run (checkpoints/last.safetensors); continue it with \`mamba-speech resume ${dir}\`, or pass another --out`);
  }
  fs.mkdirSync(dir, { recursive: true });
  cfg.outDir = dir;
  writeFileAtomic(path.join(dir, 'config.yaml'), configToYaml(cfg));
  return start(cfg, dir, false, opts);
}

/** The config saved in a run folder, with `overrides` (`trainer.maxSteps=2000` to extend a run). */
export function runConfig(dir: string, overrides: readonly string[] = []): ExperimentConfig {
  const file = path.join(dir, 'config.yaml');
  if (!fs.existsSync(file)) throw new Error(`[resume] ${dir} is not a run folder (no config.yaml); start one with \`mamba-speech train <config>\``);
  return loadConfig(file, overrides);
}

/**
 * Continues the run in `dir` from checkpoints/last.safetensors with its saved config (a run
 * killed before its first checkpoint starts over). The model is rebuilt from the checkpoint's
 * model config; overrides (trainer.* only, such as a larger maxSteps) are saved to config.yaml.
 */
export async function resumeRun(dir: string, overrides: readonly string[] = [], opts: RunOptions = {}): Promise<FitResult> {
  for (const o of overrides) {
    if (!/^trainer\./.test(o)) throw new ConfigError('--set', [`only trainer.* settings can change when resuming (exact resume needs the same data, model and optimizer), got ${o}`]);
  }
  const cfg = runConfig(dir, overrides);
  cfg.outDir = path.resolve(dir);
  if (overrides.length) writeFileAtomic(path.join(dir, 'config.yaml'), configToYaml(cfg));
  return start(cfg, cfg.outDir, true, opts);
}
