// End to end on synth speech (no files): iteration-1 targets (39-d MFCC k-means, K = 24) ->
// a tiny Hubert pre-trains until its masked-frame accuracy is well above chance (the share of the
// most frequent cluster, i.e. always guessing it) -> HubertCtc from it fine-tunes until the
// phone error rate on held-out utterances of other sentences is below a fixed bar — for the
// transformer, transbimamba and conbimamba encoders. Training stops as soon as the goal holds
// (checked every 25 steps), with a step cap that fails the test.
import { audio, data, manualSeed, optim } from '../../lib';
import { collateAsr } from '../../lib/models/collate';
import { collateHubert, Hubert, HubertCtc, HubertCtcBatch, mfccTargets, OwnedHubertBatch } from '../../lib/models/hubert';
import type { EncoderType } from '../../lib/models/encoder_spec';
import type { TaskModel } from '../../lib/models/task';

const N_MELS = 40, K = 24, PER_BAR = 0.6;
const seed = 11;
const lex = data.makeLexicon(seed, 40);
const utt = (i: number) => data.synthesizeUtterance(data.deriveSeed(seed, 'utt', i), data.makeSpeaker(seed, i % 3), lex, { minSeconds: 0.6, maxSeconds: 0.9 });
const train = Array.from({ length: 40 }, (_, i) => utt(i));
const heldOut = Array.from({ length: 10 }, (_, i) => utt(1000 + i));
const fbank = (u: data.SynthUtterance) => audio.fbankArray(u.samples, { nMels: N_MELS });
const targets = mfccTargets(train.map((u) => ({ samples: u.samples, sampleRate: u.sampleRate })), { k: K, seed: 0, batchSize: 1024, nInit: 3 });
const preBatches: OwnedHubertBatch[] = Array.from({ length: 5 }, (_, k) => collateHubert(train.slice(k * 8, k * 8 + 8).map((u, i) => ({ id: `u${k * 8 + i}`, input: fbank(u), labels: targets.labels[k * 8 + i] }))));
const tokenizer = data.Tokenizer.fromManifest(train.map((u, i) => ({ id: `u${i}`, audio: '', duration: 1, phones: u.phones })), 'phone');

/** Chance for masked prediction: always answering the most frequent cluster. */
const chance = (() => {
  const counts = new Map<number, number>();
  let n = 0;
  for (const l of targets.labels) for (const v of l) { counts.set(v, (counts.get(v) ?? 0) + 1); ++n; }
  return Math.max(...counts.values()) / n;
})();

const ctcBatch = (us: data.SynthUtterance[]): HubertCtcBatch => collateAsr(us.map((u) => ({ features: fbank(u), phones: u.phones })), tokenizer);
const ftBatches = Array.from({ length: 5 }, (_, k) => ctcBatch(train.slice(k * 8, k * 8 + 8)));
const testBatches = [ctcBatch(heldOut)];

/** AdamW on `batches` (cycled) until `done()` holds (checked every 25 steps) or `maxSteps`. */
async function trainUntil<B>(model: TaskModel<B>, batches: B[], maxSteps: number, done: () => Promise<boolean>): Promise<number> {
  const opt = new optim.AdamW(model.parameters(), { lr: 5e-3, weightDecay: 0 });
  model.train();
  for (let step = 1; step <= maxSteps; ++step) {
    const r = model.loss(batches[step % batches.length]);
    r.loss.backward();
    r.loss.dispose();
    opt.step();
    opt.zeroGrad();
    if (step % 25 === 0 && (await done())) return step;
    model.train();
  }
  return -1;
}

describe.each(['transformer', 'transbimamba', 'conbimamba'] as EncoderType[])('HuBERT on synth speech with a %s encoder', (type) => {
  test(`pre-training lifts masked accuracy well above chance; fine-tuning reaches PER < ${PER_BAR} on held-out sentences`, async () => {
    manualSeed(1);
    const model = new Hubert({
      encoder: { type, layers: 2, dModel: 32, heads: 4, ffnDim: 64, dState: 8, depthwiseKernel: 7, dropout: 0 },
      frontend: 'logmel', nMels: N_MELS, extractorChannels: 32, numClasses: K, labelRate: 100, finalDim: 16,
      posConvKernel: 16, posConvGroups: 4, mask: { maskProb: 0.5, maskLength: 3 }, dropoutInput: 0, featurePenalty: 0, seed: 3, device: 'cpu',
    });
    const before = await model.evaluate(preBatches);
    let acc = before.acc_m;
    const preSteps = await trainUntil(model, preBatches, 400, async () => {
      acc = (await model.evaluate(preBatches)).acc_m;
      return acc >= chance + 0.1;
    });
    if (preSteps < 0) throw new Error(`${type}: masked accuracy ${acc.toFixed(3)} after 400 steps; chance ${chance.toFixed(3)} (before: ${before.acc_m.toFixed(3)})`);
    expect(acc).toBeGreaterThan(before.acc_m + 0.1);

    const ctc = HubertCtc.fromPretrained(model, { tokenizer, freezeEncoderUpdates: 10 });
    let per = 1;
    const ftSteps = await trainUntil(ctc, ftBatches, 450, async () => {
      per = (await ctc.evaluate(testBatches)).per;
      return per < PER_BAR;
    });
    if (ftSteps < 0) throw new Error(`${type}: held-out PER ${per.toFixed(3)} after 450 fine-tuning steps (bar ${PER_BAR})`);
    expect(per).toBeLessThan(PER_BAR);
    process.stderr.write(`[hubert ${type}] chance ${chance.toFixed(3)}, masked acc ${before.acc_m.toFixed(3)} -> ${acc.toFixed(3)} in ${preSteps} steps; held-out PER ${per.toFixed(3)} after ${ftSteps} fine-tuning steps\n`);
  }, 120_000);
});

afterAll(() => {
  preBatches.forEach((b) => b.dispose());
  targets.kmeans.dispose();
});
