/**
 * path.ts — scatter/path charts: points joined in order, one colour per series, each point
 * labelled (layer numbers on the information plane), optional error bars on both axes.
 *
 * Glossary:
 *   point    { x, y, label?, xLo?, xHi?, yLo?, yHi? }; label defaults to the point's index
 *   label placement  greedy, in series then point order: the first of 8 spots around the point
 *            (right, above, left, below, then the diagonals; then the same at twice the distance)
 *            whose box stays inside the plot area and overlaps no marker and no label placed so
 *            far; a point with no free spot keeps its marker and goes unlabelled (counted in a
 *            note under the legend), so labels never overlap
 */
import { checkSize, extentOf, fmt, layoutFrame, LegendEntry, marker, MarkerShape, noteEl, PALETTE, SHAPES, svgDocument, textEl } from './frame';
import { textWidth } from './text';

export interface PathPoint {
  x: number;
  y: number;
  label?: string;
  xLo?: number;
  xHi?: number;
  yLo?: number;
  yHi?: number;
}

export interface PathSeries {
  name: string;
  points: PathPoint[];
  color?: string;
}

export interface PathChartOptions {
  title?: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Label each point (default true). */
  labels?: boolean;
  /** Hollow marker on the first point of each series, to show where the path starts (default true). */
  markStart?: boolean;
}

const OP = 'plot.pathChartSvg';
const LABEL_FONT = 10;

interface Box { x0: number; y0: number; x1: number; y1: number }
const overlaps = (a: Box, b: Box): boolean => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

/**
 * An SVG chart of paths through the plane (see PathSeries / PathChartOptions); the information
 * plane is `infoPlaneSvg`. Returns the SVG text. Errors start with `[plot.pathChartSvg]`.
 */
export function pathChartSvg(series: PathSeries[], opts: PathChartOptions): string {
  if (!Array.isArray(series) || series.length === 0) throw new Error(`[${OP}] series must be a non-empty array`);
  if (!opts || typeof opts.xLabel !== 'string' || typeof opts.yLabel !== 'string') throw new Error(`[${OP}] options need xLabel and yLabel strings`);
  const [W, H] = checkSize(OP, opts.width, opts.height, 640, 480);
  series.forEach((s, i) => {
    if (!s || typeof s.name !== 'string' || !Array.isArray(s.points)) throw new Error(`[${OP}] series ${i} must be { name, points: [{ x, y }] }`);
    s.points.forEach((p, j) => {
      if (!p || !Number.isFinite(p.x) || !Number.isFinite(p.y)) throw new Error(`[${OP}] series ${i} ('${s.name}') point ${j} needs finite x and y, got ${JSON.stringify(p)}`);
    });
  });
  const all = series.flatMap((s) => s.points);
  const xs = extentOf(all.flatMap((p) => [p.x, p.xLo ?? NaN, p.xHi ?? NaN]), false);
  const ys = extentOf(all.flatMap((p) => [p.y, p.yLo ?? NaN, p.yHi ?? NaN]), false);
  if (!xs || !ys) throw new Error(`[${OP}] no point to draw`);
  const colors = series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]);
  const shapes = series.map((_, i) => SHAPES[i % SHAPES.length]);
  const legend: LegendEntry[] = series.map((s, i) => ({ name: s.name, color: colors[i], shape: shapes[i] }));
  // Labels are placed after the layout; when some find no room, the layout is redone with a note
  // under the legend saying how many (the note can widen the legend and move every point).
  const pr = { W, H, xs, ys, colors, shapes, legend };
  const first = draw(series, opts, pr, []);
  return first.skipped ? draw(series, opts, pr, [hiddenNote(Math.max(first.skipped, 99))]).svg : first.svg;
}

const hiddenNote = (n: number): string => `${n} label${n > 1 ? 's' : ''} hidden (crowded)`;

interface Prepared {
  W: number; H: number; xs: [number, number]; ys: [number, number];
  colors: string[]; shapes: MarkerShape[]; legend: LegendEntry[];
}

function draw(series: PathSeries[], opts: PathChartOptions, pr: Prepared, notes: string[]): { svg: string; skipped: number } {
  const { W, H, xs, ys, colors, shapes, legend } = pr;
  const pts = series.flatMap((s) => s.points);
  const fr = layoutFrame({
    width: W, height: H, title: opts.title, legend, notes,
    x: { label: opts.xLabel, extent: xs, nice: true },
    y: { label: opts.yLabel, extent: ys, nice: true },
  }, OP);
  const X = (v: number): number => fr.x.map(v);
  const Y = (v: number): number => fr.y.map(v);
  const data: string[] = [];
  series.forEach((s, i) => {
    const c = colors[i];
    for (const p of s.points) {
      if (p.xLo !== undefined && p.xHi !== undefined && Number.isFinite(p.xLo) && Number.isFinite(p.xHi)) {
        data.push(`<line x1="${fmt(X(p.xLo))}" y1="${fmt(Y(p.y))}" x2="${fmt(X(p.xHi))}" y2="${fmt(Y(p.y))}" stroke="${c}" stroke-opacity="0.55" stroke-width="1.2"/>`);
      }
      if (p.yLo !== undefined && p.yHi !== undefined && Number.isFinite(p.yLo) && Number.isFinite(p.yHi)) {
        data.push(`<line x1="${fmt(X(p.x))}" y1="${fmt(Y(p.yLo))}" x2="${fmt(X(p.x))}" y2="${fmt(Y(p.yHi))}" stroke="${c}" stroke-opacity="0.55" stroke-width="1.2"/>`);
      }
    }
    if (s.points.length > 1) {
      data.push(`<path d="M${s.points.map((p) => `${fmt(X(p.x))},${fmt(Y(p.y))}`).join('L')}" fill="none" stroke="${c}" stroke-width="1.6" stroke-opacity="0.85" stroke-linejoin="round"/>`);
    }
  });
  const R = 4;
  series.forEach((s, i) => s.points.forEach((p, j) => data.push(marker(shapes[i], X(p.x), Y(p.y), R, colors[i], j === 0 && opts.markStart !== false && s.points.length > 1))));

  // Labels: greedy placement against markers and earlier labels.
  const labels: string[] = [];
  let skipped = 0;
  if (opts.labels !== false) {
    const taken: Box[] = pts.map((p) => ({ x0: X(p.x) - R - 1, y0: Y(p.y) - R - 1, x1: X(p.x) + R + 1, y1: Y(p.y) + R + 1 }));
    const { left, top, right, bottom } = fr.box;
    series.forEach((s, i) => s.points.forEach((p, j) => {
      const text = p.label ?? String(j);
      const w = textWidth(text, LABEL_FONT);
      const h = LABEL_FONT + 1;
      const cx = X(p.x);
      const cy = Y(p.y);
      for (const dist of [R + 2, 2 * R + 6]) {
        const spots: [number, number][] = [[dist, -h / 2], [-w / 2, -dist - h], [-dist - w, -h / 2], [-w / 2, dist],
          [dist * 0.8, -dist * 0.8 - h], [-dist * 0.8 - w, -dist * 0.8 - h], [-dist * 0.8 - w, dist * 0.8], [dist * 0.8, dist * 0.8]];
        const hit = spots.map(([dx, dy]) => ({ x0: cx + dx, y0: cy + dy, x1: cx + dx + w, y1: cy + dy + h }))
          .find((b) => b.x0 >= left && b.x1 <= right && b.y0 >= top && b.y1 <= bottom && !taken.some((t) => overlaps(t, b)));
        if (hit) {
          taken.push(hit);
          labels.push(textEl(hit.x0, hit.y1 - 2.5, text, { size: LABEL_FONT, fill: colors[i], halo: true }));
          return;
        }
      }
      skipped += 1;
    }));
  }
  if (skipped && fr.noteSlots.length) labels.push(noteEl(fr.noteSlots[0], hiddenNote(skipped)));
  return { svg: svgDocument(W, H, [...fr.under, `<g clip-path="url(#${fr.clipId})">`, ...data, '</g>', ...labels, ...fr.over]), skipped };
}

/** The information plane: one path per model through (I(X;T_l), I(T_l;Y)), points labelled with
 *  the layer index l, CIs as error bars. Same as pathChartSvg with the axis labels filled in. */
export function infoPlaneSvg(series: PathSeries[], opts: Partial<PathChartOptions> = {}): string {
  return pathChartSvg(series, { xLabel: 'I(X; T) (nats)', yLabel: 'I(T; Y) (nats)', title: 'Information plane', ...opts });
}
