/**
 * common.ts — what every feature-based task model shares: boundary checks on (B, T, F) features
 * and lengths, checkpoint metadata and the diagnosis of a checkpoint that belongs to another
 * model, the per-step random stream (masks, SpecAugment) that a resumed run replays, and the base
 * class `SpeechModel` that holds these for CtcAsr and MaskedReconstruction.
 *
 * Glossary:
 *   B, T, F       batch, padded frames, feature dim; features (B, T, F) float32, right padding
 *   lengths       valid frames per item, Int32Array (B), 1 ≤ lengths[b] ≤ T
 *   step          the model's random-stream counter: every training-mode loss() draws its masks
 *                 from deriveSeed(seed, purpose, step) and then increments it, so a run that saves
 *                 rngState() with its checkpoint and restores it with setRngState() draws the same
 *                 masks after resuming as it would have without the interruption
 *   metadata      safetensors __metadata__ written by save(): mamba_speech.task, .model, .config
 *                 (the toConfig() JSON), .format (1); load() reads them before any weight is written
 */
import { noGrad } from '../autograd/tape';
import { loadSafetensors } from '../io/safetensors';
import { Module } from '../nn/module';
import { Tensor } from '../tensor/tensor';
import { Device, DType } from '../tensor/types';
import type { EncoderType, ResolvedEncoderSpec } from './encoder_spec';

/** Throws `[model] message`. */
export function fail(model: string, message: string): never {
  throw new Error(`[${model}] ${message}`);
}

/** Valid lengths as a fresh Int32Array: from an Int32Array, number[] or int32 Tensor (read back). */
export function toLengths(model: string, lengths: unknown, B: number): Int32Array {
  let v: ArrayLike<number>;
  if (lengths instanceof Tensor) {
    if (lengths.dtype !== 'int32' || lengths.ndim !== 1) fail(model, `lengths must be an int32 (B) tensor, got ${lengths.dtype} (${lengths.shape.join(', ')})`);
    v = lengths.dataSync();
  } else if (Array.isArray(lengths) || (ArrayBuffer.isView(lengths) && !(lengths instanceof DataView))) {
    v = lengths as ArrayLike<number>;
  } else {
    return fail(model, `lengths must be an Int32Array, a number[] or an int32 Tensor (B), got ${lengths === null ? 'null' : typeof lengths}`);
  }
  if (v.length !== B) fail(model, `lengths must have B = ${B} entries, got ${v.length}`);
  const out = new Int32Array(B);
  for (let b = 0; b < B; ++b) {
    if (!Number.isInteger(v[b])) fail(model, `lengths[${b}] = ${v[b]} is not an integer`);
    out[b] = v[b];
  }
  return out;
}

/**
 * Checks features (B, T, F) against the model's input size and returns the lengths (B): names a
 * (B, F, T) input, an empty batch, lengths above T or below 1. `lengths` null = every item T long.
 */
export function checkFeatures(model: string, x: unknown, lengths: unknown, inputDim: number): Int32Array {
  if (!(x instanceof Tensor)) fail(model, `features must be a float32 Tensor (B, T, ${inputDim}), got ${x === null ? 'null' : typeof x}`);
  const s = x.shape;
  if (x.ndim !== 3) fail(model, `features must be (B, T, ${inputDim}), got (${s.join(', ')})`);
  if (x.dtype === 'int32') fail(model, 'features must be float32 (or bfloat16), got int32');
  const [B, T, F] = s;
  if (B === 0) fail(model, 'empty batch: features are (0, T, F)');
  if (F !== inputDim) {
    const hint = T === inputDim ? ` — this looks like (B, F, T): transpose it to (B, T, F)` : '';
    fail(model, `features must be (B, T, ${inputDim}), got (${s.join(', ')})${hint}`);
  }
  if (T === 0) fail(model, `features have no frames: (${s.join(', ')})`);
  const lens = lengths === null || lengths === undefined ? new Int32Array(B).fill(T) : toLengths(model, lengths, B);
  for (let b = 0; b < B; ++b) {
    if (lens[b] > T) fail(model, `lengths[${b}] = ${lens[b]} is longer than the T = ${T} frames of features (${s.join(', ')})`);
    if (lens[b] < 1) fail(model, `lengths[${b}] = ${lens[b]}: every item needs at least one frame`);
  }
  return lens;
}

/** Metadata keys of a saved model. */
export const META = { task: 'mamba_speech.task', model: 'mamba_speech.model', config: 'mamba_speech.config', format: 'mamba_speech.format' } as const;

/** What a state dict's key names say about the model that wrote it (null where they do not tell). */
export function describeKeys(keys: readonly string[]): { task: string | null; encoder: EncoderType | null } {
  const has = (re: RegExp) => keys.some((k) => re.test(k));
  let encoder: EncoderType | null = null;
  const l0 = (s: string) => new RegExp(`^(?:.*\\.)?encoder\\.layers\\.0\\.${s}`);
  if (has(l0('bimamba\\.')) && has(l0('conv_module\\.'))) encoder = 'conbimamba';
  else if (has(l0('bimamba\\.')) && has(l0('linear1\\.'))) encoder = 'transbimamba';
  else if (has(l0('self_attn\\.')) && has(l0('conv_module\\.'))) encoder = 'conformer';
  else if (has(l0('self_attn\\.')) && has(l0('linear1\\.'))) encoder = 'transformer';
  else if (has(l0('mixer\\.(forward_mamba|A_b_log)'))) encoder = 'bimamba';
  else if (has(l0('mixer\\.A_log'))) encoder = 'mamba';
  let task: string | null = null;
  if (has(/^ctc_lo\./)) task = 'ctc';
  else if (has(/^mask_emb$/) && has(/^out_proj\./)) task = 'reconstruction';
  return { task, encoder };
}

/** A short description of an encoder spec for messages: "conformer (4 layers, d 144)". */
export function encoderLabel(s: { type: string; layers?: number; dModel?: number }): string {
  return `${s.type}${s.layers !== undefined ? ` (${s.layers} layers, d ${s.dModel})` : ''}`;
}

/** The per-step random stream of a model (see the module glossary). */
export interface RngState {
  seed: number;
  step: number;
}

/**
 * Base of the feature-based task models: the encoder spec, the seed and random-stream counter,
 * the device, and save/load that check the checkpoint's task and encoder before writing a single
 * weight (a mismatch is an error naming both models; the model stays as it was).
 */
export abstract class SpeechModel extends Module {
  abstract readonly task: string;
  /** The class name users see in errors ('CtcAsr'). */
  abstract readonly modelName: string;
  abstract readonly encoderSpec: ResolvedEncoderSpec;
  device: Device;
  protected rngStep = 0;

  protected constructor(readonly seed: number, device: Device) {
    super();
    this.device = device;
  }

  /** The architecture as JSON: `models.create(toConfig())` rebuilds it (weights from load). */
  abstract toConfig(): Record<string, unknown>;

  /** The random-stream position, to store with a checkpoint so a resumed run replays its masks. */
  rngState(): RngState {
    return { seed: this.seed, step: this.rngStep };
  }

  /** Restores rngState(); the seed must be this model's (it is part of the architecture config). */
  setRngState(s: RngState): void {
    if (s === null || typeof s !== 'object' || !Number.isInteger(s.step) || s.step < 0) fail(this.modelName, `setRngState expects { seed, step ≥ 0 }, got ${JSON.stringify(s)}`);
    if (s.seed !== this.seed) fail(this.modelName, `setRngState: state is for seed ${s.seed}, this model has seed ${this.seed}`);
    this.rngStep = s.step;
  }

  /** Moves parameters and buffers (see Module.to) and records the device. */
  override to(target: Device | DType | { device?: Device; dtype?: DType }): this {
    super.to(target);
    const d = typeof target === 'string' ? (target === 'cpu' || target === 'cuda' ? target : undefined) : target.device;
    if (d) this.device = d;
    return this;
  }

  /** Checkpoint metadata: task, model, config JSON, format. */
  checkpointMetadata(): Record<string, string> {
    return { [META.task]: this.task, [META.model]: this.modelName, [META.config]: JSON.stringify(this.toConfig()), [META.format]: '1' };
  }

  /** Saves weights and buffers (safetensors, atomically) with the model's metadata. */
  override save(file: string, metadata: Record<string, string> = {}): void {
    super.save(file, { ...metadata, ...this.checkpointMetadata() });
  }

  /** Loads a checkpoint written by save() (or any safetensors with this model's names): checks its
   *  task and encoder type from the metadata (or from its key names) first. Strict by default. */
  override load(file: string, opts: { strict?: boolean } = {}): { missing: string[]; unexpected: string[] } {
    const { tensors, metadata } = loadSafetensors(file, { device: 'cpu', asFloat32: false });
    try {
      this.checkCheckpoint(metadata, Object.keys(tensors), file, opts.strict ?? true);
      return this.loadStateDict(tensors, opts);
    } finally {
      Object.values(tensors).forEach((t) => t.dispose());
    }
  }

  /** Throws naming both models when a checkpoint's metadata or keys show another encoder type, or
   *  (strict) another task; non-strict loads of another task's weights (an encoder pre-trained by
   *  reconstruction into a CtcAsr) pass, and load the keys that match. */
  checkCheckpoint(metadata: Record<string, string>, keys: readonly string[], source = 'checkpoint', strict = true): void {
    const mine = `${this.modelName} ('${this.task}') with a ${encoderLabel(this.encoderSpec)} encoder`;
    let cfg: { encoder?: { type?: string; layers?: number; dModel?: number } } | null = null;
    if (metadata[META.config]) {
      try {
        cfg = JSON.parse(metadata[META.config]);
      } catch {
        fail(this.modelName, `${source}: metadata ${META.config} is not valid JSON`);
      }
    }
    const guess = describeKeys(keys);
    const task = metadata[META.task] ?? guess.task;
    const other = metadata[META.model] ?? (task === 'ctc' ? 'CtcAsr' : task === 'reconstruction' ? 'MaskedReconstruction' : task ?? 'another model');
    if (strict && task && task !== this.task) {
      fail(this.modelName, `${source} holds a ${other} ('${task}') checkpoint, not a ${this.modelName} ('${this.task}') one; this model is ${mine} (models.loadModel(file) rebuilds the right model)`);
    }
    const enc = cfg?.encoder ?? (guess.encoder ? { type: guess.encoder } : null);
    if (enc?.type && enc.type !== this.encoderSpec.type) {
      fail(this.modelName, `${source} has a ${encoderLabel(enc as { type: string })} encoder; this model is ${mine}`);
    }
  }

  /** Module.loadStateDict with the checkpoint diagnosed first: another task or encoder type is an
   *  error naming both models; any other mismatch is loadStateDict's list, prefixed with the model.
   *  Nothing is written unless every key matches (strict) or every present key fits. */
  override loadStateDict(sd: Record<string, Tensor>, opts: { strict?: boolean } = {}): { missing: string[]; unexpected: string[] } {
    this.checkCheckpoint({}, Object.keys(sd), 'state dict', opts.strict ?? true);
    try {
      return super.loadStateDict(sd, opts);
    } catch (e) {
      const msg = (e as Error).message;
      if (msg.startsWith('[loadStateDict]')) fail(this.modelName, `state dict does not fit this ${encoderLabel(this.encoderSpec)} model: ${msg.replace(/^\[loadStateDict\] \w+: /, '')}`);
      throw e;
    }
  }
}

/** Throws naming the first option key that `allowed` does not list (a typo in a config file). */
export function checkOptionKeys(model: string, o: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) fail(model, `unknown option '${k}' (known: ${allowed.join(', ')})`);
  }
}

/** Runs fn with the module in training (true) or eval (false) mode; restores the previous mode. */
export function withMode<T>(m: Module, training: boolean, fn: () => T): T {
  const prev = m.training;
  m.train(training);
  try {
    return fn();
  } finally {
    m.train(prev);
  }
}

/** Calls fn on every batch of a sync or async iterable with the model in eval mode and gradients
 *  off; restores the previous mode (also on an error). */
export async function eachBatch<B>(m: Module, batches: Iterable<B> | AsyncIterable<B>, fn: (b: B) => void): Promise<void> {
  if (!batches || (typeof (batches as Iterable<B>)[Symbol.iterator] !== 'function' && typeof (batches as AsyncIterable<B>)[Symbol.asyncIterator] !== 'function')) {
    throw new Error(`[${(m as { modelName?: string }).modelName ?? m.constructor.name}] evaluate expects an iterable of batches`);
  }
  const prev = m.training;
  m.train(false);
  try {
    for await (const b of batches as AsyncIterable<B>) noGrad(() => fn(b));
  } finally {
    m.train(prev);
  }
}
