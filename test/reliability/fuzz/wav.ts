// Fuzz target: WAV decoding of mutated files of every format (decodeWav, readAudio).
import { decodeWav, encodeWav, SampleFormat } from '../../../lib/audio/wav';
import { readAudio } from '../../../lib/audio/flac';
import type { Rng } from '../../../lib/data/rng';
import type { FuzzTarget } from './driver';
import { mutate } from './mutate';

const FORMATS: SampleFormat[] = ['pcm8', 'pcm16', 'pcm24', 'pcm32', 'float32', 'float64'];

function seedFile(rng: Rng): { buf: Buffer; format: SampleFormat } {
  const format = FORMATS[rng.int(0, FORMATS.length - 1)];
  const n = rng.int(0, 40);
  const channels = Array.from({ length: rng.int(1, 3) }, () => Float64Array.from({ length: n }, () => rng.uniform() * 2 - 1));
  return { buf: encodeWav({ sampleRate: [8000, 16000, 44100][rng.int(0, 2)], channels }, { format, extensible: rng.uniform() < 0.3 }), format };
}

export const target: FuzzTarget = {
  prefix: /^\[(decodeWav|readAudio)\] fuzz\.wav: /,
  async run(rng) {
    const { buf } = seedFile(rng);
    const b = mutate(buf, rng);
    const a = rng.uniform() < 0.8 ? decodeWav(b, { name: 'fuzz.wav', mono: rng.uniform() < 0.2 }) : await readAudio(b, { name: 'fuzz.wav' });
    const n = a.channels[0]?.length;
    if (!a.channels.length || a.channels.some((c) => c.length !== n)) return 'channels of unequal length';
    const pcm = a.format.startsWith('pcm');
    for (const c of a.channels) {
      for (const v of c) {
        if (!Number.isFinite(v)) return `non-finite sample ${v} accepted`;
        // pcm32's largest value, 1 - 2^-31, rounds to 1 in float32.
        if (pcm && (v < -1 || v > 1 || (v === 1 && a.format !== 'pcm32'))) return `${a.format} sample ${v} outside [-1, 1)`;
      }
    }
    if (!(a.sampleRate > 0)) return `sample rate ${a.sampleRate}`;
    return null;
  },
};
