/**
 * devices.ts — the devices every op test runs on. CPU always; CUDA when the addon was built with
 * it and a GPU answers. With MAMBA_SPEECH_REQUIRE_GPU=1 (npm run test:gpu) a missing GPU is an
 * error instead of a skip, so a GPU run cannot pass by skipping.
 */
import { buildInfo, cudaAvailable, Device } from '../../lib';

export const hasCuda: boolean = cudaAvailable();
export const testDevices: Device[] = hasCuda ? ['cpu', 'cuda'] : ['cpu'];

const info = buildInfo();
export const noCudaReason: string = info.cuda ? info.cudaStatus : 'addon built without CUDA';

if (process.env.MAMBA_SPEECH_REQUIRE_GPU === '1' && !hasCuda) {
  throw new Error(`GPU tests were requested (MAMBA_SPEECH_REQUIRE_GPU=1) but CUDA is not usable: ${noCudaReason}`);
}

let warned = false;
/** describe() on CUDA, or a skipped describe with the reason printed once per test file. */
export function describeCuda(name: string, fn: () => void): void {
  if (hasCuda) {
    describe(name, fn);
  } else {
    if (!warned) {
      warned = true;
      process.stderr.write(`[gpu] CUDA tests skipped: ${noCudaReason}\n`);
    }
    describe.skip(name, fn);
  }
}

/**
 * Runs GC until earlier test files' forgotten tensors are freed. The addon lives once per jest
 * worker, so memory() counts what other files in this worker left for the GC; an async test
 * (whose awaits let the FinalizationRegistry run) must flush them before taking a baseline.
 */
export async function settleMemory(): Promise<void> {
  const gc = (global as unknown as { gc?: () => void }).gc;
  if (!gc) return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { memory } = require('../../lib') as typeof import('../../lib');
  let last = -1;
  for (let i = 0; i < 50; ++i) {
    gc();
    await new Promise((r) => setTimeout(r, i < 3 ? 0 : 5));
    const now = memory().tensors;
    if (now === last && i >= 3) return;
    last = now;
  }
}
