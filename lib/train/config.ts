/**
 * config.ts — experiment files: YAML or JSON, validated by a zod schema, `--set a.b.c=value`
 * overrides, defaults filled in, and the resolved config that is saved with a run.
 *
 * Glossary (the file's sections; configs/*.yaml are worked examples):
 *   name, seed, device   run name (default: the file's name), seed of weights/data order/RNG,
 *                        'auto' | 'cpu' | 'cuda'
 *   outDir               the run folder (logs, checkpoints, config.yaml); the CLI's --out wins
 *   data                 corpus (a folder with train/dev/test.jsonl, as `corpus synth` makes) or
 *                        train/dev/test manifests; maxFrames (batch budget B × T), maxBatchSize,
 *                        limit.{train,dev,test} (first n utterances), cache (feature cache)
 *   features             type fbank | mfcc | kaldiFbank | kaldiMfcc and that function's options
 *   model                task + encoder spec + the task model's own options (models.create)
 *   optimizer            type adamw | adam | sgd and its hyper-parameters
 *   schedule             type constant | warmupCosine | warmupLinear | warmupPolynomial | noam
 *   trainer              the Trainer's options (maxSteps, evalEvery, monitor, checkpoint, ...)
 *
 * Errors name the path and the problem: `model.encoder.layers: expected a positive integer,
 * got "12a"`; several problems are reported together.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { z } from 'zod';

import { ENCODER_TYPES, resolveEncoderSpec } from '../models/encoder_spec';

const INT = 'expected a positive integer';
const posInt = () => z.number({ error: INT }).int({ error: INT }).positive({ error: INT });
const INT0 = 'expected an integer >= 0';
const int0 = () => z.number({ error: INT0 }).int({ error: INT0 }).min(0, { error: INT0 });
const POS = 'expected a number > 0';
const posNum = () => z.number({ error: POS }).positive({ error: POS }).finite({ error: POS });
const NN = 'expected a number >= 0';
const nonNeg = () => z.number({ error: NN }).min(0, { error: NN }).finite({ error: NN });
const FRAC = 'expected a number in [0, 1)';
const frac = () => z.number({ error: FRAC }).min(0, { error: FRAC }).lt(1, { error: FRAC });
const str = () => z.string({ error: 'expected a string' }).min(1, { error: 'expected a non-empty string' });
const bool = () => z.boolean({ error: 'expected true or false' });
const scalar = z.union([z.number(), z.string(), z.boolean(), z.null()]);

const encoderSchema = z.object({
  type: z.enum(ENCODER_TYPES),
  layers: posInt(),
  dModel: posInt(),
  heads: posInt().optional(),
  ffnDim: posInt().optional(),
  dropout: frac().optional(),
  dState: posInt().optional(),
  dConv: posInt().optional(),
  expand: posInt().optional(),
  bimamba: z.enum(['outer', 'inner']).optional(),
  normFirst: bool().optional(),
  depthwiseKernel: posInt().optional(),
}).strict();

const dataSchema = z.object({
  corpus: str().optional(),
  train: str().optional(),
  dev: str().optional(),
  test: str().optional(),
  maxFrames: posInt().default(6000),
  maxBatchSize: posInt().optional(),
  limit: z.object({ train: posInt().optional(), dev: posInt().optional(), test: posInt().optional() }).strict().optional(),
  /** true: `<corpus or manifest folder>/.features/`; a path: that folder; false: no cache */
  cache: z.union([bool(), str()]).default(true),
  /** enhancement: waveform crop length in seconds for training (default 2) */
  segmentSeconds: posNum().optional(),
}).strict();

const featuresSchema = z.object({
  type: z.enum(['fbank', 'mfcc', 'kaldiFbank', 'kaldiMfcc']).default('fbank'),
}).catchall(z.union([scalar, z.array(z.number())]));

const modelSchema = z.object({
  task: str(),
  encoder: encoderSchema,
  /** ctc: which transcript the targets come from (default 'phone' when the corpus has phones) */
  tokenizer: z.enum(['char', 'phone']).optional(),
  seed: int0().optional(),
}).catchall(z.unknown());

const optimizerSchema = z.object({
  type: z.enum(['adamw', 'adam', 'sgd']).default('adamw'),
  lr: posNum().default(1e-3),
  weightDecay: nonNeg().optional(),
  betas: z.tuple([frac(), frac()]).optional(),
  eps: posNum().optional(),
  amsgrad: bool().optional(),
  momentum: nonNeg().optional(),
  dampening: nonNeg().optional(),
  nesterov: bool().optional(),
}).strict();

const scheduleSchema = z.object({
  type: z.enum(['constant', 'warmupCosine', 'warmupLinear', 'warmupPolynomial', 'noam']).default('constant'),
  warmupSteps: int0().optional(),
  totalSteps: posInt().optional(),
  minFactor: nonNeg().optional(),
  power: posNum().optional(),
  dModel: posInt().optional(),
  scale: posNum().optional(),
}).strict();

const trainerSchema = z.object({
  maxSteps: posInt().optional(),
  maxEpochs: posInt().optional(),
  accumulate: posInt().default(1),
  clipGradNorm: posNum().nullable().default(null),
  autocast: z.enum(['auto', 'bfloat16', 'none']).default('auto'),
  maxNonFiniteSteps: posInt().default(10),
  evalEvery: z.union([posInt(), z.literal('epoch')], { error: "expected a positive integer or 'epoch'" }).default('epoch'),
  evalAtEnd: bool().default(true),
  monitor: str().optional(),
  monitorMode: z.enum(['min', 'max']).optional(),
  earlyStopping: z.object({ patience: posInt(), minDelta: nonNeg().optional() }).strict().nullable().default(null),
  logEvery: posInt().default(10),
  checkpoint: z.object({ every: int0().optional(), keepBest: int0().default(1) }).strict().default({ keepBest: 1 }),
}).strict();

/** The experiment file's schema (defaults included). */
export const experimentSchema = z.object({
  name: str().optional(),
  seed: int0().default(0),
  device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
  outDir: str().optional(),
  data: dataSchema,
  features: featuresSchema.default({ type: 'fbank' }),
  model: modelSchema,
  optimizer: optimizerSchema.default({ type: 'adamw', lr: 1e-3 }),
  schedule: scheduleSchema.default({ type: 'constant' }),
  trainer: trainerSchema,
}).strict().superRefine((c, ctx) => {
  if (!c.data.corpus && !c.data.train) ctx.addIssue({ code: 'custom', path: ['data', 'train'], message: 'give data.corpus (a folder with train.jsonl and dev.jsonl) or data.train (a manifest)', input: undefined });
  if (c.trainer.maxSteps === undefined && c.trainer.maxEpochs === undefined) ctx.addIssue({ code: 'custom', path: ['trainer', 'maxSteps'], message: 'give trainer.maxSteps or trainer.maxEpochs (training needs an end)', input: undefined });
  const s = c.schedule;
  if ((s.type === 'warmupCosine' || s.type === 'warmupLinear' || s.type === 'warmupPolynomial') && s.totalSteps === undefined && c.trainer.maxSteps === undefined) {
    ctx.addIssue({ code: 'custom', path: ['schedule', 'totalSteps'], message: `the ${s.type} schedule needs totalSteps (or trainer.maxSteps to default to)`, input: undefined });
  }
  if (s.type === 'noam' && s.warmupSteps === undefined) ctx.addIssue({ code: 'custom', path: ['schedule', 'warmupSteps'], message: 'the noam schedule needs warmupSteps', input: undefined });
  if (c.trainer.earlyStopping && !c.trainer.monitor) ctx.addIssue({ code: 'custom', path: ['trainer', 'monitor'], message: 'early stopping needs trainer.monitor (the eval metric to watch)', input: undefined });
  try {
    resolveEncoderSpec(c.model.encoder as Parameters<typeof resolveEncoderSpec>[0], 'model.encoder');
  } catch (e) {
    ctx.addIssue({ code: 'custom', path: ['model', 'encoder'], message: (e as Error).message.replace(/^\[model\.encoder\] /, ''), input: undefined });
  }
});

/** A validated experiment config with its defaults filled in. */
export type ExperimentConfig = z.output<typeof experimentSchema>;

/** A config problem: `issues` lists each as `path: problem`; the message joins them. */
export class ConfigError extends Error {
  constructor(readonly source: string, readonly issues: string[]) {
    super(`[config] ${source}: ${issues.join('; ')}`);
    this.name = 'ConfigError';
  }
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (v !== null && typeof v === 'object') return 'an object';
  return String(v);
}

type Issue = z.core.$ZodIssue & { input?: unknown };

function formatIssue(i: Issue): string {
  const where = i.path.length ? i.path.join('.') : '(top level)';
  switch (i.code) {
    case 'unrecognized_keys':
      return `${where === '(top level)' ? '' : `${where}: `}unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    case 'invalid_value':
      return `${where}: expected one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}, got ${show(i.input)}`;
    case 'custom':
      return `${where}: ${i.message}`;
    case 'invalid_union':
      return `${where}: ${i.message.startsWith('Invalid input') ? 'not a valid value' : i.message}, got ${show(i.input)}`;
    default: {
      const msg = i.message.startsWith('Invalid input: expected') ? i.message.replace('Invalid input: ', '').replace(/, received \w+$/, '') : i.message;
      return `${where}: ${msg}, got ${show(i.input)}`;
    }
  }
}

/** Validates a parsed config object; throws ConfigError listing every problem with its path. */
export function validateConfig(raw: unknown, source = 'config'): ExperimentConfig {
  const r = experimentSchema.safeParse(raw, { reportInput: true });
  if (!r.success) throw new ConfigError(source, r.error.issues.map((i) => formatIssue(i as Issue)));
  return r.data;
}

/** Parses `key.path=value` (value as a YAML scalar or flow list: 12, 1e-3, true, null, [1, 2],
 *  conbimamba) and sets it in `obj`, creating objects on the way. */
export function applyOverride(obj: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new ConfigError('--set', [`expected key.path=value, got ${JSON.stringify(assignment)}`]);
  const key = assignment.slice(0, eq).trim();
  const text = assignment.slice(eq + 1);
  const parts = key.split('.');
  if (parts.some((p) => p === '')) throw new ConfigError('--set', [`bad key path ${JSON.stringify(key)}`]);
  let value: unknown;
  try {
    value = text.trim() === '' ? '' : YAML.parse(text);
  } catch {
    value = text;
  }
  let cur: Record<string, unknown> = obj;
  parts.slice(0, -1).forEach((p, i) => {
    const next = cur[p];
    if (next === undefined || next === null) cur[p] = {};
    else if (typeof next !== 'object') throw new ConfigError('--set', [`${parts.slice(0, i + 1).join('.')} is ${show(next)}, not a section; cannot set ${key}`]);
    cur = cur[p] as Record<string, unknown>;
  });
  const last = parts[parts.length - 1];
  if (Array.isArray(cur) && !/^\d+$/.test(last)) throw new ConfigError('--set', [`${parts.slice(0, -1).join('.')} is a list; index it with a number, got ${JSON.stringify(last)}`]);
  cur[last] = value;
}

/** Reads a YAML or JSON file into a plain object (syntax errors name the file, line and column). */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [`cannot read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`]);
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    throw new ConfigError(file, doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      return `${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`;
    }));
  }
  const obj = doc.toJS() as unknown;
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new ConfigError(file, [`expected a mapping of sections (data, model, trainer, ...), got ${show(obj)}`]);
  return obj as Record<string, unknown>;
}

/**
 * Loads an experiment: reads `file`, applies the `--set` overrides in order, validates, fills in
 * defaults; relative data paths are resolved against the file's folder (so a config travels
 * with its corpus), and `name` defaults to the file's base name.
 */
export function loadConfig(file: string, overrides: readonly string[] = []): ExperimentConfig {
  const raw = readConfigFile(file);
  for (const o of overrides) applyOverride(raw, o);
  const cfg = validateConfig(raw, file);
  const dir = path.dirname(path.resolve(file));
  const abs = (p: string | undefined): string | undefined => (p === undefined ? undefined : path.resolve(dir, p));
  cfg.name ??= path.basename(file).replace(/\.(ya?ml|json)$/i, '');
  cfg.data.corpus = abs(cfg.data.corpus);
  cfg.data.train = abs(cfg.data.train);
  cfg.data.dev = abs(cfg.data.dev);
  cfg.data.test = abs(cfg.data.test);
  if (typeof cfg.data.cache === 'string') cfg.data.cache = abs(cfg.data.cache)!;
  // Pin what defaults to other settings, so a resumed run with a larger trainer.maxSteps keeps
  // its schedule (the saved config is the run's definition).
  const s = cfg.schedule;
  if (s.type === 'warmupCosine' || s.type === 'warmupLinear' || s.type === 'warmupPolynomial') s.totalSteps ??= cfg.trainer.maxSteps;
  if (s.type === 'noam') s.dModel ??= cfg.model.encoder.dModel;
  return cfg;
}

/** The config as a YAML document (what a run folder's config.yaml holds). */
export function configToYaml(cfg: ExperimentConfig): string {
  return `# resolved experiment config (defaults filled in, overrides applied)\n${YAML.stringify(cfg)}`;
}
