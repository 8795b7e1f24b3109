/**
 * config.ts — the options of models.Hubert / models.HubertCtc, their checks and defaults, and the
 * `base` and `tiny` presets.
 *
 * Glossary:
 *   frontend     'cnn': the HuBERT waveform CNN (nn.FeatureExtractor, 7 convs, 320× down: 50 Hz
 *                at 16 kHz); 'logmel': (B, T, nMels) log-mel features at featureRate (100 Hz)
 *                -> nn.Conv2dSubsampling (4× down: 25 Hz), the cheap CPU option
 *   C            extractor channels (512 for the CNN); d = encoder.dModel
 *   K            numClasses: k-means clusters of the targets (100 for MFCC, 500 for layer features)
 *   finalDim     width of final_proj and of the label embeddings (256 in base)
 *   logitTemp    cosine similarities are divided by it before the softmax (0.1)
 *   featureGradMult   gradient into the CNN is scaled by it (0.1 in fairseq base); 0 freezes the
 *                CNN (run without gradients); 1 trains it fully
 *   featurePenalty    weight of mean(features²) added to the loss (10 in fairseq base)
 *   normalizeInput    per-utterance zero-mean unit-variance over valid samples/frames (fairseq's
 *                `normalize`: off for base, on for large); default off for cnn, on for logmel
 *   activation   the FFN activation of transformer-family layers (GELU in HuBERT; nn's default is ReLU)
 */
import { MaskOptions } from '../masking';
import { EncoderSpec, EncoderType, ResolvedEncoderSpec, resolveEncoderSpec } from '../encoder_spec';

/** Masking options of the model (computeMaskIndices' minus the generator). */
export type HubertMaskOptions = Omit<MaskOptions, 'seed' | 'rng'>;

/** Everything that shapes the Hubert encoder (shared by Hubert and HubertCtc). */
export interface HubertBackboneOptions {
  encoder: EncoderSpec;
  frontend?: 'cnn' | 'logmel';
  /** C (default 512 for cnn, dModel for logmel). */
  extractorChannels?: number;
  /** log-mel bins of the input features (logmel; default 80). */
  nMels?: number;
  /** Waveform sample rate (cnn; default 16000). */
  sampleRate?: number;
  /** Feature frames per second (logmel; default 100). */
  featureRate?: number;
  featureGradMult?: number;
  normalizeInput?: boolean;
  /** Dropout after the feature projection (default 0.1, fairseq dropout_input). */
  dropoutInput?: number;
  activation?: 'gelu' | 'relu';
  posConvKernel?: number;
  posConvGroups?: number;
  /** Masking (default maskProb 0.65, maskLength 10, minMasks 2: fairseq base). */
  mask?: Partial<HubertMaskOptions>;
  seed?: number;
}

/** Options of models.Hubert (pre-training). */
export interface HubertOptions extends HubertBackboneOptions {
  numClasses: number;
  /** Labels per second (default 100: MFCC frames). */
  labelRate?: number;
  finalDim?: number;
  logitTemp?: number;
  maskedWeight?: number;
  unmaskedWeight?: number;
  featurePenalty?: number;
  /** Allowed |label seconds − audio seconds| (default 0.1 s, fairseq). */
  labelTolerance?: number;
}

export type ResolvedBackbone = Required<Omit<HubertBackboneOptions, 'encoder' | 'mask'>> & { encoder: ResolvedEncoderSpec; mask: Required<HubertMaskOptions> };
export type ResolvedHubert = ResolvedBackbone & Required<Omit<HubertOptions, keyof HubertBackboneOptions>>;

export const BACKBONE_KEYS = ['encoder', 'frontend', 'extractorChannels', 'nMels', 'sampleRate', 'featureRate', 'featureGradMult', 'normalizeInput',
  'dropoutInput', 'activation', 'posConvKernel', 'posConvGroups', 'mask', 'seed'] as const;
export const HUBERT_KEYS = [...BACKBONE_KEYS, 'numClasses', 'labelRate', 'finalDim', 'logitTemp', 'maskedWeight', 'unmaskedWeight', 'featurePenalty', 'labelTolerance'] as const;

function fail(where: string, msg: string): never {
  throw new Error(`[${where}] ${msg}`);
}

function posInt(where: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(where, `${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function num(where: string, name: string, v: unknown, lo: number, hi = Infinity, hiOpen = false): number {
  if (typeof v !== 'number' || !(v >= lo) || (hiOpen ? !(v < hi) : !(v <= hi))) fail(where, `${name} must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${JSON.stringify(v)}`);
  return v;
}

/** Checks and fills the backbone options (throws `[where] field ...`). */
export function resolveBackbone(o: HubertBackboneOptions, where: string): ResolvedBackbone {
  if (o === null || typeof o !== 'object') fail(where, 'expected an options object { encoder, ... }');
  const encoder = resolveEncoderSpec(o.encoder, `${where}.encoder`);
  const frontend = o.frontend ?? 'cnn';
  if (frontend !== 'cnn' && frontend !== 'logmel') fail(where, `frontend must be 'cnn' or 'logmel', got ${JSON.stringify(o.frontend)}`);
  const activation = o.activation ?? 'gelu';
  if (activation !== 'gelu' && activation !== 'relu') fail(where, `activation must be 'gelu' or 'relu', got ${JSON.stringify(o.activation)}`);
  const groups = posInt(where, 'posConvGroups', o.posConvGroups ?? 16);
  if (encoder.dModel % groups !== 0) fail(where, `encoder.dModel (${encoder.dModel}) must be divisible by posConvGroups (${groups})`);
  const m = o.mask ?? {};
  if (m === null || typeof m !== 'object') fail(where, `mask must be an options object, got ${JSON.stringify(o.mask)}`);
  const mask: Required<HubertMaskOptions> = {
    maskProb: num(where, 'mask.maskProb', m.maskProb ?? 0.65, 0, 1),
    maskLength: posInt(where, 'mask.maskLength', m.maskLength ?? 10),
    minMasks: m.minMasks ?? 2,
    maskType: m.maskType ?? 'static',
    maskOther: m.maskOther ?? 0,
    noOverlap: m.noOverlap ?? false,
    minSpace: m.minSpace ?? 0,
    sameCount: m.sameCount ?? true,
  };
  if (!Number.isInteger(mask.minMasks) || mask.minMasks < 0) fail(where, `mask.minMasks must be an integer >= 0, got ${JSON.stringify(m.minMasks)}`);
  const seed = o.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) fail(where, `seed must be an integer >= 0, got ${JSON.stringify(o.seed)}`);
  return {
    encoder, frontend, activation, mask, seed,
    extractorChannels: posInt(where, 'extractorChannels', o.extractorChannels ?? (frontend === 'cnn' ? 512 : encoder.dModel)),
    nMels: posInt(where, 'nMels', o.nMels ?? 80),
    sampleRate: posInt(where, 'sampleRate', o.sampleRate ?? 16000),
    featureRate: num(where, 'featureRate', o.featureRate ?? 100, Number.MIN_VALUE),
    featureGradMult: num(where, 'featureGradMult', o.featureGradMult ?? 0.1, 0, 1),
    normalizeInput: o.normalizeInput ?? frontend === 'logmel',
    dropoutInput: num(where, 'dropoutInput', o.dropoutInput ?? 0.1, 0, 1, true),
    posConvKernel: posInt(where, 'posConvKernel', o.posConvKernel ?? 128),
    posConvGroups: groups,
  };
}

/** Checks and fills Hubert's options. */
export function resolveHubert(o: HubertOptions, where = 'Hubert'): ResolvedHubert {
  const b = resolveBackbone(o, where);
  if (o.logitTemp !== undefined && !(typeof o.logitTemp === 'number' && o.logitTemp > 0)) fail(where, `logitTemp must be > 0, got ${JSON.stringify(o.logitTemp)}`);
  const r: ResolvedHubert = {
    ...b,
    numClasses: posInt(where, 'numClasses', o.numClasses),
    labelRate: num(where, 'labelRate', o.labelRate ?? 100, Number.MIN_VALUE),
    finalDim: posInt(where, 'finalDim', o.finalDim ?? 256),
    logitTemp: o.logitTemp ?? 0.1,
    maskedWeight: num(where, 'maskedWeight', o.maskedWeight ?? 1, 0),
    unmaskedWeight: num(where, 'unmaskedWeight', o.unmaskedWeight ?? 0, 0),
    featurePenalty: num(where, 'featurePenalty', o.featurePenalty ?? 10, 0),
    labelTolerance: num(where, 'labelTolerance', o.labelTolerance ?? 0.1, 0),
  };
  if (r.maskedWeight === 0 && r.unmaskedWeight === 0) fail(where, 'maskedWeight and unmaskedWeight are both 0: nothing to learn');
  return r;
}

/** HuBERT base as in the paper / fairseq hubert_base_librispeech: CNN 512 ch [(512,10,5)] +
 *  [(512,3,2)]×4 + [(512,2,2)]×2, 12 layers, d 768, FFN 3072, 12 heads, final_dim 256, K = 100
 *  (iteration 1; pass numClasses 500 for iteration 2), any encoder type. */
export function hubertBase(type: EncoderType = 'transformer', over: Partial<HubertOptions> = {}): HubertOptions {
  return {
    encoder: { type, layers: 12, dModel: 768, heads: 12, ffnDim: 3072, dropout: 0.1 },
    frontend: 'cnn', extractorChannels: 512, featureGradMult: 0.1, numClasses: 100, labelRate: 100, finalDim: 256, ...over,
  };
}

/** A tiny HuBERT that trains on a 2-core CPU: log-mel + Conv2dSubsampling (25 Hz), 2 layers,
 *  d 64, FFN 128, 4 heads, final_dim 32, pos conv 32/8, masks of 5 frames (200 ms). */
export function hubertTiny(type: EncoderType = 'transformer', over: Partial<HubertOptions> = {}): HubertOptions {
  return {
    encoder: { type, layers: 2, dModel: 64, heads: 4, ffnDim: 128, dropout: 0.1, dState: 8 },
    frontend: 'logmel', nMels: 80, extractorChannels: 32, numClasses: 100, labelRate: 100, finalDim: 32,
    posConvKernel: 32, posConvGroups: 8, mask: { maskProb: 0.65, maskLength: 5, minMasks: 2 }, ...over,
  };
}
