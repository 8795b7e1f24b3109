#!/usr/bin/env node
// cpuprofile_top.js — self time by function of a node --cpu-prof profile, largest first.
//   node bench/native/cpuprofile_top.js file.cpuprofile [count]
'use strict';
const fs = require('fs');
const file = process.argv[2];
if (!file) throw new Error('usage: cpuprofile_top.js file.cpuprofile [count]');
const p = JSON.parse(fs.readFileSync(file, 'utf8'));
const nodes = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map();
p.samples.forEach((id, i) => {
  const f = nodes.get(id).callFrame;
  const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
  self.set(key, (self.get(key) || 0) + p.timeDeltas[i]);
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
[...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[3] || 40))
  .forEach(([k, us]) => console.log(`${(us / 1e3).toFixed(1).padStart(9)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`));
console.log(`${(total / 1e3).toFixed(1).padStart(9)} ms total`);
