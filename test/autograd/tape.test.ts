// The tape: accumulation, shared subgraphs, retainGraph, noGrad, detach, memory after backward.
import { backward, memory, noGrad, ops, tensor, tidy } from '../../lib';
import { testDevices } from '../helpers/devices';

describe.each(testDevices)('autograd on %s', (device) => {
  test('a shared subexpression accumulates both paths; leaves accumulate across calls', () => {
    const x = tensor([1, 2, 3], undefined, { device, requiresGrad: true });
    const y = ops.mul(x, x); // used twice below
    const z = ops.add(ops.mul(y, 3), ops.exp(y)).sum();
    z.backward();
    const xv = [1, 2, 3];
    const expected = xv.map((v) => (3 + Math.exp(v * v)) * 2 * v);
    Array.from(x.grad!.dataSync()).forEach((g, i) => expect(g).toBeCloseTo(expected[i], 1));
    ops.sum(x).backward();
    Array.from(x.grad!.dataSync()).forEach((g, i) => expect(g).toBeCloseTo(expected[i] + 1, 1));
  });

  test('backward twice through a freed graph throws; retainGraph allows it', () => {
    const x = tensor([0.5, -1], undefined, { device, requiresGrad: true });
    const y = ops.tanh(x).sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    const t = Math.tanh;
    Array.from(x.grad!.dataSync()).forEach((g, i) => expect(g).toBeCloseTo(2 * (1 - t([0.5, -1][i]) ** 2), 5));
    expect(() => y.backward()).toThrow("[backward] the graph through 'sum' was already freed by an earlier backward");
  });

  test('implicit grad only for 1-element outputs; explicit grad shape checked', () => {
    const x = tensor([1, 2], undefined, { device, requiresGrad: true });
    const y = ops.mul(x, 2);
    expect(() => y.backward()).toThrow('[backward] grad can be implied only for a 1-element output; this one has shape (2)');
    expect(() => y.backward(tensor([1, 2, 3], undefined, { device }))).toThrow('[backward] grad shape (3) does not match output shape (2)');
    expect(() => tensor([1]).backward()).toThrow('[backward] tensor does not require grad');
  });

  test('noGrad records nothing; detach cuts the graph; requiresGrad propagates', () => {
    const x = tensor([1, 2], undefined, { device, requiresGrad: true });
    const y = noGrad(() => ops.mul(x, 2));
    expect(y.requiresGrad).toBe(false);
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    expect(ops.mul(d, 2).requiresGrad).toBe(false);
    expect(ops.mul(x, 2).requiresGrad).toBe(true);
    expect(ops.mul(x, 2).isLeaf).toBe(false);
  });

  test('saved tensors survive tidy of the forward, and are freed after backward', () => {
    const x = tensor([0.3, 0.7, 1.1], undefined, { device, requiresGrad: true });
    const base = memory().tensors;
    const loss = tidy(() => ops.sum(ops.exp(ops.mul(ops.sigmoid(x), 3))));
    // Intermediates were disposed by tidy, but the graph's saved aliases keep what backward needs.
    expect(memory().tensors).toBeGreaterThan(base + 1);
    loss.backward();
    const xv = [0.3, 0.7, 1.1];
    const s = (v: number) => 1 / (1 + Math.exp(-v));
    Array.from(x.grad!.dataSync()).forEach((g, i) => expect(g).toBeCloseTo(Math.exp(3 * s(xv[i])) * 3 * s(xv[i]) * (1 - s(xv[i])), 4));
    loss.dispose();
    // Left: x's grad (new) only; every saved alias and intermediate grad is gone.
    expect(memory().tensors).toBe(base + 1);
  });

  test('gradients through a disposed leaf still reach the leaf object', () => {
    const x = tensor([2], undefined, { device, requiresGrad: true });
    const y = ops.square(x);
    backward(y);
    expect(x.grad!.item()).toBe(4);
  });
});

describe.each(testDevices)('to() in the graph on %s', (device) => {
  test('gradients flow through dtype casts back to the float32 leaf', () => {
    const x = tensor([0.5, -1.5, 2], undefined, { device, requiresGrad: true });
    const y = ops.mul(x.to('bfloat16'), 3).to('float32');
    expect(y.requiresGrad).toBe(true);
    y.sum().backward();
    expect(x.grad!.dtype).toBe('float32');
    expect(Array.from(x.grad!.dataSync())).toEqual([3, 3, 3]);
    expect(x.to('int32').requiresGrad).toBe(false);
  });
});
