// Fuzz target: Module.load of mutated checkpoints. Invariant: a load that throws leaves every
// parameter exactly as it was (nothing half-written), and nothing leaks.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { parseSafetensors } from '../../../lib/io/safetensors';
import { Linear, Sequential } from '../../../lib/nn/layers';
import { memory } from '../../../lib/tensor/memory';
import type { FuzzTarget } from './driver';
import { mutate } from './mutate';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-fuzz-load-'));
const file = path.join(dir, 'fuzz.safetensors');
let good: Buffer;
let model: Sequential;
let values: string;
const snapshot = (): string => Object.entries(model.stateDict()).map(([k, t]) => `${k}=${Array.from(t.dataSync()).join(',')}`).join(';');
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

export const target: FuzzTarget = {
  prefix: new RegExp(`^\\[(Module\\.load|loadSafetensors)\\] ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `),
  setup() {
    model = new Sequential(new Linear(3, 2, { seed: 1, device: 'cpu' }), new Linear(2, 1, { seed: 2, device: 'cpu' }));
    model.save(file);
    good = fs.readFileSync(file);
    values = snapshot();
  },
  run(rng) {
    fs.writeFileSync(file, mutate(good, rng));
    const before = memory().tensors;
    try {
      model.load(file, { strict: rng.uniform() < 0.7, allowCast: rng.uniform() < 0.3 });
    } catch (e) {
      if (snapshot() !== values) throw new Error(`[Module.load] ${file}: HALF-WRITTEN after error: ${(e as Error).message}`);
      if (memory().tensors !== before) throw new Error(`[Module.load] ${file}: LEAK after error: ${(e as Error).message}`);
      throw e;
    }
    // A mutation the format cannot notice (a flipped bit inside the data) loads: restore.
    const { tensors } = parseSafetensors(good, 'good', { device: 'cpu' });
    model.loadStateDict(tensors);
    Object.values(tensors).forEach((t) => t.dispose());
    values = snapshot();
    return memory().tensors === before ? null : 'tensors leaked';
  },
};
