/** The shared encoder spec: defaults, errors naming the field, PyTorch names of every stack,
 *  parameter counts against the published layer formulas, seeded init, hidden states. */
import { models, randn, tidy } from '../../lib';
import type { EncoderSpec } from '../../lib/models/encoder_spec';

const { resolveEncoderSpec, buildEncoder, needsPositionalEncoding, endsUnnormalised, ENCODER_TYPES } = models;

test('resolveEncoderSpec fills the documented defaults', () => {
  expect(resolveEncoderSpec({ type: 'conformer', layers: 3, dModel: 144 })).toEqual({
    type: 'conformer', layers: 3, dModel: 144, heads: 4, ffnDim: 576, dropout: 0.1, dState: 16, dConv: 4, expand: 2, bimamba: 'outer', normFirst: false, depthwiseKernel: 31,
  });
});

test('resolveEncoderSpec errors name the field and the value', () => {
  const base = { type: 'transformer', layers: 2, dModel: 64 } as EncoderSpec;
  expect(() => resolveEncoderSpec({ ...base, type: 'lstm' as EncoderSpec['type'] })).toThrow('[EncoderSpec] type must be one of transformer, conformer, mamba, bimamba, conbimamba, transbimamba, got "lstm"');
  expect(() => resolveEncoderSpec({ ...base, layers: 0 })).toThrow('[EncoderSpec] layers must be a positive integer, got 0');
  expect(() => resolveEncoderSpec({ ...base, dModel: 66, heads: 4 })).toThrow('[EncoderSpec] dModel (66) must be divisible by heads (4)');
  expect(resolveEncoderSpec({ ...base, type: 'mamba', dModel: 66 }).dModel).toBe(66); // no heads in Mamba
  expect(() => resolveEncoderSpec({ ...base, dropout: 1 })).toThrow('[EncoderSpec] dropout must be in [0, 1), got 1');
  expect(() => resolveEncoderSpec({ ...base, bimamba: 'both' as 'outer' })).toThrow("[EncoderSpec] bimamba must be 'outer' or 'inner'");
  expect(() => resolveEncoderSpec({ ...base, depthwiseKernel: 30 })).toThrow('[EncoderSpec] depthwiseKernel must be odd');
  expect(() => resolveEncoderSpec({ ...base, layers: 2.5 }, 'CtcAsr.encoder')).toThrow('[CtcAsr.encoder] layers must be a positive integer, got 2.5');
});

test('needsPositionalEncoding / endsUnnormalised per type', () => {
  const spec = (type: EncoderSpec['type'], normFirst = false): EncoderSpec => ({ type, layers: 1, dModel: 8, normFirst });
  expect(ENCODER_TYPES.filter((t) => needsPositionalEncoding(spec(t)))).toEqual(['transformer', 'conformer']);
  expect(ENCODER_TYPES.filter((t) => endsUnnormalised(spec(t)))).toEqual(['mamba', 'bimamba']);
  expect(endsUnnormalised(spec('transformer', true))).toBe(true);
});

const C = 16, F = 40, N = 4, E = 32, R = 1, K = 4, W = 5;
// Parameter counts of one layer from the published module definitions (C = dModel, F = ffnDim,
// N = dState, E = expand·C, R = ceil(C/16) dt rank, K = dConv, W = depthwiseKernel).
const mha = 4 * C * C + 4 * C;
const ln = 2 * C;
const ffn = 2 * C * F + F + C;
const mamba = C * 2 * E + (E * K + E) + E * (R + 2 * N) + (R * E + E) + E * N + E + E * C;
const outer = 2 * mamba + (2 * C * C + C);
const inner = mamba + (E * K + E) + E * (R + 2 * N) + (R * E + E) + E * N + E; // second scan branch
const convModule = ln + (C * 2 * C + 2 * C) + (C * W + C) + 2 * C + (C * C + C);
const confFfn = ln + ffn;
const perLayer: Record<string, number> = {
  transformer: mha + ffn + 2 * ln,
  conformer: 2 * confFfn + ln + mha + convModule + ln,
  mamba: mamba + ln,
  bimamba: outer + ln,
  conbimamba: 2 * confFfn + ln + outer + convModule + ln,
  transbimamba: outer + ffn + 2 * ln,
};

test.each(ENCODER_TYPES.map((t) => [t]))('%s: PyTorch names, parameter count from the layer formulas, seeded init, hidden states', (type) => {
  const spec: EncoderSpec = { type, layers: 2, dModel: C, heads: 4, ffnDim: F, dState: N, dConv: K, depthwiseKernel: W, dropout: 0 };
  const enc = buildEncoder(spec, { seed: 5, device: 'cpu' });
  expect(enc.numParameters()).toBe(2 * perLayer[type]);
  const keys = Object.keys(enc.stateDict());
  const want: Record<string, string[]> = {
    transformer: ['layers.1.self_attn.in_proj_weight', 'layers.1.self_attn.out_proj.weight', 'layers.1.linear1.weight', 'layers.1.linear2.bias', 'layers.1.norm1.weight', 'layers.1.norm2.bias'],
    conformer: ['layers.1.ffn1.sequential.0.weight', 'layers.1.ffn1.sequential.1.weight', 'layers.1.ffn1.sequential.4.weight', 'layers.1.self_attn.in_proj_weight', 'layers.1.conv_module.sequential.2.weight', 'layers.1.conv_module.sequential.3.running_mean', 'layers.1.final_layer_norm.weight'],
    mamba: ['layers.1.mixer.in_proj.weight', 'layers.1.mixer.conv1d.weight', 'layers.1.mixer.x_proj.weight', 'layers.1.mixer.dt_proj.bias', 'layers.1.mixer.A_log', 'layers.1.mixer.D', 'layers.1.mixer.out_proj.weight', 'layers.1.norm.weight'],
    bimamba: ['layers.1.mixer.forward_mamba.A_log', 'layers.1.mixer.backward_mamba.in_proj.weight', 'layers.1.mixer.output_proj.weight', 'layers.1.norm.bias'],
    conbimamba: ['layers.1.bimamba.forward_mamba.A_log', 'layers.1.bimamba.output_proj.weight', 'layers.1.conv_module.sequential.0.weight', 'layers.1.ffn2.sequential.4.bias'],
    transbimamba: ['layers.1.bimamba.backward_mamba.dt_proj.weight', 'layers.1.linear1.weight', 'layers.1.norm2.weight'],
  };
  for (const k of want[type]) expect(keys).toContain(k);
  expect(keys.some((k) => k.includes('self_attn.') && (type === 'conbimamba' || type === 'transbimamba'))).toBe(false);
  // Same seed, same weights; another seed, other weights.
  const again = buildEncoder(spec, { seed: 5, device: 'cpu' }).stateDict();
  const other = buildEncoder(spec, { seed: 6, device: 'cpu' }).stateDict();
  const w = keys.find((k) => k.endsWith('weight') && enc.stateDict()[k].ndim >= 2)!;
  expect(Array.from(again[w].dataSync())).toEqual(Array.from(enc.stateDict()[w].dataSync()));
  expect(Array.from(other[w].dataSync())).not.toEqual(Array.from(enc.stateDict()[w].dataSync()));
  enc.eval();
  tidy(() => {
    const x = randn([2, 9, C], { seed: 1 });
    const r = enc.forward(x, Int32Array.of(9, 4), { hiddenStates: true });
    expect(r.hiddenStates!.length).toBe(3);
    expect(r.hiddenStates![0]).toBe(x);
    expect(r.hiddenStates![2]).toBe(r.out);
    r.hiddenStates!.forEach((h) => expect(h.shape).toEqual([2, 9, C]));
  });
  // 'inner' BiMamba: the Vim-v2 names.
  if (type === 'bimamba') {
    const innerEnc = buildEncoder({ ...spec, bimamba: 'inner' }, { device: 'cpu' });
    expect(Object.keys(innerEnc.stateDict())).toContain('layers.0.mixer.A_b_log');
    expect(innerEnc.numParameters()).toBe(2 * (inner + ln));
  }
});
