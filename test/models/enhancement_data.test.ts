// Enhancement pairs and batches: synth pairs at the VoiceBank-DEMAND SNRs (the mixture's SNR is
// the recipe's), manifests with a noisy file / a recipe / neither, a VoiceBank-DEMAND folder at
// 48 kHz, collation, and the seeded BatchSource (every pair once per epoch, crops aligned).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { audio, data, models } from '../../lib';

function snrOf(clean: Float32Array, noisy: Float32Array): number {
  let s = 0, n = 0;
  for (let i = 0; i < clean.length; i++) {
    s += clean[i] ** 2;
    n += (noisy[i] - clean[i]) ** 2;
  }
  return 10 * Math.log10(s / n);
}

const tone = (n: number, f: number, sr: number): Float32Array => Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin((2 * Math.PI * f * i) / sr) * (1 + 0.5 * Math.sin(i / 50)));

describe('enhancement pairs', () => {
  test('synth pairs: deterministic, mixed at the split SNR set, noise recipe kept', () => {
    const a = models.synthEnhancementPairs({ count: 3, seed: 11, minSeconds: 0.6, maxSeconds: 0.8 });
    const b = models.synthEnhancementPairs({ count: 3, seed: 11, minSeconds: 0.6, maxSeconds: 0.8 });
    expect(a.map((p) => p.id)).toEqual(b.map((p) => p.id));
    a.forEach((p, i) => {
      expect(p.noisy).toEqual(b[i].noisy);
      expect(p.clean.length).toBe(p.noisy.length);
      expect(data.TRAIN_SNRS).toContain(p.noise!.snrDb);
      expect(snrOf(p.clean, p.noisy)).toBeCloseTo(p.noise!.snrDb, 3);
    });
    const t = models.synthEnhancementPairs({ count: 4, seed: 11, split: 'test', types: ['pink', 'babble'], minSeconds: 0.6, maxSeconds: 0.8, cropSeconds: 0.5 });
    t.forEach((p) => {
      expect(data.TEST_SNRS).toContain(p.noise!.snrDb);
      expect(['pink', 'babble']).toContain(p.noise!.type);
      expect(p.clean.length).toBe(8000);
    });
    expect(models.snrSet('dev')).toEqual(data.TRAIN_SNRS);
    expect(() => models.synthEnhancementPairs({ count: 0 })).toThrow('[synthEnhancementPairs] count must be a positive integer, got 0');
  });

  test('manifest entries: noisy file, noise recipe, or a recipe drawn at the split SNRs; resampled to 16 kHz', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enhpairs-'));
    try {
      const sr = 8000, n = 4000;
      const files = [0, 1, 2].map((i) => {
        const f = path.join(dir, `u${i}.wav`);
        audio.writeWav(f, { sampleRate: sr, channels: [tone(n, 300 + 100 * i, sr)] }, { format: 'float32' });
        return f;
      });
      const noisyFile = path.join(dir, 'u0-noisy.wav');
      audio.writeWav(noisyFile, { sampleRate: sr, channels: [Float32Array.from(tone(n, 300, sr), (v, i) => v + 0.05 * Math.sin(i))] }, { format: 'float32' });
      const entries: data.ManifestEntry[] = [
        { id: 'u0', audio: files[0], duration: 0.5, noisy: noisyFile },
        { id: 'u1', audio: files[1], duration: 0.5, noise: { type: 'white', snrDb: 7, seed: 3 } },
        { id: 'u2', audio: files[2], duration: 0.5 },
      ];
      const pairs = await models.loadEnhancementPairs(entries, { split: 'test', seed: 4, types: ['pink'] });
      expect(pairs.map((p) => p.sampleRate)).toEqual([16000, 16000, 16000]);
      pairs.forEach((p) => expect(p.clean.length).toBe(8000));
      const x0 = audio.resample(audio.readWav(noisyFile).channels[0], sr, 16000);
      expect(pairs[0].noisy).toEqual(x0);
      expect(pairs[0].noise).toBeUndefined();
      expect(snrOf(pairs[1].clean, pairs[1].noisy)).toBeCloseTo(7, 3);
      expect(pairs[2].noise!.type).toBe('pink');
      expect(data.TEST_SNRS).toContain(pairs[2].noise!.snrDb);
      expect(snrOf(pairs[2].clean, pairs[2].noisy)).toBeCloseTo(pairs[2].noise!.snrDb, 3);
      const again = await models.loadEnhancementPairs(entries, { split: 'test', seed: 4, types: ['pink'] });
      expect(again[2].noisy).toEqual(pairs[2].noisy);
      const long = path.join(dir, 'long.wav');
      audio.writeWav(long, { sampleRate: sr, channels: [new Float32Array(n + 200)] });
      await expect(models.loadEnhancementPairs([{ id: 'u0', audio: files[0], duration: 0.5, noisy: long }])).rejects.toThrow(/\[loadEnhancementPairs\] entry u0: clean .* has 8000 samples, noisy .* 8400/);
      await expect(models.loadEnhancementPairs([])).rejects.toThrow('[loadEnhancementPairs] expected a non-empty array');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a VoiceBank-DEMAND folder (48 kHz clean_/noisy_ twins) becomes 16 kHz pairs', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'vbd-'));
    try {
      for (const d of ['clean_testset_wav', 'noisy_testset_wav']) fs.mkdirSync(path.join(root, d));
      for (const id of ['p232_001', 'p232_002']) {
        const c = tone(4800, 440, 48000);
        audio.writeWav(path.join(root, 'clean_testset_wav', `${id}.wav`), { sampleRate: 48000, channels: [c] }, { format: 'float32' });
        audio.writeWav(path.join(root, 'noisy_testset_wav', `${id}.wav`), { sampleRate: 48000, channels: [Float32Array.from(c, (v, i) => v + 0.01 * Math.cos(i))] }, { format: 'float32' });
      }
      const pairs = await models.loadVoiceBankPairs(root);
      expect(pairs.map((p) => p.id)).toEqual(['p232_001', 'p232_002']);
      pairs.forEach((p) => {
        expect(p.sampleRate).toBe(16000);
        expect(p.clean.length).toBe(1600);
        expect(p.noisy.length).toBe(1600);
      });
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('collate and batches', () => {
  const mk = (id: string, n: number, sampleRate = 16000): models.EnhancementPair => ({
    id, sampleRate, clean: Float32Array.from({ length: n }, (_, i) => Math.sin(i / 7 + n)), noisy: Float32Array.from({ length: n }, (_, i) => Math.sin(i / 7 + n) + 0.1 * Math.cos(i * 3 + n)),
  });

  test('collateEnhancement: right-padded (B, n_max) tensors and lengths; bad batches throw', () => {
    const b = models.collateEnhancement([mk('a', 500), mk('b', 731), mk('c', 9)]);
    expect(b.ids).toEqual(['a', 'b', 'c']);
    expect(b.noisy.shape).toEqual([3, 731]);
    expect(Array.from(b.lengths)).toEqual([500, 731, 9]);
    const v = b.clean.dataSync();
    expect(Array.from(v.subarray(0, 500))).toEqual(Array.from(mk('a', 500).clean));
    expect(Array.from(v.subarray(500, 731)).every((x) => x === 0)).toBe(true);
    expect(Array.from(b.noisy.dataSync().subarray(2 * 731 + 9)).every((x) => x === 0)).toBe(true);
    expect(() => models.collateEnhancement([])).toThrow('[collateEnhancement] empty batch: expected at least one pair');
    expect(() => models.collateEnhancement([mk('a', 10), { ...mk('b', 10), noisy: new Float32Array(9) }])).toThrow('[collateEnhancement] pairs[1] (b) has 10 clean and 9 noisy samples; they must match');
    expect(() => models.collateEnhancement([mk('a', 10), mk('b', 10, 8000)])).toThrow('[collateEnhancement] pairs[1] (b) is at 8000 Hz, pairs[0] at 16000 Hz');
  });

  test('enhancementBatches: each pair once per epoch, same epoch = same batches, crops of clean and noisy aligned', () => {
    const pairs = [300, 5000, 1200, 4100, 800, 2500, 6000].map((n, i) => mk(`p${i}`, n));
    const src = models.enhancementBatches(pairs, { batchSize: 3, segment: 1000, seed: 5 });
    const epoch = (e: number) => [...(src.epoch(e) as Iterable<models.EnhancementBatch>)];
    const e0 = epoch(0), e0b = epoch(0), e1 = epoch(1);
    expect(src.size!(0)).toBe(e0.length);
    expect(e0.flatMap((b) => b.ids).sort()).toEqual(pairs.map((p) => p.id).sort());
    expect(e0.map((b) => b.ids)).toEqual(e0b.map((b) => b.ids));
    expect(e0.map((b) => Array.from(b.clean.dataSync()))).toEqual(e0b.map((b) => Array.from(b.clean.dataSync())));
    const key = (bs: models.EnhancementBatch[]) => JSON.stringify(bs.map((b) => [b.ids, Array.from(b.clean.dataSync().subarray(0, 3))]));
    expect(key(e1)).not.toEqual(key(e0));
    for (const b of e0) {
      expect(b.noisy.shape[0]).toBeLessThanOrEqual(3);
      const n = b.noisy.shape[1];
      expect(n).toBeLessThanOrEqual(1000);
      const c = b.clean.dataSync(), x = b.noisy.dataSync();
      b.ids.forEach((id, k) => {
        const p = pairs.find((q) => q.id === id)!;
        const L = b.lengths[k];
        expect(L).toBe(Math.min(1000, p.clean.length));
        // The crop starts where the clean window matches; the noisy window starts at the same sample.
        let start = -1;
        for (let s = 0; s + L <= p.clean.length && start < 0; s++) if (p.clean[s] === c[k * n] && p.clean[s + 1] === c[k * n + 1] && p.clean[s + L - 1] === c[k * n + L - 1]) start = s;
        expect(start).toBeGreaterThanOrEqual(0);
        expect(Array.from(x.subarray(k * n, k * n + L))).toEqual(Array.from(p.noisy.subarray(start, start + L)));
      });
    }
    const ordered = models.enhancementBatches(pairs, { batchSize: 2, shuffle: false });
    const lens = [...(ordered.epoch(0) as Iterable<models.EnhancementBatch>)].flatMap((b) => Array.from(b.lengths));
    expect(lens).toEqual([...lens].sort((p, q) => p - q)); // evaluation order: sorted, uncropped
    expect(Math.max(...lens)).toBe(6000);
    expect(() => models.enhancementBatches(pairs, { segment: 0 })).toThrow('[enhancementBatches] segment must be a positive integer (samples), got 0');
  });
});
