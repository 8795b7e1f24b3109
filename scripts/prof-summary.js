#!/usr/bin/env node
// prof-summary.js — the top functions of a V8 .cpuprofile (node --cpu-prof) by self and by
// inclusive time: where a process spends its host time.   node scripts/prof-summary.js file.cpuprofile
'use strict';
const fs = require('fs');
const p = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children || []) parent.set(c, n.id);
const name = (n) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/.*\/(lib|dist|bench|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
const self = new Map(), incl = new Map();
const dt = p.timeDeltas;
p.samples.forEach((id, i) => {
  const t = dt[i] || 0;
  const n = byId.get(id);
  self.set(name(n), (self.get(name(n)) || 0) + t);
  const seen = new Set();
  for (let x = id; x !== undefined; x = parent.get(x)) {
    const k = name(byId.get(x));
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) || 0) + t);
  }
});
const total = dt.reduce((a, b) => a + b, 0);
const top = (m, k) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([f, t]) => `${(t / 1000).toFixed(1).padStart(8)} ms ${(100 * t / total).toFixed(1).padStart(5)}%  ${f}`).join('\n');
console.log(`total ${(total / 1000).toFixed(0)} ms\n-- self --\n${top(self, 35)}\n-- inclusive --\n${top(incl, 45)}`);
