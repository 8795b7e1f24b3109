/**
 * Experiment configs: a table of bad configs, each refused with the path and the problem in the
 * message; --set overrides (typed values, new sections, bad paths); YAML syntax errors with line
 * and column; relative data paths resolved against the file; every example under configs/
 * validates, and one per task builds its model.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { applyOverride, ConfigError, loadConfig, validateConfig } from '../../lib/train';
import { create, tasks as registered } from '../../lib/models/registry';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-config-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const good = (): Record<string, any> => ({
  data: { corpus: 'corpora/synth' },
  model: { task: 'ctc', encoder: { type: 'conbimamba', layers: 2, dModel: 32 } },
  trainer: { maxSteps: 10 },
});

describe('experiment config', () => {
  test('a minimal config gets its defaults', () => {
    const c = validateConfig(good());
    expect(c).toMatchObject({
      seed: 0, device: 'auto', features: { type: 'fbank' }, optimizer: { type: 'adamw', lr: 1e-3 }, schedule: { type: 'constant' },
      data: { maxFrames: 6000, cache: true },
      trainer: { maxSteps: 10, accumulate: 1, clipGradNorm: null, autocast: 'auto', evalEvery: 'epoch', logEvery: 10, checkpoint: { keepBest: 1 } },
    });
  });

  const bad: [string, (c: Record<string, any>) => void, string][] = [
    ['string where an integer goes', (c) => { c.model.encoder.layers = '12a'; }, 'model.encoder.layers: expected a positive integer, got "12a"'],
    ['zero layers', (c) => { c.model.encoder.layers = 0; }, 'model.encoder.layers: expected a positive integer, got 0'],
    ['fractional dModel', (c) => { c.model.encoder.dModel = 31.5; }, 'model.encoder.dModel: expected a positive integer, got 31.5'],
    ['unknown encoder type', (c) => { c.model.encoder.type = 'conbimama'; }, 'model.encoder.type: expected one of "transformer", "conformer", "mamba", "bimamba", "conbimamba", "transbimamba", got "conbimama"'],
    ['misspelt encoder key', (c) => { c.model.encoder.dmodel = 3; }, 'model.encoder: unknown key "dmodel"'],
    ['heads not dividing dModel', (c) => { c.model.encoder = { type: 'transformer', layers: 2, dModel: 30, heads: 4 }; }, 'model.encoder: dModel (30) must be divisible by heads (4)'],
    ['even conv kernel', (c) => { c.model.encoder.depthwiseKernel = 4; }, 'model.encoder: depthwiseKernel must be odd'],
    ['dropout of 1', (c) => { c.model.encoder.dropout = 1; }, 'model.encoder.dropout: expected a number in [0, 1), got 1'],
    ['no data', (c) => { c.data = {}; }, 'data.train: give data.corpus'],
    ['negative lr', (c) => { c.optimizer = { lr: -1 }; }, 'optimizer.lr: expected a number > 0, got -1'],
    ['unknown optimizer', (c) => { c.optimizer = { type: 'adagrad' }; }, 'optimizer.type: expected one of "adamw", "adam", "sgd", got "adagrad"'],
    ['beta of 2', (c) => { c.optimizer = { betas: [0.9, 2] }; }, 'optimizer.betas.1: expected a number in [0, 1), got 2'],
    ['no end', (c) => { c.trainer = {}; }, 'trainer.maxSteps: give trainer.maxSteps or trainer.maxEpochs'],
    ['eval interval word', (c) => { c.trainer.evalEvery = 'often'; }, "trainer.evalEvery: expected a positive integer or 'epoch', got \"often\""],
    ['early stopping without monitor', (c) => { c.trainer.earlyStopping = { patience: 3 }; }, 'trainer.monitor: early stopping needs trainer.monitor'],
    ['cosine without total', (c) => { c.trainer = { maxEpochs: 3 }; c.schedule = { type: 'warmupCosine', warmupSteps: 10 }; }, 'schedule.totalSteps: the warmupCosine schedule needs totalSteps'],
    ['unknown top-level section', (c) => { c.traner = {}; }, 'unknown key "traner"'],
    ['bad device', (c) => { c.device = 'gpu'; }, 'device: expected one of "auto", "cpu", "cuda", got "gpu"'],
    ['missing model', (c) => { delete c.model; }, 'model: expected object, got nothing'],
    ['keepBest negative', (c) => { c.trainer.checkpoint = { keepBest: -1 }; }, 'trainer.checkpoint.keepBest: expected an integer >= 0, got -1'],
  ];
  test.each(bad)('refuses %s, naming the path', (_name, edit, expected) => {
    const c = good();
    edit(c);
    let err: unknown;
    try {
      validateConfig(c, 'exp.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(`[config] exp.yaml: `);
    expect((err as Error).message).toContain(expected);
  });

  test('several problems are reported together', () => {
    const c = good();
    c.model.encoder.layers = 'x';
    c.optimizer = { lr: 0 };
    const e = (() => { try { validateConfig(c); } catch (x) { return x as ConfigError; } return null; })()!;
    expect(e.issues).toEqual(['model.encoder.layers: expected a positive integer, got "x"', 'optimizer.lr: expected a number > 0, got 0']);
  });

  test('--set overrides: typed values, new sections, lists; bad keys refused', () => {
    const c = good();
    applyOverride(c, 'model.encoder.type=mamba');
    applyOverride(c, 'model.encoder.layers=12');
    applyOverride(c, 'optimizer.lr=3e-4');
    applyOverride(c, 'trainer.clipGradNorm=null');
    applyOverride(c, 'optimizer.betas=[0.9, 0.98]');
    applyOverride(c, 'model.specAugment=false');
    applyOverride(c, 'name=run one');
    expect(c.model.encoder).toEqual({ type: 'mamba', layers: 12, dModel: 32 });
    expect(c.optimizer).toEqual({ lr: 3e-4, betas: [0.9, 0.98] });
    expect(c.trainer.clipGradNorm).toBeNull();
    expect(c.model.specAugment).toBe(false);
    expect(c.name).toBe('run one');
    applyOverride(c, 'model.encoder.layers=12a');
    expect(() => validateConfig(c, 'x')).toThrow('model.encoder.layers: expected a positive integer, got "12a"');
    expect(() => applyOverride(c, 'no-equals')).toThrow(/expected key.path=value/);
    expect(() => applyOverride(c, 'model.encoder.type.x=1')).toThrow(/model.encoder.type is "mamba", not a section/);
    expect(() => applyOverride(c, 'a..b=1')).toThrow(/bad key path/);
  });

  test('files: YAML errors give line and column; paths resolve against the file; JSON works too', () => {
    const dir = path.join(tmp, 'cfgs');
    fs.mkdirSync(dir);
    const yml = path.join(dir, 'exp.yaml');
    fs.writeFileSync(yml, 'data:\n  corpus: ../corpus\nmodel:\n  task: ctc\n  encoder: { type: mamba, layers: 2, dModel: 32 }\ntrainer:\n  maxSteps: 5\n');
    const c = loadConfig(yml, ['trainer.maxSteps=7']);
    expect(c.data.corpus).toBe(path.join(tmp, 'corpus'));
    expect(c.name).toBe('exp');
    expect(c.trainer.maxSteps).toBe(7);
    const js = path.join(dir, 'exp2.json');
    fs.writeFileSync(js, JSON.stringify(good()));
    expect(loadConfig(js).model.encoder.type).toBe('conbimamba');
    const broken = path.join(dir, 'broken.yaml');
    fs.writeFileSync(broken, 'data:\n  corpus: [a, b\nmodel: 3\n');
    expect(() => loadConfig(broken)).toThrow(/\[config\] .*broken.yaml: line \d+, column \d+: /);
    expect(() => loadConfig(path.join(dir, 'nope.yaml'))).toThrow(/nope.yaml: cannot read: no such file/);
    fs.writeFileSync(broken, '- a\n- b\n');
    expect(() => loadConfig(broken)).toThrow(/expected a mapping of sections/);
  });

  test('every example config validates; one per task builds its model', () => {
    const dir = path.join(__dirname, '..', '..', 'configs');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
    const tasks = ['ctc', 'reconstruction', 'enhancement'];
    const families = ['transformer', 'conformer', 'mamba', 'bimamba', 'conbimamba', 'transbimamba'];
    expect(files).toEqual(tasks.flatMap((t) => families.map((f) => `${t}-${f}.yaml`)).sort());
    for (const f of files) {
      const c = loadConfig(path.join(dir, f));
      const [task, family] = f.replace('.yaml', '').split('-');
      expect([c.model.task, c.model.encoder.type]).toEqual([task, family]);
    }
    // The task-specific options are the models' own: build one model per task from its config
    // (with what the data would add: inputDim, a vocabulary).
    const buildable = tasks.filter((t) => registered().includes(t));
    expect(buildable).toEqual(expect.arrayContaining(['ctc', 'reconstruction']));
    for (const task of buildable) {
      const c = loadConfig(path.join(dir, `${task}-conbimamba.yaml`), ['model.encoder.layers=1', 'model.encoder.dModel=16', 'model.encoder.ffnDim=32']);
      const { tokenizer: _t, ...opts } = c.model as Record<string, unknown>;
      const extra = task === 'ctc' ? { inputDim: 80, vocabSize: 10 } : task === 'reconstruction' ? { inputDim: 80 } : {};
      const m = create({ ...opts, ...extra, task }, { device: 'cpu' });
      expect(m.task).toBe(task);
      m.parameters().forEach((p) => p.dispose());
    }
  });
});
