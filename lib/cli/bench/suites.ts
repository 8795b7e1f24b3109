/**
 * suites.ts — the benchmarks `mamba-speech bench` runs: the scripts under bench/ (each prints its
 * table and writes JSON), grouped in suites. Each runs as a child process with BENCH_OUT_DIR set
 * to a fresh folder, so committed results under bench/results/ are never overwritten; its JSON
 * files are read back and their figures named `<bench>.<json path>`.
 *
 * Suites: kernels (foundation, matmul, selective_scan, attention), layers (conv, nn_layers),
 * train (autograd_overhead, trainer_overhead, mi). On a machine without a GPU the GPU-only ones
 * are skipped (listed) and the others run their CPU cases, with --quick where a script has it.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { packageRoot } from '../../native';
import { extractFigures, Figure } from './figures';

export const SUITES = ['kernels', 'layers', 'train'] as const;
export type SuiteName = (typeof SUITES)[number];

/** One benchmark script. */
export interface BenchSpec {
  name: string;
  suite: SuiteName;
  script: string;
  /** arguments for this device and mode */
  args(o: { cuda: boolean; quick: boolean }): string[];
  gpuOnly?: boolean;
  /** extra environment for this device and mode */
  env?(o: { cuda: boolean; quick: boolean }): NodeJS.ProcessEnv;
  /** leaves that are times without a unit in their name */
  lowerKeys?: string[];
}

export const BENCHES: BenchSpec[] = [
  { name: 'foundation', suite: 'kernels', script: 'foundation.js', args: () => [], lowerKeys: ['addDispose', 'tidyAddDispose'] },
  { name: 'matmul', suite: 'kernels', script: 'matmul.js', args: () => [] },
  { name: 'selective_scan', suite: 'kernels', script: 'selective_scan.js', args: ({ cuda, quick }) => [...(cuda ? [] : ['--cpu-only']), ...(quick ? ['--iters', '5'] : [])] },
  { name: 'attention', suite: 'kernels', script: 'attention.js', args: ({ quick }) => (quick ? ['--quick'] : []) },
  // B = 8 on a GPU; 2 on a CPU, where the HuBERT front end's 20-GFLOP convolutions at B = 8 take minutes
  { name: 'conv', suite: 'layers', script: 'conv.js', args: () => [], env: ({ cuda }) => (cuda ? {} : { MS_BENCH_BATCH: '2' }), lowerKeys: ['fwd', 'both'] },
  { name: 'nn_layers', suite: 'layers', script: 'nn_layers.js', args: () => [], gpuOnly: true },
  { name: 'autograd_overhead', suite: 'train', script: 'autograd_overhead.js', args: () => [], lowerKeys: ['noGradForward', 'forward', 'forwardBackward'] },
  { name: 'trainer_overhead', suite: 'train', script: 'trainer_overhead.js', args: ({ quick }) => (quick ? ['--quick'] : []) },
  { name: 'mi', suite: 'train', script: 'mi.js', args: ({ cuda, quick }) => (cuda && !quick ? [] : ['--steps', '50', '--repeats', '3']) },
];

/** What one benchmark run gave. */
export interface BenchRun {
  name: string;
  ok: boolean;
  seconds: number;
  /** the JSON files it wrote, by file name */
  results: Record<string, unknown>;
  figures: Record<string, Figure>;
  error?: string;
}

/** The folder holding bench/ (the package root). */
export function benchDir(): string {
  return path.join(packageRoot, 'bench');
}

/**
 * Runs one benchmark script (node, same flags) with its output in a temp folder; `onLine` gets
 * its stdout/stderr lines (the table) as they come. Never throws for a failing script: the run
 * is reported with ok false and the error's last lines.
 */
export function runBench(spec: BenchSpec, o: { cuda: boolean; quick: boolean; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void }): Promise<BenchRun> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), `ms-bench-${spec.name}-`));
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, path.join(benchDir(), spec.script), ...spec.args(o)], {
      cwd: packageRoot, env: { ...process.env, ...spec.env?.(o), ...o.env, BENCH_OUT_DIR: out }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    const lines = (buf: Buffer): void => {
      for (const l of buf.toString().split('\n')) {
        if (l === '') continue;
        tail.push(l);
        if (tail.length > 20) tail.shift();
        o.onLine?.(l);
      }
    };
    child.stdout.on('data', lines);
    child.stderr.on('data', lines);
    const finish = (code: number | null, err?: Error): void => {
      const results: Record<string, unknown> = {};
      let figures: Record<string, Figure> = {};
      try {
        for (const f of fs.readdirSync(out).filter((n) => n.endsWith('.json')).sort()) {
          const json = JSON.parse(fs.readFileSync(path.join(out, f), 'utf8')) as unknown;
          results[f] = json;
          figures = { ...figures, ...extractFigures(spec.name, json, spec.lowerKeys) };
        }
      } catch (e) {
        err ??= e as Error;
      }
      fs.rmSync(out, { recursive: true, force: true });
      const ok = code === 0 && !err && Object.keys(results).length > 0;
      resolve({
        name: spec.name, ok, seconds: (Date.now() - t0) / 1000, results, figures,
        ...(ok ? {} : { error: err ? err.message : code !== 0 ? `exit ${code}: ${tail.slice(-3).join(' | ')}` : 'it wrote no JSON' }),
      });
    };
    child.on('error', (e) => finish(null, e));
    child.on('exit', (code) => finish(code));
  });
}
