#!/usr/bin/env node
// analysis.js — wall time of the layer-wise MI analysis at the paper's scale: a 12-layer d-768
// model (13 hidden states), 20k frames, SMILE x 3 seeds per layer (the corrected protocol, all
// 39 critics batched by mi.estimateMany), against the paper's protocol run layer by layer in
// PyTorch (bench/torch_analysis.py on the same machine: per utterance, per layer, DV with the
// 1536-100-100-1 critic, batch 128, 100 epochs), and against the corrected protocol run one
// critic at a time in PyTorch (what batching over layers and seeds buys).
//
//   node bench/analysis.js [--ref torch_analysis.json] [--frames 20000] [--utterances 100]
//                          [--steps 3000] [--device cuda] [--paper] [--save]
//
// Cases: 'corrected' (layerwiseMiFromFrames: PCA to 16, noise σ = 1, SMILE, calibration off
// unless --calibrate) and, with --paper, 'paper protocol' (layerwiseMi { paper: true } over the
// same frames as `utterances` utterances). The hidden states are synthetic (hs_l = tanh(hs_{l-1}
// W_l) + noise, W_l random orthogonal-ish), which changes nothing in the work done. Timings are
// one run each (minutes long; the GPU machines' host speed drifts ~2x between runs, so compare
// only with the reference of the same call). The issue's goal: >= 10x the PyTorch paper loop.
'use strict';
const { machine, printTable, writeJson, loadReference, loadLibrary } = require('./common');

// A dist/ built before lib/analysis existed lacks it: fall back to the sources.
let ms = loadLibrary();
if (!ms.analysis) ms = loadLibrary({ sources: true });
const args = process.argv.slice(2);
const arg = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const device = arg('--device', ms.cudaAvailable() ? 'cuda' : 'cpu');
const N = Number(arg('--frames', device === 'cuda' ? 20000 : 4000));
const U = Number(arg('--utterances', 100));
const STEPS = Number(arg('--steps', device === 'cuda' ? 3000 : 300));
const L = 12;
const D = 768;
const ref = loadReference(arg('--ref', null));

/** hs_0 .. hs_L as (N, D) tensors: hs_l = tanh(hs_{l-1} W_l / √D · 2) + 0.1 ε. */
function hiddenStates() {
  return ms.tidy(() => {
    const hs = [ms.randn([N, D], { seed: 1, device })];
    for (let l = 1; l <= L; ++l) {
      const w = ms.randn([D, D], { seed: 100 + l, device }).mul(2 / Math.sqrt(D));
      hs.push(ms.add(ms.tanh(ms.matmul(hs[l - 1], w)), ms.randn([N, D], { seed: 200 + l, device }).mul(0.1)));
    }
    return hs;
  });
}

/** A TaskModel over precomputed frames cut into utterances of N / U frames (paper mode needs batches). */
function framesModel(hs) {
  const F = Math.floor(N / U);
  return {
    model: {
      task: 'bench',
      hiddenStates(b) {
        return {
          states: hs.map((h) => h.slice(0, b.u * F, (b.u + b.n) * F).reshape([b.n, F, D])),
          lengths: new Int32Array(b.n).fill(F), subsampling: 1, inputs: null, inputLengths: null,
        };
      },
    },
    batches: Array.from({ length: Math.ceil(U / 25) }, (_, i) => ({ u: i * 25, n: Math.min(25, U - i * 25) })),
  };
}

(async () => {
  const hs = hiddenStates();
  ms.synchronize();
  const rows = [];
  const results = { machine: machine(ms), date: new Date().toISOString(), device, config: { N, D, layers: L + 1, seeds: 3, steps: STEPS, utterances: U }, cases: {} };
  const opts = { seeds: 3, calibrate: args.includes('--calibrate'), estimator: { steps: STEPS }, device };
  console.log(`corrected protocol: ${L + 1} layers x 3 seeds, ${STEPS} steps, N ${N} on ${device} ...`);
  let t0 = Date.now();
  const r = await ms.analysis.layerwiseMiFromFrames({ x: hs[0], layers: hs }, opts);
  ms.synchronize();
  const wall = (Date.now() - t0) / 1000;
  results.cases.corrected = { seconds: wall, timings: r.timings, values: r.layers.map((l) => l.ixt.nats) };
  // a reference that timed k layers and scaled (--time-layers) says so
  const timed = (key) => (key === 'paperSeconds' ? ref.paperLayersTimed : ref.correctedLayersTimed);
  const cmp = (key) => (ref && ref[key] ? `${ref[key].toFixed(1)} s${timed(key) && timed(key) < (key === 'paperSeconds' ? L : L + 1) ? ` (${timed(key)} layer(s) timed, scaled)` : ''}` : '-');
  const ratio = (key, goal) => (ref && ref[key] ? `${(ref[key] / wall).toFixed(1)}x faster${goal ? ` (goal ${goal}x)` : ''}` : '-');
  rows.push({
    case: `corrected: ${L + 1} layers x 3 seeds SMILE, ${STEPS} steps`, device, shape: `N ${N}, d ${D} -> PCA 16`,
    'wall s': wall.toFixed(1), phases: Object.entries(r.timings).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', '),
    'torch paper loop': cmp('paperSeconds'), 'vs paper loop': ratio('paperSeconds', 10),
    'torch same, sequential': cmp('correctedSeconds'), 'vs sequential': ratio('correctedSeconds'),
  });
  if (args.includes('--paper')) {
    const { model, batches } = framesModel(hs);
    t0 = Date.now();
    const p = await ms.analysis.layerwiseMi(model, batches, { paper: { maxUtterances: U }, device });
    ms.synchronize();
    const pw = (Date.now() - t0) / 1000;
    results.cases.paper = { seconds: pw, values: p.layers.map((l) => l.ixt.nats) };
    rows.push({
      case: `paper protocol: ${U} utterances x ${L} layers, DV 100 epochs`, device, shape: `${U} x ${Math.floor(N / U)} frames, d ${D}`,
      'wall s': pw.toFixed(1), phases: '-', 'torch paper loop': cmp('paperSeconds'),
      'vs paper loop': ref && ref.paperSeconds ? `${(ref.paperSeconds / pw).toFixed(2)}x` : '-', 'torch same, sequential': '-', 'vs sequential': '-',
    });
  }
  hs.forEach((h) => h.dispose());
  if (ref) results.reference = ref;
  printTable(`mamba-speech layer-wise MI benchmark — ${results.machine.gpus[0] || results.machine.cpu} (${results.machine.cores} cores)`,
    ['case', 'device', 'shape', 'wall s', 'phases', 'torch paper loop', 'vs paper loop', 'torch same, sequential', 'vs sequential'], rows);
  if (args.includes('--save')) writeJson(arg('--out', `analysis-${device === 'cuda' ? results.machine.gpus[0].replace(/[^A-Za-z0-9]+/g, '-') : 'cpu'}.json`), results);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
