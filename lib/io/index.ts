/** lib/io — checkpoints (safetensors) and atomic file writes. */
export { loadSafetensors, parseSafetensors, saveSafetensors } from './safetensors';
export type { LoadSafetensorsOptions, SafetensorsFile } from './safetensors';
export { cleanStaleTemps, writeFileAtomic } from './atomic';
export type { AtomicWriteOptions } from './atomic';
