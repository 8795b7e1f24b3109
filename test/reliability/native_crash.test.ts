// Issue 19, items 1-5: inputs that used to kill the process (segfault, abort, V8 fatal OOM) now
// give a JS Error naming the op. Each case runs in a child process, so a regression shows as a
// failed test (the child's signal) instead of a dead jest worker.
import { describeExit, runChild } from '../helpers/child';

function expectClean(r: ReturnType<typeof runChild>): Record<string, string> {
  if (r.status !== 0 || r.signal !== null) throw new Error(`child ${describeExit(r)}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as Record<string, string>;
}

// Runs each named thunk and records its error message (or 'no error').
const collect = `
function errors(cases) {
  const out = {};
  for (const [k, f] of Object.entries(cases)) {
    try { f(); out[k] = 'no error'; } catch (e) { out[k] = String(e && e.message); }
  }
  console.log(JSON.stringify(out));
}`;

test('1: element counts that overflow 64 bits are errors, never a wrapped shape', () => {
  const r = runChild(`${collect}
    const ms = require(LIB);
    const n = 67280421310721; // 274177 * n = 2^64 + 1: wrapped to a 1-element output before
    errors({
      matmul: () => ms.sum(ms.matmul(ms.zeros([274177, 0]), ms.zeros([0, n]))).item(),
      batched: () => ms.sum(ms.matmul(ms.zeros([2, 274177, 0]), ms.zeros([2, 0, n]))).item(),
      broadcast: () => ms.sum(ms.add(ms.zeros([274177, 1]), ms.expand(ms.zeros([1, 1]), [1, n]))).item(),
      huge: () => ms.full([2 ** 40, 2 ** 20], 1),
      native: () => require(ADDON).fill([2 ** 31, 2 ** 31, 2 ** 2], 0, 'float32', 'cpu'),
    });`);
  const e = expectClean(r);
  expect(e.matmul).toMatch(/^\[matmul\] .*more than 2\^53 - 1 elements/);
  expect(e.batched).toMatch(/^\[matmul\] .*more than 2\^53 - 1 elements/);
  expect(e.broadcast).toMatch(/^\[add\] .*more than 2\^53 - 1 elements/);
  expect(e.huge).toMatch(/^\[full\] /);
  expect(e.native).toMatch(/^\[full\] /);
});

test('2: arange with a length beyond 2^53 is an error', () => {
  const e = expectClean(runChild(`${collect}
    const ms = require(LIB);
    errors({
      tiny: () => ms.arange(0, 10, 1e-300),
      native: () => require(ADDON).arange(0, 1e-300, 1e301, 'float32', 'cpu'),
      ok: () => { if (ms.arange(0, 1, 0.25).size !== 4) throw new Error('wrong length'); },
    });`));
  expect(e.tiny).toMatch(/^\[arange\] .*at most 2\^53 - 1/);
  expect(e.native).toMatch(/^\[arange\] length must be an integer in \[0, 2\^53\)/);
  expect(e.ok).toBe('no error');
});

test('3: a resizable ArrayBuffer is never shared zero-copy (resize(0) used to segfault the next op)', () => {
  const e = expectClean(runChild(`${collect}
    const ms = require(LIB);
    const make = () => { const ab = new ArrayBuffer(64, { maxByteLength: 128 }); const a = new Float32Array(ab, 0, 16); a.fill(2); return [ab, a]; };
    errors({
      shared: () => { const [ab, a] = make(); const t = ms.fromTypedArray(a); ab.resize(0); ms.add(t, 1).sum().item(); },
      tracking: () => { const ab = new ArrayBuffer(64, { maxByteLength: 128 }); const t = ms.fromTypedArray(new Float32Array(ab)); ab.resize(0); t.sum().item(); },
      native: () => { const [ab, a] = make(); const t = require(ADDON).fromTypedArray(a, [16], 'float32', 'cpu', false); ab.resize(0); t.dataSync(); },
      copied: () => {
        const [ab, a] = make(); const t = ms.fromTypedArray(a, undefined, { copy: true }); ab.resize(0);
        if (t.sum().item() !== 32) throw new Error('copy changed');
      },
      tensor: () => { const [ab, a] = make(); const t = ms.tensor(a); ab.resize(0); if (t.sum().item() !== 32) throw new Error('copy changed'); },
      // A SharedArrayBuffer's memory is out of N-API 8's reach: a named error, or a copy when asked.
      sab: () => ms.fromTypedArray(new Float32Array(new SharedArrayBuffer(16))),
      sabNative: () => require(ADDON).fromTypedArray(new Float32Array(new SharedArrayBuffer(16)), [4], 'float32', 'cpu', true),
      sabCopy: () => { const a = new Float32Array(new SharedArrayBuffer(16)); a.fill(3); if (ms.tensor(a).sum().item() !== 12) throw new Error('wrong copy'); },
    });`));
  expect(e.shared).toMatch(/^\[fromTypedArray\] data is a view of a resizable ArrayBuffer/);
  expect(e.tracking).toMatch(/^\[fromTypedArray\] data is a view of a resizable ArrayBuffer/);
  expect(e.native).toMatch(/^\[tensor\] data is a view of a resizable ArrayBuffer/);
  expect(e.copied).toBe('no error');
  expect(e.tensor).toBe('no error');
  expect(e.sab).toMatch(/^\[fromTypedArray\] data is a view of a SharedArrayBuffer/);
  expect(e.sabNative).toMatch(/^\[tensor\] data must be a view of an ArrayBuffer/);
  expect(e.sabCopy).toBe('no error');
});

test('4: values that cannot be allocated in JS give an error, not a V8 fatal OOM', () => {
  // The child's address space is capped (ulimit -v) at what it uses after warming up, plus room
  // for the tensor's native memory and ~half of it more: the ArrayBuffer for dataSync() cannot fit.
  const bytes = 256 << 20;
  const warm = `const ms = require(LIB); const w = ms.add(ms.ones([1 << 20]), 1); w.dataSync(); w.dispose();
    const kb = () => Number(/VmSize:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]);`;
  const probe = expectClean(runChild(`${warm} console.log(JSON.stringify({ kb: String(kb()) }));`));
  const limitKb = Number(probe.kb) + ((bytes * 1.5) >> 10) + (64 << 10);
  const r = runChild(`${warm} ${collect}
    const t = ms.zeros([${bytes / 4}]);
    t.data().then(() => 'no error', (e) => e.message).then((data) => {
      errors({ data: () => { if (data !== 'no error') throw new Error(data); }, dataSync: () => t.dataSync(), small: () => ms.ones([3]).dataSync() });
    });`,
  { shellPrefix: `ulimit -v ${limitKb};` });
  const e = expectClean(r);
  expect(e.dataSync).toMatch(/^\[dataSync\] cannot allocate 268435456 bytes for the values of a \(67108864\) tensor/);
  expect(e.data).toMatch(/^\[data\] cannot allocate 268435456 bytes/);
  expect(e.small).toBe('no error');
}, 120000);

test('4: tensors with more elements than a typed array can hold are refused before any copy', () => {
  const e = expectClean(runChild(`${collect}
    const ms = require(LIB);
    const big = ms.expand(ms.zeros([1]), [2 ** 33]); // a view: no memory behind its 2^33 elements
    errors({ dataSync: () => big.dataSync(), toArray: () => big.toArray() });`));
  expect(e.dataSync).toMatch(/^\[dataSync\] a \(8589934592\) tensor has 8589934592 elements; a typed array holds at most/);
  expect(e.toArray).toMatch(/^\[dataSync\] /);
});

test('5: terminating worker threads in the middle of ops never aborts the process', () => {
  // Four workers at a time run ops (and failing ops) in a tight loop and are terminated at
  // staggered moments (12 trials); 26 of 36 such trials used to end in "terminate called after throwing an
  // instance of 'Napi::Error'" from the environment teardown.
  const r = runChild(`
    const { Worker } = require('worker_threads');
    const src = \`
      const { parentPort, workerData } = require('worker_threads');
      const m = require(workerData.ADDON);
      parentPort.postMessage('ready');
      const keep = [];
      for (;;) {
        const a = m.fill([64], 1, 'float32', 'cpu');
        keep.push(m.add(a, a));
        if (keep.length > 32) keep.shift().dispose();
        try { m.add(a, m.fill([3], 1, 'float32', 'cpu')); } catch (e) { /* shape error, expected */ }
        a.dispose();
      }\`;
    async function one(i) {
      const w = new Worker(src, { eval: true, workerData: { ADDON } });
      await new Promise((r) => w.once('message', r));
      await new Promise((r) => setTimeout(r, (i * 7) % 13));
      await w.terminate();
    }
    (async () => {
      for (let i = 0; i < 12; i += 4) await Promise.all([0, 1, 2, 3].map((k) => one(i + k)));
      console.log(JSON.stringify({ trials: '12' }));
    })();`, { timeoutMs: 90000 });
  expect(expectClean(r)).toEqual({ trials: '12' });
}, 120000);
