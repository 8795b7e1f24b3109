// Finalization of tensors that never see dispose(): a tensor made inside tidy is registered with
// the FinalizationRegistry (which disposes the handle and returns it to the handle pool) only
// when it leaves the last scope alive (returned by the outermost tidy, or kept), and autograd's
// own tensors (saved aliases, the backward seed) not at all: the tape disposes them, and in an
// abandoned graph the handles' native destructors free the memory when V8 collects them (the
// backstop for every case: this test passes with the registry switched off, as checked once).
// Each case forgets 50 tensors (or graphs) and waits for the GC to bring memory() back to its
// baseline, in a plain node process (jest's module sandbox delays FinalizationRegistry callbacks;
// see memory.test.ts).
import { spawnSync } from 'child_process';
import * as path from 'path';

test('forgotten tensors that escaped tidy or keep(), and abandoned autograd graphs, are freed after GC', () => {
  const root = path.resolve(__dirname, '../..');
  const script = `
    const ms = require(${JSON.stringify(path.join(root, 'bench', 'common.js'))}).loadLibrary({ sources: true });
    const settle = async (done) => {
      for (const t0 = Date.now(); Date.now() - t0 < 10000;) {
        global.gc();
        await new Promise((r) => setTimeout(r, 10));
        if (done()) return;
      }
    };
    const w = ms.randn([256, 256], { seed: 1 }).requiresGrad_();
    const cases = {
      returned: () => ms.tidy(() => ms.ops.relu(ms.randn([1024]))),
      kept: () => { ms.tidy(() => { ms.keep(ms.randn([1024]).mul(2)); }); },
      nested: () => ms.tidy(() => ms.tidy(() => [ms.zeros([1024]).add(1)])[0]),
      graph: () => ms.ops.sigmoid(ms.ops.matmul(ms.randn([8, 256]), w)).sum(),
      graphInTidy: () => ms.tidy(() => ms.ops.tanh(ms.ops.matmul(ms.randn([8, 256]), w))),
    };
    (async () => {
      const out = {};
      for (const [name, make] of Object.entries(cases)) {
        const base = ms.memory();
        (function forget() { for (let i = 0; i < 50; ++i) make(); })();
        const made = ms.memory();
        await settle(() => ms.memory().tensors === base.tensors && ms.memory().bytes.cpu === base.bytes.cpu);
        const after = ms.memory();
        out[name] = { base: base.tensors, made: made.tensors, after: after.tensors, baseBytes: base.bytes.cpu, afterBytes: after.bytes.cpu };
      }
      console.log(JSON.stringify(out));
    })();`;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', cwd: root, timeout: 90000 });
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout.trim().split('\n').pop() as string);
  for (const [name, c] of Object.entries(out) as [string, { base: number; made: number; after: number; baseBytes: number; afterBytes: number }][]) {
    if (!(c.made > c.base)) throw new Error(`${name}: nothing was left live to free (${JSON.stringify(c)})`);
    if (c.after !== c.base || c.afterBytes !== c.baseBytes) throw new Error(`${name}: not freed after GC (${JSON.stringify(c)})`);
  }
}, 100000);
