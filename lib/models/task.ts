/**
 * task.ts — the contract between task models and everything that drives them (the trainer, the
 * layer-wise MI analysis, the command line). Models implement it structurally; the trainer and
 * the analysis import only these types, never a concrete model.
 *
 * Glossary:
 *   B            a model's own batch type, made by its collate function from `data` batches
 *   LossOutput   a differentiable scalar loss plus plain-number metrics of that batch
 *   count        the weight of the batch when metrics are averaged over batches (utterances,
 *                frames, tokens: the model says which)
 *   hs           hidden states: hs[0] = encoder input, hs[l] = output of layer l (S3PRL)
 */
import { Module } from '../nn/module';
import { Tensor } from '../tensor/tensor';

/** What `loss(batch)` returns: `loss` a scalar Tensor with a gradient path to the parameters;
 *  `metrics` plain numbers for logs (e.g. { ctc: 1.93 }); `count` the batch's weight when averaged. */
export interface LossOutput {
  loss: Tensor;
  metrics: Record<string, number>;
  count: number;
}

/** Hidden states of one batch for the layer-wise analysis: `states[l]` (B, T', C) for l = 0..L
 *  (hs[0] the encoder input), valid frames `lengths` (B) (padding on the right), and
 *  `framesPerInput` the model's time subsampling (4 for conv2d4: T' frames per 4 feature frames),
 *  so features and frame labels can be brought to the layer frame rate. `inputs` (B, T, F) are the
 *  model's input features when it has them (null for waveform models). */
export interface HiddenStates {
  states: Tensor[];
  lengths: Int32Array;
  subsampling: number;
  inputs: Tensor | null;
  inputLengths: Int32Array | null;
}

/** A trainable task model (CtcAsr, MaskedReconstruction, MaskEnhancer, Hubert, HubertCtc).
 *  - `task` names the task ('ctc' | 'reconstruction' | 'enhancement' | 'hubert' | 'hubert-ctc').
 *  - `loss(batch)` runs forward in the current mode (train(): dropout, masking, SpecAugment) and
 *    returns the loss; the caller runs backward.
 *  - `evaluate(batches)` runs in eval mode under noGrad over every batch and returns metrics
 *    averaged over the set (corpus-level where the metric is: error rates are sum of edits over
 *    sum of reference lengths); it restores the previous train/eval mode.
 *  - `hiddenStates(batch)` runs in eval mode under noGrad and returns the encoder's hidden states.
 *  - `toConfig()` is a JSON object from which `models.create(config)` rebuilds the same
 *    architecture (weights then come from `load`/`loadStateDict`). */
export interface TaskModel<B = unknown> extends Module {
  readonly task: string;
  loss(batch: B): LossOutput;
  evaluate(batches: Iterable<B> | AsyncIterable<B>): Promise<Record<string, number>>;
  hiddenStates(batch: B): HiddenStates;
  toConfig(): Record<string, unknown>;
  numParameters(): number;
}

/** Batches for training: `epoch(e)` yields the batches of epoch e, the same ones in the same order
 *  every time it is called with the same e (seeded by the source), so a trainer that saves
 *  (epoch, index) can resume exactly by skipping `index` batches. `size(e)` is the batch count of
 *  epoch e when known (for progress and ETA). */
export interface BatchSource<B> {
  epoch(e: number): Iterable<B> | AsyncIterable<B>;
  size?(e: number): number;
}
