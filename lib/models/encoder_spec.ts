/**
 * encoder_spec.ts — one typed option object that picks any encoder stack `nn` has, so that the
 * same experiment runs with every encoder family by changing one string.
 *
 * Glossary:
 *   type            transformer    torch TransformerEncoderLayer (post-norm; pre-norm with normFirst)
 *                   conformer      torchaudio ConformerLayer (½FFN, MHSA, conv module, ½FFN, LN)
 *                   mamba          mamba-ssm Block: x + Mamba(LN(x)) (causal, one direction)
 *                   bimamba        x + BiMamba(LN(x)) (outer = ExtBiMamba, inner = Vim-v2 style)
 *                   conbimamba     Conformer with BiMamba in place of MHSA (the paper's ConBiMamba)
 *                   transbimamba   Transformer layer with BiMamba in place of MHSA (TransBiMamba)
 *   layers, dModel  depth and width C; every layer maps (B, L, C) -> (B, L, C) with lengths
 *   heads           attention heads (transformer, conformer)
 *   ffnDim          feed-forward width (transformer, conformer, conbimamba, transbimamba)
 *   dState, dConv, expand   Mamba's N, conv width and inner expansion (E = expand · C)
 *   depthwiseKernel the conv module's kernel (conformer, conbimamba)
 *
 * Defaults follow the anchors: heads 4, ffnDim 4·C, dropout 0.1, dState 16, dConv 4, expand 2,
 * bimamba 'outer', normFirst false, depthwiseKernel 31.
 */
import { BiMambaLayer, ConBiMambaLayer, ConformerLayer, Encoder, EncoderLayer, MambaLayer, TransBiMambaLayer, TransformerEncoderLayer } from '../nn/encoder';
import { deriveSeed } from '../nn/init';
import { Device } from '../tensor/types';

export const ENCODER_TYPES = ['transformer', 'conformer', 'mamba', 'bimamba', 'conbimamba', 'transbimamba'] as const;
export type EncoderType = (typeof ENCODER_TYPES)[number];

/** The shared encoder spec (see the glossary above for each field and its default). */
export interface EncoderSpec {
  type: EncoderType;
  layers: number;
  dModel: number;
  heads?: number;
  ffnDim?: number;
  dropout?: number;
  dState?: number;
  dConv?: number;
  expand?: number;
  bimamba?: 'outer' | 'inner';
  normFirst?: boolean;
  depthwiseKernel?: number;
}

/** An EncoderSpec with every default filled in (what a run's resolved config records). */
export type ResolvedEncoderSpec = Required<EncoderSpec>;

function posInt(name: string, v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new Error(`[${where}] ${name} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Checks `spec` and fills in the defaults; throws `[EncoderSpec] <field> ...` naming the field. */
export function resolveEncoderSpec(spec: EncoderSpec, where = 'EncoderSpec'): ResolvedEncoderSpec {
  if (spec === null || typeof spec !== 'object') throw new Error(`[${where}] expected an encoder spec object, got ${JSON.stringify(spec)}`);
  if (!ENCODER_TYPES.includes(spec.type)) {
    throw new Error(`[${where}] type must be one of ${ENCODER_TYPES.join(', ')}, got ${JSON.stringify(spec.type)}`);
  }
  const layers = posInt('layers', spec.layers, where);
  const dModel = posInt('dModel', spec.dModel, where);
  const heads = posInt('heads', spec.heads ?? 4, where);
  if ((spec.type === 'transformer' || spec.type === 'conformer') && dModel % heads !== 0) {
    throw new Error(`[${where}] dModel (${dModel}) must be divisible by heads (${heads})`);
  }
  const dropout = spec.dropout ?? 0.1;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) throw new Error(`[${where}] dropout must be in [0, 1), got ${JSON.stringify(spec.dropout)}`);
  const bimamba = spec.bimamba ?? 'outer';
  if (bimamba !== 'outer' && bimamba !== 'inner') throw new Error(`[${where}] bimamba must be 'outer' or 'inner', got ${JSON.stringify(spec.bimamba)}`);
  const depthwiseKernel = posInt('depthwiseKernel', spec.depthwiseKernel ?? 31, where);
  if (depthwiseKernel % 2 === 0) throw new Error(`[${where}] depthwiseKernel must be odd (same-length output), got ${depthwiseKernel}`);
  return {
    type: spec.type,
    layers,
    dModel,
    heads,
    ffnDim: posInt('ffnDim', spec.ffnDim ?? 4 * dModel, where),
    dropout,
    dState: posInt('dState', spec.dState ?? 16, where),
    dConv: posInt('dConv', spec.dConv ?? 4, where),
    expand: posInt('expand', spec.expand ?? 2, where),
    bimamba,
    normFirst: spec.normFirst ?? false,
    depthwiseKernel,
  };
}

/** Whether the stack has no notion of order of its own and needs a positional encoding in front
 *  (attention-only stacks: transformer; the conformer's convolution sees only ±k/2 frames, so
 *  ESPnet and the paper's recipes put one in front of it too). Mamba-based stacks read in order. */
export function needsPositionalEncoding(spec: EncoderSpec): boolean {
  return spec.type === 'transformer' || spec.type === 'conformer';
}

/** Whether the stack ends without a normalisation of its own (pre-norm residual stacks), so a
 *  head should put a LayerNorm after it. Post-norm Transformer and Conformer layers end in one. */
export function endsUnnormalised(spec: EncoderSpec): boolean {
  return spec.type === 'mamba' || spec.type === 'bimamba' || (spec.type === 'transformer' && !!spec.normFirst);
}

/** Builds the layer stack of `spec`: an `nn.Encoder` whose forward(x (B, L, C), lengths, {hiddenStates})
 *  returns { out (B, L, C), hiddenStates? [hs0 = input, hs_l = output of layer l] } (S3PRL
 *  convention). Parameters are initialised deterministically from `seed`; names are those of the
 *  PyTorch modules (`layers.<i>.self_attn.in_proj_weight`, `layers.<i>.mixer.A_log`, ...). */
export function buildEncoder(spec: EncoderSpec, opts: { seed?: number; device?: Device } = {}): Encoder {
  const s = resolveEncoderSpec(spec);
  const seed = opts.seed ?? 0, device = opts.device;
  const mamba = { dState: s.dState, dConv: s.dConv, expand: s.expand };
  const layers: EncoderLayer[] = [];
  for (let i = 0; i < s.layers; ++i) {
    const ls = deriveSeed(seed, `layers.${i}`);
    switch (s.type) {
      case 'transformer':
        layers.push(new TransformerEncoderLayer({ dModel: s.dModel, nHead: s.heads, dimFeedforward: s.ffnDim, dropout: s.dropout, normFirst: s.normFirst, seed: ls, device }));
        break;
      case 'transbimamba':
        layers.push(new TransBiMambaLayer({ dModel: s.dModel, dimFeedforward: s.ffnDim, dropout: s.dropout, normFirst: s.normFirst, mamba: { ...mamba, kind: s.bimamba }, seed: ls, device }));
        break;
      case 'conformer':
        layers.push(new ConformerLayer({ dModel: s.dModel, nHead: s.heads, ffnDim: s.ffnDim, depthwiseKernel: s.depthwiseKernel, dropout: s.dropout, seed: ls, device }));
        break;
      case 'conbimamba':
        layers.push(new ConBiMambaLayer({ dModel: s.dModel, ffnDim: s.ffnDim, depthwiseKernel: s.depthwiseKernel, dropout: s.dropout, mamba: { ...mamba, kind: s.bimamba }, seed: ls, device }));
        break;
      case 'mamba':
        layers.push(new MambaLayer({ dModel: s.dModel, ...mamba, seed: ls, device }));
        break;
      case 'bimamba':
        layers.push(new BiMambaLayer({ dModel: s.dModel, ...mamba, kind: s.bimamba, seed: ls, device }));
        break;
    }
  }
  return new Encoder(layers);
}
