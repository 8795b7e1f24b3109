/**
 * child_write.ts — writes checkpoints of a 1M-parameter model to one path in a loop, for the
 * atomic-write test: node -r ./test/cli/ts-hook.js test/train/child_write.ts <file>
 * Write k sets every weight to k and records step k in the metadata, then prints "wrote k".
 */
import { Linear } from '../../lib/nn';
import { SGD } from '../../lib/optim';
import { getRngState, full, noGrad } from '../../lib';
import { saveCheckpoint } from '../../lib/train';
import type { TrainerState } from '../../lib/train';

const file = process.argv[2];
const model = new Linear(1024, 1024);
const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
for (let k = 1; ; ++k) {
  noGrad(() => {
    for (const p of model.parameters()) p.grad = full(p.shape, 0);
    optimizer.step(); // momentum buffers exist from the first step on
    optimizer.zeroGrad();
  });
  model.loadStateDict({ weight: full([1024, 1024], k), bias: full([1024], k) });
  const trainer = { step: k, epoch: 0, batchIndex: 0 } as unknown as TrainerState;
  saveCheckpoint(file, { model, optimizer, scheduler: null, kind: 'last', trainer, rng: getRngState(), config: { k }, metrics: null });
  process.stdout.write(`wrote ${k}\n`);
}
