/** The model registry: create(toConfig()) rebuilds the same architecture (names, shapes, config),
 *  loadModel rebuilds a saved model from its metadata with identical outputs, unknown tasks and
 *  config typos are errors, registerTask adds a task. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { data, io, models, randn, tidy, zeros } from '../../lib';
import type { TaskModel } from '../../lib/models/task';
import { tinySpec } from './helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const tok = new data.Tokenizer('char', [...'abc ']);
const builds: [string, () => models.CtcAsr | models.MaskedReconstruction][] = [
  ['ctc', () => new models.CtcAsr({ inputDim: 16, tokenizer: tok, encoder: tinySpec('conformer'), frontend: 'conv2d2', specAugment: { freqMasks: 1, freqMaskWidth: 4 }, seed: 7, device: 'cpu' })],
  ['reconstruction', () => new models.MaskedReconstruction({ inputDim: 16, encoder: tinySpec('bimamba', { bimamba: 'inner' }), maskProb: 0.2, maskSpan: 3, freqMask: { masks: 1, width: 3 }, loss: 'mse', seed: 7, device: 'cpu' })],
];

test('the library registers its tasks', () => {
  expect(models.tasks()).toEqual(expect.arrayContaining(['ctc', 'reconstruction']));
});

test.each(builds)('%s: create(toConfig()) = the same architecture and, with the same seed, the same weights', (task, build) => {
  const a = build();
  const cfg = JSON.parse(JSON.stringify(a.toConfig())); // what a YAML/JSON file round trip gives
  expect(cfg.task).toBe(task);
  const b = models.create(cfg, { device: 'cpu' }) as typeof a;
  expect(b.constructor).toBe(a.constructor);
  expect(b.toConfig()).toEqual(a.toConfig());
  const sa = a.stateDict(), sb = b.stateDict();
  expect(Object.keys(sb)).toEqual(Object.keys(sa));
  for (const k of Object.keys(sa)) expect({ k, shape: sb[k].shape }).toEqual({ k, shape: sa[k].shape });
  for (const k of Object.keys(sa)) expect(Array.from(sb[k].dataSync())).toEqual(Array.from(sa[k].dataSync()));
  expect(b.numParameters()).toBe(a.numParameters());
});

test.each(builds)('%s: loadModel rebuilds the saved model from its metadata (config, tokenizer, weights, statistics)', (task, build) => {
  const a = build().eval();
  // Weights that a fresh build from the config (seed 7) would not have: those of seed 8.
  a.loadStateDict(models.create({ ...a.toConfig(), seed: 8 }, { device: 'cpu' }).stateDict());
  a.setNormalization({ mean: Array.from({ length: 16 }, (_, i) => i / 3), std: Array.from({ length: 16 }, (_, i) => 1 + i / 10), count: 99 });
  const file = path.join(tmp, `${task}.safetensors`);
  a.save(file);
  const b = models.loadModel(file, { device: 'cpu' }) as typeof a;
  b.eval();
  expect(b.task).toBe(task);
  expect(b.toConfig()).toEqual(a.toConfig());
  if (b instanceof models.CtcAsr) expect(b.tokenizer!.toJSON()).toEqual(tok.toJSON());
  expect(Array.from(b.normalize.count.dataSync())).toEqual([99]);
  tidy(() => {
    const x = randn([2, 23, 16], { seed: 3 });
    const lens = Int32Array.of(23, 12);
    const ya = a instanceof models.CtcAsr ? a.forward(x, lens).logits : (a as models.MaskedReconstruction).forward(x, lens).prediction;
    const yb = b instanceof models.CtcAsr ? b.forward(x, lens).logits : (b as models.MaskedReconstruction).forward(x, lens).prediction;
    expect(Array.from(yb.dataSync())).toEqual(Array.from(ya.dataSync()));
    const fresh = models.create(a.toConfig(), { device: 'cpu' }) as typeof a;
    fresh.eval();
    const yf = fresh instanceof models.CtcAsr ? fresh.forward(x, lens).logits : (fresh as models.MaskedReconstruction).forward(x, lens).prediction;
    expect(Array.from(yf.dataSync())).not.toEqual(Array.from(ya.dataSync()));
  });
});

test('create / loadModel / registerTask errors', () => {
  expect(() => models.create({ inputDim: 3 })).toThrow("[models.create] config has no 'task' (one of ctc, reconstruction");
  expect(() => models.create({ task: 'asr' })).toThrow("[models.create] unknown task 'asr' (registered: ctc, reconstruction");
  expect(() => models.create(null as unknown as Record<string, unknown>)).toThrow("[models.create] expected a config object with a 'task' field, got null");
  expect(() => models.create({ task: 'ctc', inputDim: 16, vocabSize: 5, encoder: tinySpec('mamba'), frontEnd: 'linear' })).toThrow("[CtcAsr] unknown option 'frontEnd'");
  expect(() => models.CtcAsr.fromConfig({ task: 'reconstruction', inputDim: 3 })).toThrow("[CtcAsr] config is for task 'reconstruction', not 'ctc'");
  const bare = path.join(tmp, 'bare.safetensors');
  io.saveSafetensors(bare, { w: zeros([2]) });
  expect(() => models.loadModel(bare)).toThrow(`[models.loadModel] ${bare} has no mamba_speech.config metadata`);
  expect(() => models.registerTask('', () => null as unknown as TaskModel)).toThrow('[registerTask] task must be a non-empty string');
});

test('registerTask: a user task is built by create', () => {
  let seen: Record<string, unknown> | null = null;
  models.registerTask('test-echo', (c, o) => {
    seen = { ...c, device: o.device };
    return new models.MaskedReconstruction({ inputDim: c.inputDim as number, encoder: tinySpec('mamba', { layers: 1 }), device: 'cpu' });
  });
  const m = models.create({ task: 'test-echo', inputDim: 9 }, { device: 'cpu' });
  expect(seen).toEqual({ task: 'test-echo', inputDim: 9, device: 'cpu' });
  expect(m.task).toBe('reconstruction');
  expect(models.tasks()).toContain('test-echo');
});
