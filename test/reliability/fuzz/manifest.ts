// Fuzz target: manifest parsing of mutated JSON Lines (bytes and field values).
import { parseManifest } from '../../../lib/data/manifest';
import type { Rng } from '../../../lib/data/rng';
import type { FuzzTarget } from './driver';
import { mutate, oddValue } from './mutate';

function entry(rng: Rng, i: number): Record<string, unknown> {
  const e: Record<string, unknown> = { id: `utt${i}`, audio: `wav/utt${i}.wav`, duration: 1.2, text: 'a b', speaker: 's1' };
  if (rng.uniform() < 0.5) e.phones = ['a', 'b'];
  if (rng.uniform() < 0.5) e.alignment = { frameShift: 0.01, segments: [['sil', 0, 20], ['a', 20, 120]] };
  if (rng.uniform() < 0.3) e.noise = { type: 'white', snrDb: 5, seed: 3 };
  if (rng.uniform() < 0.2) e.noisy = `noisy/utt${i}.wav`;
  return e;
}

export const target: FuzzTarget = {
  prefix: /^\[readManifest\] fuzz\.jsonl(:\d+)?: /,
  run(rng) {
    const entries = Array.from({ length: rng.int(1, 4) }, (_, i) => entry(rng, i));
    // Field-level damage: a wrong value, a removed field or an extra one.
    for (const e of entries) {
      if (rng.uniform() < 0.5) {
        const keys = [...Object.keys(e), 'alignment', 'noise', 'phones', 'duration', '__proto__'];
        const k = keys[rng.int(0, keys.length - 1)];
        if (rng.uniform() < 0.2) delete e[k];
        else Object.defineProperty(e, k, { value: oddValue(rng), enumerable: true, writable: true, configurable: true });
      }
    }
    let text = entries.map((e) => JSON.stringify(e)).join('\n') + '\n';
    if (rng.uniform() < 0.5) text = mutate(Buffer.from(text), rng).toString('utf8');
    const skip = rng.uniform() < 0.3;
    const m = parseManifest(text, 'fuzz.jsonl', { onError: skip ? 'skip' : 'throw' });
    for (const e of m.entries) {
      if (typeof e.id !== 'string' || typeof e.audio !== 'string' || !(e.duration >= 0)) return `accepted a bad entry ${JSON.stringify(e)}`;
    }
    for (const p of m.problems) if (p.file !== 'fuzz.jsonl' || !(p.line >= 1) || !p.message) return `bad problem ${JSON.stringify(p)}`;
    return null;
  },
};
