/**
 * The public Tensor wrappers of lib/audio/index.ts: same numbers as the array-level functions,
 * time-major shapes. Needs the native addon; skipped with a printed reason when it is not built.
 */
import type * as Audio from '../../lib/audio';
import type * as TensorCore from '../../lib/tensor';

let audio: typeof Audio | null = null;
let core: typeof TensorCore | null = null;
let reason = '';
try {
  /* eslint-disable @typescript-eslint/no-require-imports */
  audio = require('../../lib/audio') as typeof Audio;
  core = require('../../lib/tensor') as typeof TensorCore;
  /* eslint-enable @typescript-eslint/no-require-imports */
} catch (e) {
  reason = (e as Error).message.split('\n')[0];
  // eslint-disable-next-line no-console
  console.log(`audio Tensor wrappers skipped: ${reason}`);
}

(audio ? describe : describe.skip)('audio Tensor wrappers', () => {
  const a = audio as typeof Audio;
  const x = Float32Array.from({ length: 8000 }, (_, i) => Math.sin(i * 0.1) + 0.01 * Math.cos(i * 1.7));

  test('fbankTensor / kaldiFbankTensor / mfccTensor: (frames, dim) with the array results', () => {
    const f = a.fbank(x, { nMels: 40 });
    const t = a.fbankTensor(x, { nMels: 40 }, { device: 'cpu' });
    expect(t.shape).toEqual([f.numFrames, 40]);
    expect(Array.from(t.dataSync())).toEqual(Array.from(f.data));
    t.dispose();
    const k = a.kaldiFbankTensor(x.map((v) => v * 32768), {}, { device: 'cpu' });
    expect(k.shape).toEqual([1 + Math.floor((8000 - 400) / 160), 23]);
    k.dispose();
    const m = a.mfccTensor(x, { nMfcc: 13 }, { device: 'cpu' });
    expect(m.shape).toEqual([51, 13]);
    m.dispose();
  });

  test('stftTensor and spectrogramTensor', () => {
    const s = a.stftTensor(x, { nFft: 256, hopLength: 64 }, { device: 'cpu' });
    expect(s.re.shape).toEqual([1 + Math.floor(8000 / 64), 129]);
    const p = a.spectrogramTensor(x, { nFft: 256, hopLength: 64 }, { device: 'cpu' });
    const re = s.re.dataSync();
    const im = s.im.dataSync();
    const pw = p.dataSync();
    for (let i = 0; i < 50; i++) expect(pw[i]).toBeCloseTo(re[i] ** 2 + im[i] ** 2, 2);
    s.re.dispose();
    s.im.dispose();
    p.dispose();
  });

  test('specAugmentTensor masks a (B, T, F) tensor within lengths, same as the array op', () => {
    const [B, T, F] = [2, 30, 8];
    const data = Float32Array.from({ length: B * T * F }, (_, i) => 1 + (i % 7));
    const lengths = Int32Array.of(30, 12);
    const t = (core as typeof TensorCore).tensor(data, [B, T, F], { device: 'cpu' });
    const out = a.specAugmentTensor(t, lengths, { seed: 4, timeMaskWidth: 5, freqMaskWidth: 3 });
    const ref = a.specAugment(data, [B, T, F], lengths, { seed: 4, timeMaskWidth: 5, freqMaskWidth: 3 });
    expect(out.shape).toEqual([B, T, F]);
    expect(Array.from(out.dataSync())).toEqual(Array.from(ref.data));
    t.dispose();
    out.dispose();
  });
});
