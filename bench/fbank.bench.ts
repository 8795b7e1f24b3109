/**
 * fbank throughput on the CPU: median time per call for 0.5 s to 60 s of 16 kHz audio, as a
 * multiple of real time on one core (the DSP is single-threaded JavaScript, so the figure is per
 * core). Target: >= 200x real time, i.e. 1 s of audio in <= 5 ms. kaldiFbank and mfcc are timed
 * alongside for reference.
 *
 *   node bench/ts-run.js bench/fbank.bench.ts
 *
 * Prints one table and writes bench/results/fbank-cpu.json.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { kaldiFbank } from '../lib/audio/kaldi';
import { fbank } from '../lib/audio/mel';
import { mfcc } from '../lib/audio/mfcc';

const SR = 16000;
const TARGET = 200; // x real time per core
const SECONDS = [0.5, 1, 10, 60];

interface Row {
  op: string;
  seconds: number;
  samples: number;
  frames: number;
  medianMs: number;
  realTime: number;
  target: number | null;
  pass: boolean | null;
}

function signal(n: number): Float32Array {
  // Deterministic noise plus a tone: content does not change the cost, but keeps logs finite.
  const x = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    x[i] = 0.1 * Math.sin((2 * Math.PI * 440 * i) / SR) + (s / 4294967296 - 0.5) * 0.05;
  }
  return x;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function time(fn: () => { numFrames: number }, seconds: number): { ms: number; frames: number } {
  let frames = 0;
  for (let i = 0; i < 3; i++) frames = fn().numFrames; // warm-up: JIT, plan and filterbank caches
  const reps = Math.max(5, Math.min(200, Math.round(20 / seconds)));
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { ms: median(t), frames };
}

const rows: Row[] = [];
const ops: Array<[string, (x: Float32Array) => { numFrames: number }, boolean]> = [
  ['fbank (80 mels, nFft 400, hop 160)', (x) => fbank(x), true],
  ['kaldiFbank (23 bins, nFft 512)', (x) => kaldiFbank(x), false],
  ['mfcc (40 of 80 mels)', (x) => mfcc(x), false],
];
for (const [name, fn, gated] of ops) {
  for (const seconds of SECONDS) {
    const x = signal(Math.round(seconds * SR));
    const { ms, frames } = time(() => fn(x), seconds);
    const realTime = (seconds * 1000) / ms;
    rows.push({ op: name, seconds, samples: x.length, frames, medianMs: ms, realTime, target: gated ? TARGET : null, pass: gated ? realTime >= TARGET : null });
  }
}

const cpu = os.cpus()[0]?.model ?? 'unknown';
const machine = { cpu, cores: os.cpus().length, platform: `${os.type()} ${os.release()} ${os.arch()}`, node: process.version };
const pad = (s: string, n: number): string => s.padEnd(n);
const lpad = (s: string, n: number): string => s.padStart(n);
console.log(`fbank CPU throughput — ${cpu}, ${machine.cores} cores, Node ${process.version}; single-threaded (x real time is per core)`);
console.log(`${pad('op', 36)}${lpad('audio s', 8)}${lpad('frames', 8)}${lpad('median ms', 11)}${lpad('x real time', 13)}${lpad('target', 8)}${lpad('ratio', 7)}`);
for (const r of rows) {
  console.log(
    `${pad(r.op, 36)}${lpad(r.seconds.toString(), 8)}${lpad(r.frames.toString(), 8)}${lpad(r.medianMs.toFixed(3), 11)}` +
      `${lpad(r.realTime.toFixed(0) + 'x', 13)}${lpad(r.target ? r.target + 'x' : '-', 8)}${lpad(r.target ? (r.realTime / r.target).toFixed(2) : '-', 7)}`,
  );
}
// Only with --save (or $BENCH_OUT_DIR): a plain run never overwrites the committed results.
if (process.argv.includes('--save') || process.env.BENCH_OUT_DIR) {
  const out = path.join(process.env.BENCH_OUT_DIR || path.join(__dirname, 'results'), 'fbank-cpu.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({ bench: 'fbank-cpu', date: new Date().toISOString(), machine, sampleRate: SR, targetRealTime: TARGET, rows }, null, 2) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
} else {
  console.log('not saved (pass --save to write bench/results/fbank-cpu.json, or set BENCH_OUT_DIR)');
}
if (rows.some((r) => r.pass === false)) process.exitCode = 1;
