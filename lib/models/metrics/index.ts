/** lib/models/metrics — evaluation metrics of the task models (error rates of recognisers). */
export { alignTokens, ctcErrorRates, errorRate, formatAlignment, splitTranscript } from './error_rate';
export type { AlignStep, ErrorRateOptions, ErrorRateResult, ErrorUnit, FormatAlignmentOptions, TranscriptToken, Transcript, UtteranceErrors } from './error_rate';
