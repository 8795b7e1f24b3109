/** lib/nn — modules and layers with PyTorch's names and semantics. */
export { Module } from './module';
export type { Parameter, LoadStateDictOptions } from './module';
export * from './layers';
export * as init from './init';
export { Mamba } from './mamba';
export type { MambaOptions } from './mamba';
export { flipWithinLengths } from './sequence';
export type { Lengths } from './sequence';
export { BiMamba, BiMambaOuter, BiMambaInner } from './bimamba';
export type { BiMambaOptions } from './bimamba';
export { MultiHeadAttention } from './attention';
export type { MultiHeadAttentionOptions, AttentionCallOptions } from './attention';
export { LayerNorm, RMSNorm, GroupNorm, BatchNorm1d } from './norm';
export { Conv1d, Conv2d, ConvTranspose1d } from './conv';
export { Dropout, Embedding, WeightNorm } from './misc';
export { TransformerEncoderLayer, TransBiMambaLayer, MambaLayer, BiMambaLayer, ConformerLayer, ConBiMambaLayer, Encoder, paddingMask } from './encoder';
export type { EncoderLayer, EncoderOutput, TransformerLayerOptions, ConformerLayerOptions } from './encoder';
export { sinusoidalPositions, PositionalEncoding, ConvPositionalEmbedding, Conv2dSubsampling, FeatureExtractor } from './frontend';
