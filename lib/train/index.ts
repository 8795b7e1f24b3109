/**
 * lib/train — the Trainer (steps/epochs, accumulation, clipping, bf16 autocast, evaluation, early
 * stopping), atomic checkpoints with exact resume, run logs, and experiment configs.
 */
export { Trainer, TrainingError, fit } from './trainer';
export { defaultMode } from './options';
export type {
  TrainerOptions, TrainerCallbacks, FitResult, StepInfo, EvalInfo, CheckpointInfo, StartInfo, EarlyStoppingOptions, CheckpointOptions,
} from './options';
export {
  saveCheckpoint, loadCheckpoint, restoreCheckpoint, loadCheckpointModel, readCheckpointMeta, disposeLoaded, CHECKPOINT_FORMAT, CHECKPOINT_VERSION,
} from './checkpoint';
export type { CheckpointMeta, CheckpointContents, LoadedCheckpoint, TrainerState, BestEntry, LogWindow } from './checkpoint';
export { RunLogger, toCsv } from './logger';
export type { StepRecord, EvalRecord, LogRecord, MemoryRecord } from './logger';
export { writeFileAtomic, writeAtomicWith, cleanStaleTemps, tempPathFor } from './atomic';
export { DataCursor } from './cursor';
export { experimentSchema, validateConfig, loadConfig, readConfigFile, applyOverride, configToYaml, ConfigError } from './config';
export type { ExperimentConfig } from './config';
export { buildExperiment, buildOptimizer, buildSchedule, configDevice, configTasks, evalSource, modelFromCheckpoint } from './experiment';
export type { Experiment, BuildOptions, Progress, TaskData } from './experiment';
export { featurize, featurizeEntries, manifestPath, readEntries, cacheDir } from './data';
export { trainRun, resumeRun, runConfig, runDirOf } from './run';
export type { RunOptions } from './run';
