#!/usr/bin/env node
// synth.js — throughput of the embedded corpus generator: 2,000 utterances (WAV files and
// manifests written) on one core, as issue 7 asks ("2,000 utterances in under a minute").
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const ms = require('..');
const { machine, printTable, writeJson } = require('./common');

(async () => {
  const n = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) || 2000); // flags (--save) aside
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-synth-bench-'));
  try {
    const t0 = process.hrtime.bigint();
    const r = await ms.data.generateCorpus({ outDir: dir, engine: 'synth', numUtterances: n, numSpeakers: 20, seed: 1 });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const row = { case: 'synth corpus (files written)', utterances: n, seconds: s.toFixed(1), 'audio s': r.audioSeconds.toFixed(0),
      'x real time': (r.audioSeconds / s).toFixed(0), goal: '2000 in < 60 s', ratio: `${(60 / (s * 2000 / n)).toFixed(2)}x goal` };
    printTable(`embedded corpus — ${os.cpus()[0].model} (one core)`, Object.keys(row), [row]);
    writeJson('synth-cpu.json', { machine: machine(ms), date: new Date().toISOString(), utterances: n, seconds: s, audioSeconds: r.audioSeconds });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
})();
