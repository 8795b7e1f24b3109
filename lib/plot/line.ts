/**
 * line.ts — line charts with optional confidence bands: MI vs layer (one line per model), loss
 * curves (one line per split), anything y(x).
 *
 * Glossary:
 *   series   { name, x, y, lo?, hi? }: points (x_i, y_i) joined in the given order; lo/hi draw a
 *            shaded band (a 95% interval, say) between lo_i and hi_i
 *   gap      a non-finite y (or y <= 0 on a log axis) breaks the line; the band breaks where lo or
 *            hi is non-finite
 */
import { checkSize, extentOf, fmt, layoutFrame, LegendEntry, marker, PALETTE, SHAPES, svgDocument } from './frame';

export interface LineSeries {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Lower edge of the band at each x (same length as x). */
  lo?: ArrayLike<number>;
  /** Upper edge of the band at each x. */
  hi?: ArrayLike<number>;
  /** CSS colour; default: the palette in series order. */
  color?: string;
  /** SVG dash pattern, e.g. '6 3'. */
  dash?: string;
}

export interface LineChartOptions {
  title?: string;
  xLabel: string;
  yLabel: string;
  /** px; default 720 x 440. */
  width?: number;
  height?: number;
  /** Logarithmic y axis (points with y <= 0 are left out). */
  logY?: boolean;
  /** Draw a marker at every point (shape per series). Default: true when a series has <= 40 points. */
  markers?: boolean;
  /** Ticks on x at integers only; default: true when every x is an integer. */
  integerX?: boolean;
  /** Fix the y range (data outside is clipped). */
  yDomain?: [number, number];
}

const OP = 'plot.lineChartSvg';

function checkSeries(s: LineSeries, i: number): number {
  if (s === null || typeof s !== 'object') throw new Error(`[${OP}] series ${i} must be { name, x, y, lo?, hi? }, got ${JSON.stringify(s)}`);
  if (typeof s.name !== 'string') throw new Error(`[${OP}] series ${i} needs a string name, got ${JSON.stringify(s.name)}`);
  const n = s.x?.length;
  if (typeof n !== 'number') throw new Error(`[${OP}] series ${i} ('${s.name}') x must be an array of numbers`);
  for (const k of ['y', 'lo', 'hi'] as const) {
    const a = s[k];
    if (a === undefined && k !== 'y') continue;
    if (!a || a.length !== n) throw new Error(`[${OP}] series ${i} ('${s.name}') ${k} must have ${n} values like x, got ${a ? a.length : String(a)}`);
  }
  for (let j = 0; j < n; ++j) if (!Number.isFinite(s.x[j])) throw new Error(`[${OP}] series ${i} ('${s.name}') x[${j}] = ${s.x[j]} is not finite`);
  return n;
}

/**
 * An SVG line chart of `series` (see LineSeries / LineChartOptions): axes with nice ticks, grid,
 * axis labels, legend outside the plot area, bands under their lines. Returns the SVG text.
 * Errors start with `[plot.lineChartSvg]`.
 */
export function lineChartSvg(series: LineSeries[], opts: LineChartOptions): string {
  if (!Array.isArray(series) || series.length === 0) throw new Error(`[${OP}] series must be a non-empty array`);
  if (!opts || typeof opts.xLabel !== 'string' || typeof opts.yLabel !== 'string') throw new Error(`[${OP}] options need xLabel and yLabel strings`);
  const [W, H] = checkSize(OP, opts.width, opts.height, 720, 440);
  const counts = series.map(checkSeries);
  const logY = !!opts.logY;
  const xs = extentOf(series.flatMap((s) => Array.from(s.x)), false);
  const ys = opts.yDomain ?? extentOf(series.flatMap((s) => [...Array.from(s.y), ...Array.from(s.lo ?? []), ...Array.from(s.hi ?? [])]), logY);
  if (opts.yDomain && !(opts.yDomain[0] < opts.yDomain[1]) ) throw new Error(`[${OP}] yDomain must be [lo, hi] with lo < hi, got [${opts.yDomain}]`);
  if (!xs || !ys) throw new Error(`[${OP}] no finite point to draw${logY ? ' (log y: every y is <= 0)' : ''}`);
  const integerX = opts.integerX ?? series.every((s) => Array.from(s.x).every(Number.isInteger));
  const markers = opts.markers ?? Math.max(...counts) <= 40;
  const colors = series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]);
  const shapes = series.map((_, i) => SHAPES[i % SHAPES.length]);
  const legend: LegendEntry[] = series.map((s, i) => ({ name: s.name, color: colors[i], shape: markers ? shapes[i] : undefined, dash: s.dash }));
  const fr = layoutFrame({
    width: W, height: H, title: opts.title, legend,
    x: { label: opts.xLabel, extent: xs, integer: integerX, pad: markers ? 0.02 : 0 },
    y: { label: opts.yLabel, extent: ys, log: logY, nice: !opts.yDomain },
  }, OP);
  const ok = (v: number): boolean => Number.isFinite(v) && (!logY || v > 0);
  const data: string[] = [];
  const px = (v: number): string => fmt(fr.x.map(v));
  const py = (v: number): string => fmt(fr.y.map(v));
  // Bands first (under every line), then lines, then markers.
  series.forEach((s, i) => {
    if (!s.lo || !s.hi) return;
    let run: number[] = [];
    const flush = (): void => {
      if (run.length >= 2) {
        const up = run.map((j) => `${px(s.x[j])},${py(s.hi![j])}`);
        const down = run.slice().reverse().map((j) => `${px(s.x[j])},${py(s.lo![j])}`);
        data.push(`<path d="M${[...up, ...down].join('L')}Z" fill="${colors[i]}" fill-opacity="0.18" stroke="none"/>`);
      } else if (run.length === 1) {
        const j = run[0];
        data.push(`<line x1="${px(s.x[j])}" y1="${py(s.lo![j])}" x2="${px(s.x[j])}" y2="${py(s.hi![j])}" stroke="${colors[i]}" stroke-opacity="0.5" stroke-width="3"/>`);
      }
      run = [];
    };
    for (let j = 0; j < counts[i]; ++j) (ok(s.lo[j]) && ok(s.hi[j]) ? run.push(j) : flush());
    flush();
  });
  series.forEach((s, i) => {
    let d = '';
    let pen = false;
    for (let j = 0; j < counts[i]; ++j) {
      if (!ok(s.y[j])) { pen = false; continue; }
      d += `${pen ? 'L' : 'M'}${px(s.x[j])},${py(s.y[j])}`;
      pen = true;
    }
    if (d) data.push(`<path d="${d}" fill="none" stroke="${colors[i]}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
  });
  if (markers) series.forEach((s, i) => { for (let j = 0; j < counts[i]; ++j) if (ok(s.y[j])) data.push(marker(shapes[i], fr.x.map(s.x[j]), fr.y.map(s.y[j]), 3.5, colors[i])); });
  return svgDocument(W, H, [...fr.under, `<g clip-path="url(#${fr.clipId})">`, ...data, '</g>', ...fr.over]);
}
