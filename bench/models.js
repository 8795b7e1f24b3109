#!/usr/bin/env node
// models.js — one training step (forward + backward + AdamW) of each task model × encoder type on
// a random batch with lengths (80–100 % of T valid): median ms/step over --steps timed steps
// after 2 warm-ups, utterances/s, and where a CtcAsr step goes (forward of front end = CMVN +
// conv subsampling + positional encoding; encoder; head = LayerNorm + Linear + log-softmax + CTC;
// backward; optimizer), each part synchronised. 'cpu ms/step' is the process's CPU time (user +
// system, all threads) per step: on a shared machine, with --threads 1, it is what the step costs
// an idle core, whatever the load (wall time then depends on the other processes).
//
//   node bench/models.js                      CPU: 4 layers, d 144, batch 8 × 3 s (300 frames, 80 mels)
//   node bench/models.js --device cuda --paper   12 layers, d 768 (--dmodel 512), batch 8 × 10 s, bf16 autocast
//   options: --types mamba,conformer  --models ctc,reconstruction  --steps 5  --layers 4  --dmodel 144
//            --frontend conv2d4  --channels 32 (conv front-end width; default dModel)  --threads N  --save (writes bench/results/models-<machine>.json)
//
// The reference/ratio columns stay '-' unless --ref names a JSON of the same cases ({ "<model>/<type>": ms }).
'use strict';
const { machine, printTable, writeJson, loadReference, loadLibrary, median } = require('./common');

let ms = loadLibrary();
if (!ms.models || !ms.models.CtcAsr) ms = loadLibrary({ sources: true }); // a dist built before the models

const args = process.argv.slice(2);
const arg = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const paper = args.includes('--paper');
const device = arg('--device', 'cpu');
if (device === 'cuda' && !ms.cudaAvailable()) {
  console.log('models bench: --device cuda needs a GPU');
  process.exit(0);
}
if (arg('--threads', null)) ms.setNumThreads(Number(arg('--threads')));
const layers = Number(arg('--layers', paper ? 12 : 4));
const dModel = Number(arg('--dmodel', paper ? 768 : 144));
const B = Number(arg('--batch', 8));
const seconds = Number(arg('--seconds', paper ? 10 : 3));
const T = Math.round(seconds * 100); // 10 ms frames
const F = 80;
const V = 40; // a phone inventory with blank and <unk>
const steps = Number(arg('--steps', paper ? 10 : 5));
const frontend = arg('--frontend', 'conv2d4');
const channels = arg('--channels', null) === null ? undefined : Number(arg('--channels'));
const types = arg('--types', ms.models.ENCODER_TYPES.join(',')).split(',');
const which = arg('--models', 'ctc,reconstruction').split(',');
const heads = dModel % 64 === 0 ? dModel / 64 : 4;
const bf16 = device === 'cuda';
const ref = loadReference(arg('--ref', null));

function spec(type) {
  return { type, layers, dModel, heads, ffnDim: 4 * dModel, dropout: 0.1, depthwiseKernel: 31 };
}

/** A random batch: features (B, T, F) ~ log-mel scale, lengths 80–100 % of T, CTC targets of T/10 tokens. */
function makeBatch(withTargets) {
  const lens = Int32Array.from({ length: B }, (_, b) => (b === 0 ? T : Math.round(T * (0.8 + (0.2 * b) / B))));
  const items = Array.from({ length: B }, (_, b) => {
    const n = lens[b];
    const data = Float32Array.from({ length: n * F }, (_, i) => Math.sin(i * 0.37 + b) * 3 - 6);
    const S = Math.max(1, Math.floor(n / 10));
    return { id: `b${b}`, features: { data, numFrames: n, dim: F }, targets: Array.from({ length: S }, (_, k) => 2 + ((k * 7 + b) % (V - 2))) };
  });
  return withTargets ? ms.models.collateAsr(items, null, { device }) : ms.models.collateReconstruction(items, { device });
}

const sync = () => ms.synchronize();
const now = () => process.hrtime.bigint();
const msSince = (t) => Number(process.hrtime.bigint() - t) / 1e6;

/** Median ms of a full training step, and (ctc) a per-part breakdown of the same step. */
function timeModel(model, batch, breakdown) {
  const opt = new ms.optim.AdamW(model.parameters(), { lr: 1e-4 });
  model.train();
  const step = () => {
    const r = bf16 ? ms.autocast('bfloat16', () => model.loss(batch)) : model.loss(batch);
    r.loss.backward();
    r.loss.dispose();
    opt.step();
    opt.zeroGrad();
  };
  for (let i = 0; i < 2; ++i) step();
  sync();
  const times = [], cpu = [];
  for (let i = 0; i < steps; ++i) {
    const t0 = now(), c0 = process.cpuUsage();
    step();
    sync();
    times.push(msSince(t0));
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const out = { ms: median(times), cpuMs: median(cpu) };
  if (breakdown) out.parts = partsOfCtcStep(model, batch, opt);
  return out;
}

/** Medians of the parts of a CtcAsr step, from its public submodules, synchronised after each:
 *  wall ms and CPU ms (user + system, all threads) of each part. */
function partsOfCtcStep(m, batch, opt) {
  const names = ['frontend', 'encoder', 'head', 'backward', 'optimizer'];
  const wall = Object.fromEntries(names.map((k) => [k, []])), cpu = Object.fromEntries(names.map((k) => [k, []]));
  const run = () => {
    const wrap = (fn) => (bf16 ? ms.autocast('bfloat16', fn) : fn());
    let t = now(), c = process.cpuUsage();
    const lap = (k) => {
      const d = process.cpuUsage(c);
      wall[k].push(msSince(t));
      cpu[k].push((d.user + d.system) / 1000);
      t = now();
      c = process.cpuUsage();
    };
    const fe = wrap(() => {
      const x = m.normalize.forward(batch.features);
      const r = m.frontend.forward(x, batch.lengths);
      return { h: m.pos ? m.pos.forward(r.out) : r.out, lengths: r.lengths };
    });
    sync();
    lap('frontend');
    const enc = wrap(() => m.encoder.forward(fe.h, fe.lengths).out);
    sync();
    lap('encoder');
    const loss = wrap(() => {
      const logits = m.ctc_lo.forward(m.after_norm.forward(enc));
      const lp = ms.ops.logSoftmax(logits.to('float32'), -1);
      return ms.ops.ctcLoss(lp, batch.targets, fe.lengths, batch.targetLengths, { zeroInfinity: true });
    });
    loss.item();
    lap('head');
    loss.backward();
    sync();
    lap('backward');
    opt.step();
    opt.zeroGrad();
    sync();
    lap('optimizer');
  };
  for (let i = 0; i < Math.max(3, Math.min(steps, 5)); ++i) ms.tidy(run);
  const med = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, median(v)]));
  return { wall: med(wall), cpu: med(cpu) };
}

const results = {
  machine: machine(ms), date: new Date().toISOString(),
  config: { device, paper, layers, dModel, heads, ffnDim: 4 * dModel, batch: B, seconds, frames: T, features: F, vocab: V, frontend, frontendChannels: channels ?? dModel, steps, bf16, threads: arg('--threads', 'default') },
  cases: {},
};
const rows = [];
// On the CPU the parts are CPU ms (robust on a shared machine); on the GPU synchronised wall ms.
const partsLabel = device === 'cpu' ? 'front/enc/head/bwd/opt cpu ms' : 'front/enc/head/bwd/opt ms';
for (const task of which) {
  for (const type of types) {
    const key = `${task}/${type}`;
    let model = null, batch = null;
    try {
      model = task === 'ctc'
        ? new ms.models.CtcAsr({ inputDim: F, vocabSize: V, encoder: spec(type), frontend, frontendChannels: channels, seed: 1, device })
        : new ms.models.MaskedReconstruction({ inputDim: F, encoder: spec(type), maskProb: 0.15, maskSpan: 7, seed: 1, device });
      batch = makeBatch(task === 'ctc');
      const r = timeModel(model, batch, task === 'ctc');
      const refMs = ref && ref[key];
      results.cases[key] = { ms: r.ms, cpuMs: r.cpuMs, utterancesPerSecond: (B * 1000) / r.ms, parameters: model.numParameters(), parts: r.parts ?? null, reference: refMs ?? null };
      const p = r.parts;
      rows.push({
        model: task, encoder: type, shape: `${B}x${T}x${F}`, params: `${(model.numParameters() / 1e6).toFixed(2)}M`,
        'ms/step': r.ms.toFixed(1), 'cpu ms/step': r.cpuMs.toFixed(0), 'utt/s': ((B * 1000) / r.ms).toFixed(1),
        [partsLabel]: p ? ['frontend', 'encoder', 'head', 'backward', 'optimizer'].map((k) => p[device === 'cpu' ? 'cpu' : 'wall'][k].toFixed(0)).join('/') : '-',
        reference: refMs ? refMs.toFixed(1) : '-', ratio: refMs ? `${(refMs / r.ms).toFixed(2)}x` : '-',
      });
    } catch (e) {
      console.error(`${key}: ${e.message}`);
      results.cases[key] = { error: e.message };
    } finally {
      if (batch) batch.dispose();
    }
    model = null;
    if (global.gc) global.gc();
  }
}
const where = device === 'cuda' ? results.machine.gpus[0] : `${results.machine.cpu} (${results.machine.cores} cores)`;
printTable(`one training step (fwd + bwd + AdamW), ${layers} layers, d ${dModel}, ${frontend} (${channels ?? dModel} channels)${bf16 ? ', bf16 autocast' : ''} — ${where}`,
  ['model', 'encoder', 'shape', 'params', 'ms/step', 'cpu ms/step', 'utt/s', partsLabel, 'reference', 'ratio'], rows);
if (args.includes('--save')) {
  const name = device === 'cuda' ? results.machine.gpus[0].replace(/[^A-Za-z0-9]+/g, '-') : 'cpu';
  writeJson(`models${paper ? '-paper' : ''}-${name}.json`, results);
}
