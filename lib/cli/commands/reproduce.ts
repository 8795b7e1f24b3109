/**
 * `mamba-speech reproduce`: the main job (lib/reproduce) with one progress display for the whole
 * run — stage k of n with elapsed time and an ETA from the preset's budget, a bar per model on a
 * terminal (plain periodic lines otherwise) — and a closing summary with the report's path.
 * Ctrl-C stops after the current training step and prints how to resume (exit 130; SIGTERM 143).
 */
import type { Command } from 'commander';
import { MultiBar, Presets, SingleBar } from 'cli-progress';

import { reproduce, ReproduceEvent, ReproduceInterrupted, ReproduceOptions, PRESETS } from '../../reproduce';
import type { PresetName } from '../../reproduce';
import type { Device } from '../../tensor/types';
import { CliContext, UsageError } from '../context';
import { formatDuration } from '../progress';

interface Flags {
  preset: string;
  out?: string;
  dataRoot?: string;
  seeds?: string;
  device?: string;
  resume?: boolean;
  dryRun?: boolean;
}

/** Draws ReproduceEvents on `ctx`: bars on a terminal, lines otherwise. */
export class ReproduceProgress {
  private readonly t0 = Date.now();
  private multi: MultiBar | null = null;
  private bar: SingleBar | null = null;
  private stage = '';
  private modelsDone = 0;
  private models = 0;
  private lastLine = 0;
  private budgetMin = 0;

  constructor(private readonly ctx: CliContext) {}

  private elapsed(): string {
    return formatDuration((Date.now() - this.t0) / 1000);
  }

  private eta(): string {
    if (this.models === 0 || this.modelsDone === 0) return this.budgetMin ? `~${this.budgetMin} min budget` : '?';
    const per = (Date.now() - this.t0) / 1000 / this.modelsDone;
    return formatDuration(per * (this.models - this.modelsDone));
  }

  private stopBars(): void {
    this.multi?.stop();
    this.multi = null;
    this.bar = null;
  }

  handle(e: ReproduceEvent): void {
    const c = this.ctx;
    switch (e.kind) {
      case 'plan': {
        this.models = e.models;
        this.budgetMin = e.preset.budget.minutes;
        c.note(`mamba-speech reproduce: preset ${e.preset.name} — ${e.preset.description}`);
        c.note(`  run folder ${e.out}, device ${e.device}, ${e.preset.seeds} seed(s), ${e.models} models to train`);
        for (const [task, counts] of Object.entries(e.parameters)) {
          c.note(`  ${task} encoders (parameters): ${Object.entries(counts).map(([k, n]) => `${k} ${(n / 1e6).toFixed(2)} M`).join(', ')}`);
        }
        break;
      }
      case 'stage':
        if (!e.done) {
          this.stopBars();
          this.stage = e.name;
          c.note(`[${e.index}/${e.total}] ${e.name}${e.cached ? ' (finished earlier: reused)' : ''}  elapsed ${this.elapsed()}`);
        } else if (!e.cached) {
          this.stopBars();
          c.note(`[${e.index}/${e.total}] ${e.name} done in ${formatDuration(e.seconds ?? 0)}`);
        }
        break;
      case 'model':
        this.modelsDone = e.done;
        this.stopBars();
        if (e.cached) {
          c.note(`  ${e.name} (${e.done + 1}/${e.total}) finished earlier: reused`);
        } else if (c.interactive) {
          this.multi = new MultiBar({ format: `  {model} [{bar}] {percentage}% | step {value}/{total} | loss {loss} | run ETA {eta}`, hideCursor: true, clearOnComplete: false, stream: c.stderr as NodeJS.WriteStream, fps: 5 }, Presets.legacy);
          this.bar = this.multi.create(1, 0, { model: e.name, loss: '-', eta: this.eta() });
        } else {
          c.note(`  training ${e.name} (${e.done + 1}/${e.total}), run ETA ${this.eta()}`);
        }
        break;
      case 'step':
        if (this.bar) {
          this.bar.setTotal(e.total);
          this.bar.update(e.step, { loss: Number.isFinite(e.loss) ? e.loss.toFixed(3) : String(e.loss), eta: this.eta() });
        } else if (Date.now() - this.lastLine > 10000 || e.step === e.total) {
          this.lastLine = Date.now();
          c.note(`    ${e.model} step ${e.step}/${e.total} loss ${Number.isFinite(e.loss) ? e.loss.toFixed(3) : e.loss} (elapsed ${this.elapsed()})`);
        }
        break;
      case 'progress':
        if (Date.now() - this.lastLine > 5000 || e.done === 0) {
          this.lastLine = Date.now();
          c.note(`  ${this.stage}: ${e.what} ${e.done}/${e.total} (elapsed ${this.elapsed()})`);
        }
        break;
      case 'note':
        c.note(`  ${e.message}`);
        break;
    }
  }

  finish(): void {
    this.stopBars();
  }
}

export function register(program: Command, ctx: CliContext): void {
  program.command('reproduce')
    .description("the paper's comparison end to end: corpus, reconstruction and CTC models, layer-wise MI, report with a verdict")
    .option('--preset <name>', `${PRESETS.join(' | ')} (tiny: ≤ 10 min on a 2-core CPU, no data needed)`, 'tiny')
    .option('--out <dir>', 'run folder (default runs/<preset>)')
    .option('--data-root <dir>', 'LibriSpeech / VoiceBank-DEMAND root (preset paper)')
    .option('--seeds <n>', 'number of seeds (default: the preset\'s)')
    .option('--device <device>', 'cpu | cuda (default: cuda when available)')
    .option('--resume', 'continue the run in --out (a rerun continues anyway; this also requires it to exist)')
    .option('--dry-run', 'validate data and config, run 10 steps of every stage in <out>-dry-run')
    .action(async (f: Flags) => {
      if (!PRESETS.includes(f.preset as PresetName)) throw new UsageError(`--preset must be one of ${PRESETS.join(', ')}, got '${f.preset}'`);
      if (f.device !== undefined && f.device !== 'cpu' && f.device !== 'cuda') throw new UsageError(`--device must be cpu or cuda, got '${f.device}'`);
      let seeds: number | undefined;
      if (f.seeds !== undefined) {
        seeds = Number(f.seeds);
        if (!Number.isInteger(seeds) || seeds < 1) throw new UsageError(`--seeds must be a positive integer, got '${f.seeds}'`);
      }
      const progress = new ReproduceProgress(ctx);
      const opts: ReproduceOptions = {
        preset: f.preset as PresetName, out: f.out, dataRoot: f.dataRoot ?? null, seeds, device: f.device as Device | undefined,
        resume: !!f.resume, dryRun: !!f.dryRun, onEvent: (e) => progress.handle(e),
      };
      try {
        const r = await reproduce(opts);
        progress.finish();
        ctx.result({ out: r.out, report: r.report, verdict: r.verdict, seconds: r.seconds }, () => [
          '',
          `Done in ${formatDuration(r.seconds)}. Verdict:`,
          ...r.verdict.map((v) => `  ${v.id} ${v.decision.padEnd(13)} ${v.comparison}`),
          '',
          `Report: ${r.report.md}`,
          `Plots:  ${Object.values(r.report.plots).map((p) => p.png).join(', ')}`,
        ]);
      } catch (e) {
        progress.finish();
        if (e instanceof ReproduceInterrupted) {
          ctx.stderr.write(`${e.message}\n`);
          ctx.exitCode = e.signal === 'SIGTERM' ? 143 : 130;
          return;
        }
        throw e;
      }
    });
}
