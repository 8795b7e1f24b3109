/**
 * presets.ts — the sizes of the main job. Every preset runs the same stages with the same code;
 * only data, model sizes, steps and seeds differ.
 *
 *   smoke   about a minute on a CPU: proves the pipeline end to end (numbers are not meaningful)
 *   tiny    the default: ≤ 10 minutes on a 2-core CPU, synth corpus, 2 seeds, 4-layer models;
 *           stages corpus, reconstruction, classification, analysis, report
 *   small   one GPU, ≤ 30 minutes: 6 layers d 256, 3 seeds, every stage (HuBERT included)
 *   paper   the paper's sizes on LibriSpeech-100 + VoiceBank-DEMAND from --data-root
 *
 * Parameter matching: the encoders of a comparison have equal depth and width; their size knob
 * (FFN width for attention/conformer stacks, `expand` for Mamba stacks) is chosen so that every
 * encoder's parameter count is as close as the knob allows to the ConBiMamba encoder's (the
 * largest fixed part); the counts are printed and reported.
 */
import type { EncoderType } from '../models/encoder_spec';

export type PresetName = 'smoke' | 'tiny' | 'small' | 'paper';
export const PRESETS: readonly PresetName[] = ['smoke', 'tiny', 'small', 'paper'];

/** One task's training settings. */
export interface TrainSettings {
  steps: number;
  /** frames per batch (B × T budget, padding included) */
  maxFrames: number;
  lr: number;
  warmup: number;
  evalEvery: number;
}

export interface Preset {
  name: PresetName;
  description: string;
  corpus: { source: 'synth' | 'data-root'; numUtterances: number; numSpeakers: number; minSeconds: number; maxSeconds: number; espeak: boolean };
  seeds: number;
  /** encoder size; normFirst: a pre-norm Transformer (post-norm at 4 layers and a few hundred
   *  steps stayed at the blank output: PER 100 % on both seeds of a tiny run) */
  model: { layers: number; dModel: number; heads: number; dropout: number; dState: number; normFirst?: boolean };
  reconstruction: { encoders: EncoderType[]; train: TrainSettings; maskProb: number; maskSpan: number };
  classification: { encoders: EncoderType[]; train: TrainSettings; frontend: 'conv2d4' | 'conv2d2' };
  enhancement: { encoders: EncoderType[]; train: TrainSettings } | null;
  /** stage 4 (hubert_stage.ts): iteration-1 MFCC k-means targets with `clusters` centroids fitted on
   *  at most `kmeansFrames` training frames; front end 'cnn' (HuBERT's waveform CNN, 50 Hz) or
   *  'logmel' (cached log-mel + Conv2dSubsampling, 25 Hz) with `extractorChannels`; encoder size
   *  `model` (null: the preset's model); maxFrames in 10 ms frames as everywhere */
  hubert: {
    encoders: EncoderType[]; pretrain: TrainSettings; finetune: TrainSettings; clusters: number;
    frontend: 'cnn' | 'logmel'; extractorChannels: number; kmeansFrames: number; model: Preset['model'] | null;
  } | null;
  /** MI stage: frames, estimator seeds and steps, PCA components, batch; probe steps for I(T; Y);
   *  utterances of the paper protocol (first seed's models); matched calibration (first seed);
   *  ityCritic: I(T; Y) by the MI critic as well as by the probe (off in tiny: a third of the
   *  stage's time, and the verdict reads the probe) */
  analysis: { maxFrames: number; seeds: number; steps: number; pca: number; batchSize: number; probeSteps: number; paperUtterances: number; calibrate: boolean; ityCritic: boolean };
  /** a rough wall-time budget shown before starting, in minutes, and the device it is for */
  budget: { minutes: number; device: 'cpu' | 'cuda' };
}

const train = (steps: number, maxFrames: number, lr: number, evalEvery: number): TrainSettings => ({ steps, maxFrames, lr, warmup: Math.max(1, Math.round(steps / 10)), evalEvery });

const RECON: EncoderType[] = ['transformer', 'mamba', 'conbimamba'];
const CLASS: EncoderType[] = ['transformer', 'mamba', 'conbimamba', 'bimamba'];

/** The preset of `name` (a fresh object: callers may adjust it). */
export function getPreset(name: PresetName): Preset {
  switch (name) {
    case 'smoke':
      return {
        name, description: 'pipeline check (about a minute on a CPU; numbers not meaningful)',
        corpus: { source: 'synth', numUtterances: 48, numSpeakers: 8, minSeconds: 1, maxSeconds: 1.6, espeak: false },
        seeds: 2, model: { layers: 2, dModel: 32, heads: 2, dropout: 0, dState: 8, normFirst: true },
        reconstruction: { encoders: RECON, train: train(12, 4000, 2e-3, 12), maskProb: 0.3, maskSpan: 5 },
        classification: { encoders: CLASS, train: train(12, 4000, 2e-3, 12), frontend: 'conv2d4' },
        enhancement: null, hubert: null,
        analysis: { maxFrames: 600, seeds: 2, steps: 60, pca: 8, batchSize: 64, probeSteps: 100, paperUtterances: 1, calibrate: false, ityCritic: true },
        budget: { minutes: 1.5, device: 'cpu' },
      };
    case 'tiny':
      return {
        name, description: 'the default: synth corpus, 2 seeds, 4-layer models (≤ 10 minutes on a 2-core CPU)',
        corpus: { source: 'synth', numUtterances: 480, numSpeakers: 24, minSeconds: 1.2, maxSeconds: 2.4, espeak: false },
        seeds: 2, model: { layers: 4, dModel: 64, heads: 4, dropout: 0.05, dState: 8, normFirst: true },
        // measured on the idle 2-core machine (AMD EPYC, 2 cores): a CTC step of 2400 frames
        // costs 70-190 ms by encoder; 250 steps at lr 5e-3 brought every encoder to 7-23 % PER
        // (the blank output: 100 %) and the whole run took 5m38s; 350 steps and a longer
        // reconstruction use most of the rest of the 10 minutes
        reconstruction: { encoders: RECON, train: train(150, 1500, 3e-3, 75), maskProb: 0.3, maskSpan: 5 },
        classification: { encoders: CLASS, train: train(350, 2400, 5e-3, 175), frontend: 'conv2d4' },
        enhancement: null, hubert: null,
        analysis: { maxFrames: 2000, seeds: 2, steps: 300, pca: 16, batchSize: 256, probeSteps: 300, paperUtterances: 2, calibrate: true, ityCritic: false },
        budget: { minutes: 10, device: 'cpu' },
      };
    case 'small':
      return {
        name, description: 'one GPU, ≤ 30 minutes: 6 layers d 256, 3 seeds, every stage',
        corpus: { source: 'synth', numUtterances: 4000, numSpeakers: 80, minSeconds: 2, maxSeconds: 4, espeak: true },
        seeds: 3, model: { layers: 6, dModel: 256, heads: 4, dropout: 0.1, dState: 16, normFirst: true },
        reconstruction: { encoders: RECON, train: train(1500, 24000, 1e-3, 500), maskProb: 0.3, maskSpan: 5 },
        classification: { encoders: CLASS, train: train(2000, 24000, 1e-3, 500), frontend: 'conv2d4' },
        enhancement: { encoders: RECON, train: train(1000, 24000, 1e-3, 500) },
        hubert: {
          encoders: ['transformer', 'transbimamba', 'conbimamba'], pretrain: train(1500, 24000, 5e-4, 500), finetune: train(1000, 24000, 5e-4, 500), clusters: 100,
          frontend: 'logmel', extractorChannels: 128, kmeansFrames: 200000, model: null,
        },
        analysis: { maxFrames: 20000, seeds: 3, steps: 2000, pca: 32, batchSize: 256, probeSteps: 1500, paperUtterances: 25, calibrate: true, ityCritic: true },
        budget: { minutes: 30, device: 'cuda' },
      };
    case 'paper':
      return {
        name, description: "the paper's sizes on LibriSpeech-100 + VoiceBank-DEMAND from --data-root",
        corpus: { source: 'data-root', numUtterances: 0, numSpeakers: 0, minSeconds: 0, maxSeconds: 0, espeak: false },
        seeds: 3, model: { layers: 12, dModel: 512, heads: 8, dropout: 0.1, dState: 16, normFirst: true },
        reconstruction: { encoders: RECON, train: train(100000, 160000, 1e-3, 5000), maskProb: 0.3, maskSpan: 10 },
        classification: { encoders: CLASS, train: train(100000, 160000, 1e-3, 5000), frontend: 'conv2d4' },
        enhancement: { encoders: RECON, train: train(100000, 160000, 5e-4, 5000) },
        // HuBERT base: 12 layers d 768; a batch of 87.5 s (fairseq's 1.4M samples per GPU), fine-tuning
        // batches of 200 s (3.2M samples); iteration 1 = K 100 on MFCC, fitted on ~5 % of the frames
        hubert: {
          encoders: ['transformer', 'transbimamba', 'conbimamba'], pretrain: train(400000, 8750, 5e-4, 10000), finetune: train(80000, 20000, 5e-5, 5000), clusters: 100,
          frontend: 'cnn', extractorChannels: 512, kmeansFrames: 2000000, model: { layers: 12, dModel: 768, heads: 12, dropout: 0.1, dState: 16 },
        },
        analysis: { maxFrames: 20000, seeds: 3, steps: 5000, pca: 64, batchSize: 256, probeSteps: 1500, paperUtterances: 100, calibrate: true, ityCritic: true },
        budget: { minutes: 0, device: 'cuda' },
      };
    default:
      throw new Error(`[reproduce] --preset must be one of ${PRESETS.join(', ')}, got ${JSON.stringify(name)}`);
  }
}
