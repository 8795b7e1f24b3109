// Module: names, state dict (round trip through safetensors, strict errors), to(), train/eval,
// freezing, deterministic init, Linear vs a float64 reference.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { io, memory, nn, ops, tensor, Tensor } from '../../lib';
import { testDevices } from '../helpers/devices';
import { closeness, randomArray } from '../helpers/reference';

class Block extends nn.Module {
  proj: nn.Linear;
  out: nn.Sequential;
  scale: Tensor;
  constructor(seed: number) {
    super();
    this.proj = this.module('proj', new nn.Linear(4, 8, { seed }));
    this.out = this.module('out', new nn.Sequential(new nn.ReLU(), new nn.Linear(8, 3, { seed: seed + 1, bias: false })));
    this.scale = this.buffer('scale', tensor([2]));
  }
  forward(x: Tensor): Tensor {
    return ops.mul(this.out.forward(this.proj.forward(x)) as Tensor, this.scale);
  }
}

describe.each(testDevices)('nn.Module on %s', (device) => {
  test('dotted names as PyTorch, parameter count, deterministic init', () => {
    const m = new Block(7).to(device);
    expect(m.namedParameters().map(([n]) => n)).toEqual(['proj.weight', 'proj.bias', 'out.1.weight']);
    expect(Object.keys(m.stateDict())).toEqual(['proj.weight', 'proj.bias', 'out.1.weight', 'scale']);
    expect(m.numParameters()).toBe(4 * 8 + 8 + 8 * 3);
    const again = new Block(7).to(device);
    expect(Array.from(again.proj.weight.dataSync())).toEqual(Array.from(m.proj.weight.dataSync()));
    const other = new Block(8).to(device);
    expect(Array.from(other.proj.weight.dataSync())).not.toEqual(Array.from(m.proj.weight.dataSync()));
    // Linear's default init bound 1/sqrt(in)
    for (const v of m.proj.weight.dataSync()) expect(Math.abs(v)).toBeLessThanOrEqual(0.5);
  });

  test('Linear matches x Wᵀ + b in float64', () => {
    const l = new nn.Linear(129, 7, { seed: 3, device });
    const x = Float32Array.from(randomArray(5 * 129));
    const y = l.forward(tensor(x, [5, 129], { device })).dataSync();
    const w = l.weight.dataSync();
    const b = l.bias!.dataSync();
    const ref = new Float64Array(35);
    for (let r = 0; r < 5; ++r) for (let o = 0; o < 7; ++o) {
      let s = b[o];
      for (let i = 0; i < 129; ++i) s += x[r * 129 + i] * w[o * 129 + i];
      ref[r * 7 + o] = s;
    }
    expect(closeness(y, ref, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
  });

  test('state dict round trip through safetensors; loading writes in place', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-mod-'));
    try {
      const a = new Block(1).to(device);
      const b = new Block(2).to(device);
      const weightObject = b.proj.weight;
      a.save(path.join(dir, 'a.safetensors'), { kind: 'test' });
      b.load(path.join(dir, 'a.safetensors'));
      expect(b.proj.weight).toBe(weightObject);
      for (const [n, t] of Object.entries(a.stateDict())) expect(Array.from(b.stateDict()[n].dataSync())).toEqual(Array.from(t.dataSync()));
      expect(io.loadSafetensors(path.join(dir, 'a.safetensors')).metadata).toEqual({ kind: 'test' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('strict loading lists missing, unexpected and mismatched keys in one error and writes nothing', () => {
    const m = new Block(1).to(device);
    const before = Array.from(m.proj.bias!.dataSync());
    const sd = { ...m.stateDict() };
    delete (sd as Record<string, Tensor>)['out.1.weight'];
    sd['extra.weight'] = tensor([1]);
    sd['proj.weight'] = tensor(new Float32Array(12), [3, 4]);
    sd['proj.bias'] = tensor(new Float32Array(8), [8]);
    expect(() => m.loadStateDict(sd)).toThrow(
      '[loadStateDict] Block: missing keys: out.1.weight; unexpected keys: extra.weight; shape mismatches: proj.weight: expected (8, 4), got (3, 4)',
    );
    expect(Array.from(m.proj.bias!.dataSync())).toEqual(before);
    delete sd['proj.weight'];
    const r = m.loadStateDict(sd, { strict: false });
    expect(r).toEqual({ missing: ['proj.weight', 'out.1.weight'], unexpected: ['extra.weight'] });
    expect(Array.from(m.proj.bias!.dataSync())).toEqual(new Array(8).fill(0));
  });

  test('train/eval, freezing, zeroGrad, gradients reach every parameter', () => {
    const m = new Block(4).to(device);
    expect(m.training).toBe(true);
    m.eval();
    expect(m.out.layers[1].training).toBe(false);
    m.train();
    const y = m.forward(tensor(Float32Array.from(randomArray(8)), [2, 4], { device }));
    ops.sum(y).backward();
    for (const p of m.parameters()) expect(p.grad).not.toBeNull();
    m.zeroGrad();
    for (const p of m.parameters()) expect(p.grad).toBeNull();
    m.requiresGrad_(false);
    expect(ops.sum(m.forward(tensor([[1, 2, 3, 4]], undefined, { device }))).requiresGrad).toBe(false);
  });

  test('module tensors survive tidy and are counted once', () => {
    const before = memory().tensors;
    const m = new Block(5);
    expect(memory().tensors).toBe(before + 4);
    m.parameters().forEach((p) => p.dispose());
    (m.stateDict().scale as Tensor).dispose();
  });
});
