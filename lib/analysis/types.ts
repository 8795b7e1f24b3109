/**
 * types.ts — what analysis.layerwiseMi returns (and report() reads back from report.json).
 *
 * Glossary: nats (natural-log MI units); ci the 95% t-interval of the mean over seeds (null with
 * one seed); ceiling what the number cannot exceed whatever the truth (channel capacity of the
 * noisy channel, ln B for InfoNCE, H(Y) for labels, ln N for any estimate from N held-out frames).
 */
import type { CalibrationPoint, CalibrationResult } from './calibrate';

export interface Ceiling {
  /** The smallest applicable limit (nats), and what it is. */
  nats: number;
  kind: string;
  /** Every applicable limit by name. */
  all: Record<string, number>;
}

export interface MiValue {
  nats: number;
  ci: [number, number] | null;
  perSeed: number[];
  ceiling: Ceiling | null;
  /** Paper mode: the value of each utterance (the reported number is their mean, the CI over them). */
  perUtterance?: number[];
}

export interface ProbeValue extends MiValue {
  /** Held-out accuracy (mean over seeds) and the majority-class accuracy. */
  accuracy: number;
  chance: number;
  /** H(Y) estimate (mean over seeds). */
  entropy: number;
}

export interface LayerResult {
  /** Hidden-state index: 0 = encoder input, l = output of layer l. */
  index: number;
  name: string;
  /** Dimension of T_l before reduction, components kept, and their share of T_l's variance. */
  dim: number;
  k: number;
  explained: number;
  ixt: MiValue & { calibration: CalibrationPoint | null };
  ity?: { probe: ProbeValue | null; critic: MiValue | null };
  /** Paper mode: utterances estimated and skipped (shorter than the batch) for this layer. */
  utterances?: number;
  skipped?: number;
}

export interface LayerwiseMiResult {
  /** 'corrected' (the defaults) or 'paper'. */
  protocol: 'corrected' | 'paper';
  /** A name for plots and tables (set by the caller or report()). */
  label?: string;
  layers: LayerResult[];
  x: { kind: string; dim: number; k: number; explained: number };
  y: { kind: string; classes: number; names: string[] | null; labelled: number; entropy: number | null } | null;
  frames: { n: number; utterances: number; batches: number; validFrames: number; candidates: number; subsampling: number };
  options: Record<string, unknown>;
  seeds: number[];
  calibration: CalibrationResult | null;
  /** Which numbers are comparable with which (for the report). */
  comparability: string[];
  protocolText: string[];
  /** Wall times in seconds. */
  timings: Record<string, number>;
}
