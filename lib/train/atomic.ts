/**
 * atomic.ts — the trainer's atomic writes are the library's (lib/io/atomic.ts): temp file beside
 * the target, flush, rename, stale temps of dead writers cleaned. Re-exported here so `train`
 * users find them next to the checkpoints that use them.
 */
export { cleanStaleTemps, tempPathFor, writeAtomicWith, writeFileAtomic } from '../io/atomic';
export type { AtomicWriteOptions } from '../io/atomic';
