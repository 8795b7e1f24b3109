#!/usr/bin/env node
// probe-kmeans.js — where the CUDA k-means predict time goes (1M × 768, K 500): each piece of one
// distance block timed alone (synchronised, median of 5), then predict itself. A diagnostic for
// the device, not a benchmark.
'use strict';
const { loadLibrary, median } = require('../bench/common');
const ms = loadLibrary();
const dev = ms.cudaAvailable() ? 'cuda' : 'cpu';
const N = Number(process.argv[2] || (dev === 'cuda' ? 1000000 : 100000)), D = Number(process.argv[3] || 768), K = Number(process.argv[4] || 500);
const ch = Math.floor(2 ** 24 / K);
const { ops } = ms;
const X = ms.randn([N, D], { device: dev, seed: 1 });
const C = ms.randn([K, D], { device: dev, seed: 2 });
const w = ops.mul(C, 2), b = ops.neg(ops.sum(ops.square(C), 1));
function time(name, f, reps = 5) {
  const ts = [];
  for (let i = 0; i < reps + 1; ++i) {
    ms.synchronize();
    const t = process.hrtime.bigint();
    ms.tidy(() => { const r = f(); if (r && r.dataSync) ms.synchronize(); });
    ms.synchronize();
    if (i) ts.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  console.log(`${name.padEnd(40)} ${median(ts).toFixed(3)} ms`);
}
const xb = ops.slice(X, 0, 0, ch);
const z = ops.add(ops.matmul(xb, ops.transpose(w)), b);
console.log(`device ${dev}, N ${N}, D ${D}, K ${K}, chunk ${ch}`);
time('matmul x·wT (chunk)', () => ops.matmul(xb, ops.transpose(w)));
time('matmul x·wT contiguous w^T', () => ops.matmul(xb, ops.contiguous(ops.transpose(w))));
time('matmul under autocast off', () => ms.autocast('bfloat16', () => ops.matmul(xb, ops.transpose(w)), { enabled: false }));
time('add bias (chunk, K)', () => ops.add(z, b));
time('argmax dim 1 (chunk, K)', () => ops.argmax(z, 1));
time('max dim 1 (chunk, K)', () => ops.max(z, 1));
time('argmax + dataSync', () => { ops.argmax(z, 1).dataSync(); });
time('slice rows', () => ops.slice(X, 0, ch, 2 * ch));
const km = new ms.models.KMeans({ k: K, seed: 0 });
km.centroids = C;
try {
  time('KMeans.predict (all N)', () => { km.predict(X); }, 3);
} catch (e) { console.log('predict:', e.message); }
// fit phases: greedy k-means++ on 30000 rows, then 100 mini-batch steps of 10000
try {
  const { kmeansPlusPlus } = require('../dist/models/hubert/kmeans_ops');
  const { Rng } = require('../dist/audio/rng');
  const S = ms.keep(ops.slice(X, 0, 0, Math.min(N, 30000)));
  time('kmeans++ (30000 rows, K)', () => { kmeansPlusPlus(S, K, new Rng(0)).centroids.dispose(); }, 1);
  time('fit: 100 mini-batch steps', () => { new ms.models.KMeans({ k: K, batchSize: 10000, nInit: 1, initSize: 30000, maxIter: Math.max(1, Math.round(1e6 / N)), maxNoImprovement: 1e9, seed: 0, init: 'random' }).fit(X).dispose(); }, 1);
} catch (e) { console.log('fit phases:', e.message); }
