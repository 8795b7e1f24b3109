// Ownership: dispose, tidy, keep, forgotten tensors, and memory() staying at its baseline.
import { add, keep, memory, randn, scopeDepth, tensor, tidy, Tensor, zeros } from '../../lib';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { testDevices } from '../helpers/devices';

describe.each(testDevices)('memory on %s', (device) => {
  test('dispose frees at once and memory() shows it', () => {
    const base = memory();
    const t = zeros([1000, 10], { device });
    const m = memory();
    expect(m.tensors).toBe(base.tensors + 1);
    expect(m.bytes[device]).toBe(base.bytes[device] + 40000);
    t.dispose();
    expect(t.isDisposed).toBe(true);
    t.dispose(); // idempotent
    expect(memory().tensors).toBe(base.tensors);
    expect(memory().bytes[device]).toBe(base.bytes[device]);
  });

  test('10,000 create/dispose cycles return to the baseline', () => {
    const base = memory();
    for (let i = 0; i < 10000; ++i) {
      const a = randn([17], { device, seed: i });
      const b = add(a, 1);
      a.dispose();
      b.dispose();
    }
    const m = memory();
    expect(m.tensors).toBe(base.tensors);
    expect(m.bytes).toEqual(base.bytes);
  });

  test('1,000 tidy scopes return to the baseline and keep what they return', () => {
    const base = memory();
    const kept: Tensor[] = [];
    for (let i = 0; i < 1000; ++i) {
      const out = tidy(() => {
        const a = randn([33], { device, seed: i });
        const b = add(a, a);
        return { result: add(b, 1), extra: [i] };
      });
      expect(out.result.isDisposed).toBe(false);
      if (i % 100 === 0) kept.push(out.result);
      else out.result.dispose();
    }
    expect(memory().tensors).toBe(base.tensors + kept.length);
    kept.forEach((t) => t.dispose());
    expect(memory().tensors).toBe(base.tensors);
    expect(memory().bytes).toEqual(base.bytes);
    expect(scopeDepth()).toBe(0);
  });

  test('nested tidy hands returned tensors to the outer scope; keep() survives both', () => {
    let inner!: Tensor;
    let kept!: Tensor;
    let temp!: Tensor;
    const base = memory().tensors;
    const outer = tidy(() => {
      inner = tidy(() => {
        temp = zeros([2], { device });
        kept = keep(zeros([3], { device }));
        return add(temp, 1);
      });
      expect(temp.isDisposed).toBe(true);
      expect(inner.isDisposed).toBe(false);
      return 42;
    });
    expect(outer).toBe(42);
    expect(inner.isDisposed).toBe(true); // not returned by the outer scope
    expect(kept.isDisposed).toBe(false);
    kept.dispose();
    expect(memory().tensors).toBe(base);
  });

  test('a throwing tidy disposes what it made and rethrows', () => {
    const base = memory().tensors;
    let t!: Tensor;
    expect(() =>
      tidy(() => {
        t = zeros([5], { device });
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(t.isDisposed).toBe(true);
    expect(memory().tensors).toBe(base);
    expect(scopeDepth()).toBe(0);
  });

  test('tidy refuses an async function', () => {
    expect(() => tidy(async () => zeros([1], { device }))).toThrow('[tidy] fn returned a Promise');
  });

  test('use after dispose throws for every access', () => {
    const t = tensor([1, 2], undefined, { device });
    t.dispose();
    expect(() => t.dataSync()).toThrow('[dataSync] tensor was disposed; it cannot be used after dispose()');
    expect(() => t.shape).toThrow('[shape] tensor was disposed');
    expect(() => t.item()).toThrow(/tensor was disposed/);
    expect(() => t.to('int32')).toThrow(/tensor was disposed/);
    expect(() => add(t, 1)).toThrow('[add] tensor was disposed');
    expect(() => add(zeros([2], { device }), t)).toThrow('[add] tensor was disposed');
    expect(t.toString()).toBe('Tensor(disposed)');
    return expect(t.data()).rejects.toThrow('[data] tensor was disposed');
  });
});

// In a plain Node process (the TypeScript sources, as jest tests them), as users run it. Inside jest's sandboxed module contexts the
// FinalizationRegistry callbacks sometimes never ran for the whole 10 s wait (twice in ~8 full
// runs: 100 tensors still counted), which says nothing about the library; FinalizationRegistry
// callbacks are best effort by specification, and this checks the common case.
describe('forgotten tensors', () => {
  test('are freed after garbage collection (plain node process)', () => {
    const root = path.resolve(__dirname, '../..');
    const script = `
      const ms = require(${JSON.stringify(path.join(root, 'bench', 'common.js'))}).loadLibrary({ sources: true });
      (async () => {
        const settle = async (done) => {
          for (const t0 = Date.now(); Date.now() - t0 < 10000;) {
            global.gc();
            await new Promise((r) => setTimeout(r, 10));
            if (done()) return;
          }
        };
        const base = ms.memory();
        (function forget() { for (let i = 0; i < 100; ++i) ms.zeros([1024], { device: 'cpu' }); })();
        const made = ms.memory();
        await settle(() => ms.memory().tensors === base.tensors);
        const after = ms.memory();
        console.log(JSON.stringify({ base, made, after }));
      })();`;
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', cwd: root, timeout: 60000 });
    expect(r.stderr).toBe('');
    const { base, made, after } = JSON.parse(r.stdout.trim().split('\n').pop() as string);
    expect(made.tensors).toBe(base.tensors + 100);
    expect(made.bytes.cpu).toBe(base.bytes.cpu + 100 * 4096);
    expect(after.tensors).toBe(base.tensors);
    expect(after.bytes.cpu).toBe(base.bytes.cpu);
  });
});

test.each(testDevices)('data() resolves with the values on %s', async (device) => {
  const t = tensor([1.5, 2.5], undefined, { device, dtype: 'bfloat16' });
  const v = await t.data();
  expect(Array.from(v)).toEqual([1.5, 2.5]);
});

describe.each(testDevices)('composite ops leave nothing behind on %s', (device) => {
  test('matmul, linear, reductions, softmax, pad, repeat: live tensors return to the baseline', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { ops } = require('../../lib') as typeof import('../../lib');
    const x = randn([2, 3, 4], { device, seed: 1 });
    const w = randn([5, 4], { device, seed: 2 });
    const wt = ops.transpose(w);
    const v = randn([4], { device });
    const base = memory().tensors;
    const results = [
      ops.matmul(x, wt), ops.linear(x, w), ops.matmul(v, v),
      ops.sum(x, [0, 2]), ops.max(x, 1, true), ops.std(x, -1), ops.softmax(x, 1), ops.logSoftmax(x, 0),
      ops.pad(x, [1, 2], 'reflect'), ops.repeat(x, [2, 1, 1]), ops.glu(x, -1), ops.stack([x, x]),
    ];
    // Each result is one live tensor; every intermediate view or copy is already gone.
    expect(memory().tensors).toBe(base + results.length);
    results.forEach((t) => t.dispose());
    expect(memory().tensors).toBe(base);
  });
});
