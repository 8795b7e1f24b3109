// torchaudio interop of models.Hubert: the fixture written by scripts/fixtures/hubert_parity.py on
// the GPU machine (torchaudio HuBERTPretrainModel, random init, eval mode) loads by name and gives
// the same features, encoder output and masked/unmasked logits under the same mask, on every
// device. Without the fixture that test is skipped with the reason printed. The name mapping
// itself (q/k/v split and merge, weight-norm names, prefixes, unknown names, strictness) is
// tested without torch by round-tripping a model's own weights through torchaudio names.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { io, ops, randn, Tensor } from '../../lib';
import { fromTorchaudioHubert, Hubert, HubertCtc, loadTorchaudioHubert } from '../../lib/models/hubert';
import { testDevices } from '../helpers/devices';

const dir = path.resolve(__dirname, '../fixtures/hubert');
const fixtures = ['hubert_parity.safetensors', 'hubert_parity_base.safetensors'].map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f));
if (fixtures.length === 0) {
  process.stderr.write(`[hubert parity] skipped: no fixture in ${dir}; run scripts/fixtures/hubert_parity.py (torch + torchaudio) on the GPU machine\n`);
}

/** max |a - b| / max |b| over the values. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; ++i) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-12);
}

interface FixtureConfig { channels: number; d: number; layers: number; heads: number; ffn: number; kernel: number; groups: number; classes: number; final_dim: number }

function modelFor(cfg: FixtureConfig, device: 'cpu' | 'cuda'): Hubert {
  return new Hubert({
    encoder: { type: 'transformer', layers: cfg.layers, dModel: cfg.d, heads: cfg.heads, ffnDim: cfg.ffn, dropout: 0 },
    frontend: 'cnn', extractorChannels: cfg.channels, posConvKernel: cfg.kernel, posConvGroups: cfg.groups,
    numClasses: cfg.classes, finalDim: cfg.final_dim, labelRate: 50, dropoutInput: 0, device,
  });
}

(fixtures.length ? describe.each(testDevices) : describe.skip.each(testDevices))('torchaudio HuBERT parity on %s', (device) => {
  test.each(fixtures.map((f) => [path.basename(f), f]))('%s: weights load by name; features, encoder output and logits match', (_name, file) => {
    const { tensors, metadata } = io.loadSafetensors(file, { device });
    const cfg = JSON.parse(metadata.config) as FixtureConfig;
    const m = modelFor(cfg, device).eval();
    const weights: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(tensors)) if (k.startsWith('weight.')) weights[k.slice(7)] = v;
    m.loadStateDict(fromTorchaudioHubert(weights)); // strict
    const wave = tensors['input.waveform'];
    const [B] = wave.shape;
    const labels2d = tensors['input.labels'].dataSync() as Int32Array;
    const maskFlat = tensors['input.mask'].dataSync() as Int32Array;
    const T = tensors['input.labels'].shape[1];
    const labels = Array.from({ length: B }, (_, b) => labels2d.slice(b * T, (b + 1) * T));
    const mask = { mask: Uint8Array.from(maskFlat), counts: Int32Array.from({ length: B }, (_, b) => maskFlat.slice(b * T, (b + 1) * T).reduce((s, v) => s + v, 0)), shape: [B, T] as [number, number] };
    const f = m.forward({ features: wave, labels }, { mask });
    expect(f.logits.shape).toEqual([B, T, cfg.classes]);
    expect(relErr(f.features.dataSync(), tensors['output.features'].dataSync())).toBeLessThan(1e-4);
    expect(relErr(f.out.dataSync(), tensors['output.encoder'].dataSync())).toBeLessThan(1e-4);
    const logits = f.logits.dataSync(), K = cfg.classes;
    const pick = (want: number): number[] => {
      const rows: number[] = [];
      for (let i = 0; i < B * T; ++i) if (maskFlat[i] === want) rows.push(...Array.from(logits.subarray(i * K, (i + 1) * K)));
      return rows;
    };
    // cosine / 0.1 ranges over ±10: compare absolutely at 1e-3
    const lm = tensors['output.logits_m'].dataSync(), lu = tensors['output.logits_u'].dataSync();
    expect(pick(1).length).toBe(lm.length);
    expect(relErr(pick(1), lm) * 10).toBeLessThan(1e-3);
    expect(relErr(pick(0), lu) * 10).toBeLessThan(1e-3);
    const pen = ops.mean(ops.square(f.features)).item();
    expect(Math.abs(pen - tensors['output.features_pen'].item()) / tensors['output.features_pen'].item()).toBeLessThan(1e-4);
  });
});

/** Our state dict under torchaudio's names (the inverse of the documented mapping). */
function toTorchaudio(m: Hubert, paramWeightNorm: boolean): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(m.stateDict())) {
    let l: RegExpExecArray | null;
    if ((l = /^encoder\.layers\.(\d+)\.self_attn\.in_proj_(weight|bias)$/.exec(k))) {
      const [q, kk, v] = ops.split(t, t.shape[0] / 3, 0);
      const p = `wav2vec2.encoder.transformer.layers.${l[1]}.attention`;
      out[`${p}.q_proj.${l[2]}`] = q; out[`${p}.k_proj.${l[2]}`] = kk; out[`${p}.v_proj.${l[2]}`] = v;
      continue;
    }
    const name = k
      .replace(/^feature_extractor\./, 'wav2vec2.feature_extractor.')
      .replace(/^feature_projection\./, 'wav2vec2.encoder.feature_projection.')
      .replace(/^pos_conv_embed\.conv\.weight_g$/, paramWeightNorm ? 'wav2vec2.encoder.transformer.pos_conv_embed.conv.parametrizations.weight.original0' : 'wav2vec2.encoder.transformer.pos_conv_embed.conv.weight_g')
      .replace(/^pos_conv_embed\.conv\.weight_v$/, paramWeightNorm ? 'wav2vec2.encoder.transformer.pos_conv_embed.conv.parametrizations.weight.original1' : 'wav2vec2.encoder.transformer.pos_conv_embed.conv.weight_v')
      .replace(/^pos_conv_embed\./, 'wav2vec2.encoder.transformer.pos_conv_embed.')
      .replace(/^layer_norm\./, 'wav2vec2.encoder.transformer.layer_norm.')
      .replace(/^encoder\.layers\.(\d+)\.self_attn\.out_proj\./, 'wav2vec2.encoder.transformer.layers.$1.attention.out_proj.')
      .replace(/^encoder\.layers\.(\d+)\.norm1\./, 'wav2vec2.encoder.transformer.layers.$1.layer_norm.')
      .replace(/^encoder\.layers\.(\d+)\.linear1\./, 'wav2vec2.encoder.transformer.layers.$1.feed_forward.intermediate_dense.')
      .replace(/^encoder\.layers\.(\d+)\.linear2\./, 'wav2vec2.encoder.transformer.layers.$1.feed_forward.output_dense.')
      .replace(/^encoder\.layers\.(\d+)\.norm2\./, 'wav2vec2.encoder.transformer.layers.$1.final_layer_norm.')
      .replace(/^mask_embedding$/, 'mask_generator.mask_embedding')
      .replace(/^(final_proj\..*|label_embeddings)$/, 'logit_generator.$1');
    out[name] = t;
  }
  return out;
}

describe('torchaudio name mapping (no torch needed)', () => {
  const make = (seed: number) => new Hubert({
    encoder: { type: 'transformer', layers: 2, dModel: 16, heads: 2, ffnDim: 24, dropout: 0 }, frontend: 'cnn', extractorChannels: 8,
    posConvKernel: 8, posConvGroups: 4, numClasses: 7, finalDim: 5, labelRate: 50, seed, device: 'cpu',
  }).eval();

  test.each([false, true])('a model\'s weights under torchaudio names (parametrized weight norm: %s) load into another and give the same logits', (param) => {
    const a = make(1), b = make(2);
    const ta = toTorchaudio(a, param);
    expect(Object.keys(ta).some((k) => k.includes('q_proj'))).toBe(true);
    b.loadStateDict(fromTorchaudioHubert(ta));
    const wave = randn([2, 4000], { seed: 3 });
    const labels = [new Int32Array(12).fill(1), new Int32Array(12).fill(2)];
    const mask = { mask: Uint8Array.from({ length: 24 }, (_, i) => (i % 5 < 2 ? 1 : 0)), counts: Int32Array.of(5, 5), shape: [2, 12] as [number, number] };
    const fa = a.forward({ features: wave, labels }, { mask }), fb = b.forward({ features: wave, labels }, { mask });
    expect(Array.from(fb.logits.dataSync())).toEqual(Array.from(fa.logits.dataSync()));
  });

  test('loadTorchaudioHubert: a file into Hubert (strict) and into HubertCtc (pre-training heads dropped); bad files leave the model untouched', () => {
    const a = make(1);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hubert-ta-'));
    const file = path.join(tmp, 'ta.safetensors');
    io.saveSafetensors(file, toTorchaudio(a, true));
    const b = make(5);
    loadTorchaudioHubert(b, file);
    expect(Array.from(b.label_embeddings.dataSync())).toEqual(Array.from(a.label_embeddings.dataSync()));
    const ctc = new HubertCtc({ encoder: a.config.encoder, frontend: 'cnn', extractorChannels: 8, posConvKernel: 8, posConvGroups: 4, vocabSize: 6, device: 'cpu' });
    const r = loadTorchaudioHubert(ctc, file);
    expect(r.missing.sort()).toEqual(['ctc_proj.bias', 'ctc_proj.weight', 'num_updates']);
    expect(Array.from(ctc.mask_embedding.dataSync())).toEqual(Array.from(a.mask_embedding.dataSync()));
    // an unknown name, a missing q: errors; the model keeps its weights
    const sd = toTorchaudio(a, false);
    expect(() => fromTorchaudioHubert({ ...sd, 'wav2vec2.encoder.extra.weight': sd['mask_generator.mask_embedding'] })).toThrow(/\[fromTorchaudioHubert\] names that are not torchaudio HuBERT parameters: wav2vec2\.encoder\.extra\.weight/);
    const noQ = { ...sd };
    delete noQ['wav2vec2.encoder.transformer.layers.1.attention.q_proj.weight'];
    expect(() => fromTorchaudioHubert(noQ)).toThrow(/layers\.1\.self_attn\.in_proj_weight: q, k and v projections must all be present/);
    const partial = { ...sd };
    delete partial['logit_generator.label_embeddings'];
    io.saveSafetensors(file, partial);
    const c = make(9), before = Array.from(c.final_proj.weight.dataSync());
    expect(() => loadTorchaudioHubert(c, file)).toThrow(/does not fit this model: missing label_embeddings/);
    expect(Array.from(c.final_proj.weight.dataSync())).toEqual(before);
    fs.rmSync(tmp, { recursive: true });
  });
});
