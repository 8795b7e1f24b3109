/**
 * stages.ts — the main job's stage runner: each stage works in its own folder of the run and
 * ends by writing `done.json` (its result, atomically); a rerun or `--resume` returns that result
 * without running the stage again, and an interrupted stage starts over in its folder, where the
 * trainer resumes each model from its own `last` checkpoint.
 *
 * Glossary:
 *   run dir      <out>/ (config.json, report.md, ...), stage k in <out>/<k>-<name>/
 *   done.json    { stage, finishedAt, seconds, result }: the stage's JSON result
 *   fingerprint  the preset and options the stage depends on, stamped in stage.json when the
 *                folder is made; a folder with another fingerprint is emptied and the stage runs
 *                again (a changed preset never mixes with old results)
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../train/atomic';

/** One stage's record in done.json. */
export interface StageRecord<T> {
  stage: string;
  fingerprint: string;
  finishedAt: string;
  seconds: number;
  result: T;
}

/** What a stage function gets: its folder (created) and whether a previous attempt left files. */
export interface StageContext {
  dir: string;
  /** true when the folder existed without done.json: an interrupted attempt to resume from */
  resumed: boolean;
}

/** Events the runner reports (for the progress display). */
export interface StageEvents {
  onStageStart?(index: number, total: number, name: string, cached: boolean): void;
  onStageEnd?(index: number, total: number, name: string, seconds: number, cached: boolean): void;
}

/** Runs stage `name` (number `index` of `total`) in `<runDir>/<index>-<name>/` unless its done.json
 *  exists with the same fingerprint, in which case the recorded result is returned. The result
 *  must be JSON-serialisable; it is written atomically only after `fn` resolves, so a stage
 *  killed at any moment is never taken for finished. */
export async function runStage<T>(runDir: string, index: number, total: number, name: string, fingerprint: string,
  fn: (ctx: StageContext) => Promise<T>, events: StageEvents = {}): Promise<T> {
  const dir = path.join(runDir, `${index}-${name}`);
  const doneFile = path.join(dir, 'done.json');
  if (fs.existsSync(doneFile)) {
    let rec: StageRecord<T> | null = null;
    try {
      rec = JSON.parse(fs.readFileSync(doneFile, 'utf8')) as StageRecord<T>;
    } catch {
      rec = null; // unreadable: run the stage again
    }
    if (rec && rec.fingerprint === fingerprint) {
      events.onStageStart?.(index, total, name, true);
      events.onStageEnd?.(index, total, name, rec.seconds, true);
      return rec.result;
    }
    fs.rmSync(doneFile, { force: true });
  }
  // A folder left by an attempt with other settings holds results that must not be reused
  // (models trained with another preset): start the stage from an empty folder.
  const stampFile = path.join(dir, 'stage.json');
  if (fs.existsSync(dir)) {
    let stamp: string | null = null;
    try {
      stamp = (JSON.parse(fs.readFileSync(stampFile, 'utf8')) as { fingerprint: string }).fingerprint;
    } catch {
      stamp = null;
    }
    if (stamp !== fingerprint) fs.rmSync(dir, { recursive: true, force: true });
  }
  const resumed = fs.existsSync(dir);
  fs.mkdirSync(dir, { recursive: true });
  if (!resumed) writeFileAtomic(stampFile, JSON.stringify({ stage: name, fingerprint }) + '\n');
  events.onStageStart?.(index, total, name, false);
  const t0 = Date.now();
  let result: T;
  try {
    result = await fn({ dir, resumed });
  } catch (e) {
    const err = e as Error;
    if (!/^\[reproduce:/.test(err.message)) err.message = `[reproduce: stage ${index} ${name}] ${err.message}`;
    throw err;
  }
  const seconds = (Date.now() - t0) / 1000;
  const rec: StageRecord<T> = { stage: name, fingerprint, finishedAt: new Date().toISOString(), seconds, result };
  writeFileAtomic(doneFile, JSON.stringify(rec, null, 1) + '\n');
  events.onStageEnd?.(index, total, name, seconds, false);
  return result;
}
