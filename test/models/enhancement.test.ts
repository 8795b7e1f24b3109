// MaskEnhancer: overfits a fixed noisy set with every encoder type (SI-SDR up >= 5 dB), padding
// invariance, loss values against a float64 recomputation from lib/audio, loss gradients by
// finite differences, hidden states, evaluate, save/load, bad input. Tiny models: the point is
// the wiring and the maths, not the quality.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { audio, gradCheck, memory, models, optim, tensor, Tensor, tidy } from '../../lib';
import { describeCuda, testDevices } from '../helpers/devices';
import { closeness, normRelError } from '../helpers/reference';

const seed0 = Number(process.env.TEST_SEED ?? Date.now() % 100000);
let seed = seed0;
function rand(n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    a[i] = (seed / 2147483648 * 2 - 1) * scale;
  }
  return a;
}
afterEach(() => {
  if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) console.log(`enhancement seed ${seed0}`);
});

const tiny = (type: models.EncoderType): models.EncoderSpec => ({ type, layers: 1, dModel: 16, heads: 2, ffnDim: 32, dropout: 0, dState: 4, depthwiseKernel: 5 });
const small = { nFft: 64, hop: 16 };

/** Speech-like test signals: a few decaying harmonic bursts (no synthesis needed). */
function tone(n: number, f0: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin((2 * Math.PI * f0 * i) / 16000) * (0.6 + 0.4 * Math.sin(i / 37)) + 0.1 * Math.sin((2 * Math.PI * 3 * f0 * i) / 16000));
}

describe('MaskEnhancer overfits 4 clips at 0 dB SNR', () => {
  const pairs = models.synthEnhancementPairs({ count: 4, seed: 3, snrs: [0], types: ['white', 'pink'], minSeconds: 0.8, maxSeconds: 1, cropSeconds: 0.5 });
  const batch = models.collateEnhancement(pairs);

  test.each([...models.ENCODER_TYPES])('%s: SI-SDR improvement >= 5 dB within 40 AdamW steps; memory flat', async (type) => {
    const m = new models.MaskEnhancer({ encoder: { ...tiny(type), dModel: 32, heads: 4, ffnDim: 64, dState: 8, depthwiseKernel: 7 }, seed: 1, device: 'cpu' });
    const opt = new optim.AdamW(m.parameters(), { lr: 5e-3, weightDecay: 0 });
    const before = await m.evaluate([batch]);
    expect(Math.abs(before.sisdri)).toBeLessThan(2); // an untrained mask is near the identity (β·σ(0) = 1)
    let live = 0;
    for (let step = 0; step < 40; step++) {
      tidy(() => {
        const { loss } = m.loss(batch);
        loss.backward();
        opt.step();
        m.zeroGrad();
      });
      if (step === 1) live = memory().tensors;
    }
    expect(memory().tensors).toBe(live); // a training step leaves nothing behind
    const after = await m.evaluate([batch]);
    expect(after.sisdri).toBeGreaterThanOrEqual(5);
    expect(after.sisdr).toBeGreaterThan(before.sisdr + 5);
    expect(m.training).toBe(true); // evaluate restored the mode
  });
});

describe.each(testDevices)('MaskEnhancer on %s', (device) => {
  test('forward shapes; padding invariance (batched with garbage padding = alone) for every encoder', () => {
    const n = 400, L = 233;
    const a = tone(n, 220), b = tone(n, 330);
    b.set(rand(n - L, 5), L); // garbage past item 1's length
    // float32 throughout (bf16 autocast, the CUDA default, rounds each op to ~4e-3: its own case
    // below, with a bf16-sized tolerance)
    for (const [type, ac] of [...models.ENCODER_TYPES.map((t) => [t, false] as const), ...(device === 'cuda' ? [['conbimamba', true] as const] : [])]) {
      const m = new models.MaskEnhancer({ encoder: tiny(type), ...small, seed: 2, device, autocast: ac }).eval();
      const out = m.forward(tensor(Float32Array.from([...a, ...b]), [2, n], { device }), [n, L]);
      const T = 1 + Math.floor(n / 16);
      expect(out.enhanced.shape).toEqual([2, n]);
      expect(out.mask.shape).toEqual([2, T, 33]);
      expect(Array.from(out.lengths)).toEqual([T, 1 + Math.floor(L / 16)]);
      const alone = m.forward(tensor(b.slice(0, L), [1, L], { device }));
      const e = out.enhanced.dataSync();
      // The CPU kernels compute each row alike whatever the batch (identical bits); on CUDA the
      // batched and the single products may take different GEMM paths (float32 rounding, ~1e-6
      // of the scale per op), so the check there is relative to the output's scale. Padding that
      // leaked (garbage of amplitude 5) would move the output by far more than 1e-4 of it.
      const ea = e.subarray(n, n + L), eb = alone.enhanced.dataSync();
      const tol = ac ? 3e-2 : 1e-4;
      const waveErr = device === 'cpu' ? closeness(ea, eb, 1e-3, 1e-5) : normRelError(ea, eb) / tol;
      expect({ type, ac, waveErr: waveErr <= 1 ? 'ok' : waveErr }).toEqual({ type, ac, waveErr: 'ok' });
      expect(Array.from(e.subarray(n + L)).every((v) => v === 0)).toBe(true);
      const Tb = out.lengths[1];
      const ma = out.mask.dataSync().subarray(T * 33, (T + Tb) * 33), mb = alone.mask.dataSync();
      const maskErr = device === 'cpu' ? closeness(ma, mb, 1e-4, 1e-5) : normRelError(ma, mb) / tol;
      expect({ type, ac, maskErr: maskErr <= 1 ? 'ok' : maskErr }).toEqual({ type, ac, maskErr: 'ok' });
    }
  });

  test('loss terms equal a float64 recomputation from lib/audio (compressed magnitude, complex, SI-SDR)', () => {
    const n = 500, lens = [n, 301];
    const clean = [tone(n, 200), tone(n, 270)];
    const noise = [rand(n, 0.2), rand(n, 0.2)];
    const noisy = clean.map((c, b) => Float32Array.from(c, (v, i) => v + noise[b][i]));
    noisy[1].fill(0, lens[1]);
    clean[1].fill(0, lens[1]);
    const m = new models.MaskEnhancer({ encoder: tiny('mamba'), ...small, loss: { mag: 0.7, complex: 0.2, sisdr: 0.05 }, seed: 5, device });
    const batch = { ids: ['a', 'b'], noisy: tensor(Float32Array.from([...noisy[0], ...noisy[1]]), [2, n], { device }), clean: tensor(Float32Array.from([...clean[0], ...clean[1]]), [2, n], { device }), lengths: Int32Array.from(lens) };
    const { metrics, count } = m.loss(batch);
    const out = m.forward(batch.noisy, batch.lengths);
    const mask = out.mask.dataSync(), enh = out.enhanced.dataSync() as Float32Array;
    const T = out.mask.shape[1], F = 33;
    let sMag = 0, sCx = 0, cells = 0, sdr = 0;
    lens.forEach((L, b) => {
      const X = audio.stft(Float64Array.from(noisy[b].subarray(0, L)), { nFft: 64, hopLength: 16 });
      const S = audio.stft(Float64Array.from(clean[b].subarray(0, L)), { nFft: 64, hopLength: 16 });
      for (let t = 0; t < X.frames; t++) for (let k = 0; k < F; k++) {
        const i = t * F + k;
        const xm = Math.sqrt(X.re[i] ** 2 + X.im[i] ** 2 + 1e-9), sm = Math.sqrt(S.re[i] ** 2 + S.im[i] ** 2 + 1e-9);
        const em = mask[(b * T + t) * F + k] * xm ** 0.3, cm = sm ** 0.3;
        sMag += (em - cm) ** 2;
        sCx += (em * X.re[i] / xm - cm * S.re[i] / sm) ** 2 + (em * X.im[i] / xm - cm * S.im[i] / sm) ** 2;
        cells++;
      }
      sdr += audio.siSdr(enh.subarray(b * n, b * n + L), clean[b].subarray(0, L)) / 2;
    });
    expect(count).toBe(2);
    expect(metrics.mag).toBeCloseTo(sMag / cells, 4);
    expect(metrics.complex).toBeCloseTo(sCx / (2 * cells), 4);
    expect(metrics.sisdr).toBeCloseTo(sdr, 2);
    expect(metrics.loss).toBeCloseTo(0.7 * metrics.mag + 0.2 * metrics.complex - 0.05 * metrics.sisdr, 4);
  });

  test('loss gradients by finite differences (slope, out_proj, in_proj entries); loss functions by gradCheck', () => {
    const o = { nFft: 16, hop: 4 };
    // float32 (no bf16 autocast on CUDA): finite differences need the loss to ~1e-7
    const m = new models.MaskEnhancer({ encoder: tiny('transformer'), ...o, loss: { mag: 1, complex: 1, sisdr: 0.05 }, seed: 7, device, autocast: false });
    const n = 48, lens = Int32Array.of(48, 37);
    const c = Float32Array.from([...tone(n, 900), ...tone(n, 1300)]);
    const x = Float32Array.from(c, (v, i) => v + 0.2 * Math.sin(i * 1.7));
    const batch = { ids: ['a', 'b'], noisy: tensor(x, [2, n], { device }), clean: tensor(c, [2, n], { device }), lengths: lens };
    tidy(() => m.loss(batch).loss.backward());
    const sd = m.stateDict();
    for (const [name, picks] of [['lsigmoid.slope', [0, 4, 8]], ['out_proj.bias', [1, 5]], ['out_proj.weight', [3, 77]], ['in_proj.weight', [10, 100]]] as const) {
      const p = sd[name];
      const g = p.grad!.dataSync();
      const v0 = p.dataSync().slice();
      for (const i of picks) {
        const at = (d: number): number => {
          const v = v0.slice();
          v[i] += d;
          m.loadStateDict({ [name]: tensor(v, p.shape) }, { strict: false });
          return m.loss(batch).metrics.loss;
        };
        // Central differences at two step sizes: the larger can straddle a ReLU kink of the
        // encoder, the smaller is noisier in float32; a correct gradient agrees with at least one.
        const nums = [1e-2, 3e-3].map((h) => {
          const eps = h * Math.max(1, Math.abs(v0[i]));
          return (at(eps) - at(-eps)) / (2 * eps);
        });
        m.loadStateDict({ [name]: tensor(v0, p.shape) }, { strict: false });
        const close = nums.some((num) => Math.abs(g[i] - num) <= 2e-3 + 3e-2 * Math.abs(num));
        expect({ name, i, close: close ? true : { grad: g[i], fd: nums } }).toEqual({ name, i, close: true });
      }
    }
    m.zeroGrad();
    const frames = Int32Array.of(5, 3);
    const est = tensor(rand(2 * 5 * 3), [2, 5, 3], { device, requiresGrad: true });
    const ref = tensor(rand(2 * 5 * 3), [2, 5, 3], { device });
    expect(gradCheck((e: Tensor) => models.maskedFrameMse(e, ref, frames), [est]).worst).toBeLessThanOrEqual(1);
    const w = tensor(rand(2 * 20), [2, 20], { device, requiresGrad: true });
    const r = tensor(rand(2 * 20), [2, 20], { device });
    expect(gradCheck((e: Tensor) => models.siSdrPerItem(e, r, Int32Array.of(20, 13)), [w], { eps: 3e-3 }).worst).toBeLessThanOrEqual(1);
  });

  test('hidden states: layers + 1 tensors (B, T, C), frame lengths, inputs |X|^0.3 (B, T, F)', () => {
    const m = new models.MaskEnhancer({ encoder: { ...tiny('conbimamba'), layers: 2 }, ...small, seed: 3, device });
    const x = tensor(Float32Array.from([...tone(300, 200), ...tone(300, 440)]), [2, 300], { device });
    const h = m.hiddenStates({ noisy: x, lengths: [300, 200] });
    expect(h.states.length).toBe(3);
    h.states.forEach((s) => expect(s.shape).toEqual([2, 19, 16]));
    expect(Array.from(h.lengths)).toEqual([19, 13]);
    expect(h.subsampling).toBe(1);
    expect(h.inputs!.shape).toEqual([2, 19, 33]);
    const X = audio.stft(Float64Array.from(tone(300, 200)), { nFft: 64, hopLength: 16 });
    const want = Float64Array.from(X.re, (re, i) => Math.pow(Math.sqrt(re * re + X.im[i] ** 2 + 1e-9), 0.3));
    expect(closeness(h.inputs!.dataSync().subarray(0, 19 * 33), want, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    expect(m.training).toBe(true);
  });

  test('evaluate: per-utterance metrics of the valid samples, averaged; enhance() = forward', async () => {
    const n = 16000;
    const pairs = models.synthEnhancementPairs({ count: 2, seed: 9, split: 'test', types: ['white'], minSeconds: 1.2, maxSeconds: 1.4 });
    pairs[1] = { ...pairs[1], clean: pairs[1].clean.slice(0, 12000), noisy: pairs[1].noisy.slice(0, 12000) };
    const batch = models.collateEnhancement(pairs.map((p) => ({ ...p, clean: p.clean.slice(0, n), noisy: p.noisy.slice(0, n) })), { device });
    const m = new models.MaskEnhancer({ encoder: tiny('bimamba'), seed: 4, device });
    const r = await m.evaluate([batch]);
    const out = m.eval().forward(batch.noisy, batch.lengths).enhanced.dataSync();
    m.train();
    const want = [0, 1].map((b) => {
      const L = batch.lengths[b], N = batch.noisy.shape[1];
      return models.utteranceMetrics(batch.clean.dataSync().slice(b * N, b * N + L) as Float32Array, out.slice(b * N, b * N + L) as Float32Array, batch.noisy.dataSync().slice(b * N, b * N + L) as Float32Array, 16000);
    });
    for (const k of ['sisdr', 'sisdrNoisy', 'sisdri', 'segsnr', 'lsd', 'stoi', 'stoiNoisy'] as const) {
      const ok = want.map((w) => w[k]).filter((v) => Number.isFinite(v)); // STOI is NaN under ~0.4 s of speech
      expect(r[k]).toBeCloseTo(ok.reduce((a, b) => a + b) / ok.length, 6);
      if (ok.length < 2) expect(r[`${k}Count`]).toBe(ok.length);
    }
    expect(r.utterances).toBe(2);
    expect(r.stoi).toBeGreaterThan(0.3);
    expect(Object.keys(r)).toEqual(expect.arrayContaining(['loss', 'mag', 'complex']));
    const single = m.enhance(pairs[1].noisy);
    expect(closeness(single, out.subarray(batch.noisy.shape[1], batch.noisy.shape[1] + 12000), 1e-3, 1e-5)).toBeLessThanOrEqual(1);
    await expect(m.evaluate([])).rejects.toThrow('[MaskEnhancer] evaluate got no batches');
  });

  test('save/load round trip; another encoder, STFT or task is refused and nothing changes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enh-'));
    try {
      const a = new models.MaskEnhancer({ encoder: tiny('conformer'), ...small, seed: 1, device });
      const file = path.join(dir, 'a.safetensors');
      a.save(file);
      const same = models.MaskEnhancer.fromConfig(a.toConfig(), { device });
      expect(same.stateDict()['out_proj.weight'].dataSync()).toEqual(a.stateDict()['out_proj.weight'].dataSync()); // same seed, same init
      const b = models.MaskEnhancer.fromConfig({ ...a.toConfig(), seed: 99 }, { device });
      expect(b.numParameters()).toBe(a.numParameters());
      expect(b.numParameters()).toBe(b.parameters().reduce((s, p) => s + p.size, 0));
      const x = tensor(tone(256, 300), [1, 256], { device });
      const before = b.eval().forward(x).enhanced.dataSync();
      b.load(file);
      const ya = a.eval().forward(x).enhanced.dataSync(), yb = b.forward(x).enhanced.dataSync();
      expect(Array.from(yb)).toEqual(Array.from(ya));
      expect(Array.from(before)).not.toEqual(Array.from(ya));
      expect(Object.keys(a.stateDict()).some((k) => k.startsWith('stft.'))).toBe(false); // DFT kernels are not saved
      expect(models.create(a.toConfig(), { device })).toBeInstanceOf(models.MaskEnhancer); // the registry knows the task
      const l = models.loadModel(file, { device }) as models.MaskEnhancer;
      expect(Array.from(l.eval().forward(x).enhanced.dataSync())).toEqual(Array.from(ya));
      const otherEnc = new models.MaskEnhancer({ encoder: tiny('transformer'), ...small, seed: 1, device });
      expect(() => otherEnc.load(file)).toThrow(/^\[MaskEnhancer\] .*conformer.*transformer/);
      const otherHop = new models.MaskEnhancer({ encoder: tiny('conformer'), nFft: 64, hop: 8, seed: 2, device });
      const y0 = otherHop.eval().forward(x).enhanced.dataSync();
      expect(() => otherHop.load(file)).toThrow(/^\[MaskEnhancer\] .*a\.safetensors was saved from a different architecture: hop 16 \(this model: 8\)$/);
      expect(Array.from(otherHop.forward(x).enhanced.dataSync())).toEqual(Array.from(y0)); // nothing half-loaded
      const fake = path.join(dir, 'ctc.safetensors');
      a.save(fake, {});
      const raw = fs.readFileSync(fake);
      const hl = Number(raw.readBigUInt64LE(0));
      const head = JSON.parse(raw.subarray(8, 8 + hl).toString());
      head.__metadata__['mamba_speech.task'] = 'ctc';
      head.__metadata__['mamba_speech.model'] = 'CtcAsr';
      let h = JSON.stringify(head);
      h = h.padEnd(hl, ' ');
      expect(h.length).toBe(hl);
      fs.writeFileSync(fake, Buffer.concat([raw.subarray(0, 8), Buffer.from(h), raw.subarray(8 + hl)]));
      expect(() => b.load(fake)).toThrow(/^\[MaskEnhancer\] .*ctc\.safetensors holds a CtcAsr \('ctc'\) checkpoint, not a MaskEnhancer/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bad input: clear errors naming MaskEnhancer', () => {
    const m = new models.MaskEnhancer({ encoder: tiny('mamba'), ...small, seed: 1, device });
    const x = tensor(new Float32Array(2 * 100), [2, 100], { device });
    expect(() => m.forward(tensor(new Float32Array(200), [2, 100, 1], { device }))).toThrow('[MaskEnhancer] noisy must be waveforms (B, n), got (2, 100, 1)');
    expect(() => m.forward(x, [100, 40])).toThrow('[MaskEnhancer] item 1 has 40 samples, shorter than one STFT frame (nFft = 64 samples)');
    expect(() => m.forward(tensor(new Float32Array(50), [1, 50], { device }))).toThrow('[MaskEnhancer] item 0 has 50 samples, shorter than one STFT frame');
    expect(() => m.forward(x, [100, 101])).toThrow('[MaskEnhancer] lengths[1] = 101 is outside [0, 100]');
    expect(() => m.forward(tensor(new Float32Array(0), [0, 100], { device }))).toThrow('[MaskEnhancer] empty batch: noisy is (0, 100)');
    expect(() => m.forward(tensor(new Int32Array(200), [2, 100], { device }))).toThrow('[MaskEnhancer] noisy must be float32 samples, got int32');
    const clean = tensor(new Float32Array(2 * 99), [2, 99], { device });
    expect(() => m.loss({ ids: [], noisy: x, clean, lengths: Int32Array.of(99, 99) })).toThrow('[MaskEnhancer] clean (2, 99) and noisy (2, 100) must have the same shape');
    expect(() => new models.MaskEnhancer({ encoder: tiny('mamba'), hops: 3 } as unknown as models.MaskEnhancerOptions)).toThrow("[MaskEnhancer] unknown option 'hops'");
    expect(() => new models.MaskEnhancer({ encoder: tiny('mamba'), loss: { mag: 0, complex: 0, sisdr: 0 } })).toThrow('[MaskEnhancer] every loss weight is 0');
    expect(() => new models.MaskEnhancer({ encoder: tiny('mamba'), loss: { l1: 1 } as unknown as models.EnhancerLossWeights })).toThrow("[MaskEnhancer] unknown loss term 'l1'");
    expect(() => new models.MaskEnhancer({ encoder: tiny('mamba'), nFft: 64, hop: 40 })).toThrow('[MaskEnhancer] hop (40) must be at most nFft / 2 (32)');
    expect(() => new models.MaskEnhancer({ encoder: { ...tiny('mamba'), layers: 0 } })).toThrow('[MaskEnhancer.encoder] layers must be a positive integer, got 0');
    expect(() => models.MaskEnhancer.fromConfig({ task: 'ctc' })).toThrow("[MaskEnhancer] config is for task 'ctc', not 'enhancement'");
  });
});

describeCuda('MaskEnhancer on cuda', () => {
  test('forward equals the CPU model (fp32); a bf16-autocast training step gives finite gradients', () => {
    const x = Float32Array.from([...tone(3200, 210), ...tone(3200, 350)]);
    const run = (device: 'cpu' | 'cuda') => {
      const m = new models.MaskEnhancer({ encoder: tiny('conbimamba'), autocast: false, seed: 4, device }).eval();
      return m.forward(tensor(x, [2, 3200], { device }), [3200, 2500]).enhanced.dataSync();
    };
    expect(closeness(run('cuda'), run('cpu'), 1e-3, 1e-5)).toBeLessThanOrEqual(1);
    const m = new models.MaskEnhancer({ encoder: tiny('transbimamba'), seed: 4, device: 'cuda' });
    const batch = { ids: ['a', 'b'], noisy: tensor(x, [2, 3200], { device: 'cuda' }), clean: tensor(Float32Array.from([...tone(3200, 210), ...tone(3200, 350)]), [2, 3200], { device: 'cuda' }), lengths: Int32Array.of(3200, 2500) };
    const { loss, metrics } = m.loss(batch);
    loss.backward();
    expect(Number.isFinite(metrics.loss)).toBe(true);
    for (const [name, p] of m.namedParameters()) {
      const g = p.grad!.dataSync();
      expect({ name, finite: g.every((v) => Number.isFinite(v)) }).toEqual({ name, finite: true });
    }
  });
});
