// Norm/conv/dropout/embedding/weight-norm layers: PyTorch names and init, and that each equals
// its op (the ops themselves are tested against float64 references in test/ops).
import { memory, nn, ops, tensor, Tensor } from '../../lib';
import { testDevices } from '../helpers/devices';
import { closeness, randomArray } from '../helpers/reference';

describe.each(testDevices)('layers on %s', (device) => {
  const x = (s: number[]) => tensor(Float32Array.from(randomArray(s.reduce((p, d) => p * d, 1))), s, { device });

  test('norm layers: names, init, forward = op', () => {
    const ln = new nn.LayerNorm(8, { device });
    expect(ln.namedParameters().map(([n]) => n)).toEqual(['weight', 'bias']);
    const v = x([3, 5, 8]);
    expect(Array.from(ln.forward(v).dataSync())).toEqual(Array.from(ops.layerNorm(v, [8], ln.weight, ln.bias).dataSync()));
    const rn = new nn.RMSNorm(8, { device });
    expect(rn.namedParameters().map(([n]) => n)).toEqual(['weight']);
    const gn = new nn.GroupNorm(2, 4, { device });
    expect(gn.forward(x([2, 4, 7])).shape).toEqual([2, 4, 7]);
    expect(() => new nn.GroupNorm(3, 4)).toThrow('[GroupNorm] numChannels 4 is not divisible by numGroups 3');
  });

  test('BatchNorm1d updates running stats in training only; names as PyTorch', () => {
    const bn = new nn.BatchNorm1d(3, { device });
    expect(Object.keys(bn.stateDict())).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    const v = x([6, 3, 5]);
    bn.forward(v);
    const m1 = Array.from(bn.running_mean!.dataSync());
    expect(m1.some((a) => a !== 0)).toBe(true);
    expect(bn.num_batches_tracked!.item()).toBe(1);
    bn.eval();
    const y = bn.forward(v);
    expect(Array.from(bn.running_mean!.dataSync())).toEqual(m1);
    // eval: (x - running_mean) / sqrt(running_var + eps) * w + b
    const rm = bn.running_mean!.dataSync();
    const rv = bn.running_var!.dataSync();
    const xv = v.dataSync();
    const ref = Float64Array.from(xv, (val, i) => {
      const c = Math.floor(i / 5) % 3;
      return (val - rm[c]) / Math.sqrt(rv[c] + 1e-5);
    });
    expect(closeness(y.dataSync(), ref, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
  });

  test('conv layers: names, shapes, PyTorch init bounds, forward = op', () => {
    const c = new nn.Conv1d(4, 6, 3, { device, stride: 2, padding: 1, seed: 1 });
    expect(c.namedParameters().map(([n, t]) => [n, t.shape])).toEqual([['weight', [6, 4, 3]], ['bias', [6]]]);
    const bound = 1 / Math.sqrt(12);
    expect(Array.from(c.weight.dataSync()).every((w) => Math.abs(w) <= bound)).toBe(true);
    const v = x([2, 4, 9]);
    expect(Array.from(c.forward(v).dataSync())).toEqual(Array.from(ops.conv1d(v, c.weight, c.bias, { stride: 2, padding: 1 }).dataSync()));
    expect(new nn.Conv2d(1, 8, 3, { device, stride: 2 }).forward(x([1, 1, 9, 9])).shape).toEqual([1, 8, 4, 4]);
    expect(new nn.ConvTranspose1d(4, 2, 4, { device, stride: 2, padding: 1 }).forward(x([1, 4, 5])).shape).toEqual([1, 2, 10]);
  });

  test('Dropout is the identity in eval mode and zeroes about p in training', () => {
    const d = new nn.Dropout(0.5);
    const v = ops.add(x([100000]), 10);
    d.eval();
    expect(d.forward(v)).toBe(v);
    d.train();
    const y = d.forward(v).dataSync();
    const zeros = Array.from(y).filter((a) => a === 0).length / y.length;
    expect(Math.abs(zeros - 0.5)).toBeLessThan(0.01);
  });

  test('Embedding: N(0,1) init, padding row zero and without gradient', () => {
    const e = new nn.Embedding(10, 4, { device, paddingIdx: 0 });
    expect(Array.from(e.weight.dataSync().subarray(0, 4))).toEqual([0, 0, 0, 0]);
    const y = e.forward(tensor(new Int32Array([0, 3, 3]), undefined, { device }));
    ops.sum(y).backward();
    const g = e.weight.grad!.dataSync();
    expect(Array.from(g.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    expect(Array.from(g.subarray(12, 16))).toEqual([2, 2, 2, 2]);
  });

  test('WeightNorm: weight_g / weight_v, same output as the wrapped conv at init, gradients to g and v', () => {
    const conv = new nn.Conv1d(4, 4, 5, { device, padding: 2, groups: 2, seed: 3 });
    const v = x([1, 4, 11]);
    const before = conv.forward(v).dataSync();
    const wn = new nn.WeightNorm(conv, 2);
    expect(wn.namedParameters().map(([n]) => n)).toEqual(['weight_g', 'weight_v', 'bias']);
    expect(wn.weight_g.shape).toEqual([1, 1, 5]);
    const y = wn.forward(v) as Tensor;
    expect(closeness(y.dataSync(), before, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    ops.sum(ops.square(y)).backward();
    expect(wn.weight_g.grad).not.toBeNull();
    expect(wn.weight_v.grad).not.toBeNull();
    void memory;
  });
});
