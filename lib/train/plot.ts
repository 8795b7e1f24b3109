/**
 * plot.ts — the loss curve of a run (train loss per logged step, dev metrics per evaluation).
 * Pending lib/plot (lineChartSvg, writePlot): until it lands no curve is drawn.
 */
import type { LogRecord } from './logger';

/** Writes `<base>.svg` and `<base>.png`; returns the files written. */
export function writeLossCurve(base: string, recs: readonly LogRecord[]): string[] {
  void base;
  void recs;
  return [];
}
