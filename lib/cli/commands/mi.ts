/**
 * `mamba-speech mi <run-dir|checkpoint>`: layer-wise mutual information of a trained model
 * (analysis.runMi): I(X; T_l) and I(T_l; Y) per layer with CIs and the matched calibration,
 * written as report.md / report.json / plots into <run-dir>/mi-<data> (or --out).
 *
 * The model is rebuilt from the checkpoint (its saved model config), the data settings come
 * from the run's resolved config, as `eval` does. Y defaults to phones when the manifest has
 * alignments (synth, espeak corpora), to CTC forced alignments for a CTC model without them,
 * else none.
 */
import type { Command } from 'commander';
import * as fs from 'fs';
import * as path from 'path';

import { runMi } from '../../analysis/run';
import type { LayerwiseMiOptions } from '../../analysis/options';
import type { Estimator } from '../../mi/options';
import { readCheckpointMeta } from '../../train/checkpoint';
import { ExperimentConfig, validateConfig } from '../../train/config';
import { configDevice, evalSource, modelFromCheckpoint } from '../../train/experiment';
import type { CliContext } from '../context';
import { CliError, UsageError } from '../context';
import { int, number } from '../parse';
import { resolveCheckpoint } from './evaluate';

interface MiFlags {
  data: string; x: string; y?: string; estimator: string; seeds: number; steps?: number; maxFrames: number;
  pca: string; noise: number; paper?: boolean; compare?: boolean; out?: string; checkpoint: string; device?: string; calibrate: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  program.command('mi')
    .description('layer-wise mutual information I(X;T_l), I(T_l;Y) of a trained model: report with CIs, calibration and plots')
    .argument('<run-dir|checkpoint>', 'a run folder (uses its best checkpoint) or a checkpoint file')
    .option('-d, --data <split|manifest>', 'dev | test | train | path/to/manifest.jsonl', 'dev')
    .option('--x <x>', 'hs0 (encoder input) | features (model input at the layer rate)', 'hs0')
    .option('--y <y>', 'phones | kmeans | ctc | none (default: phones with alignments, ctc for CTC models, else none)')
    .option('--estimator <name>', 'smile | mine | dv | nwj | infonce', 'smile')
    .option('--seeds <n>', 'independent estimates per layer (95% CIs over them)', int('--seeds', 1), 3)
    .option('--steps <n>', 'estimator steps (default 3000)', int('--steps', 1))
    .option('--max-frames <n>', 'frames sampled over the data', int('--max-frames', 2), 20000)
    .option('--pca <k|none>', 'principal components kept for X and T', '16')
    .option('--noise <sigma>', 'noisy channel T + σZ (σ per standardised component; 0 = off)', number('--noise'), 1)
    .option('--no-calibrate', 'skip the matched Gaussian calibration')
    .option('--paper', "the paper's protocol (per-utterance DV, padding included)")
    .option('--compare', 'both protocols in one report')
    .option('-o, --out <dir>', 'report folder (default: <run-dir>/mi-<data>)')
    .option('-c, --checkpoint <which>', 'in a run folder: best | last', 'best')
    .option('--device <device>', 'cpu | cuda | auto')
    .action(async (target: string, o: MiFlags) => {
      if (o.checkpoint !== 'best' && o.checkpoint !== 'last') throw new UsageError(`--checkpoint must be best or last, got '${o.checkpoint}'`);
      if (o.x !== 'hs0' && o.x !== 'features') throw new UsageError(`--x must be hs0 or features, got '${o.x}'`);
      if (o.y !== undefined && !['phones', 'kmeans', 'ctc', 'none'].includes(o.y)) throw new UsageError(`--y must be phones, kmeans, ctc or none, got '${o.y}'`);
      if (!['smile', 'mine', 'dv', 'nwj', 'infonce'].includes(o.estimator)) throw new UsageError(`--estimator must be smile, mine, dv, nwj or infonce, got '${o.estimator}'`);
      const pca = o.pca === 'none' ? false : Number(o.pca);
      if (pca !== false && !(Number.isInteger(pca) && pca >= 1)) throw new UsageError(`--pca must be a positive integer or none, got '${o.pca}'`);
      const file = resolveCheckpoint(target, o.checkpoint);
      const meta = readCheckpointMeta(file);
      if (!meta.config) throw new CliError(`${file} holds no experiment config`, 1, 'analyse it in code: analysis.layerwiseMi(model, batches, options)');
      const cfg = validateConfig(meta.config, `${file} (saved config)`);
      if (o.device) cfg.device = o.device as ExperimentConfig['device'];
      const model = modelFromCheckpoint(file, { device: configDevice(cfg) });
      const { source, entries } = await evalSource(cfg, model, o.data, (what, done, total) => { if (done === total) ctx.note(`prepared ${what}: ${total}`); });
      const hasAlignments = entries.length > 0 && entries.every((e) => e.alignment);
      const y = o.y ?? (hasAlignments ? 'phones' : model.task === 'ctc' ? 'ctc' : 'none');
      if (y === 'phones' && !hasAlignments) throw new UsageError(`--y phones needs alignments in the manifest; ${o.data} has ${entries.filter((e) => e.alignment).length} of ${entries.length}`, 'use --y ctc (CTC models), kmeans or none');
      const options: LayerwiseMiOptions = {
        x: o.x as 'hs0' | 'features',
        y: y === 'none' ? null : (y as 'phones' | 'kmeans' | 'ctc'),
        alignments: y === 'phones' ? entries : undefined,
        estimator: { estimator: o.estimator as Estimator, ...(o.steps ? { steps: o.steps } : {}) },
        seeds: o.seeds, maxFrames: o.maxFrames, pca, noise: o.noise, calibrate: o.calibrate,
        paper: o.paper ? true : undefined,
        onProgress: (stage, detail) => ctx.note(`[mi] ${stage}: ${detail}`),
      };
      const base = fs.statSync(target).isDirectory() ? target : path.dirname(path.dirname(file));
      const outDir = path.resolve(o.out ?? path.join(base, `mi-${path.basename(o.data).replace(/\.jsonl$/, '')}${o.paper ? '-paper' : ''}`));
      const t0 = Date.now();
      const { results, files } = await runMi({ ...options, model, batches: () => source.epoch(0), outDir, compare: o.compare, label: `${model.task} (${path.basename(base)})` });
      const out = { checkpoint: file, step: meta.trainer.step, data: o.data, seconds: (Date.now() - t0) / 1000, report: files.md, json: files.json, runs: results.map((r) => ({ label: r.label, protocol: r.protocol, layers: r.layers.map((l) => ({ index: l.index, ixt: l.ixt.nats, ci: l.ixt.ci, ity: l.ity?.probe?.nats ?? l.ity?.critic?.nats ?? null })) })) };
      ctx.result(out, () => [
        `${model.task} model at step ${meta.trainer.step} (${file}) on ${o.data}: report ${files.md}`,
        ...results.flatMap((r) => [`  ${r.label}:`, ...r.layers.map((l) => `    ${l.name.padEnd(12)} I(X;T) ${l.ixt.nats.toFixed(3)}${l.ixt.ci ? ` [${l.ixt.ci[0].toFixed(3)}, ${l.ixt.ci[1].toFixed(3)}]` : ''}${l.ity?.probe ? `  I(T;Y) ≥ ${l.ity.probe.nats.toFixed(3)} (probe acc ${(100 * l.ity.probe.accuracy).toFixed(1)}%)` : ''}`)]),
      ]);
    });
}
