// The package's `audio` namespace: fixed names return Tensors; array versions stay reachable.
import { audio, data } from '../../lib';
import { testDevices } from '../helpers/devices';

describe.each(testDevices)('audio namespace on %s', (device) => {
  test('audio.fbank returns a (frames, nMels) Tensor equal to the array version', () => {
    const sr = 16000;
    const x = Float32Array.from({ length: sr }, (_, i) => Math.sin((2 * Math.PI * 440 * i) / sr) + 0.01 * Math.sin(i));
    const t = audio.fbank(x, { nMels: 80 }, { device });
    const a = audio.fbankArray(x, { nMels: 80 });
    expect(t.shape).toEqual([101, 80]); // center=True: 1 + floor(16000 / 160)
    expect(t.device).toBe(device);
    expect(Array.from(t.dataSync())).toEqual(Array.from(a.data, (v) => Math.fround(v)));
    const k = audio.kaldiFbank(x, {}, { device });
    expect(k.shape).toEqual([98, 23]); // snip_edges: 1 + floor((16000 - 400) / 160)
    expect(audio.mfcc(x, {}, { device }).shape[1]).toBe(40);
  });
});

test('data namespace exposes the corpus and batching', () => {
  expect(typeof data.generateCorpus).toBe('function');
  expect(typeof data.planBatches).toBe('function');
  expect(typeof data.Tokenizer).toBe('function');
});

describe.each(testDevices)('batches as tensors on %s', (device) => {
  test('batchToTensors keeps shapes, values and dtypes', () => {
    const batch = {
      ids: ['a', 'b'], features: Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i), shape: [2, 3, 4] as [number, number, number],
      lengths: new Int32Array([3, 2]), targets: new Int32Array([1, 2, 0, 3]), targetShape: [2, 2] as [number, number],
      targetLengths: new Int32Array([2, 1]),
    };
    const t = data.batchToTensors(batch, { device });
    expect(t.features.shape).toEqual([2, 3, 4]);
    expect(t.features.device).toBe(device);
    expect(Array.from(t.features.dataSync())).toEqual(Array.from(batch.features));
    expect(t.lengths.dtype).toBe('int32');
    expect(Array.from(t.targets!.dataSync())).toEqual([1, 2, 0, 3]);
    expect(Array.from(t.targetLengths!.dataSync())).toEqual([2, 1]);
  });
});
