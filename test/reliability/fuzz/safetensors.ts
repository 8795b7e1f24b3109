// Fuzz target: safetensors parsing of mutated files (bytes, and header fields through JSON).
// Invariants: nothing leaks (live tensors back to the count before the call), and an accepted
// file matches its header (every tensor's shape and the data section size).
import { parseSafetensors } from '../../../lib/io/safetensors';
import { memory } from '../../../lib/tensor/memory';
import type { Rng } from '../../../lib/data/rng';
import type { FuzzTarget } from './driver';
import { mutate, oddValue } from './mutate';

const DTYPES: [string, number][] = [['F32', 4], ['BF16', 2], ['I32', 4], ['F16', 2], ['I64', 8], ['F64', 8], ['U8', 1], ['BOOL', 1]];

/** A valid file of 1-3 small tensors, with the header as an object to damage before writing. */
function build(rng: Rng, damage: boolean): Buffer {
  const header: Record<string, unknown> = Object.create(null);
  const blobs: Buffer[] = [];
  let off = 0;
  for (let t = 0, n = rng.int(0, 3); t < n; ++t) {
    const [dtype, size] = DTYPES[rng.int(0, DTYPES.length - 1)];
    const shape = Array.from({ length: rng.int(0, 3) }, () => rng.int(0, 3));
    const bytes = shape.reduce((p, d) => p * d, 1) * size;
    const blob = Buffer.alloc(bytes);
    for (let k = 0; k < bytes; ++k) blob[k] = dtype === 'I64' && k % 8 > 3 ? 0 : rng.int(0, 255);
    header[['w', 'b', '__proto__', 'layer.0.weight'][t % 4]] = { dtype, shape, data_offsets: [off, off + bytes] };
    blobs.push(blob);
    off += bytes;
  }
  if (rng.uniform() < 0.3) header.__metadata__ = { format: 'pt' };
  if (damage) {
    const keys = Object.keys(header);
    const k = keys.length ? keys[rng.int(0, keys.length - 1)] : 'x';
    const info = header[k] as Record<string, unknown> | undefined;
    if (info && typeof info === 'object' && rng.uniform() < 0.8) {
      const field = ['dtype', 'shape', 'data_offsets', 'extra'][rng.int(0, 3)];
      info[field] = field === 'data_offsets' && rng.uniform() < 0.5 ? [oddValue(rng), oddValue(rng)] : oddValue(rng);
    } else {
      header[k] = oddValue(rng);
    }
  }
  const json = Buffer.from(JSON.stringify(header));
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([n, json, ...blobs]);
}

export const target: FuzzTarget = {
  prefix: /^\[loadSafetensors\] fuzz\.safetensors: /,
  run(rng) {
    const structural = rng.uniform() < 0.5;
    let b = build(rng, structural);
    if (!structural || rng.uniform() < 0.3) b = mutate(b, rng);
    const before = memory().tensors;
    let f: ReturnType<typeof parseSafetensors>;
    try {
      f = parseSafetensors(b, 'fuzz.safetensors', { device: 'cpu' });
    } catch (e) {
      if (memory().tensors !== before) throw new Error(`[loadSafetensors] fuzz.safetensors: LEAK after error: ${(e as Error).message}`);
      throw e;
    }
    const headerLen = Number(b.readBigUInt64LE(0));
    const header = JSON.parse(b.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, { shape: number[] }>;
    let problem: string | null = null;
    for (const [name, t] of Object.entries(f.tensors)) {
      if (t.shape.join(',') !== header[name].shape.join(',')) problem = `tensor ${name} has shape ${t.shape} for ${header[name].shape}`;
    }
    Object.values(f.tensors).forEach((t) => t.dispose());
    if (memory().tensors !== before) problem = 'tensors leaked';
    return problem;
  },
};
