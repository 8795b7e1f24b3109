/**
 * encoders.ts — the encoder specs of one comparison: equal depth and width, parameter counts
 * matched through each family's size knob (see presets.ts). Counting builds the encoder on the
 * CPU once per candidate (milliseconds at these sizes) so the numbers are the real ones.
 *
 *   knob           transformer, conformer, transbimamba: ffnDim (multiples of 8, ≥ 8)
 *                  mamba, bimamba: expand (integers 1..16)
 *                  conbimamba: fixed at ffnDim = dModel, expand = 1 (the reference count)
 */
import { buildEncoder, EncoderSpec, EncoderType } from '../models/encoder_spec';

/** Parameters of the encoder `spec` (built on the CPU and freed at once). */
export function encoderParameters(spec: EncoderSpec): number {
  const enc = buildEncoder(spec, { device: 'cpu' });
  const params = enc.parameters();
  const n = params.reduce((a, p) => a + p.size, 0);
  params.forEach((p) => p.dispose());
  return n;
}

export interface MatchedEncoder {
  type: EncoderType;
  spec: EncoderSpec;
  parameters: number;
}

/** One spec per type in `types`, every one of `base`'s depth and width, sized to the
 *  ConBiMamba reference count (ffnDim = dModel, expand = 1) as closely as its knob allows. */
export function matchEncoders(types: readonly EncoderType[], base: { layers: number; dModel: number; heads: number; dropout: number; dState: number; normFirst?: boolean }): MatchedEncoder[] {
  const common = { layers: base.layers, dModel: base.dModel, heads: base.heads, dropout: base.dropout, dState: base.dState };
  // base.normFirst: the Transformer pre-norm (ESPnet's normalize_before, like the Mamba blocks'
  // norm -> mixer -> residual); parameter counts are the same either way.
  const nf = base.normFirst ? { normFirst: true } : {};
  const refSpec: EncoderSpec = { type: 'conbimamba', ...common, ffnDim: base.dModel, expand: 1 };
  const target = encoderParameters(refSpec);
  return types.map((type) => {
    if (type === 'conbimamba') return { type, spec: refSpec, parameters: target };
    if (type === 'mamba' || type === 'bimamba') {
      let best: MatchedEncoder | null = null;
      for (let expand = 1; expand <= 16; ++expand) {
        const spec: EncoderSpec = { type, ...common, expand };
        const n = encoderParameters(spec);
        if (!best || Math.abs(n - target) < Math.abs(best.parameters - target)) best = { type, spec, parameters: n };
        if (n > target) break;
      }
      return best!;
    }
    // Parameters are affine in ffnDim: two counts give the slope, then round to a multiple of 8.
    const n8 = encoderParameters({ type, ...common, ffnDim: 8 });
    const n16 = encoderParameters({ type, ...common, ffnDim: 16 });
    const ffnDim = Math.max(8, Math.round((8 + (target - n8) * 8 / (n16 - n8)) / 8) * 8);
    const spec: EncoderSpec = { type, ...common, ffnDim, ...(type === 'transformer' ? nf : {}) };
    return { type, spec, parameters: encoderParameters(spec) };
  });
}
