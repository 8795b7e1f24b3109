/**
 * data.ts — (clean, noisy) waveform pairs for speech enhancement, their collation into padded
 * tensors, and a seeded BatchSource for training.
 *
 * Glossary:
 *   pair        { id, clean (n), noisy (n), sampleRate }: the same utterance without and with noise
 *   SNR sets    VoiceBank-DEMAND's: train 0/5/10/15 dB, test 2.5/7.5/12.5/17.5 dB (data.TRAIN_SNRS,
 *               data.TEST_SNRS); noise types white, pink, brown, babble, hum (lib/data/noise)
 *   sources     a manifest entry's `noisy` file (VoiceBank-DEMAND, a synth corpus written with
 *               noisy copies), else its `noise` recipe, else a recipe drawn here from
 *               (seed, index) at the split's SNRs: every path is deterministic
 *   segment     training crop length in samples (SEMamba trains on 2 s = 32 000): longer pairs get
 *               a window drawn from (seed, epoch, index), the same one for clean and noisy
 *   batch       { ids, noisy (B, n), clean (B, n), lengths (B) } right-padded with zeros
 */
import { resample } from '../../audio/resample';
import { readAudio } from '../../audio/flac';
import { planBatches } from '../../data/batching';
import { buildVoiceBankManifest } from '../../data/builders';
import { ManifestEntry, NoiseSpec, NoiseType } from '../../data/manifest';
import { drawNoiseSpec, noisyFromSpec, NOISE_TYPES, TEST_SNRS, TRAIN_SNRS } from '../../data/noise';
import { deriveSeed, Rng } from '../../data/rng';
import { makeLexicon, makeSpeaker, synthesizeUtterance } from '../../data/synth';
import { fromTypedArray } from '../../tensor/creation';
import { Tensor } from '../../tensor/tensor';
import { Device } from '../../tensor/types';
import { BatchSource } from '../task';

/** One utterance without and with noise, equal lengths, mono at `sampleRate`. */
export interface EnhancementPair {
  id: string;
  clean: Float32Array; // (n)
  noisy: Float32Array; // (n)
  sampleRate: number;
  /** The mixing recipe when this library made the noisy copy (absent for recorded pairs). */
  noise?: NoiseSpec;
}

/** What MaskEnhancer.loss / evaluate take: right-padded waveforms and valid samples per item. */
export interface EnhancementBatch {
  ids: string[];
  noisy: Tensor; // (B, n) float32
  clean: Tensor; // (B, n) float32
  lengths: Int32Array; // (B) valid samples
}

/** Options of the noise drawn for pairs that have neither a noisy file nor a recipe. */
export interface PairNoiseOptions {
  /** 'train' / 'dev' mix at TRAIN_SNRS, 'test' at TEST_SNRS, unless `snrs` is given. Default 'train'. */
  split?: 'train' | 'dev' | 'test';
  snrs?: readonly number[];
  types?: readonly NoiseType[];
  /** Seed of the drawn recipes. Default 0. */
  seed?: number;
}

function checkPair(op: string, p: EnhancementPair, i: number): void {
  if (!p || typeof p.id !== 'string') throw new Error(`[${op}] pairs[${i}] must be { id, clean, noisy, sampleRate }`);
  for (const k of ['clean', 'noisy'] as const) {
    if (!ArrayBuffer.isView(p[k]) || Object.prototype.toString.call(p[k]) !== '[object Float32Array]') {
      throw new Error(`[${op}] pairs[${i}] (${p.id}).${k} must be a Float32Array`);
    }
  }
  if (p.clean.length !== p.noisy.length) throw new Error(`[${op}] pairs[${i}] (${p.id}) has ${p.clean.length} clean and ${p.noisy.length} noisy samples; they must match`);
  if (p.clean.length === 0) throw new Error(`[${op}] pairs[${i}] (${p.id}) is empty`);
}

/**
 * Pairs made in memory from the synth engine (no files): `count` utterances of `numSpeakers`
 * speakers (default 4), each mixed with one of `types` at an SNR of the split's set (see
 * PairNoiseOptions), all drawn from `seed`. `minSeconds`/`maxSeconds` bound the synthesised
 * length (default 1–2 s); `cropSeconds` then keeps a centred window of that length.
 */
export function synthEnhancementPairs(opts: PairNoiseOptions & {
  count: number; numSpeakers?: number; sampleRate?: number; minSeconds?: number; maxSeconds?: number; cropSeconds?: number;
}): EnhancementPair[] {
  const op = 'synthEnhancementPairs';
  const { count } = opts;
  if (!Number.isInteger(count) || count < 1) throw new Error(`[${op}] count must be a positive integer, got ${count}`);
  const seed = opts.seed ?? 0;
  const sr = opts.sampleRate ?? 16000;
  const spk = opts.numSpeakers ?? 4;
  const lexicon = makeLexicon(seed, 200);
  const speakers = Array.from({ length: spk }, (_, k) => makeSpeaker(seed, k));
  const types = (opts.types ?? NOISE_TYPES).filter((t) => t !== 'babble' || count > 1);
  const clean: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const u = synthesizeUtterance(deriveSeed(seed, 'enh-utt', i), speakers[i % spk], lexicon, {
      sampleRate: sr, minSeconds: opts.minSeconds ?? 1, maxSeconds: opts.maxSeconds ?? 2,
    });
    clean.push(crop(u.samples, opts.cropSeconds === undefined ? undefined : Math.round(opts.cropSeconds * sr)));
  }
  const ids = clean.map((_, i) => `synth-${String(i).padStart(5, '0')}`);
  return clean.map((c, i) => {
    const spec = drawNoiseSpec(deriveSeed(seed, 'enh-noise'), i, { split: opts.split ?? 'train', snrs: opts.snrs, types, pool: ids, self: ids[i] });
    const talkers = (spec.babble ?? []).map((id) => clean[ids.indexOf(id)]);
    return { id: ids[i], clean: c, noisy: noisyFromSpec(c, sr, spec, talkers), sampleRate: sr, noise: spec };
  });
}

function crop(x: Float32Array, n: number | undefined): Float32Array {
  if (n === undefined || x.length <= n) return x;
  const start = Math.floor((x.length - n) / 2);
  return x.slice(start, start + n);
}

async function readMono(file: string, sampleRate: number): Promise<Float32Array> {
  const a = await readAudio(file, { mono: true });
  return a.sampleRate === sampleRate ? a.channels[0] : resample(a.channels[0], a.sampleRate, sampleRate);
}

/**
 * Loads pairs for manifest `entries` (see the module glossary for where the noisy side comes
 * from), resampled to `sampleRate` (default 16 kHz). A recorded noisy file whose length differs
 * from its clean file by a few samples (resampling rounding) is cut to the shorter; more than
 * 10 ms apart is an error naming the entry.
 */
export async function loadEnhancementPairs(entries: readonly ManifestEntry[], opts: PairNoiseOptions & { sampleRate?: number } = {}): Promise<EnhancementPair[]> {
  const op = 'loadEnhancementPairs';
  if (!Array.isArray(entries) || entries.length === 0) throw new Error(`[${op}] expected a non-empty array of manifest entries`);
  const sr = opts.sampleRate ?? 16000;
  const seed = opts.seed ?? 0;
  const clean = new Map<string, Float32Array>();
  for (const e of entries) clean.set(e.id, await readMono(e.audio, sr));
  const pool = entries.map((e) => e.id);
  const out: EnhancementPair[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    let c = clean.get(e.id)!;
    if (e.noisy !== undefined) {
      let nz = await readMono(e.noisy, sr);
      if (Math.abs(nz.length - c.length) > sr / 100) {
        throw new Error(`[${op}] entry ${e.id}: clean ${e.audio} has ${c.length} samples, noisy ${e.noisy} ${nz.length} (at ${sr} Hz); they must be the same recording`);
      }
      const n = Math.min(c.length, nz.length);
      if (c.length !== n) c = c.subarray(0, n);
      if (nz.length !== n) nz = nz.subarray(0, n);
      out.push({ id: e.id, clean: c, noisy: nz, sampleRate: sr, ...(e.noise ? { noise: e.noise } : {}) });
      continue;
    }
    const spec: NoiseSpec = e.noise ?? drawNoiseSpec(deriveSeed(seed, 'enh-noise'), i, { split: opts.split ?? 'train', snrs: opts.snrs, types: opts.types, pool, self: e.id });
    const talkers = (spec.babble ?? []).map((id) => {
      const t = clean.get(id);
      if (!t) throw new Error(`[${op}] entry ${e.id}: babble talker ${id} is not among the entries`);
      return t;
    });
    out.push({ id: e.id, clean: c, noisy: noisyFromSpec(c, sr, spec, talkers), sampleRate: sr, noise: spec });
  }
  return out;
}

/** VoiceBank-DEMAND pairs from its folders (data.buildVoiceBankManifest; `sets` e.g.
 *  ['testset_wav']), resampled from 48 kHz to `sampleRate` (default 16 kHz, as SEMamba). */
export async function loadVoiceBankPairs(root: string, opts: { sets?: string[]; sampleRate?: number } = {}): Promise<EnhancementPair[]> {
  const m = buildVoiceBankManifest(root, { sets: opts.sets });
  return loadEnhancementPairs(m.entries, { sampleRate: opts.sampleRate });
}

/** The default SNR set of a split (VoiceBank-DEMAND). */
export function snrSet(split: 'train' | 'dev' | 'test'): readonly number[] {
  return split === 'test' ? TEST_SNRS : TRAIN_SNRS;
}

/**
 * Stacks pairs into one right-padded batch on `device`: noisy, clean (B, n_max) float32 with
 * zeros after each item, lengths (B). All pairs must share one sample rate.
 */
export function collateEnhancement(pairs: readonly EnhancementPair[], opts: { device?: Device } = {}): EnhancementBatch {
  const op = 'collateEnhancement';
  if (!Array.isArray(pairs) || pairs.length === 0) throw new Error(`[${op}] empty batch: expected at least one pair`);
  pairs.forEach((p, i) => checkPair(op, p, i));
  const sr = pairs[0].sampleRate;
  pairs.forEach((p, i) => {
    if (p.sampleRate !== sr) throw new Error(`[${op}] pairs[${i}] (${p.id}) is at ${p.sampleRate} Hz, pairs[0] at ${sr} Hz`);
  });
  const B = pairs.length;
  const n = Math.max(...pairs.map((p) => p.clean.length));
  const noisy = new Float32Array(B * n); // (B, n)
  const clean = new Float32Array(B * n); // (B, n)
  const lengths = new Int32Array(B);
  pairs.forEach((p, b) => {
    noisy.set(p.noisy, b * n);
    clean.set(p.clean, b * n);
    lengths[b] = p.clean.length;
  });
  return {
    ids: pairs.map((p) => p.id),
    noisy: fromTypedArray(noisy, [B, n], { device: opts.device }),
    clean: fromTypedArray(clean, [B, n], { device: opts.device }),
    lengths,
  };
}

/** Options of enhancementBatches. */
export interface EnhancementBatchOptions {
  /** Items per batch (default 4 when maxSamples is not given). */
  batchSize?: number;
  /** Budget of B × n_max samples per batch (padding included). */
  maxSamples?: number;
  /** Crop length in samples for training (see glossary); none by default. */
  segment?: number;
  /** Shuffle batches and crops per epoch (default true; false: length-sorted, uncropped order). */
  shuffle?: boolean;
  seed?: number;
  device?: Device;
}

/**
 * A BatchSource over `pairs`: epoch(e) yields EnhancementBatch'es (length-bucketed, shuffled and
 * cropped from (seed, e)), the same ones every time for the same e. Each batch's tensors are new:
 * dispose them (or run the step in tidy) when done.
 */
export function enhancementBatches(pairs: readonly EnhancementPair[], opts: EnhancementBatchOptions = {}): BatchSource<EnhancementBatch> {
  const op = 'enhancementBatches';
  if (!Array.isArray(pairs) || pairs.length === 0) throw new Error(`[${op}] expected a non-empty array of pairs`);
  pairs.forEach((p, i) => checkPair(op, p, i));
  const seed = opts.seed ?? 0;
  const shuffle = opts.shuffle ?? true;
  const segment = opts.segment;
  if (segment !== undefined && (!Number.isInteger(segment) || segment < 1)) throw new Error(`[${op}] segment must be a positive integer (samples), got ${segment}`);
  if (opts.batchSize !== undefined && (!Number.isInteger(opts.batchSize) || opts.batchSize < 1)) throw new Error(`[${op}] batchSize must be a positive integer, got ${opts.batchSize}`);
  if (opts.maxSamples !== undefined && !(opts.maxSamples > 0)) throw new Error(`[${op}] maxSamples must be > 0, got ${opts.maxSamples}`);
  const maxB = opts.batchSize ?? (opts.maxSamples === undefined ? 4 : Infinity);
  const lengths = pairs.map((p) => (segment === undefined ? p.clean.length : Math.min(segment, p.clean.length)));
  const plan = (e: number): number[][] => planBatches(lengths, { maxFrames: opts.maxSamples ?? Infinity, maxBatchSize: maxB, seed, epoch: e, shuffle });
  const cropped = (i: number, e: number): EnhancementPair => {
    const p = pairs[i];
    if (segment === undefined || p.clean.length <= segment) return p;
    const start = shuffle ? new Rng(deriveSeed(seed, 'crop', e, i)).int(0, p.clean.length - segment) : 0;
    return { ...p, clean: p.clean.subarray(start, start + segment), noisy: p.noisy.subarray(start, start + segment) };
  };
  return {
    *epoch(e: number): Iterable<EnhancementBatch> {
      for (const idx of plan(e)) yield collateEnhancement(idx.map((i) => cropped(i, e)), { device: opts.device });
    },
    size: (e: number) => plan(e).length,
  };
}
