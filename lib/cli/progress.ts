/**
 * progress.ts — training progress for people: a bar with ETA, loss and steps/s on a terminal
 * (cli-progress, redrawn at most 10 times a second), plain lines otherwise (CI logs), one per
 * trainer log record and one per evaluation. Nothing under --quiet or --json.
 *
 *   TTY:   train [########----------------] 41% | step 410/1000 | loss 1.234 | 12.3 steps/s | ETA 48s
 *   plain: step 410/1000 epoch 2 loss 1.2340 lr 1.00e-3 grad 0.87 12.3 steps/s ETA 48s
 */
import { SingleBar } from 'cli-progress';

import type { EvalInfo, StartInfo, StepInfo, TrainerCallbacks } from '../train/options';
import type { StepRecord } from '../train/logger';
import type { CliContext } from './context';

/** Seconds as 1h02m, 3m05s or 48s. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.round(s % 60);
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

function num(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined) return '-';
  if (!Number.isFinite(x) || Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(2) : x.toFixed(digits);
}

function metricsLine(m: Record<string, number>): string {
  return Object.entries(m).map(([k, v]) => `${k} ${num(v)}`).join(' ');
}

/** Trainer callbacks that show progress on `ctx` (bar on a TTY, lines otherwise). */
export class TrainProgress {
  private bar: SingleBar | null = null;
  private total: number | null = null;
  private startStep = 0;
  private t0 = Date.now();
  private lastLoss = NaN;

  constructor(private readonly ctx: CliContext) {}

  private eta(step: number): string {
    if (this.total === null || step <= this.startStep) return '?';
    const rate = (step - this.startStep) / ((Date.now() - this.t0) / 1000);
    return formatDuration((this.total - step) / rate);
  }

  /** The callbacks to give the Trainer. */
  callbacks(): TrainerCallbacks {
    return {
      onStart: (s) => this.start(s),
      onStep: (s) => this.step(s),
      onLog: (r) => this.log(r),
      onEval: (e) => this.evaluated(e),
    };
  }

  private start(s: StartInfo): void {
    this.total = s.totalSteps;
    this.startStep = s.step;
    this.t0 = Date.now();
    this.ctx.note(`${s.resumedFrom ? `resuming from step ${s.step} (${s.resumedFrom})` : 'training'}: ${s.numParameters.toLocaleString('en-US')} parameters, ${this.total ?? '?'} steps`);
    if (this.ctx.interactive) {
      this.bar = new SingleBar({
        format: 'train [{bar}] {percentage}% | step {value}/{total} | loss {loss} | {sps} steps/s | ETA {etaText}',
        barCompleteChar: '#', barIncompleteChar: '-', hideCursor: true, clearOnComplete: false, stopOnComplete: false,
        fps: 10, stream: this.ctx.stderr as NodeJS.WritableStream, noTTYOutput: false, etaBuffer: 50,
      });
      this.bar.start(this.total ?? 0, s.step, { loss: '-', sps: '-', etaText: '?' });
    }
  }

  private step(s: StepInfo): void {
    if (!s.skipped) this.lastLoss = s.loss;
    if (this.bar) this.bar.update(s.step, { loss: num(this.lastLoss, 3), sps: num(s.stepsPerSec, 1), etaText: this.eta(s.step) });
  }

  private log(r: StepRecord): void {
    if (this.bar) return;
    const total = this.total === null ? '' : `/${this.total}`;
    this.ctx.note(`step ${r.step}${total} epoch ${r.epoch} loss ${num(r.loss)} lr ${num(r.lr)} grad ${num(r.gradNorm, 3)} ${num(r.stepsPerSec, 1)} steps/s ETA ${this.eta(r.step)}` +
      (r.skipped ? ` skipped ${r.skipped}` : ''));
  }

  private evaluated(e: EvalInfo): void {
    const line = `eval step ${e.step}: ${metricsLine(e.metrics)}${e.best ? ' (best)' : ''}`;
    if (this.bar) {
      // Print above the bar: clear the line, write, let the bar redraw below.
      this.ctx.stderr.write(`\r\x1b[2K${line}\n`);
      this.bar.render();
    } else {
      this.ctx.note(line);
    }
  }

  /** Stops the bar (leaves it on screen at its last state). */
  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
