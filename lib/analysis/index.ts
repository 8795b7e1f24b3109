/**
 * lib/analysis — layer-wise mutual information of trained speech models: how much each layer's
 * output T_l keeps about the input X and about frame labels Y, with confidence intervals, a
 * matched calibration, plots and a report.
 *
 *   const r = await analysis.layerwiseMi(model, batches, { y: 'phones', alignments: manifest.entries });
 *   analysis.report(r, { title: 'ConBiMamba CTC', outDir: 'runs/a/mi' });   // report.md, report.json, plots
 *   const p = await analysis.layerwiseMi(model, batches, { paper: true });  // the paper's protocol
 *
 * Glossary:
 *   X       'hs0' (encoder input, the paper's choice) or the input features at the layer rate
 *   T_l     hidden state l (hs[l]); T̃_l = z(PCA_k(T_l)) + σZ, the noisy channel (finite MI)
 *   Y       frame labels: phones from alignments, k-means ids, CTC forced alignments, the user's
 *   I(T;Y)  H(Y) − CE of a held-out probe (Barber–Agakov lower bound) and the mi critics
 *   nats    natural-log units; CI = 95% t-interval over seeds
 */
export { layerwiseMi, layerwiseMiFromFrames } from './layerwise';
export { runMi } from './run';
export type { RunMiOptions, RunMiResult } from './run';
export { report } from './report';
export type { ReportOptions, ReportFiles } from './report';
export { calibrate } from './calibrate';
export type { CalibrationOptions, CalibrationResult, CalibrationPoint } from './calibrate';
export { DEFAULT_ESTIMATOR } from './options';
export type { LayerwiseMiOptions, PaperOptions } from './options';
export type { LayerwiseMiResult, LayerResult, MiValue, ProbeValue, Ceiling } from './types';
export type { ProbeOptions } from './probe';
export type { AlignmentSource, LabelFn, BatchLabels } from './labels';
export type { XFn } from './frames';
export { fitPca, channelCapacity } from './reduce';
export type { Frames, Pca } from './reduce';
export { gaussianMi } from './linalg';
