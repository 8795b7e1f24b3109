/**
 * child_train.ts — a training run in its own process, for the SIGKILL resume test:
 *   node -r ./test/cli/ts-hook.js test/train/child_train.ts <outDir> <maxSteps> [resume]
 * Prints "step <n>" after every step (the parent kills it at a random one) and saves `last`
 * after every step, so kills land inside checkpoint writes too.
 */
import * as fs from 'fs';
import * as path from 'path';

import { manualSeed } from '../../lib/tensor';
import { AdamW, warmupCosine } from '../../lib/optim';
import { fit } from '../../lib/train';
import { TinyRegressor, TinySource } from './tiny';

async function main(): Promise<void> {
  const [outDir, maxSteps, resume] = process.argv.slice(2);
  // A resumed run must take the RNG state from the checkpoint, so seed it differently here (a
  // kill before the first checkpoint leaves nothing to resume: that run starts over as seeded).
  const hasLast = fs.existsSync(path.join(outDir, 'checkpoints', 'last.safetensors'));
  manualSeed(resume && hasLast ? 12345 : 11);
  const model = new TinyRegressor({ seed: 10 });
  const optimizer = new AdamW(model.parameters(), { lr: 2e-2 });
  await fit({
    model, optimizer, schedule: warmupCosine({ warmupSteps: 3, totalSteps: Number(maxSteps) }),
    train: new TinySource(23, 4, 3), dev: new TinySource(9, 4, 9), evalEvery: 5, monitor: 'mse', checkpoint: { every: 1, keepBest: 2 },
    maxSteps: Number(maxSteps), outDir, resume: resume === 'resume', logEvery: 1, accumulate: 2, clipGradNorm: 1,
    callbacks: { onStep: (s) => { process.stdout.write(`step ${s.step}\n`); } },
  });
  process.stdout.write('done\n');
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
