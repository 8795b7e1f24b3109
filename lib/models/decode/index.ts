/** lib/models/decode — CTC decoding (greedy, prefix beam search with n-gram fusion) and forced alignment. */
export { collapse } from './input';
export type { HostLogProbs, LogProbsInput } from './input';
export { greedyDecode } from './greedy';
export type { GreedyOptions } from './greedy';
export { beamSearch } from './beam_search';
export type { BeamSearchOptions, Hypothesis, TokenPrune } from './beam_search';
export { NgramLM, EOS } from './ngram';
export type { NgramFitOptions, NgramJSON, TokenLM } from './ngram';
export { ctcForcedAlign, ctcForcedAlignBatch, ctcLogProb } from './forced_align';
export type { BatchForcedAlignOptions, ForcedAlignment, ForcedAlignOptions, TokenSpan } from './forced_align';
