// Fuzz target: FLAC decoding of mutated fixtures (and of fixtures rewritten as streamed files,
// total samples 0 and no MD5, where only the decoder can notice damage).
import * as fs from 'fs';
import * as path from 'path';

import { decodeFlac } from '../../../lib/audio/flac';
import type { FuzzTarget } from './driver';
import { mutate } from './mutate';

const dir = path.resolve(__dirname, '../../fixtures/data');
const seeds: Buffer[] = [];

export const target: FuzzTarget = {
  prefix: /^\[decodeFlac\] fuzz\.flac: /,
  setup() {
    for (const f of ['noise_16k_s16_stereo.flac', 'noise_22k_s24_mono.flac', 'noise_8k_u8_mono.flac']) {
      const b = fs.readFileSync(path.join(dir, f));
      seeds.push(b);
      const streamed = Buffer.from(b);
      streamed[21] &= 0xf0;
      streamed.fill(0, 22, 42); // total samples and MD5
      seeds.push(streamed);
    }
  },
  async run(rng) {
    const b = mutate(seeds[rng.int(0, seeds.length - 1)], rng);
    const a = await decodeFlac(b, { name: 'fuzz.flac' });
    const n = a.channels[0]?.length;
    if (!a.channels.length || a.channels.some((c) => c.length !== n)) return 'channels of unequal length';
    for (const c of a.channels) for (const v of c) if (!(v >= -1 && v < 1)) return `sample ${v} outside [-1, 1)`;
    return null;
  },
};
