/**
 * lib/plot — small chart library: SVG line charts with confidence bands, path charts (the
 * information plane), SVG -> PNG without a browser, atomic writes.
 *
 *   const svg = plot.lineChartSvg([{ name: 'train', x: steps, y: loss }], { xLabel: 'step', yLabel: 'loss', logY: true });
 *   plot.writePlot('runs/a/loss', svg);              // runs/a/loss.svg + runs/a/loss.png
 *   plot.infoPlaneSvg([{ name: 'ConBiMamba', points: layers.map((l) => ({ x: l.ixt, y: l.ity })) }]);
 *
 * Glossary: series (one line or path, one colour), band (shaded lo..hi around a line), nats
 * (MI unit, natural log). SVGs are self-contained (no scripts, no external fonts or images).
 */
export { lineChartSvg } from './line';
export type { LineSeries, LineChartOptions } from './line';
export { pathChartSvg, infoPlaneSvg } from './path';
export type { PathPoint, PathSeries, PathChartOptions } from './path';
export { svgToPng, writePlot, fontStatus } from './png';
export type { PngOptions } from './png';
export { PALETTE } from './frame';
export { niceStep, logTicks } from './scale';
export { textWidth } from './text';
