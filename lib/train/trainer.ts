/**
 * trainer.ts — the training loop: steps or epochs, gradient accumulation, clipping, bf16
 * autocast on CUDA, evaluation, early stopping, atomic checkpoints (`last` + best k), exact
 * resume, signal handling and logs.
 *
 * One step (see options.ts for the words):
 *   for each of `accumulate` micro-batches:  tidy { loss = model.loss(batch) (under autocast);
 *                                                   (loss / accumulate).backward() }
 *   total grad norm (clipped to clipGradNorm when set) -> optimizer.step() -> zeroGrad()
 *   -> scheduler.step()
 * A step whose loss or gradient norm is NaN/±Inf is skipped (grads dropped, no update, the
 * scheduler does not advance) and counted; `maxNonFiniteSteps` of them in a row stop the run
 * with an error. Skipped steps count toward maxSteps.
 *
 * Exact resume: a checkpoint holds the weights, the optimizer and scheduler state, the trainer's
 * counters, the tensor RNG (Philox seed, offset) and the data position (epoch, batch index);
 * every random draw the loop makes goes through that RNG and the batches come from the
 * deterministic BatchSource, so on the CPU a resumed run computes the same bits as one that
 * never stopped (tested by SIGKILLing a child run at random steps).
 */
import * as fs from 'fs';
import * as path from 'path';

import { autocast } from '../autograd/autocast';
import { mul } from '../ops/elementwise';
import { clipGradNormAndRead } from '../optim/clip';
import { LRScheduler } from '../optim/schedule';
import { getRngState, setRngState } from '../tensor/creation';
import { memory } from '../tensor/memory';
import { tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { CheckpointMeta, LogWindow, TrainerState, readCheckpointMeta, restoreCheckpoint, saveCheckpoint } from './checkpoint';
import { DataCursor } from './cursor';
import { RunLogger, StepRecord } from './logger';
import { defaultMode, FitResult, StepInfo, TrainerOptions } from './options';
import { Resolved, resolveOptions } from './resolve';

/** Thrown when training cannot go on (non-finite losses, a broken data source); the message
 *  says why and what to try. */
export class TrainingError extends Error {
  constructor(message: string, readonly step: number) {
    super(message);
    this.name = 'TrainingError';
  }
}

const YIELD_MS = 20;
/** `last` is saved this often (steps) when there is no dev set and checkpoint.every is not set. */
const DEFAULT_SAVE_EVERY = 1000; // let signals, timers and progress redraws run at least this often

/** Runs training with `opts` (see TrainerOptions). Call `fit()` once; `requestStop()` from a
 *  callback or elsewhere ends it after the current step, saving `last`. */
export class Trainer<B> {
  readonly o: Resolved<B>;
  readonly scheduler: LRScheduler | null;
  readonly logger: RunLogger | null;
  private state: TrainerState;
  private stopRequested: 'requested' | 'signal' | null = null;
  private signal: NodeJS.Signals | null = null;
  private lastMetrics: Record<string, number> | null = null;
  private running = false;

  constructor(opts: TrainerOptions<B>) {
    this.o = resolveOptions(opts);
    const s = opts.schedule;
    this.scheduler = s instanceof LRScheduler ? s : typeof s === 'function' ? new LRScheduler(this.o.optimizer, s) : null;
    this.logger = this.o.outDir ? new RunLogger(this.o.outDir) : null;
    this.state = {
      step: 0, epoch: 0, batchIndex: 0, skippedSteps: 0, nonFiniteInARow: 0,
      bestValue: null, bestStep: null, evalsWithoutImprovement: 0, lastEvalStep: null, best: [], elapsedSeconds: 0, window: newWindow(),
    };
  }

  /** The checkpoint folder (`<outDir>/checkpoints`), or null without an outDir. */
  get checkpointDir(): string | null {
    return this.o.outDir ? path.join(this.o.outDir, 'checkpoints') : null;
  }

  /** Ends the run after the current step (`last` is saved when there is an outDir). */
  requestStop(): void {
    this.stopRequested ??= 'requested';
  }

  /** A copy of the trainer's counters (step, epoch, batch index, best-k, ...). */
  get trainerState(): TrainerState {
    return JSON.parse(JSON.stringify(this.state)) as TrainerState;
  }

  private resumeFile(): string | null {
    const r = this.o.resume;
    if (r === false) return null;
    if (typeof r === 'string') {
      if (!fs.existsSync(r)) throw new Error(`[Trainer] resume: checkpoint ${r} does not exist`);
      return r;
    }
    const last = this.checkpointDir ? path.join(this.checkpointDir, 'last.safetensors') : null;
    return last && fs.existsSync(last) ? last : null;
  }

  private restore(file: string): CheckpointMeta {
    const meta = restoreCheckpoint(file, { model: this.o.model, optimizer: this.o.optimizer, scheduler: this.scheduler });
    this.state = JSON.parse(JSON.stringify(meta.trainer)) as TrainerState;
    this.lastMetrics = meta.metrics;
    setRngState(meta.rng);
    // Records and best checkpoints made after this checkpoint are redone by the resumed run.
    this.logger?.truncateAfter(this.state.step);
    const dir = this.checkpointDir;
    if (dir && fs.existsSync(dir)) {
      const kept = new Set(this.state.best.map((b) => b.file));
      for (const n of fs.readdirSync(dir)) if (/^best-step\d+\.safetensors$/.test(n) && !kept.has(n)) fs.rmSync(path.join(dir, n), { force: true });
    }
    return meta;
  }

  private totalSteps(): number | null {
    const { maxSteps, maxEpochs, accumulate, train } = this.o;
    let byEpochs: number | null = null;
    if (Number.isFinite(maxEpochs) && typeof train.size === 'function') {
      let n = 0;
      for (let e = 0; e < maxEpochs; ++e) n += train.size(e);
      byEpochs = Math.ceil(n / accumulate);
    }
    if (Number.isFinite(maxSteps)) return byEpochs === null ? maxSteps : Math.min(maxSteps, byEpochs);
    return byEpochs;
  }

  private useAutocast(): boolean {
    const a = this.o.autocast;
    if (a === 'none') return false;
    if (a === 'bfloat16') return true;
    const p = this.o.params[0];
    return p !== undefined && p.device === 'cuda';
  }

  /** Runs training to the end (maxSteps, maxEpochs, early stopping, a signal or requestStop). */
  async fit(): Promise<FitResult> {
    if (this.running) throw new Error('[Trainer] fit() is already running');
    this.running = true;
    const off = this.o.handleSignals ? this.installSignals() : () => undefined;
    try {
      return await this.loop();
    } finally {
      off();
      this.running = false;
    }
  }

  private installSignals(): () => void {
    const handler = (sig: NodeJS.Signals): void => {
      if (this.stopRequested === 'signal') {
        // A second signal while finishing the step: give up waiting.
        process.exit(sig === 'SIGINT' ? 130 : 143);
      }
      this.stopRequested = 'signal';
      this.signal = sig;
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  }

  private async loop(): Promise<FitResult> {
    const o = this.o;
    const cb = o.callbacks;
    const file = this.resumeFile();
    const resumed = file ? this.restore(file) : null;
    if (!resumed) this.logger?.reset();
    const cursor = new DataCursor(o.train, this.state.epoch, this.state.batchIndex, o.maxEpochs);
    const totalSteps = this.totalSteps();
    const useAc = this.useAutocast();
    const t0 = process.hrtime.bigint();
    const elapsed = (): number => this.state.elapsedSeconds + Number(process.hrtime.bigint() - t0) / 1e9;
    // The log window carries over a resume, so each record averages the same steps either way.
    const win = this.state.window;
    let lastYield = Date.now();
    let lastLoss: number | null = null;
    let stopReason: FitResult['stopReason'] | null = null;
    o.model.train();
    await cb.onStart?.({ step: this.state.step, epoch: this.state.epoch, totalSteps, resumedFrom: file, numParameters: o.model.numParameters() });

    try {
      while (stopReason === null) {
        if (this.earlyStop()) {
          stopReason = 'earlyStopping';
          break;
        }
        if (this.state.step >= o.maxSteps) {
          stopReason = 'maxSteps';
          break;
        }
        const stepStart = process.hrtime.bigint();
        const r = await this.step(cursor, useAc);
        if (r === null) {
          stopReason = 'maxEpochs';
          break;
        }
        this.state.step += 1;
        this.state.epoch = cursor.epoch;
        this.state.batchIndex = cursor.index;
        const epochEnded = await cursor.epochEnded();
        this.state.epoch = cursor.epoch;
        this.state.batchIndex = cursor.index;
        win.seconds += Number(process.hrtime.bigint() - stepStart) / 1e9;
        win.steps += 1;
        if (!r.skipped) {
          win.applied += 1;
          win.loss += r.loss;
          win.gradNorm = r.gradNorm;
          for (const [k, v] of Object.entries(r.metrics)) win.metrics[k] = (win.metrics[k] ?? 0) + v;
        }
        const info: StepInfo = {
          step: this.state.step, epoch: this.state.epoch, loss: r.loss, metrics: r.metrics, lr: o.optimizer.paramGroups[0].lr,
          gradNorm: r.gradNorm, skipped: r.skipped, totalSteps, stepsPerSec: win.seconds > 0 ? win.steps / win.seconds : 0,
        };
        await cb.onStep?.(info);
        if (this.state.step % o.logEvery === 0 || this.state.step >= o.maxSteps) {
          const rec = this.logRecord(win);
          lastLoss = rec.loss ?? lastLoss;
          this.logger?.append(rec);
          await cb.onLog?.(rec);
          Object.assign(win, newWindow());
        }
        const evalDue = o.dev !== null && (o.evalEvery === 'epoch' ? epochEnded : this.state.step % o.evalEvery === 0);
        if (evalDue) await this.evaluate();
        const every = o.checkpoint.every;
        const saveDue = every === null ? (o.dev !== null ? evalDue : this.state.step % DEFAULT_SAVE_EVERY === 0) : every > 0 && this.state.step % every === 0;
        if (this.stopRequested === null && this.earlyStop()) stopReason = 'earlyStopping';
        if (this.stopRequested !== null) stopReason = this.stopRequested;
        if (saveDue && stopReason === null) await this.saveLast(elapsed());
        if (Date.now() - lastYield >= YIELD_MS) {
          await new Promise<void>((res) => setImmediate(res));
          lastYield = Date.now();
          if (this.stopRequested !== null && stopReason === null) stopReason = this.stopRequested;
        }
      }
      // A run that finished logs its last partial window; a stopped one keeps it in the
      // checkpoint, so the resumed run's next record covers the same steps as an unbroken run's.
      if (win.steps > 0 && stopReason !== 'signal' && stopReason !== 'requested') {
        const rec = this.logRecord(win);
        lastLoss = rec.loss ?? lastLoss;
        this.logger?.append(rec);
        await cb.onLog?.(rec);
        Object.assign(win, newWindow());
      }
      const natural = stopReason === 'maxSteps' || stopReason === 'maxEpochs';
      if (natural && o.dev !== null && o.evalAtEnd && this.state.lastEvalStep !== this.state.step && this.state.step > 0) await this.evaluate();
      await this.saveLast(elapsed());
    } finally {
      cursor.close();
    }
    if (this.logger) this.logger.finish({ plot: o.plot });
    const dir = this.checkpointDir;
    return {
      step: this.state.step,
      epoch: this.state.epoch,
      stopReason: stopReason!,
      signal: this.signal,
      lastLoss,
      metrics: this.lastMetrics,
      best: this.state.bestValue === null ? null : { metric: o.monitor!, value: this.state.bestValue, step: this.state.bestStep! },
      skippedSteps: this.state.skippedSteps,
      elapsedSeconds: elapsed(),
      checkpoints: {
        last: dir ? path.join(dir, 'last.safetensors') : null,
        best: dir ? this.state.best.map((b) => path.join(dir, b.file)) : [],
      },
      resumedFrom: resumed,
    };
  }

  /** One optimizer step over `accumulate` micro-batches; null when the data ran out first. */
  private async step(cursor: DataCursor<B>, useAc: boolean): Promise<{ loss: number; metrics: Record<string, number>; gradNorm: number | null; skipped: boolean } | null> {
    const o = this.o;
    let micro = 0;
    const metrics: Record<string, number> = {};
    // The loss values are read only with the gradient norm, in the same transfer: on CUDA each
    // read waits for the device, and one wait per step instead of one per micro-batch plus the
    // norm's keeps the host queueing work while the GPU runs (a NaN/Inf loss gives non-finite
    // grads or is caught below either way; its backward is wasted work, no more).
    const losses: { loss: Tensor; metrics: Record<string, number>; count: number }[] = [];
    try {
      for (let m = 0; m < o.accumulate; ++m) {
        const batch = await cursor.next();
        if (batch === null) break;
        micro += 1;
        losses.push(tidy(() => {
          const out = autocast('bfloat16', () => o.model.loss(batch), { enabled: useAc });
          checkLossOutput(out);
          const scaled = o.accumulate > 1 ? mul(out.loss, 1 / o.accumulate) : out.loss;
          scaled.backward();
          return { loss: out.loss.detach(), metrics: out.metrics, count: out.count };
        }));
      }
      if (micro === 0) return null;
      // the norm and the losses come back in one transfer (one wait for the device per step)
      const { total: gradNorm, values } = clipGradNormAndRead(o.params, o.clipGradNorm ?? Infinity, losses.map((v) => v.loss));
      // a non-finite loss is what the log and the error name (its grads are dropped either way)
      const badLoss = values.find((x) => !Number.isFinite(x));
      if (badLoss !== undefined) return this.finishStep(true, badLoss, micro, metrics, null);
      let lossSum = 0;
      let count = 0;
      losses.forEach((v, i) => {
        lossSum += values[i];
        const w = v.count > 0 ? v.count : 1;
        count += w;
        for (const [k, x] of Object.entries(v.metrics)) metrics[k] = (metrics[k] ?? 0) + x * w;
      });
      for (const k of Object.keys(metrics)) metrics[k] /= count;
      return this.finishStep(!Number.isFinite(gradNorm), lossSum, micro, metrics, gradNorm);
    } finally {
      for (const v of losses) v.loss.dispose();
    }
  }

  /** Applies (or skips, counting it) the update of a step whose grads are accumulated. */
  private finishStep(bad: boolean, lossSum: number, micro: number, metrics: Record<string, number>, gradNorm: number | null): { loss: number; metrics: Record<string, number>; gradNorm: number | null; skipped: boolean } {
    const o = this.o;
    if (bad) {
      o.optimizer.zeroGrad();
      this.state.skippedSteps += 1;
      this.state.nonFiniteInARow += 1;
      if (this.state.nonFiniteInARow >= o.maxNonFiniteSteps) {
        const n = this.state.nonFiniteInARow;
        const what = Number.isFinite(lossSum) ? `the gradient norm was ${gradNorm}` : `the loss was ${lossSum}`;
        throw new TrainingError(`[Trainer] ${n} steps in a row had a non-finite loss or gradient (steps ${this.state.step - n + 2}-${this.state.step + 1}; last: ${what}); ` +
          'lower the learning rate, set trainer.clipGradNorm, or check the data for empty or corrupt items', this.state.step + 1);
      }
      return { loss: lossSum, metrics, gradNorm, skipped: true };
    }
    o.optimizer.step();
    o.optimizer.zeroGrad();
    this.scheduler?.step();
    this.state.nonFiniteInARow = 0;
    return { loss: lossSum / micro, metrics, gradNorm, skipped: false };
  }

  private logRecord(win: LogWindow): StepRecord {
    const mem = memory();
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(win.metrics)) metrics[k] = v / Math.max(win.applied, 1);
    return {
      type: 'train',
      step: this.state.step,
      epoch: this.state.epoch,
      loss: win.applied > 0 ? win.loss / win.applied : null,
      metrics,
      lr: this.o.optimizer.paramGroups[0].lr,
      gradNorm: win.gradNorm,
      stepsPerSec: win.seconds > 0 ? win.steps / win.seconds : 0,
      skipped: this.state.skippedSteps,
      memory: { tensors: mem.tensors, cpu: mem.bytes.cpu, cuda: mem.bytes.cuda },
      time: new Date().toISOString(),
    };
  }

  /** Evaluates on dev, logs it, updates best/early-stopping state, saves a best checkpoint. */
  private async evaluate(): Promise<void> {
    const o = this.o;
    const metrics = await o.model.evaluate(o.dev!.epoch(0));
    o.model.train();
    this.lastMetrics = { ...metrics };
    this.state.lastEvalStep = this.state.step;
    let best = false;
    const mon = o.monitor;
    if (mon !== null) {
      const v = metrics[mon];
      if (typeof v !== 'number') {
        throw new TrainingError(`[Trainer] the monitored metric '${mon}' is not among the evaluation's metrics (${Object.keys(metrics).join(', ')}); set monitor to one of them`, this.state.step);
      }
      const s = this.state;
      const better = Number.isFinite(v) && (s.bestValue === null || (o.monitorMode === 'min' ? v < s.bestValue - o.minDelta : v > s.bestValue + o.minDelta));
      if (better) {
        s.bestValue = v;
        s.bestStep = s.step;
        s.evalsWithoutImprovement = 0;
        best = true;
      } else {
        s.evalsWithoutImprovement += 1;
      }
      if (Number.isFinite(v)) await this.saveBest(v);
    }
    this.logger?.append({ type: 'eval', step: this.state.step, epoch: this.state.epoch, metrics, best, time: new Date().toISOString() });
    await o.callbacks.onEval?.({ step: this.state.step, epoch: this.state.epoch, metrics, best });
  }

  private earlyStop(): boolean {
    const es = this.o.earlyStopping;
    return es !== null && this.state.evalsWithoutImprovement >= es.patience;
  }

  private write(file: string, kind: 'last' | 'best', elapsedSeconds: number): void {
    saveCheckpoint(file, {
      model: this.o.model, optimizer: this.o.optimizer, scheduler: this.scheduler, kind,
      trainer: { ...JSON.parse(JSON.stringify(this.state)) as TrainerState, elapsedSeconds },
      rng: getRngState(), config: this.o.config, metrics: this.lastMetrics,
    });
  }

  private async saveLast(elapsedSeconds: number): Promise<void> {
    const dir = this.checkpointDir;
    if (!dir) return;
    const file = path.join(dir, 'last.safetensors');
    this.write(file, 'last', elapsedSeconds);
    await this.o.callbacks.onCheckpoint?.({ step: this.state.step, kind: 'last', path: file });
  }

  /** Keeps the k best evaluations' checkpoints: writes this one if it ranks, drops the (k+1)-th. */
  private async saveBest(value: number): Promise<void> {
    const dir = this.checkpointDir;
    const k = this.o.checkpoint.keepBest;
    if (!dir || k === 0) return;
    const sign = this.o.monitorMode === 'min' ? 1 : -1;
    const list = [...this.state.best, { file: `best-step${String(this.state.step).padStart(8, '0')}.safetensors`, step: this.state.step, value }]
      .sort((a, b) => sign * (a.value - b.value) || a.step - b.step);
    const keep = list.slice(0, k);
    const entry = keep.find((b) => b.step === this.state.step);
    const dropped = list.slice(k);
    this.state.best = keep;
    if (entry) {
      const file = path.join(dir, entry.file);
      this.write(file, 'best', this.state.elapsedSeconds);
      await this.o.callbacks.onCheckpoint?.({ step: this.state.step, kind: 'best', path: file });
    }
    // Rotation after the new file is in place: a crash between leaves k + 1 files, never k - 1.
    for (const d of dropped) if (d.step !== this.state.step) fs.rmSync(path.join(dir, d.file), { force: true });
  }
}

function newWindow(): LogWindow {
  return { steps: 0, applied: 0, loss: 0, seconds: 0, gradNorm: null, metrics: {} };
}

function checkLossOutput(out: unknown): void {
  const o = out as { loss?: unknown; metrics?: unknown };
  if (!o || typeof o !== 'object' || !(o.loss instanceof Tensor)) {
    throw new Error('[Trainer] model.loss(batch) must return { loss: Tensor, metrics, count }');
  }
  if (o.loss.size !== 1) throw new Error(`[Trainer] model.loss(batch).loss must be a scalar, got shape (${o.loss.shape.join(', ')})`);
}

/** Trains with `opts` (see TrainerOptions): `new Trainer(opts).fit()`. */
export function fit<B>(opts: TrainerOptions<B>): Promise<FitResult> {
  return new Trainer(opts).fit();
}

/** The monitored metric's mode when not given (re-exported for configs). */
export { defaultMode };
/** Metadata of a checkpoint without loading its tensors (re-exported for the CLI). */
export { readCheckpointMeta };
