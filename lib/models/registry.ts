/**
 * registry.ts — task name -> model factory, so that a JSON config (toConfig(), a YAML experiment
 * file, a checkpoint's metadata) rebuilds its model without the caller naming a class.
 *
 *   models.create({ task: 'ctc', inputDim: 80, vocabSize: 32, encoder: { type: 'mamba', ... } })
 *   models.loadModel('run/best.safetensors', { device: 'cuda' })   // config from the metadata
 *
 * Glossary:
 *   task      'ctc' (CtcAsr), 'reconstruction' (MaskedReconstruction); the enhancement and HuBERT
 *             models add theirs with one `registerTask(...)` line in the list below
 *   factory   (config, { device }) -> a TaskModel built from the config (fresh weights)
 */
import { loadSafetensors } from '../io/safetensors';
import { Device } from '../tensor/types';
import { META } from './common';
import { CtcAsr } from './ctc_asr';
import { MaskEnhancer } from './enhancement/enhancer';
import { Hubert } from './hubert/hubert';
import { HubertCtc } from './hubert/hubert_ctc';
import { MaskedReconstruction } from './reconstruction';
import type { TaskModel } from './task';

/** Builds a model of one task from its config (the object toConfig() returns). */
export type ModelFactory = (config: Record<string, unknown>, opts: { device?: Device }) => TaskModel;

const factories = new Map<string, ModelFactory>();

/** Registers (or replaces) the factory of `task`. */
export function registerTask(task: string, factory: ModelFactory): void {
  if (typeof task !== 'string' || task === '') throw new Error(`[registerTask] task must be a non-empty string, got ${JSON.stringify(task)}`);
  if (typeof factory !== 'function') throw new Error(`[registerTask] factory of '${task}' must be a function`);
  factories.set(task, factory);
}

// The library's tasks, one line each.
registerTask('ctc', (c, o) => CtcAsr.fromConfig(c, o));
registerTask('reconstruction', (c, o) => MaskedReconstruction.fromConfig(c, o));
registerTask('enhancement', (c, o) => MaskEnhancer.fromConfig(c, o));
registerTask('hubert', (c, o) => Hubert.fromConfig(c, o));
registerTask('hubert-ctc', (c, o) => HubertCtc.fromConfig(c, o));

/** The registered task names. */
export function tasks(): string[] {
  return [...factories.keys()];
}

/** A new model (fresh weights) from a config with a `task` field: models.create(model.toConfig())
 *  gives the same architecture. Throws `[models.create] ...` for an unknown task. */
export function create(config: Record<string, unknown>, opts: { device?: Device } = {}): TaskModel {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new Error(`[models.create] expected a config object with a 'task' field, got ${JSON.stringify(config)}`);
  const task = config.task;
  if (typeof task !== 'string') throw new Error(`[models.create] config has no 'task' (one of ${tasks().join(', ')})`);
  const f = factories.get(task);
  if (!f) throw new Error(`[models.create] unknown task '${task}' (registered: ${tasks().join(', ')})`);
  return f(config, opts);
}

/** Rebuilds the model a checkpoint was saved from (its metadata holds the config) and loads its
 *  weights. Throws `[models.loadModel] ...` when the file has no model metadata. */
export function loadModel(file: string, opts: { device?: Device } = {}): TaskModel {
  const { tensors, metadata } = loadSafetensors(file, { device: 'cpu', asFloat32: false });
  Object.values(tensors).forEach((t) => t.dispose());
  const text = metadata[META.config];
  if (!text) throw new Error(`[models.loadModel] ${file} has no ${META.config} metadata (not saved by a task model's save()); build the model with models.create(config) and call load(file)`);
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(text);
  } catch (e) {
    throw new Error(`[models.loadModel] ${file}: ${META.config} is not valid JSON: ${(e as Error).message}`);
  }
  const model = create(config, opts);
  model.load(file);
  return model;
}
