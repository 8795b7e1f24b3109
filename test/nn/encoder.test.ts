// Encoder layers: names as the PyTorch modules, padding invariance (valid steps of a padded
// batch equal each item alone), hidden-state count and semantics, train/eval difference only
// through dropout/batch-norm, gradients to every parameter.
import { memory, nn, noGrad, ops, tensor, Tensor } from '../../lib';
import { describeCuda, testDevices } from '../helpers/devices';
import { closeness, randomArray } from '../helpers/reference';

const C = 16;
const builders: [string, (device: 'cpu' | 'cuda') => nn.EncoderLayer][] = [
  ['transformer post-norm', (d) => new nn.TransformerEncoderLayer({ dModel: C, nHead: 4, dimFeedforward: 32, device: d, seed: 1 })],
  ['transformer pre-norm', (d) => new nn.TransformerEncoderLayer({ dModel: C, nHead: 4, dimFeedforward: 32, normFirst: true, activation: 'gelu', device: d, seed: 2 })],
  ['mamba', (d) => new nn.MambaLayer({ dModel: C, dState: 4, device: d, seed: 3 })],
  ['conformer', (d) => new nn.ConformerLayer({ dModel: C, nHead: 4, ffnDim: 32, depthwiseKernel: 5, device: d, seed: 4 })],
  ['conbimamba', (d) => new nn.ConBiMambaLayer({ dModel: C, ffnDim: 32, depthwiseKernel: 5, mamba: { dState: 4 }, device: d, seed: 5 })],
  ['transbimamba', (d) => new nn.TransBiMambaLayer({ dModel: C, dimFeedforward: 32, mamba: { dState: 4 }, device: d, seed: 6 })],
];

describe.each(testDevices)('encoder layers on %s', (device) => {
  test('parameter names follow the PyTorch modules', () => {
    const t = new nn.TransformerEncoderLayer({ dModel: C, nHead: 4, dimFeedforward: 32, device });
    expect(t.namedParameters().map(([n]) => n)).toEqual([
      'self_attn.in_proj_weight', 'self_attn.in_proj_bias', 'self_attn.out_proj.weight', 'self_attn.out_proj.bias',
      'linear1.weight', 'linear1.bias', 'linear2.weight', 'linear2.bias', 'norm1.weight', 'norm1.bias', 'norm2.weight', 'norm2.bias',
    ]);
    const m = new nn.MambaLayer({ dModel: C, device });
    expect(m.namedParameters().map(([n]) => n).filter((n) => !n.startsWith('mixer.'))).toEqual(['norm.weight', 'norm.bias']);
    const c = new nn.ConformerLayer({ dModel: C, nHead: 4, device });
    const names = c.namedParameters().map(([n]) => n);
    for (const n of ['ffn1.sequential.0.weight', 'ffn1.sequential.1.weight', 'ffn1.sequential.4.bias', 'self_attn_layer_norm.weight',
      'self_attn.in_proj_weight', 'conv_module.layer_norm.weight', 'conv_module.sequential.0.weight', 'conv_module.sequential.2.weight',
      'conv_module.sequential.3.weight', 'conv_module.sequential.5.weight', 'ffn2.sequential.1.weight', 'final_layer_norm.bias']) {
      expect(names).toContain(n);
    }
    expect(Object.keys(c.stateDict())).toContain('conv_module.sequential.3.running_mean');
    const cb = new nn.ConBiMambaLayer({ dModel: C, device });
    expect(cb.namedParameters().some(([n]) => n.startsWith('bimamba.forward_mamba.'))).toBe(true);
    expect(cb.namedParameters().some(([n]) => n.startsWith('self_attn.'))).toBe(false);
  });

  test.each(builders)('%s: padding invariance in eval mode', (_, build) => {
    const layer = build(device).eval();
    const L = 9;
    const a = Float32Array.from(randomArray(L * C));
    const b = Float32Array.from(randomArray(L * C));
    const junk = Float32Array.from(b, (v, i) => (i >= 5 * C ? 100 + v : v)); // padding holds garbage
    const batch = layer.forward(tensor(Float32Array.from([...a, ...junk]), [2, L, C], { device }), [L, 5]).dataSync();
    const alone = layer.forward(tensor(b.subarray(0, 5 * C), [1, 5, C], { device })).dataSync();
    expect(closeness(batch.subarray(L * C, L * C + 5 * C), alone, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    const first = layer.forward(tensor(a, [1, L, C], { device })).dataSync();
    expect(closeness(batch.subarray(0, L * C), first, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
  });

  test.each(builders)('%s: gradients reach every parameter', (_, build) => {
    const layer = build(device);
    const x = tensor(Float32Array.from(randomArray(2 * 6 * C)), [2, 6, C], { device, requiresGrad: true });
    ops.sum(ops.square(layer.forward(x, [6, 4]))).backward();
    for (const [n, p] of layer.namedParameters()) expect({ n, ok: p.grad !== null }).toEqual({ n, ok: true });
  });

  test('train and eval differ only through dropout and batch norm', () => {
    const t = new nn.TransformerEncoderLayer({ dModel: C, nHead: 4, dimFeedforward: 32, dropout: 0, device });
    const x = tensor(Float32Array.from(randomArray(2 * 5 * C)), [2, 5, C], { device });
    const y1 = t.train().forward(x).dataSync();
    const y2 = t.eval().forward(x).dataSync();
    expect(Array.from(y1)).toEqual(Array.from(y2));
    const d = new nn.TransformerEncoderLayer({ dModel: C, nHead: 4, dimFeedforward: 32, dropout: 0.5, device });
    expect(Array.from(d.train().forward(x).dataSync())).not.toEqual(Array.from(d.eval().forward(x).dataSync()));
  });

  test('Encoder: hiddenStates has L + 1 entries, hs[0] the input, hs[i] layer i; nothing leaks', () => {
    const layers = [0, 1, 2].map((i) => new nn.MambaLayer({ dModel: C, dState: 4, device, seed: i }));
    const enc = new nn.Encoder(layers);
    expect(enc.namedParameters().map(([n]) => n)).toContain('layers.0.mixer.in_proj.weight');
    const x = tensor(Float32Array.from(randomArray(2 * 7 * C)), [2, 7, C], { device });
    const before = memory().tensors;
    // Inference (noGrad): with grad on, the graph's saved tensors live until the outputs go.
    const r = noGrad(() => enc.forward(x, [7, 3], { hiddenStates: true }));
    expect(r.hiddenStates!.length).toBe(4);
    expect(r.hiddenStates![0]).toBe(x);
    let h: Tensor = x;
    for (let i = 0; i < 3; ++i) {
      h = noGrad(() => layers[i].forward(h, [7, 3]));
      expect(Array.from(r.hiddenStates![i + 1].dataSync())).toEqual(Array.from(h.dataSync()));
    }
    expect(r.out).toBe(r.hiddenStates![3]);
    r.hiddenStates!.slice(1).forEach((t) => t.dispose());
    const plain = noGrad(() => enc.forward(x, [7, 3]));
    expect(plain.hiddenStates).toBeUndefined();
    plain.out.dispose();
    expect(memory().tensors).toBe(before + 3); // the three h's recomputed above
  });
});

describeCuda('encoder layers under bf16 autocast (cuda)', () => {
  test.each(builders)('%s: runs in bf16, float32 parameters get float32 grads', (_, build) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { autocast } = require('../../lib') as typeof import('../../lib');
    const layer = build('cuda');
    const x = tensor(Float32Array.from(randomArray(2 * 6 * C)), [2, 6, C], { device: 'cuda', requiresGrad: true });
    const y = autocast('bfloat16', () => layer.forward(x, [6, 4]));
    ops.sum(y.to('float32')).backward();
    for (const [n, p] of layer.namedParameters()) expect({ n, dtype: p.grad?.dtype }).toEqual({ n, dtype: 'float32' });
    expect(x.grad!.dtype).toBe('float32');
  });
});
