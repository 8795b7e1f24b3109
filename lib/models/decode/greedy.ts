/**
 * greedy.ts — best-path CTC decoding: the argmax class of every frame, collapsed.
 *
 * Glossary: B utterances, T frames, V classes (blank included); logProbs (B, T, V) (log-softmax
 * output; logits give the same argmax); lengths (B) valid frames; blank the empty class.
 */
import type { Lengths } from '../../ops/selective_scan';
import { checkBlank, LogProbsInput, readLogProbs } from './input';

/** Options of greedyDecode. */
export interface GreedyOptions {
  /** Index of the blank class (default 0). */
  blank?: number;
}

/**
 * Greedy (best-path) CTC decoding of logProbs (B, T, V) — or (T, V) as one utterance — over the
 * first lengths[b] frames of each utterance (default all T): per frame the argmax class (ties go
 * to the lowest index, as torch.argmax), repeats merged, blanks dropped. Returns the token ids
 * of each utterance (B lists). A Tensor input is read once (on cuda that is one sync).
 */
export function greedyDecode(logProbs: LogProbsInput, lengths?: Lengths, opts: GreedyOptions = {}): number[][] {
  const op = 'greedyDecode';
  const { data, B, T, V, lengths: lens } = readLogProbs(op, logProbs, lengths, true);
  const blank = opts.blank ?? 0;
  checkBlank(op, blank, V);
  const out: number[][] = [];
  for (let b = 0; b < B; ++b) out.push(greedyPath(data, (b * T) * V, lens[b], V, blank).tokens);
  return out;
}

/** The argmax class per frame of one utterance starting at `off` (frames, T) and its collapse. */
export function greedyPath(data: ArrayLike<number>, off: number, T: number, V: number, blank: number): { frames: Int32Array; tokens: number[] } {
  const frames = new Int32Array(T);
  const tokens: number[] = [];
  let prev = -1;
  for (let t = 0; t < T; ++t) {
    const row = off + t * V;
    let best = 0;
    let bestV = data[row];
    for (let c = 1; c < V; ++c) {
      const x = data[row + c];
      if (x > bestV) {
        bestV = x;
        best = c;
      }
    }
    frames[t] = best;
    if (best !== prev && best !== blank) tokens.push(best);
    prev = best;
  }
  return { frames, tokens };
}
