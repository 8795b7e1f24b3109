/**
 * logger.ts — a run's logs: `train.jsonl` gets one JSON line per logged step and per evaluation
 * as they happen (a crashed run keeps everything logged so far); at the end `train.csv` (one row
 * per step that has a train or eval record) and the loss curve `loss.svg` / `loss.png`.
 *
 * Glossary:
 *   StepRecord  { type: 'train', step, epoch, loss, metrics, lr, gradNorm, stepsPerSec, skipped,
 *               memory: { tensors, cpu, cuda } (bytes), time }
 *   EvalRecord  { type: 'eval', step, epoch, metrics, best, time }
 *   resume      the log is cut back to the checkpoint's step (records after it are dropped, the
 *               resumed run writes them again), so a resumed run's log reads as one run
 */
import * as fs from 'fs';
import * as path from 'path';

import { writeFileAtomic } from './atomic';
import { writeLossCurve } from './plot';

/** Memory per device when the record was written (bytes held by live tensors). */
export interface MemoryRecord {
  tensors: number;
  cpu: number;
  cuda: number;
}

/** A logged training step: means over the steps since the previous record. */
export interface StepRecord {
  type: 'train';
  step: number;
  epoch: number;
  /** mean loss of the applied steps in the window (null when all were skipped) */
  loss: number | null;
  metrics: Record<string, number>;
  lr: number;
  /** gradient norm (before clipping) of the window's last applied step */
  gradNorm: number | null;
  stepsPerSec: number;
  /** steps skipped so far in the run (non-finite loss or gradient) */
  skipped: number;
  memory: MemoryRecord;
  time: string;
}

/** An evaluation on the dev set. */
export interface EvalRecord {
  type: 'eval';
  step: number;
  epoch: number;
  metrics: Record<string, number>;
  /** whether this evaluation is the best so far on the monitored metric */
  best: boolean;
  time: string;
}

export type LogRecord = StepRecord | EvalRecord;

/** Appends records to `<dir>/train.jsonl` and writes the CSV and loss curve at the end. */
export class RunLogger {
  readonly jsonl: string;
  readonly csv: string;
  readonly plotBase: string;

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    this.jsonl = path.join(dir, 'train.jsonl');
    this.csv = path.join(dir, 'train.csv');
    this.plotBase = path.join(dir, 'loss');
  }

  /** Every record in the log (a torn last line, from a kill mid-append, is ignored). */
  records(): LogRecord[] {
    if (!fs.existsSync(this.jsonl)) return [];
    const out: LogRecord[] = [];
    for (const line of fs.readFileSync(this.jsonl, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        out.push(JSON.parse(line) as LogRecord);
      } catch {
        /* a line cut short by a kill: the resumed run writes its step again */
      }
    }
    return out;
  }

  /** Drops records after `step` (atomically), so a run resumed from that step continues the log. */
  truncateAfter(step: number): void {
    if (!fs.existsSync(this.jsonl)) return;
    const keep = this.records().filter((r) => r.step <= step);
    writeFileAtomic(this.jsonl, keep.map((r) => JSON.stringify(r) + '\n').join(''));
  }

  /** Starts a fresh log (a new run in a folder that had one). */
  reset(): void {
    fs.rmSync(this.jsonl, { force: true });
  }

  append(r: LogRecord): void {
    fs.appendFileSync(this.jsonl, JSON.stringify(r) + '\n');
  }

  /** Writes train.csv and the loss curve from the JSONL log; returns the files written. */
  finish(opts: { plot?: boolean } = {}): string[] {
    const recs = this.records();
    writeFileAtomic(this.csv, toCsv(recs));
    const files = [this.csv];
    if (opts.plot !== false) files.push(...writeLossCurve(this.plotBase, recs));
    return files;
  }
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? String(v) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per step that has a train and/or eval record: train columns, then `dev_<metric>`. */
export function toCsv(recs: readonly LogRecord[]): string {
  const trainMetrics = new Set<string>();
  const evalMetrics = new Set<string>();
  const rows = new Map<number, { train?: StepRecord; eval?: EvalRecord }>();
  for (const r of recs) {
    const row = rows.get(r.step) ?? {};
    if (r.type === 'train') {
      row.train = r;
      Object.keys(r.metrics).forEach((k) => trainMetrics.add(k));
    } else {
      row.eval = r;
      Object.keys(r.metrics).forEach((k) => evalMetrics.add(k));
    }
    rows.set(r.step, row);
  }
  const tm = [...trainMetrics].sort();
  const em = [...evalMetrics].sort();
  const head = ['step', 'epoch', 'loss', 'lr', 'grad_norm', 'steps_per_sec', 'skipped', 'mem_cpu_bytes', 'mem_cuda_bytes', ...tm, ...em.map((k) => `dev_${k}`)];
  const lines = [head.join(',')];
  for (const step of [...rows.keys()].sort((a, b) => a - b)) {
    const { train: t, eval: e } = rows.get(step)!;
    const cells = [step, (t ?? e)!.epoch, t?.loss, t?.lr, t?.gradNorm, t?.stepsPerSec, t?.skipped, t?.memory.cpu, t?.memory.cuda,
      ...tm.map((k) => t?.metrics[k]), ...em.map((k) => e?.metrics[k])];
    lines.push(cells.map(csvCell).join(','));
  }
  return lines.join('\n') + '\n';
}
