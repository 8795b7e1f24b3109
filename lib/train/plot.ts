/**
 * plot.ts — the loss curve of a run: train loss per logged step and, when the evaluations report
 * a `loss`, the dev loss per evaluation, on a log axis when the values span more than 20x
 * (a loss falling from 100 to 0.1 stays readable). Written with lib/plot as `<base>.svg/.png`.
 */
import { lineChartSvg, writePlot } from '../plot';
import type { LineSeries } from '../plot';
import type { LogRecord } from './logger';

/** Writes `<base>.svg` and `<base>.png` from the log; returns the files written (none when the
 *  log has no finite train loss yet). */
export function writeLossCurve(base: string, recs: readonly LogRecord[]): string[] {
  const train = recs.filter((r) => r.type === 'train' && r.loss !== null && Number.isFinite(r.loss));
  if (train.length === 0) return [];
  const series: LineSeries[] = [{ name: 'train loss', x: train.map((r) => r.step), y: train.map((r) => (r.type === 'train' ? r.loss! : NaN)) }];
  const dev = recs.filter((r) => r.type === 'eval' && Number.isFinite(r.metrics.loss));
  if (dev.length > 0) series.push({ name: 'dev loss', x: dev.map((r) => r.step), y: dev.map((r) => r.metrics.loss) });
  const ys = series.flatMap((s) => Array.from(s.y));
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  const svg = lineChartSvg(series, { title: 'Training loss', xLabel: 'step', yLabel: 'loss', logY: lo > 0 && hi / lo > 20, integerX: true, markers: train.length <= 30 });
  const out = writePlot(base, svg);
  return [out.svg, out.png];
}
