// Front ends: names as torchaudio/ESPnet, output sizes and lengths, the sinusoid table, and
// padding invariance of the conv positional embedding.
import { nn, ops, tensor } from '../../lib';
import { testDevices } from '../helpers/devices';
import { closeness, randomArray } from '../helpers/reference';

describe.each(testDevices)('front ends on %s', (device) => {
  test('sinusoidal table: sin on even, cos on odd channels', () => {
    const t = nn.sinusoidalPositions(7, 6, device).dataSync();
    for (let p = 0; p < 7; ++p) for (let i = 0; i < 6; i += 2) {
      const w = 1 / 10000 ** (i / 6);
      expect(t[p * 6 + i]).toBeCloseTo(Math.sin(p * w), 6);
      expect(t[p * 6 + i + 1]).toBeCloseTo(Math.cos(p * w), 6);
    }
    const pe = new nn.PositionalEncoding(6, { dropout: 0 });
    const x = tensor(new Float32Array(2 * 7 * 6), [2, 7, 6], { device });
    expect(Array.from(pe.forward(x).dataSync().subarray(42))).toEqual(Array.from(t));
  });

  test('Conv2dSubsampling x4: ESPnet names, sizes, lengths', () => {
    const s = new nn.Conv2dSubsampling(80, 32, { device });
    expect(s.namedParameters().map(([n]) => n)).toEqual(['conv.0.weight', 'conv.0.bias', 'conv.2.weight', 'conv.2.bias', 'out.0.weight', 'out.0.bias']);
    const r = s.forward(tensor(Float32Array.from(randomArray(2 * 101 * 80)), [2, 101, 80], { device }), [101, 50]);
    expect(r.out.shape).toEqual([2, 24, 32]);
    expect(Array.from(r.lengths!)).toEqual([24, 11]);
  });

  test('FeatureExtractor: torchaudio names, 320x downsampling, lengths', () => {
    const f = new nn.FeatureExtractor({ device, channels: 16 });
    const names = f.namedParameters().map(([n]) => n);
    expect(names[0]).toBe('conv_layers.0.conv.weight');
    expect(names).toContain('conv_layers.0.layer_norm.weight');
    expect(names).toContain('conv_layers.6.conv.weight');
    expect(names.some((n) => n.endsWith('conv.bias'))).toBe(false);
    const r = f.forward(tensor(Float32Array.from(randomArray(2 * 16000)), [2, 16000], { device }), [16000, 8000]);
    expect(r.out.shape).toEqual([2, 49, 16]);
    expect(Array.from(r.lengths!)).toEqual([49, 24]);
    expect(nn.FeatureExtractor.outLength(400)).toBe(1);
  });

  test('ConvPositionalEmbedding: torchaudio names, same length out, padding never leaks', () => {
    const pos = new nn.ConvPositionalEmbedding(16, { device, kernel: 8, groups: 4 });
    expect(pos.namedParameters().map(([n, t]) => [n, t.shape])).toEqual([['conv.weight_g', [1, 1, 8]], ['conv.weight_v', [16, 4, 8]], ['conv.bias', [16]]]);
    const L = 12;
    const a = Float32Array.from(randomArray(L * 16));
    const b = Float32Array.from(randomArray(L * 16), (v, i) => (i >= 7 * 16 ? 50 : v));
    const y = pos.forward(tensor(Float32Array.from([...a, ...b]), [2, L, 16], { device }), [L, 7]);
    expect(y.shape).toEqual([2, L, 16]);
    const alone = pos.forward(tensor(b.subarray(0, 7 * 16), [1, 7, 16], { device })).dataSync();
    expect(closeness(y.dataSync().subarray(L * 16, L * 16 + 7 * 16), alone, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    ops.sum(y).backward();
    expect(pos.conv.weight_g.grad).not.toBeNull();
  });
});

describe('WeightNorm after to()', () => {
  test('the wrapped module reads the moved bias, not the disposed old one (ConvPositionalEmbedding to bf16 and back)', () => {
    const pos = new nn.ConvPositionalEmbedding(16, { kernel: 4, groups: 4, device: 'cpu' });
    const x = tensor(Float32Array.from(randomArray(2 * 5 * 16)), [2, 5, 16], { device: 'cpu' });
    const ref = Array.from((pos.forward(x) as ReturnType<typeof tensor>).dataSync());
    pos.to('bfloat16');
    pos.to('float32'); // every parameter replaced twice; the old ones are disposed
    const y = Array.from((pos.forward(x) as ReturnType<typeof tensor>).dataSync());
    // bf16 rounding of the weights changes the output a little; it must run and stay close.
    y.forEach((v, i) => expect(Math.abs(v - ref[i])).toBeLessThan(5e-2));
  });
});
