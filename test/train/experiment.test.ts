/**
 * Experiments from configs on a real task model: a synth corpus -> masked reconstruction with a
 * ConBiMamba encoder (span masks from the model's own random stream, dropout from the tensor
 * RNG, global CMVN from the training set); a run stopped after step 3 and resumed logs exactly
 * what an uninterrupted run logs; a finished run's checkpoint rebuilds the model (weights and
 * normalisation) for evaluation.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { generateCorpus } from '../../lib/data';
import '../../lib/ops';
import { validateConfig, trainRun, resumeRun, modelFromCheckpoint, evalSource, runConfig } from '../../lib/train';
import type { ExperimentConfig, StepRecord, EvalRecord } from '../../lib/train';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-exp-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function config(): ExperimentConfig {
  return validateConfig({
    seed: 3,
    data: { corpus: path.join(tmp, 'corpus'), maxFrames: 800 },
    features: { type: 'fbank', nMels: 24 },
    model: { task: 'reconstruction', encoder: { type: 'conbimamba', layers: 1, dModel: 16, ffnDim: 32, depthwiseKernel: 3, dropout: 0.1 }, maskProb: 0.2, maskSpan: 3 },
    optimizer: { type: 'adamw', lr: 3e-3 },
    schedule: { type: 'warmupLinear', warmupSteps: 2, totalSteps: 8 },
    trainer: { maxSteps: 8, evalEvery: 4, logEvery: 1, monitor: 'maskedL1', checkpoint: { every: 1 } },
  });
}

const strip = (dir: string): unknown[] => fs.readFileSync(path.join(dir, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => {
  const r = JSON.parse(l) as StepRecord | EvalRecord;
  return r.type === 'train' ? [r.step, r.epoch, r.loss, r.lr, r.gradNorm, r.metrics] : [r.step, r.metrics];
});

test('reconstruction from a config: stop at step 3 + resume == an unbroken run; the checkpoint evaluates', async () => {
  await generateCorpus({ outDir: path.join(tmp, 'corpus'), numUtterances: 10, numSpeakers: 5, seed: 2, minSeconds: 0.6, maxSeconds: 1 });
  const a = path.join(tmp, 'a');
  const ra = await trainRun(config(), a);
  expect(ra.step).toBe(8);
  const b = path.join(tmp, 'b');
  let trainer: { requestStop(): void } | null = null;
  const rb = await trainRun(config(), b, {
    onReady: (_exp, t) => { trainer = t; },
    callbacks: { onStep: (s) => { if (s.step === 3) trainer!.requestStop(); } },
  });
  expect(rb.stopReason).toBe('requested');
  expect(runConfig(b).trainer.maxSteps).toBe(8);
  await expect(trainRun(config(), b)).rejects.toThrow(/already holds a run/);
  const rc = await resumeRun(b);
  expect(rc.step).toBe(8);
  const la = strip(a);
  expect(la.filter((r) => (r as unknown[]).length === 6)).toHaveLength(8);
  expect(strip(b)).toEqual(la);

  const model = modelFromCheckpoint(path.join(a, 'checkpoints', 'last.safetensors'), { device: 'cpu' });
  const { source, entries } = await evalSource(config(), model, 'test');
  const m = await model.evaluate(source.epoch(0));
  expect(entries.length).toBeGreaterThan(0);
  expect(Number.isFinite(m.maskedL1)).toBe(true);
  expect(m.utterances).toBe(entries.length);
});
