/**
 * cursor.ts — the trainer's position in the training data: (epoch, batch index) over a
 * BatchSource whose `epoch(e)` yields the same batches every time. Epochs run back to back as one
 * stream of batches, so gradient accumulation may span an epoch boundary, and a checkpoint's
 * (epoch, index) names exactly the next batch to read.
 *
 * Resuming at (e, i) opens epoch e again and skips its first i batches (they are produced and
 * dropped: a source with cached features makes this cheap).
 */
import type { BatchSource } from '../models/task';

type AnyIterator<B> = Iterator<B> | AsyncIterator<B>;

/** Position-tracking iterator over epochs of a BatchSource. */
export class DataCursor<B> {
  private it: AnyIterator<B> | null = null;
  private yielded = 0;
  /** One batch read ahead of the position (not counted in `index` until next() returns it). */
  private ahead: IteratorResult<B> | null = null;

  /**
   * @param source   the training batches
   * @param epoch    epoch of the next batch
   * @param index    batches of `epoch` already consumed
   * @param maxEpochs the cursor ends (next() returns null) when epoch reaches it
   */
  constructor(private readonly source: BatchSource<B>, public epoch: number, public index: number, private readonly maxEpochs = Infinity) {}

  private open(): void {
    const src = this.source.epoch(this.epoch) as Iterable<B> | AsyncIterable<B>;
    if (src && typeof (src as AsyncIterable<B>)[Symbol.asyncIterator] === 'function') this.it = (src as AsyncIterable<B>)[Symbol.asyncIterator]();
    else if (src && typeof (src as Iterable<B>)[Symbol.iterator] === 'function') this.it = (src as Iterable<B>)[Symbol.iterator]();
    else throw new Error(`[Trainer] train.epoch(${this.epoch}) must return an iterable or async iterable of batches, got ${typeof src}`);
    this.yielded = 0;
  }

  private async pull(): Promise<IteratorResult<B>> {
    const r = this.it!.next();
    return r instanceof Promise ? await r : r;
  }

  private async ensureOpen(): Promise<void> {
    if (this.it !== null) return;
    this.open();
    // Skip the batches a checkpoint says were consumed.
    while (this.yielded < this.index) {
      const r = await this.pull();
      if (r.done) {
        throw new Error(`[Trainer] cannot resume at batch ${this.index} of epoch ${this.epoch}: the epoch has only ${this.yielded} batches (did the data change since the checkpoint?)`);
      }
      this.yielded += 1;
    }
  }

  /**
   * Looks one batch ahead: when the current epoch has no batch left, moves the position to the
   * start of the next epoch and returns true (the epoch just ended). Call after each step.
   */
  async epochEnded(): Promise<boolean> {
    if (this.epoch >= this.maxEpochs) return false;
    if (this.ahead === null) {
      await this.ensureOpen();
      this.ahead = await this.pull();
    }
    if (!this.ahead.done) return false;
    if (this.yielded === 0) throw new Error(`[Trainer] epoch ${this.epoch} of the training data has no batches`);
    this.ahead = null;
    this.close();
    this.epoch += 1;
    this.index = 0;
    return true;
  }

  /** The next batch, moving to the next epoch when one ends; null once `maxEpochs` are done. */
  async next(): Promise<B | null> {
    for (;;) {
      if (this.epoch >= this.maxEpochs) return null;
      if (this.ahead === null) {
        await this.ensureOpen();
        this.ahead = await this.pull();
      }
      const r = this.ahead;
      this.ahead = null;
      if (!r.done) {
        this.yielded += 1;
        this.index += 1;
        return r.value;
      }
      if (this.yielded === 0) throw new Error(`[Trainer] epoch ${this.epoch} of the training data has no batches`);
      this.close();
      this.epoch += 1;
      this.index = 0;
    }
  }

  /** True once every epoch up to `maxEpochs` was consumed. */
  get finished(): boolean {
    return this.epoch >= this.maxEpochs;
  }

  /** Releases the current epoch's iterator (lets an async generator run its finally blocks). */
  close(): void {
    const it = this.it;
    this.it = null;
    this.ahead = null;
    if (it && typeof it.return === 'function') {
      const r = it.return(undefined);
      if (r instanceof Promise) r.catch(() => undefined);
    }
  }
}
