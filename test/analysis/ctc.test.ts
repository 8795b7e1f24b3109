/**
 * ctc.test.ts — the analysis on a real task model: a tiny ConBiMamba CTC recogniser (the paper's
 * encoder, 2 layers of width 32, conv2d2 front end) on 40 synth utterances with the corpus' exact
 * phone alignments.
 *
 *   always     phones resampled to the layer frame rate from the alignments, 40 utterances
 *              sampled, the last layer's probe (held-out utterances) well above chance; y = 'ctc'
 *              (Viterbi forced alignment of the model's own log-probabilities, 'fill') labels
 *              every frame with one of the model's tokens
 *   opt-in     MAMBA_SPEECH_ANALYSIS_CTC=1: trained on 16 of the utterances until the CTC loss is
 *              below 0.3 (~200-350 steps, ~2-3 min on the shared 2-core CPU); the last layer's
 *              probe accuracy stays well above chance, and the per-layer bounds are printed for
 *              phones and for the model's own CTC alignment labels.
 * What the issue expected — I(T_l; phones) rising toward the last layers — was NOT reproduced
 * robustly at this size. Probe bounds (nats, held-out utterances) over hs0 / layer 1 / layer 2
 * (/ layer 3) in four runs of this kind on this CPU (data and model sizes varied a little): 1.57 / 1.88 / 1.70 (2 layers, loss 0.46);
 * 1.50 / 1.64 / 1.67 / 1.27 (3 layers, 16 utterances, loss 0.16); 1.55 / 1.52 / 1.15 (this
 * test, loss 0.28); 1.46 / 1.44 / 1.21 (loss 1.2, untrained 1.66 / 1.70). The middle layers
 * sometimes rise above the input; the last layer of a CTC model drops back (its frames serve
 * CTC's blank-dominated, peaky outputs), so no ordering is asserted. The model's own CTC
 * alignment labels ('fill') read -0.05 / -0.09 / 0.10 nats (accuracy 0.21 / 0.25 / 0.29, chance
 * 0.20) in this test: they rise to the last layer, but weakly.
 */
import { analysis, audio, data, models, optim } from '../../lib';
import type { AsrBatch } from '../../lib/models/collate';

const N_MELS = 40;

function setup(): { model: models.CtcAsr; batches: AsrBatch[]; alignments: Map<string, data.Alignment> } {
  const lex = data.makeLexicon(7, 40);
  const utts = Array.from({ length: 40 }, (_, i) => {
    const u = data.synthesizeUtterance(data.deriveSeed(7, 'utt', i), data.makeSpeaker(7, i % 4), lex, { minSeconds: 1.0, maxSeconds: 1.4 });
    return { id: `u${i}`, features: audio.fbankArray(u.samples, { nMels: N_MELS }), phones: u.phones, alignment: u.alignment };
  });
  const tokenizer = data.Tokenizer.fromManifest(utts.map((u) => ({ id: u.id, audio: '', duration: 1, phones: u.phones })), 'phone');
  const model = new models.CtcAsr({
    inputDim: N_MELS, tokenizer, frontend: 'conv2d2', seed: 1, device: 'cpu',
    encoder: { type: 'conbimamba', layers: 2, dModel: 32, ffnDim: 64, dState: 8, depthwiseKernel: 7, dropout: 0 },
  }).setNormalization(models.featureStats(utts.map((u) => u.features)));
  const batches = Array.from({ length: 5 }, (_, k) => models.collateAsr(utts.slice(k * 8, k * 8 + 8), tokenizer));
  return { model, batches, alignments: new Map(utts.map((u) => [u.id, u.alignment])) };
}

const probeOnly = { calibrate: false, ityCritic: false, estimator: { steps: 40, batchSize: 64 }, probe: { steps: 600 } } as const;
const show = (r: analysis.LayerwiseMiResult): string => r.layers.map((l) => `${l.index}: ${l.ity!.probe!.nats.toFixed(3)} (acc ${l.ity!.probe!.accuracy.toFixed(3)}, chance ${l.ity!.probe!.chance.toFixed(3)})`).join(', ');

test('CtcAsr: phone labels at the layer rate, probe well above chance; CTC forced-alignment labels on every frame', async () => {
  const { model, batches, alignments } = setup();
  const r = await analysis.layerwiseMi(model, batches, { ...probeOnly, seeds: 2, y: 'phones', alignments, layers: [0, 2] });
  const c = await analysis.layerwiseMi(model, batches, { ...probeOnly, seeds: 1, y: 'ctc', layers: [2] });
  for (const b of batches) b.dispose();
  process.stdout.write(`[analysis] untrained CtcAsr: I(T; phones) ${show(r)}; CTC labels ${show(c)}\n`);
  expect(r.frames.utterances).toBe(40);
  expect(r.frames.subsampling).toBe(2);
  expect(r.y!.names!.length).toBe(r.y!.classes);
  expect(r.y!.names).toContain('sil');
  expect(r.y!.labelled).toBe(r.frames.n);
  const last = r.layers[1].ity!.probe!;
  expect(last.accuracy).toBeGreaterThan(last.chance + 0.2);
  expect(last.nats).toBeGreaterThan(0.5);
  expect(last.nats).toBeLessThan(last.entropy);
  expect(c.y!.kind).toBe('CTC forced alignment (fill)');
  expect(c.y!.labelled).toBe(c.frames.n);
  expect(c.y!.classes).toBeLessThanOrEqual(model.vocabSize);
}, 300000);

const opt = process.env.MAMBA_SPEECH_ANALYSIS_CTC === '1' ? test : test.skip;
opt('trained CtcAsr: the last layer reads phones and its own CTC alignment well above chance (per-layer bounds printed)', async () => {
  const { model, batches, alignments } = setup();
  const o = new optim.AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0 });
  model.train();
  let loss = Infinity;
  let step = 0;
  while (loss > 0.3 && step < 800) {
    const r = model.loss(batches[step++ % 2]);                          // the first 16 utterances
    r.loss.backward();
    loss = r.loss.item();
    r.loss.dispose();
    o.step();
    o.zeroGrad();
  }
  const r = await analysis.layerwiseMi(model, batches, { ...probeOnly, seeds: 3, y: 'phones', alignments });
  const c = await analysis.layerwiseMi(model, batches, { ...probeOnly, seeds: 3, y: 'ctc' });
  for (const b of batches) b.dispose();
  process.stdout.write(`[analysis] CTC loss ${loss.toFixed(3)} after ${step} steps; I(T; phones) ${show(r)}; I(T; CTC labels) ${show(c)}\n`);
  expect(loss).toBeLessThan(0.3);
  const p = r.layers.map((l) => l.ity!.probe!);
  expect(p[2].accuracy).toBeGreaterThan(p[2].chance + 0.2);
  const q = c.layers[2].ity!.probe!;
  expect(q.accuracy).toBeGreaterThan(q.chance + 0.05);                  // measured 0.292 vs 0.204
  expect(q.nats).toBeGreaterThan(0);
}, 3600000);
