/**
 * helpers.ts — shared by the model tests: a handful of synth utterances (lib/data/synth, no files)
 * as fbank FeatureItems with phone targets, tiny encoder specs of every type, and a bounded
 * training loop that stops as soon as a goal is reached.
 */
import { audio, data, optim } from '../../lib';
import type { EncoderSpec } from '../../lib/models/encoder_spec';
import type { AsrItem } from '../../lib/models/collate';
import type { TaskModel } from '../../lib/models/task';

export const N_MELS = 40;

export interface SynthSet {
  items: (AsrItem & { id: string; phones: string[]; text: string })[];
  tokenizer: data.Tokenizer;
}

const cache = new Map<string, SynthSet>();

/** `n` synth utterances of 0.55–0.7 s of speech (≈ 1 s with silences) as 40-bin log-mel FeatureItems
 *  with phones and text, and a phone tokenizer over them. Deterministic per (n, seed); cached. */
export function synthSet(n: number, seed = 11): SynthSet {
  const key = `${n}:${seed}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const lex = data.makeLexicon(seed, 40);
  const items = Array.from({ length: n }, (_, i) => {
    const u = data.synthesizeUtterance(data.deriveSeed(seed, 'utt', i), data.makeSpeaker(seed, i % 3), lex, { minSeconds: 0.55, maxSeconds: 0.7 });
    return { id: `u${i}`, features: audio.fbankArray(u.samples, { nMels: N_MELS }), phones: u.phones, text: u.text };
  });
  const tokenizer = data.Tokenizer.fromManifest(items.map((it) => ({ id: it.id, audio: '', duration: 1, phones: it.phones })), 'phone');
  const set = { items, tokenizer };
  cache.set(key, set);
  return set;
}

/** A tiny spec of `type` (d 32, 2 layers unless given), no dropout. */
export function tinySpec(type: EncoderSpec['type'], o: Partial<EncoderSpec> = {}): EncoderSpec {
  return { type, layers: 2, dModel: 32, heads: 4, ffnDim: 64, dState: 8, depthwiseKernel: 7, dropout: 0, ...o };
}

/** Trains `model` with AdamW on `batches` (cycled) for at most `maxSteps`, calling `done()` every
 *  `every` steps; returns the step count at which done() held, or -1. */
export async function trainUntil<B>(model: TaskModel<B>, batches: B[], o: { lr: number; maxSteps: number; every: number; done: () => Promise<boolean> | boolean }): Promise<number> {
  const opt = new optim.AdamW(model.parameters(), { lr: o.lr, weightDecay: 0 });
  model.train();
  for (let step = 1; step <= o.maxSteps; ++step) {
    const r = model.loss(batches[step % batches.length]);
    r.loss.backward();
    r.loss.dispose();
    opt.step();
    opt.zeroGrad();
    if (step % o.every === 0) {
      const ok = await o.done();
      model.train();
      if (ok) return step;
    }
  }
  return -1;
}

