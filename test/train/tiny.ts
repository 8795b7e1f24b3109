/**
 * tiny.ts — a small TaskModel and data for the trainer tests: y = tanh(x W1 + b1) (dropout) W2
 * + b2 regressed with MSE on seeded random (x, y) pairs. Dropout draws from the global tensor
 * RNG, so exact resume must restore it; batches come from a seeded per-epoch shuffle, so it
 * must restore the data position too.
 *
 * Shapes: x (B, F) F = 7, hidden H = 16, y (B, 1). Batches may hold NaN (`poison`) to make a
 * step's loss non-finite.
 */
import { Linear, Module } from '../../lib/nn';
import { add, dropout, mseLoss, mul, tanh } from '../../lib/ops';
import { DataRng, deriveSeed, shuffleInPlace } from '../../lib/data';
import { noGrad } from '../../lib/autograd';
import { fromTypedArray, randn, tidy, Tensor } from '../../lib/tensor';
import type { BatchSource, HiddenStates, LossOutput, TaskModel } from '../../lib/models/task';

export const F = 7;
export const H = 16;

export interface TinyBatch {
  x: Float32Array; // (B, F)
  y: Float32Array; // (B, 1)
  B: number;
}

/** The test model: two linear layers with tanh and dropout between (dropout from the global
 *  tensor RNG), and in training mode input noise 0.01 · N(0, 1) drawn from the model's own stream
 *  (seed, step) — as the task models draw masks — saved by rngState(). */
export class TinyRegressor extends Module implements TaskModel<TinyBatch> {
  readonly task = 'tiny';
  readonly l1: Linear;
  readonly l2: Linear;
  constructor(readonly o: { seed?: number; dropout?: number; noise?: number } = {}) {
    super();
    this.l1 = this.module('l1', new Linear(F, H, { seed: (o.seed ?? 0) + 1 }));
    this.l2 = this.module('l2', new Linear(H, 1, { seed: (o.seed ?? 0) + 2 }));
  }

  /** The model's own random stream: the next training loss() draws with this step. */
  step = 0;

  rngState(): { step: number } {
    return { step: this.step };
  }

  setRngState(s: { step: number }): void {
    this.step = s.step;
  }

  forward(x: Tensor): Tensor {
    if (this.training && (this.o.noise ?? 0.01) > 0) x = add(x, mul(randn(x.shape, { seed: deriveSeed(this.o.seed ?? 0, 'noise', this.step++), device: x.device }), this.o.noise ?? 0.01)); // (B, F)
    let h = tanh(this.l1.forward(x)); // (B, H)
    const p = this.o.dropout ?? 0.2;
    if (this.training && p > 0) h = dropout(h, p);
    return this.l2.forward(h); // (B, 1)
  }

  loss(b: TinyBatch): LossOutput {
    const device = this.l1.weight.device;
    const x = fromTypedArray(b.x, [b.B, F], { copy: true, device });
    const y = fromTypedArray(b.y, [b.B, 1], { copy: true, device });
    const loss = mseLoss(this.forward(x), y);
    return { loss, metrics: { mse: loss.item() }, count: b.B };
  }

  async evaluate(batches: Iterable<TinyBatch> | AsyncIterable<TinyBatch>): Promise<Record<string, number>> {
    const was = this.training;
    this.eval();
    let sum = 0;
    let n = 0;
    try {
      for await (const b of batches as AsyncIterable<TinyBatch>) {
        const v = noGrad(() => tidy(() => this.loss(b).loss.item()));
        sum += v * b.B;
        n += b.B;
      }
    } finally {
      this.train(was);
    }
    return { mse: sum / n, rmse: Math.sqrt(sum / n) };
  }

  hiddenStates(b: TinyBatch): HiddenStates {
    const x = fromTypedArray(b.x, [b.B, F], { copy: true });
    return { states: [x.reshape([b.B, 1, F])], lengths: new Int32Array(b.B).fill(1), subsampling: 1, inputs: null, inputLengths: null };
  }

  toConfig(): Record<string, unknown> {
    return { task: 'tiny', seed: this.o.seed ?? 0, dropout: this.o.dropout ?? 0.2 };
  }

  override numParameters(): number {
    return super.numParameters();
  }
}

/** N seeded pairs with y = sin(x·w / 2) + noise (w fixed for every source: train and dev sets are
 *  draws of one task), served in batches of `batch`, reshuffled per epoch (seed `seed`).
 *  `poison(e, i)` true makes batch i of epoch e hold a NaN. */
export class TinySource implements BatchSource<TinyBatch> {
  readonly xs: Float32Array;
  readonly ys: Float32Array;
  constructor(readonly n: number, readonly batch: number, readonly seed = 1, readonly poison: (e: number, i: number) => boolean = () => false) {
    const task = new DataRng(deriveSeed(0, 'task'));
    const w = Array.from({ length: F }, () => task.normal());
    const rng = new DataRng(deriveSeed(seed, 'data'));
    this.xs = new Float32Array(n * F);
    this.ys = new Float32Array(n);
    for (let i = 0; i < n; ++i) {
      let dot = 0;
      for (let f = 0; f < F; ++f) {
        const v = rng.normal();
        this.xs[i * F + f] = v;
        dot += v * w[f];
      }
      this.ys[i] = Math.sin(dot / 2) + 0.05 * rng.normal();
    }
  }

  size(): number {
    return Math.ceil(this.n / this.batch);
  }

  *epoch(e: number): Iterable<TinyBatch> {
    const order = shuffleInPlace(Array.from({ length: this.n }, (_, i) => i), new DataRng(deriveSeed(this.seed, 'epoch', e)));
    for (let i = 0, k = 0; i < this.n; i += this.batch, ++k) {
      const idx = order.slice(i, i + this.batch);
      const x = new Float32Array(idx.length * F);
      const y = new Float32Array(idx.length);
      idx.forEach((j, r) => {
        x.set(this.xs.subarray(j * F, (j + 1) * F), r * F);
        y[r] = this.ys[j];
      });
      if (this.poison(e, k)) x[0] = NaN;
      yield { x, y, B: idx.length };
    }
  }
}
