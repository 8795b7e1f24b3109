/**
 * `mamba-speech eval <run-dir|checkpoint>` (the model's metrics on a split or manifest) and
 * `mamba-speech decode <run-dir|checkpoint> --beam N` (CTC hypotheses written as JSONL, with
 * corpus-level error rates). The model is rebuilt from the checkpoint (its saved model config),
 * the data settings come from the run's resolved config (saved in the checkpoint too).
 */
import type { Command } from 'commander';
import * as fs from 'fs';
import * as path from 'path';

import type { Tokenizer } from '../../data/tokenizer';
import { errorRate } from '../../models/metrics';
import type { TaskModel } from '../../models/task';
import { noGrad } from '../../autograd/tape';
import { tidy } from '../../tensor/scope';
import { writeFileAtomic } from '../../train/atomic';
import { readCheckpointMeta } from '../../train/checkpoint';
import type { CheckpointMeta } from '../../train/checkpoint';
import { ExperimentConfig, validateConfig } from '../../train/config';
import { configDevice, evalSource, modelFromCheckpoint } from '../../train/experiment';
import type { CliContext } from '../context';
import { CliError, UsageError } from '../context';
import { int } from '../parse';

/** The checkpoint a target names: a file, or in a run folder the best (default) or last one. */
export function resolveCheckpoint(target: string, which: 'best' | 'last' = 'best'): string {
  if (!fs.existsSync(target)) throw new UsageError(`${target} does not exist`, 'give a run folder (with checkpoints/) or a .safetensors checkpoint');
  if (fs.statSync(target).isFile()) return target;
  const dir = path.join(target, 'checkpoints');
  const last = path.join(dir, 'last.safetensors');
  if (!fs.existsSync(last)) throw new UsageError(`${target} has no checkpoints/last.safetensors`, 'train it first: mamba-speech train <config>');
  if (which === 'last') return last;
  const best = readCheckpointMeta(last).trainer.best[0];
  return best && fs.existsSync(path.join(dir, best.file)) ? path.join(dir, best.file) : last;
}

interface Loaded {
  file: string;
  meta: CheckpointMeta;
  cfg: ExperimentConfig;
  model: TaskModel<unknown>;
}

function load(target: string, which: 'best' | 'last', device: string | undefined): Loaded {
  const file = resolveCheckpoint(target, which);
  const meta = readCheckpointMeta(file);
  if (!meta.config) throw new CliError(`${file} holds no experiment config (saved by train.fit without one)`, 1, 'evaluate it in code: models.create(meta.model.config), then model.evaluate(batches)');
  if (!meta.model.config) throw new CliError(`${file} holds no model config`, 1);
  const cfg = validateConfig(meta.config, `${file} (saved config)`);
  if (device) cfg.device = device as ExperimentConfig['device'];
  const model = modelFromCheckpoint(file, { device: configDevice(cfg) });
  return { file, meta, cfg, model };
}

export function register(program: Command, ctx: CliContext): void {
  const progress = (what: string, done: number, total: number): void => {
    if (done === total) ctx.note(`prepared ${what}: ${total}`);
  };

  program.command('eval')
    .description('evaluate a trained model on a split (dev, test, train) or a manifest')
    .argument('<run-dir|checkpoint>', 'a run folder (uses its best checkpoint) or a checkpoint file')
    .option('-d, --data <split|manifest>', 'dev | test | train | path/to/manifest.jsonl', 'dev')
    .option('-c, --checkpoint <which>', 'in a run folder: best | last', 'best')
    .option('--device <device>', 'cpu | cuda | auto')
    .action(async (target: string, o: { data: string; checkpoint: string; device?: string }) => {
      if (o.checkpoint !== 'best' && o.checkpoint !== 'last') throw new UsageError(`--checkpoint must be best or last, got '${o.checkpoint}'`);
      const { file, meta, cfg, model } = load(target, o.checkpoint, o.device);
      const { source, entries } = await evalSource(cfg, model, o.data, progress);
      const t0 = Date.now();
      const metrics = await model.evaluate(source.epoch(0));
      const out = { checkpoint: file, step: meta.trainer.step, data: o.data, utterances: entries.length, seconds: (Date.now() - t0) / 1000, metrics };
      ctx.result(out, () => [
        `${model.task} model at step ${meta.trainer.step} (${file}) on ${o.data} (${entries.length} utterances):`,
        ...Object.entries(metrics).map(([k, v]) => `  ${k.padEnd(12)} ${Number.isInteger(v) ? v : v.toFixed(4)}`),
      ]);
    });

  program.command('decode')
    .description('decode a CTC model (greedy or prefix beam search): hypotheses as JSONL + error rates')
    .argument('<run-dir|checkpoint>', 'a run folder (uses its best checkpoint) or a checkpoint file')
    .option('-d, --data <split|manifest>', 'dev | test | train | path/to/manifest.jsonl', 'test')
    .option('-b, --beam <n>', 'beam width (1 = greedy)', int('--beam', 1), 1)
    .option('-o, --out <file>', 'hypotheses file (default: <run-dir>/decode-<data>-beam<N>.jsonl)')
    .option('-c, --checkpoint <which>', 'in a run folder: best | last', 'best')
    .option('--device <device>', 'cpu | cuda | auto')
    .action(async (target: string, o: { data: string; beam: number; out?: string; checkpoint: string; device?: string }) => {
      if (o.checkpoint !== 'best' && o.checkpoint !== 'last') throw new UsageError(`--checkpoint must be best or last, got '${o.checkpoint}'`);
      const { file, meta, cfg, model } = load(target, o.checkpoint, o.device);
      const m = model as unknown as { decode?: (b: unknown, o: { beam: number }) => { tokens: number[][] }; tokenizer?: Tokenizer | null };
      if (typeof m.decode !== 'function') throw new UsageError(`decode works on CTC models; ${file} holds a '${model.task}' model`, `use: mamba-speech eval ${target}`);
      const { source, entries } = await evalSource(cfg, model, o.data, progress);
      const tok = m.tokenizer ?? null;
      const rows: { id: string; ref: string; hyp: string }[] = [];
      const refs: number[][] = [];
      const hyps: number[][] = [];
      const t0 = Date.now();
      model.eval();
      for await (const b of source.epoch(0) as AsyncIterable<{ ids: string[]; refs: Int32Array[] }>) {
        const tokens = noGrad(() => tidy(() => m.decode!(b, { beam: o.beam }).tokens));
        tokens.forEach((h, i) => {
          const r = Array.from(b.refs[i]);
          refs.push(r);
          hyps.push(h);
          rows.push({ id: b.ids[i], ref: tok ? tok.decode(r) : r.join(' '), hyp: tok ? tok.decode(h) : h.join(' ') });
        });
      }
      const seconds = (Date.now() - t0) / 1000;
      const rates: Record<string, number> = {};
      if (tok?.kind === 'char') {
        rates.cer = errorRate(rows.map((r) => r.ref), rows.map((r) => r.hyp), { unit: 'char' }).rate;
        rates.wer = errorRate(rows.map((r) => r.ref), rows.map((r) => r.hyp), { unit: 'word' }).rate;
      } else {
        rates[tok?.kind === 'phone' ? 'per' : 'ter'] = errorRate(refs, hyps, { unit: 'token' }).rate;
      }
      const base = fs.statSync(target).isDirectory() ? target : path.dirname(path.dirname(file));
      const outFile = path.resolve(o.out ?? path.join(base, `decode-${path.basename(o.data).replace(/\.jsonl$/, '')}-beam${o.beam}.jsonl`));
      writeFileAtomic(outFile, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const out = { checkpoint: file, step: meta.trainer.step, data: o.data, beam: o.beam, utterances: entries.length, seconds, errorRates: rates, hypotheses: outFile };
      ctx.result(out, () => [
        `decoded ${entries.length} utterances of ${o.data} with beam ${o.beam} in ${seconds.toFixed(1)} s (model at step ${meta.trainer.step})`,
        ...Object.entries(rates).map(([k, v]) => `  ${k} ${(100 * v).toFixed(2)}%`),
        `hypotheses: ${outFile}`,
      ]);
    });
}
