// PyTorch parity: fixtures made by scripts/fixtures/nn_parity.py on the GPU machine (PyTorch
// 2.11, float64) — weights load by name, outputs match to 1e-4 and gradients of sum(out * P) to
// 1e-3 (max error over the tensor / max magnitude), on every device. A fixture that is absent is reported, not silently passed.
import * as fs from 'fs';
import * as path from 'path';

import { io, nn, ops, Tensor } from '../../lib';
// BatchNorm/GroupNorm in the Conformer and extractor: compared in training mode as PyTorch ran.
import { testDevices } from '../helpers/devices';
import { normRelError } from '../helpers/reference';

const dir = path.resolve(__dirname, '../fixtures/nn');

type Build = (device: 'cpu' | 'cuda') => nn.Module;
const cases: [string, Build, (m: nn.Module, x: Tensor, lengths: Int32Array) => Tensor][] = [
  ['mamba', (device) => new nn.Mamba({ dModel: 16, dState: 8, device }), (m, x, l) => (m as nn.Mamba).forward(x, l)],
  ['mamba_reverse', (device) => new nn.Mamba({ dModel: 16, dState: 8, device, reverse: true }), (m, x, l) => (m as nn.Mamba).forward(x, l)],
  ['bimamba_outer', (device) => new nn.BiMambaOuter({ dModel: 16, dState: 8, device }), (m, x, l) => (m as nn.BiMambaOuter).forward(x, l)],
  ['mha', (device) => new nn.MultiHeadAttention(16, 4, { device }), (m, x, l) => (m as nn.MultiHeadAttention).forward(x, { keyLengths: l })],
  ['transformer_post', (device) => new nn.TransformerEncoderLayer({ dModel: 16, nHead: 4, dimFeedforward: 32, dropout: 0, device }),
    (m, x, l) => (m as nn.TransformerEncoderLayer).forward(x, l)],
  ['transformer_pre', (device) => new nn.TransformerEncoderLayer({ dModel: 16, nHead: 4, dimFeedforward: 32, dropout: 0, normFirst: true, device }),
    (m, x, l) => (m as nn.TransformerEncoderLayer).forward(x, l)],
  ['conformer', (device) => new nn.ConformerLayer({ dModel: 16, nHead: 4, ffnDim: 32, depthwiseKernel: 5, dropout: 0, device }),
    (m, x, l) => (m as nn.ConformerLayer).forward(x, l)],
  ['feature_extractor', (device) => new nn.FeatureExtractor({ channels: 8, device }), (m, x) => (m as nn.FeatureExtractor).forward(x).out],
  ['conbimamba', (device) => new nn.ConBiMambaLayer({ dModel: 16, ffnDim: 32, depthwiseKernel: 5, dropout: 0, mamba: { dState: 8 }, device }),
    (m, x, l) => (m as nn.ConBiMambaLayer).forward(x, l)],
  ['conv_pos', (device) => new nn.ConvPositionalEmbedding(16, { kernel: 8, groups: 4, device }), (m, x) => (m as nn.ConvPositionalEmbedding).forward(x)],
];

describe.each(testDevices)('PyTorch parity on %s', (device) => {
  test.each(cases)('%s', (name, build, call) => {
    const file = path.join(dir, `${name}.safetensors`);
    if (!fs.existsSync(file)) throw new Error(`fixture ${file} is missing: run scripts/fixtures/nn_parity.py on the GPU machine`);
    const { tensors } = io.loadSafetensors(file, { device });
    const m = build(device);
    const weights: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(tensors)) if (k.startsWith('weight.')) weights[k.slice(7)] = v;
    m.loadStateDict(weights); // strict: every name must match
    const x = tensors['input.x'].detach().requiresGrad_(true);
    const lengths = tensors['input.lengths'].dataSync() as Int32Array;
    const out = call(m, x, lengths);
    const ref = tensors.output.dataSync();
    // Padded query rows are not compared (PyTorch's values there are unspecified).
    const L = x.ndim === 3 ? x.shape[1] : 0;
    const C = out.shape[out.ndim - 1];
    const valid = (i: number): boolean => x.ndim !== 3 || Math.floor(i / C) % L < lengths[Math.floor(i / (L * C))];
    const keep = (a: ArrayLike<number>) => Array.from(a).filter((_, i) => valid(i));
    expect(normRelError(keep(out.dataSync()), keep(ref))).toBeLessThanOrEqual(1e-4);
    ops.sum(ops.mul(out, tensors.projection)).backward();
    expect(normRelError(x.grad!.dataSync(), tensors['grad.x'].dataSync())).toBeLessThanOrEqual(1e-3);
    for (const [n, p] of m.namedParameters()) {
      const g = tensors[`grad.${n}`];
      expect({ n, present: g !== undefined }).toEqual({ n, present: true });
      // A bias right before a training-mode batch norm has an exactly zero gradient (the norm
      // removes per-channel shifts); both sides are then rounding noise, so compare absolutely.
      const ref = g.dataSync();
      const scale = Math.max(...Array.from(ref, Math.abs));
      const ok = scale < 1e-7 ? Math.max(...Array.from(p.grad!.dataSync(), Math.abs)) < 1e-5 : normRelError(p.grad!.dataSync(), ref) <= 1e-3;
      expect({ n, ok }).toEqual({ n, ok: true });
    }
  });
});
