/** lib/io — checkpoints. */
export { loadSafetensors, saveSafetensors } from './safetensors';
export type { SafetensorsFile } from './safetensors';
