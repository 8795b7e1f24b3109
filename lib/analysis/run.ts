/**
 * run.ts — the one call behind `mamba-speech mi`: analyse a model, write the report.
 *
 *   await analysis.runMi({ model, batches: () => source.epoch(0), outDir: 'runs/a/mi', y: 'phones', alignments });
 *
 * Glossary: `batches` may be a factory (() => iterable) so that `compare: true` can run both
 * protocols over the same data (an iterable can be consumed only once).
 */
import type { TaskModel } from '../models/task';
import { layerwiseMi } from './layerwise';
import { LayerwiseMiOptions } from './options';
import { report, ReportFiles } from './report';
import { LayerwiseMiResult } from './types';

export interface RunMiOptions<B = unknown> extends LayerwiseMiOptions<B> {
  model: TaskModel<B>;
  batches: Iterable<B> | AsyncIterable<B> | (() => Iterable<B> | AsyncIterable<B>);
  /** Folder of report.md, report.json and the plots. */
  outDir: string;
  title?: string;
  /** Name of the model in tables and legends (default the model's task). */
  label?: string;
  /** Run the corrected protocol and the paper's, and report both (needs `batches` as a factory). */
  compare?: boolean;
}

export interface RunMiResult {
  results: LayerwiseMiResult[];
  files: ReportFiles;
}

/**
 * Runs layerwiseMi with the options (and, with `compare`, the paper protocol too), labels the
 * results, and writes the report into `outDir`. Errors start with `[analysis.runMi]` or the
 * failing step's name.
 */
export async function runMi<B>(o: RunMiOptions<B>): Promise<RunMiResult> {
  const op = 'analysis.runMi';
  if (!o || typeof o !== 'object') throw new Error(`[${op}] expected options { model, batches, outDir, ... }`);
  const { model, batches, outDir, title, label, compare, ...rest } = o;
  if (typeof outDir !== 'string' || !outDir) throw new Error(`[${op}] outDir must be a folder path, got ${JSON.stringify(outDir)}`);
  if (compare && typeof batches !== 'function') throw new Error(`[${op}] compare: true needs batches as a factory (() => iterable): each protocol reads the data once`);
  if (compare && rest.paper) throw new Error(`[${op}] compare runs both protocols; leave 'paper' unset`);
  const get = (): Iterable<B> | AsyncIterable<B> => (typeof batches === 'function' ? batches() : batches);
  const name = label ?? (model as { task?: string }).task ?? 'model';
  const results: LayerwiseMiResult[] = [];
  const main = await layerwiseMi(model, get(), rest);
  main.label = rest.paper ? `${name} (paper protocol)` : name;
  results.push(main);
  if (compare) {
    const paper = await layerwiseMi(model, get(), { ...rest, paper: true, y: null });
    paper.label = `${name} (paper protocol)`;
    results.push(paper);
  }
  const files = report(results, { title: title ?? `Layer-wise mutual information: ${name}`, outDir });
  return { results, files };
}
