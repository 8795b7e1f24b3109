// common.js — shared by the benchmarks: machine description, median timing, table + JSON output.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

/** Median of an array of numbers. */
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Seconds now by the wall clock, or by this process's CPU time (user + system, all threads). */
function clock(cpu = false) {
  if (!cpu) return Number(process.hrtime.bigint()) / 1e9;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * Seconds per call: `batches` timed batches of `perBatch` calls, median over batches. `cpu`
 * times process CPU time instead of the wall clock (steadier on a loaded shared machine).
 */
function timePerCall(fn, perBatch, batches, after, cpu = false) {
  const times = [];
  for (let b = 0; b < batches; ++b) {
    const t0 = clock(cpu);
    for (let i = 0; i < perBatch; ++i) fn();
    const t1 = clock(cpu);
    if (after) after();
    times.push((t1 - t0) / perBatch);
  }
  return median(times);
}

/** The machine, named: CPU model and cores, GPU name when one is used. */
function machine(ms) {
  const info = ms.buildInfo();
  return {
    cpu: os.cpus()[0] ? os.cpus()[0].model : 'unknown',
    cores: os.cpus().length,
    gpus: info.gpus.map((g) => g.name),
    node: process.version,
    cudaRuntime: info.cudaRuntimeVersion,
    hostname: os.hostname(),
  };
}

/** Prints rows as one aligned table. */
function printTable(title, columns, rows) {
  const cells = [columns, ...rows.map((r) => columns.map((c) => String(r[c] ?? '')))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  console.log(`\n${title}`);
  cells.forEach((r, k) => {
    console.log('| ' + r.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |');
    if (k === 0) console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  });
}

/** True when results may be written: `--save` on the command line, or an explicit $BENCH_OUT_DIR. */
function saving() {
  return process.argv.includes('--save') || !!process.env.BENCH_OUT_DIR;
}

/**
 * Writes the results JSON under $BENCH_OUT_DIR, or under bench/results/ with `--save`. Without
 * either it only says so: the committed results (the numbers the README quotes) are never
 * overwritten by a run nobody asked to keep. A file already there moves into the new one's
 * `history` (oldest first), so earlier numbers stay visible next to new ones.
 */
function writeJson(name, data) {
  if (!saving()) {
    console.log(`
not saved (pass --save to write bench/results/${name}, or set BENCH_OUT_DIR)`);
    return;
  }
  const dir = process.env.BENCH_OUT_DIR || path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  let history = [];
  if (fs.existsSync(file)) {
    try {
      const old = JSON.parse(fs.readFileSync(file, 'utf8'));
      const { history: h = [], ...rest } = old;
      history = [...h, rest];
    } catch (e) {
      console.error(`${file}: not JSON (${e.message}); its numbers are not kept in the history`);
    }
  }
  const out = history.length ? { ...data, history } : data;
  fs.writeFileSync(file + '.tmp', JSON.stringify(out, null, 2) + '\n');
  fs.renameSync(file + '.tmp', file);
  console.log(`\nwrote ${file}`);
}

/** Loads optional reference numbers (e.g. PyTorch's, measured by a script in the same run). */
function loadReference(file) {
  if (!file || !fs.existsSync(file)) return null;
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/**
 * The library: the built package (dist) when present, else (or with { sources: true }, so a
 * stale dist is never used) the TypeScript sources compiled on require
 * (typescript.transpileModule, no type check).
 */
function loadLibrary({ sources = false } = {}) {
  if (!sources) {
    try {
      const m = require('..');
      if (m.mi) return m;
    } catch (e) { /* dist not built: fall through to the TypeScript sources */ }
  }
  const ts = require('typescript');
  require.extensions['.ts'] = (module, filename) => {
    const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
      fileName: filename, compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true },
    });
    module._compile(outputText, filename);
  };
  return require(path.join(__dirname, '..', 'lib'));
}

module.exports = {
  saving, median, clock, timePerCall, machine, printTable, writeJson, loadReference, loadLibrary };
