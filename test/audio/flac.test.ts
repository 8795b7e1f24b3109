/** FLAC reading through libflacjs, checked sample-for-sample against the WAV each fixture was
 *  encoded from (`flac --best --no-padding`), plus readAudio's dispatch and the error paths. */
import * as fs from 'fs';
import * as path from 'path';
import { decodeFlac, parseFlacHeader, probeAudio, readAudio, readFlac } from '../../lib/audio/flac';
import { encodeWav, readWav } from '../../lib/audio/wav';

const FIX = path.join(__dirname, '..', 'fixtures', 'data');
const names = ['noise_16k_s16_stereo', 'noise_22k_s24_mono', 'noise_8k_u8_mono'];

describe('readFlac', () => {
  for (const name of names) {
    test(`${name}: bit-exact against its source WAV`, async () => {
      const wav = readWav(path.join(FIX, `${name}.wav`));
      const flac = await readFlac(path.join(FIX, `${name}.flac`));
      expect(flac.sampleRate).toBe(wav.sampleRate);
      expect(flac.format).toBe(wav.format);
      expect(flac.bitsPerSample).toBe(wav.bitsPerSample);
      expect(flac.channels.length).toBe(wav.channels.length);
      for (let c = 0; c < wav.channels.length; c++) {
        expect(Buffer.from(flac.channels[c].buffer).equals(Buffer.from(wav.channels[c].buffer))).toBe(true);
      }
    });
  }

  test('mono downmix, header probe, readAudio dispatch by magic bytes', async () => {
    const file = path.join(FIX, 'noise_16k_s16_stereo.flac');
    const m = await readFlac(file, { mono: true });
    const s = readWav(path.join(FIX, 'noise_16k_s16_stereo.wav'));
    expect(m.channels.length).toBe(1);
    expect(m.channels[0][10]).toBeCloseTo((s.channels[0][10] + s.channels[1][10]) / 2, 7);
    expect(probeAudio(file)).toEqual({ sampleRate: 16000, numChannels: 2, numFrames: 1600, duration: 0.1 });
    expect(probeAudio(path.join(FIX, 'noise_22k_s24_mono.wav')).numFrames).toBe(2205);
    const viaAudio = await readAudio(fs.readFileSync(file));
    expect(viaAudio.channels[1]).toEqual(s.channels[1]);
    const wavBuf = encodeWav({ sampleRate: 8000, channels: [new Float32Array([0.5, -0.5])] });
    expect(Array.from((await readAudio(wavBuf)).channels[0])).toEqual([0.5, -0.5]);
    expect(parseFlacHeader(fs.readFileSync(file)).md5).toMatch(/^[0-9a-f]{32}$/);
  });

  test('errors: truncated, corrupted, not audio', async () => {
    const buf = fs.readFileSync(path.join(FIX, 'noise_16k_s16_stereo.flac'));
    await expect(decodeFlac(buf.subarray(0, 2000), { name: 'cut.flac' })).rejects.toThrow(/\[decodeFlac\] cut.flac: STREAMINFO says 1600 samples per channel but \d+ were decoded/);
    const bad = Buffer.from(buf);
    for (let i = 1000; i < 1010; i++) bad[i] ^= 0x5a;
    await expect(decodeFlac(bad, { name: 'bad.flac' })).rejects.toThrow('[decodeFlac] bad.flac:');
    await expect(readAudio(Buffer.from('OggS\0\0\0\0'), { name: 'a.ogg' })).rejects.toThrow('[readAudio] a.ogg: unknown audio format (first bytes "OggS")');
    await expect(readFlac('/nonexistent/x.flac')).rejects.toThrow('[readFlac] /nonexistent/x.flac: cannot read file (ENOENT)');
    await expect(decodeFlac(Buffer.alloc(50))).rejects.toThrow('not a FLAC file');
  });
});
