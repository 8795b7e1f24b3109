/**
 * `mamba-speech bench [--suite kernels|layers|train|all] [--only a,b] [--json out.json]
 * [--baseline base.json] [--threshold 5%] [--quick]`: runs the benchmark scripts (tables as they
 * print), collects every figure, writes them with --json, and with a baseline (a file an earlier
 * `bench --json` wrote) compares each figure present in both: exit 1 naming every figure that
 * regressed beyond the threshold. What a GPU CI runner calls (examples/gpu-bench.yml).
 */
import type { Command } from 'commander';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { buildInfo, cudaAvailable } from '../../tensor/device';
import { writeFileAtomic } from '../../train/atomic';
import { BENCHES, BenchRun, BenchSpec, runBench, SUITES } from '../bench/suites';
import { compareFigures, Figure } from '../bench/figures';
import type { CliContext } from '../context';
import { CliError, UsageError } from '../context';
import { fraction } from '../parse';

/** What `bench --json` writes (and `--baseline` reads). */
export interface BenchReport {
  format: 'mamba-speech/bench';
  version: 1;
  date: string;
  machine: { cpu: string; cores: number; gpus: string[]; node: string; version: string };
  suites: string[];
  runs: { name: string; ok: boolean; seconds: number; error?: string }[];
  skipped: { name: string; reason: string }[];
  figures: Record<string, Figure>;
  results: Record<string, Record<string, unknown>>;
}

function readBaseline(file: string): BenchReport {
  let j: BenchReport;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchReport;
  } catch (e) {
    throw new UsageError(`--baseline ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not JSON (${(e as Error).message})`}`);
  }
  if (!j || j.format !== 'mamba-speech/bench' || typeof j.figures !== 'object') {
    throw new UsageError(`--baseline ${file} is not a file written by \`mamba-speech bench --json\``, 'make one on the reference machine: mamba-speech bench --json base.json');
  }
  return j;
}

function pct(x: number): string {
  return `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`;
}

function fig(v: number): string {
  return Math.abs(v) >= 1000 || Math.abs(v) < 0.01 ? v.toExponential(3) : v.toFixed(3);
}

export function register(program: Command, ctx: CliContext): void {
  program.command('bench')
    .description('run the benchmarks; with --baseline, exit 1 when a figure regressed beyond --threshold')
    .option('--suite <name>', `${SUITES.join(' | ')} | all`, 'all')
    .option('--only <names>', `comma-separated benchmarks (${BENCHES.map((b) => b.name).join(', ')})`)
    .option('--json <file>', 'write every figure and raw result as JSON (a later --baseline)')
    .option('--baseline <file>', 'compare with a file written by bench --json')
    .option('--threshold <pct>', 'regression threshold, e.g. 5% or 0.05', fraction('--threshold'), 0.05)
    .option('--quick', 'shorter runs where a benchmark supports it (noisier figures)')
    .option('--list', 'list the benchmarks and exit')
    .action(async (o: { suite: string; only?: string; json?: string; baseline?: string; threshold: number; quick?: boolean; list?: boolean }) => {
      const cuda = cudaAvailable();
      if (o.list) {
        ctx.result(BENCHES.map((b) => ({ name: b.name, suite: b.suite, script: `bench/${b.script}`, gpuOnly: !!b.gpuOnly })),
          () => BENCHES.map((b) => `${b.suite.padEnd(8)} ${b.name.padEnd(18)} bench/${b.script}${b.gpuOnly ? ' (GPU only)' : ''}`));
        return;
      }
      if (o.suite !== 'all' && !(SUITES as readonly string[]).includes(o.suite)) throw new UsageError(`--suite must be one of ${SUITES.join(', ')}, all; got '${o.suite}'`);
      let chosen: BenchSpec[] = BENCHES.filter((b) => o.suite === 'all' || b.suite === o.suite);
      if (o.only) {
        const names = o.only.split(',').map((s) => s.trim()).filter(Boolean);
        const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
        if (unknown.length) throw new UsageError(`--only: unknown benchmark ${unknown.join(', ')}`, `known: ${BENCHES.map((b) => b.name).join(', ')}`);
        chosen = BENCHES.filter((b) => names.includes(b.name));
      }
      const baseline = o.baseline ? readBaseline(o.baseline) : null;
      const skipped = chosen.filter((b) => b.gpuOnly && !cuda).map((b) => ({ name: b.name, reason: 'needs a GPU' }));
      const runs: BenchRun[] = [];
      for (const spec of chosen.filter((b) => !(b.gpuOnly && !cuda))) {
        ctx.note(`== bench ${spec.name} (bench/${spec.script})`);
        const r = await runBench(spec, { cuda, quick: !!o.quick, onLine: (l) => ctx.note(l) });
        if (!r.ok) ctx.note(`bench ${spec.name} failed: ${r.error}`);
        runs.push(r);
      }
      for (const s of skipped) ctx.note(`skipped ${s.name}: ${s.reason}`);
      const info = buildInfo();
      const report: BenchReport = {
        format: 'mamba-speech/bench', version: 1, date: new Date().toISOString(),
        machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, gpus: info.gpus.map((g) => g.name), node: process.version, version: info.version },
        suites: o.suite === 'all' ? [...SUITES] : [o.suite],
        runs: runs.map((r) => ({ name: r.name, ok: r.ok, seconds: r.seconds, ...(r.error ? { error: r.error } : {}) })),
        skipped,
        figures: Object.assign({}, ...runs.map((r) => r.figures)),
        results: Object.fromEntries(runs.map((r) => [r.name, r.results])),
      };
      if (o.json) writeFileAtomic(path.resolve(o.json), JSON.stringify(report, null, 1) + '\n');
      const failed = runs.filter((r) => !r.ok);
      const cmp = baseline ? compareFigures(report.figures, baseline.figures, o.threshold) : null;
      const summary = {
        figures: Object.keys(report.figures).length, runs: report.runs, skipped, json: o.json ? path.resolve(o.json) : null,
        ...(cmp ? { baseline: path.resolve(o.baseline!), threshold: o.threshold, compared: cmp.compared.length, regressions: cmp.regressions, missing: cmp.missing } : {}),
      };
      ctx.result(summary, () => {
        const lines = [`bench: ${runs.length - failed.length}/${runs.length} benchmarks ran, ${summary.figures} figures${o.json ? `, written to ${summary.json}` : ''}`];
        if (cmp) {
          lines.push(`compared ${cmp.compared.length} figures with ${o.baseline} (threshold ${(100 * o.threshold).toFixed(1)}%)`);
          for (const c of [...cmp.compared].sort((a, b) => b.worse - a.worse).slice(0, ctx.modes.verbose ? Infinity : 10)) {
            lines.push(`  ${c.regressed ? 'REGRESSED' : 'ok       '} ${c.name}: ${fig(c.baseline)} -> ${fig(c.current)} (${pct(c.worse)} worse, ${c.better} is better)`);
          }
          if (cmp.missing.length) lines.push(`  not measured now: ${cmp.missing.length} baseline figures (${cmp.missing.slice(0, 5).join(', ')}${cmp.missing.length > 5 ? ', ...' : ''})`);
        }
        return lines;
      });
      if (failed.length) throw new CliError(`bench: ${failed.map((r) => `${r.name} failed (${r.error})`).join('; ')}`, 1);
      if (cmp && cmp.regressions.length) {
        const names = cmp.regressions.map((c) => `${c.name} ${fig(c.baseline)} -> ${fig(c.current)} (${pct(c.worse)} worse)`);
        throw new CliError(`bench: ${cmp.regressions.length} figure${cmp.regressions.length > 1 ? 's' : ''} regressed beyond ${(100 * o.threshold).toFixed(1)}%: ${names.join('; ')}`, 1,
          'rerun to rule out noise (or raise --threshold); if real, find the change with git bisect');
      }
      if (cmp && cmp.compared.length === 0) throw new CliError(`bench: no figure of ${o.baseline} was measured in this run`, 1, 'run the same --suite / --only as the baseline');
    });
}
