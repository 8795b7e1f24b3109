/**
 * `mamba-speech train <config>` and `mamba-speech resume <run-dir>`: a run of an experiment file
 * (see lib/train/config.ts) with progress, a closing summary, and Ctrl-C / SIGTERM handled: the
 * current step finishes, `last` is saved, and the command exits 130 / 143 saying how to resume.
 */
import type { Command } from 'commander';
import * as fs from 'fs';
import * as path from 'path';

import { loadConfig } from '../../train/config';
import type { FitResult } from '../../train/options';
import { resumeRun, runDirOf, trainRun } from '../../train/run';
import type { RunOptions } from '../../train/run';
import type { CliContext } from '../context';
import { UsageError } from '../context';
import { collect } from '../parse';
import { formatDuration, TrainProgress } from '../progress';

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toFixed(4);
}

/** `dir` relative to the working folder when it is inside it, else absolute. */
function shortPath(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? dir : rel;
}

/** Runs `go` with progress and prints the summary; returns the exit code. */
async function withProgress(ctx: CliContext, dir: string, go: (opts: RunOptions) => Promise<FitResult>): Promise<number> {
  const progress = new TrainProgress(ctx);
  let lastPrep = 0;
  let r: FitResult;
  try {
    r = await go({
      callbacks: progress.callbacks(),
      handleSignals: true,
      progress: (what, done, total) => {
        const now = Date.now();
        if (now - lastPrep > 2000 || done === total) {
          lastPrep = now;
          ctx.note(`preparing ${what}: ${done}/${total}`);
        }
      },
    });
  } finally {
    progress.stop();
  }
  const summary = {
    runDir: dir, step: r.step, epoch: r.epoch, stopReason: r.stopReason, signal: r.signal, lastLoss: r.lastLoss, metrics: r.metrics, best: r.best,
    skippedSteps: r.skippedSteps, elapsedSeconds: r.elapsedSeconds, checkpoints: r.checkpoints,
  };
  if (r.stopReason === 'signal') {
    const code = r.signal === 'SIGTERM' ? 143 : 130;
    ctx.result({ ...summary, exitCode: code }, () => []);
    // Always said (also under --quiet): the user stopped the run and needs the way back.
    ctx.stderr.write(`mamba-speech: stopped by ${r.signal} after step ${r.step}; checkpoint saved to ${r.checkpoints.last}\n` +
      `resume with: mamba-speech resume ${shortPath(dir)}\n`);
    return code;
  }
  ctx.result(summary, () => [
    `done: ${r.step} steps (${r.stopReason}) in ${formatDuration(r.elapsedSeconds)}${r.skippedSteps ? `, ${r.skippedSteps} skipped (non-finite)` : ''}; last loss ${r.lastLoss === null ? '-' : fmt(r.lastLoss)}`,
    ...(r.metrics ? [`dev: ${Object.entries(r.metrics).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`] : []),
    ...(r.best ? [`best ${r.best.metric} ${fmt(r.best.value)} at step ${r.best.step}: ${r.checkpoints.best[0] ?? '(not kept)'}`] : []),
    `run folder: ${dir} (train.jsonl, train.csv, loss.svg/png, checkpoints/)`,
  ]);
  return 0;
}

export function register(program: Command, ctx: CliContext): void {
  program.command('train')
    .description('train a model from an experiment file (YAML or JSON)')
    .argument('<config>', 'experiment file (see configs/)')
    .option('-s, --set <key=value>', 'override a config value, e.g. --set model.encoder.type=conbimamba (repeatable)', collect, [])
    .option('-o, --out <dir>', 'run folder (default: the config\'s outDir, else runs/<name>)')
    .option('--device <device>', 'cpu | cuda | auto (overrides the config)')
    .action(async (file: string, o: { set: string[]; out?: string; device?: string }) => {
      const sets = [...o.set, ...(o.device ? [`device=${o.device}`] : [])];
      const cfg = loadConfig(file, sets);
      const dir = path.resolve(o.out ?? runDirOf(cfg));
      if (fs.existsSync(path.join(dir, 'checkpoints', 'last.safetensors'))) {
        throw new UsageError(`${dir} already holds a run`, `continue it with: mamba-speech resume ${shortPath(dir)} (or train into another --out)`);
      }
      ctx.note(`run ${cfg.name}: ${cfg.model.task} with a ${cfg.model.encoder.type} encoder (${cfg.model.encoder.layers} layers, d ${cfg.model.encoder.dModel}) -> ${dir}`);
      ctx.exitCode = await withProgress(ctx, dir, (opts) => trainRun(cfg, dir, opts));
    });

  program.command('resume')
    .description('continue a run from its last checkpoint (exactly: same data order, RNG and optimizer state)')
    .argument('<run-dir>', 'the run folder (holds config.yaml and checkpoints/)')
    .option('-s, --set <key=value>', 'change a trainer setting, e.g. --set trainer.maxSteps=5000 (repeatable)', collect, [])
    .action(async (dir: string, o: { set: string[] }) => {
      const abs = path.resolve(dir);
      ctx.exitCode = await withProgress(ctx, abs, (opts) => resumeRun(abs, o.set, opts));
    });
}

