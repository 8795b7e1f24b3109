// Bidirectional Mamba (outer = ExtBiMamba, inner = Vim v2): names, float64 references built from
// the one-direction reference, padding invariance, gradients.
import { nn, ops, tensor, Tensor } from '../../lib';
import { testDevices } from '../helpers/devices';
import { mambaRef } from '../helpers/mamba_ref';
import { closeness, randomArray } from '../helpers/reference';

describe.each(testDevices)('BiMamba on %s', (device) => {
  const [B, L, C] = [3, 9, 8];
  const x = Float32Array.from(randomArray(B * L * C));
  const lens = [9, 4, 1];

  test('outer: forward_mamba / backward_mamba / output_proj; = output_proj(concat(fwd, reversed))', () => {
    const m = nn.BiMamba({ kind: 'outer', dModel: C, dState: 4, seed: 1, device }) as nn.BiMambaOuter;
    const names = m.namedParameters().map(([n]) => n);
    expect(names.filter((n) => n.startsWith('forward_mamba.')).length).toBe(9);
    expect(names.filter((n) => n.startsWith('backward_mamba.')).length).toBe(9);
    expect(names).toContain('output_proj.weight');
    expect(names).toContain('output_proj.bias');
    const y = m.forward(tensor(x, [B, L, C], { device }), lens).dataSync();
    const W = m.output_proj.weight.dataSync();
    const bias = m.output_proj.bias!.dataSync();
    for (let b = 0; b < B; ++b) {
      const xb = x.subarray(b * L * C, (b + 1) * L * C);
      const f = mambaRef(m.forward_mamba, xb, L, lens[b], false);
      const r = mambaRef(m.backward_mamba, xb, L, lens[b], true);
      const ref = new Float64Array(lens[b] * C);
      for (let t = 0; t < lens[b]; ++t) for (let o = 0; o < C; ++o) {
        let s = bias[o];
        for (let i = 0; i < C; ++i) s += W[o * 2 * C + i] * f[t * C + i] + W[o * 2 * C + C + i] * r[t * C + i];
        ref[t * C + o] = s;
      }
      expect(closeness(y.subarray(b * L * C, b * L * C + lens[b] * C), ref, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    }
  });

  test('inner: shared projections, two branches summed = fwd mixer + reversed mixer with the _b params', () => {
    const m = nn.BiMamba({ kind: 'inner', dModel: C, dState: 4, seed: 2, device }) as nn.BiMambaInner;
    const names = m.namedParameters().map(([n]) => n);
    for (const n of ['in_proj.weight', 'conv1d.weight', 'conv1d_b.weight', 'conv1d_b.bias', 'x_proj_b.weight', 'dt_proj_b.weight',
      'dt_proj_b.bias', 'A_b_log', 'D_b', 'out_proj.weight']) expect(names).toContain(n);
    // A plain Mamba carrying the backward branch's parameters, reading backwards.
    const back = new nn.Mamba({ dModel: C, dState: 4, device, reverse: true });
    const sd = m.stateDict();
    back.loadStateDict({
      'in_proj.weight': sd['in_proj.weight'], 'out_proj.weight': sd['out_proj.weight'], 'conv1d.weight': sd['conv1d_b.weight'],
      'conv1d.bias': sd['conv1d_b.bias'], 'x_proj.weight': sd['x_proj_b.weight'], 'dt_proj.weight': sd['dt_proj_b.weight'],
      'dt_proj.bias': sd['dt_proj_b.bias'], A_log: sd.A_b_log, D: sd.D_b,
    });
    const y = m.forward(tensor(x, [B, L, C], { device }), lens).dataSync();
    for (let b = 0; b < B; ++b) {
      const xb = x.subarray(b * L * C, (b + 1) * L * C);
      const f = mambaRef(m, xb, L, lens[b], false);
      const r = mambaRef(back, xb, L, lens[b], true);
      const ref = Float64Array.from({ length: lens[b] * C }, (_, i) => f[i] + r[i]);
      expect(closeness(y.subarray(b * L * C, b * L * C + lens[b] * C), ref, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    }
  });

  test.each(['outer', 'inner'] as const)('%s: padding invariance and gradients', (kind) => {
    const m = nn.BiMamba({ kind, dModel: C, dState: 4, seed: 3, device });
    const a = Float32Array.from(randomArray(L * C));
    const bItem = Float32Array.from(randomArray(L * C));
    const xt = tensor(Float32Array.from([...a, ...bItem]), [2, L, C], { device, requiresGrad: true });
    const batch = m.forward(xt, [L, 5]);
    const alone = m.forward(tensor(bItem.subarray(0, 5 * C), [1, 5, C], { device })).dataSync();
    expect(closeness(batch.dataSync().subarray(L * C, L * C + 5 * C), alone, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    ops.sum(ops.square(batch)).backward();
    for (const [n, p] of m.namedParameters()) expect({ n, ok: p.grad !== null }).toEqual({ n, ok: true });
    const gx = xt.grad!.dataSync();
    for (let i = (L + 5) * C; i < 2 * L * C; ++i) expect(gx[i]).toBe(0);
  });
});

test('unknown kind is refused', () => {
  expect(() => nn.BiMamba({ kind: 'middle' as never, dModel: 4 })).toThrow("[BiMamba] kind must be 'outer' or 'inner', got 'middle'");
  void Tensor;
});
