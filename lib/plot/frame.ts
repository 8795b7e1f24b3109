/**
 * frame.ts — what every chart shares: the layout of title, plot area, axes with nice ticks,
 * grid, axis labels and legend, so that no two labels overlap; the palette and marker shapes.
 *
 * Glossary:
 *   box      the plot area in px: left, top, right, bottom (SVG y grows downward)
 *   extent   [min, max] of the data on an axis (bands and error bars included)
 *   legend   one row per series (swatch + name) to the right of the plot area, outside it, so it
 *            never covers data; names are cut with '…' to keep the plot area ≥ 60% of the width
 *
 * Text is written in one fixed form (x, y, font-size, text-anchor, optional font-weight and
 * rotate transform, fill) that png.ts can turn into strokes when no font is installed.
 */
import { decimalsFor, formatLogTick, formatTick, linearScale, logScale, logTicks, niceDomain, niceStep, Scale, ticksWithStep } from './scale';
import { escapeXml, FONT_FAMILY, textWidth, truncate } from './text';

/** Colour-blind-safe categorical palette (Okabe–Ito, with black last). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#8B5A2B', '#7F7F7F', '#332288', '#000000'];
export type MarkerShape = 'circle' | 'square' | 'triangle' | 'diamond' | 'down';
export const SHAPES: MarkerShape[] = ['circle', 'square', 'triangle', 'diamond', 'down'];

const TICK_FONT = 11;
const LABEL_FONT = 13;
const TITLE_FONT = 15;
const LEGEND_FONT = 12;

export const fmt = (v: number): string => String(Math.round(v * 100) / 100);

/** One text element in the fixed form (see the module comment). */
export function textEl(x: number, y: number, s: string, o: { size: number; anchor?: 'start' | 'middle' | 'end'; bold?: boolean; rotate?: number; fill?: string; halo?: boolean }): string {
  const rot = o.rotate ? ` transform="rotate(${o.rotate},${fmt(x)},${fmt(y)})"` : '';
  const bold = o.bold ? ' font-weight="bold"' : '';
  // A white outline drawn under the glyphs keeps a label readable over lines and error bars.
  const halo = o.halo ? ' stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"' : '';
  return `<text x="${fmt(x)}" y="${fmt(y)}" font-size="${o.size}" text-anchor="${o.anchor ?? 'start'}"${bold}${rot} fill="${o.fill ?? '#222'}"${halo}>${escapeXml(s)}</text>`;
}

/** A marker of `shape` centred at (cx, cy) with radius r, as an SVG element. */
export function marker(shape: MarkerShape, cx: number, cy: number, r: number, color: string, hollow = false): string {
  const paint = hollow ? `fill="#fff" stroke="${color}" stroke-width="1.5"` : `fill="${color}" stroke="#fff" stroke-width="0.8"`;
  const p = (pts: [number, number][]): string => `<path d="M${pts.map(([a, b]) => `${fmt(cx + a)},${fmt(cy + b)}`).join('L')}Z" ${paint}/>`;
  switch (shape) {
    case 'circle': return `<circle cx="${fmt(cx)}" cy="${fmt(cy)}" r="${fmt(r)}" ${paint}/>`;
    case 'square': return p([[-r * 0.85, -r * 0.85], [r * 0.85, -r * 0.85], [r * 0.85, r * 0.85], [-r * 0.85, r * 0.85]]);
    case 'triangle': return p([[0, -r * 1.15], [r, r * 0.7], [-r, r * 0.7]]);
    case 'down': return p([[0, r * 1.15], [r, -r * 0.7], [-r, -r * 0.7]]);
    case 'diamond': return p([[0, -r * 1.2], [r, 0], [0, r * 1.2], [-r, 0]]);
  }
}

export interface AxisIn {
  label: string;
  /** [min, max] of everything drawn on this axis (finite; log axes: positive). */
  extent: [number, number];
  log?: boolean;
  /** Ticks at integers only (layer indices, epochs). */
  integer?: boolean;
  /** Widen the domain to whole ticks (y axes) or only pad it by `pad` of the span (x axes). */
  nice?: boolean;
  pad?: number;
}

export interface LegendEntry {
  name: string;
  color: string;
  shape?: MarkerShape;
  /** Draw a line in the swatch (line charts) or only the marker. */
  line?: boolean;
  dash?: string;
}

export interface FrameIn {
  width: number;
  height: number;
  title?: string;
  x: AxisIn;
  y: AxisIn;
  legend: LegendEntry[];
  /** Room for short grey lines under the legend (e.g. '2 labels hidden (crowded)'): the text
   *  sizes the legend; the caller draws them in `noteSlots` (it may know the final text later). */
  notes?: string[];
}

export interface Frame {
  x: Scale;
  y: Scale;
  box: { left: number; top: number; right: number; bottom: number };
  /** Background, title, grid, axes, labels (drawn under the data). */
  under: string[];
  /** Legend (drawn over the data). */
  over: string[];
  clipId: string;
  /** Where the caller's notes go (one per note that fits), drawn with noteEl. */
  noteSlots: NoteSlot[];
}

export interface NoteSlot { x: number; y: number; maxWidth: number }

/** A grey note line in a legend slot. */
export function noteEl(slot: NoteSlot, text: string): string {
  return textEl(slot.x, slot.y, truncate(text, 10, slot.maxWidth), { size: 10, fill: '#666' });
}

interface TickSet { values: number[]; labels: string[]; domain: [number, number] }

function ticksFor(ax: AxisIn, count: number): TickSet {
  let [lo, hi] = ax.extent;
  if (ax.log) {
    if (lo === hi) (lo /= 2), (hi *= 2);
    const { values, domain } = logTicks(lo, hi, Math.max(2, count), !!ax.nice);
    return { values, labels: values.map(formatLogTick), domain };
  }
  let step: number;
  let domain: [number, number];
  if (ax.nice) {
    ({ domain, step } = niceDomain(lo, hi, count));
  } else {
    if (lo === hi) (lo -= ax.integer ? 1 : Math.abs(lo) * 0.1 || 1), (hi += ax.integer ? 1 : Math.abs(hi) * 0.1 || 1);
    const pad = (hi - lo) * (ax.pad ?? 0);
    domain = [lo - pad, hi + pad];
    step = niceStep(hi - lo, count);
  }
  if (ax.integer) {
    step = Math.max(1, Math.round(step));
    if (step > 2 && step < 5) step = 5;
    if (step === 2.5) step = 2;
  }
  const values = ticksWithStep(domain[0], domain[1], step);
  const dec = decimalsFor(step);
  return { values, labels: values.map((v) => formatTick(v, dec)), domain };
}

/** Lays out a chart frame; see FrameIn. Throws `[plot] ...` when the size leaves no room to draw. */
export function layoutFrame(f: FrameIn, op: string): Frame {
  const { width: W, height: H } = f;
  const under: string[] = [`<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`];
  const over: string[] = [];
  const top = f.title ? 14 + TITLE_FONT + 12 : 14;
  const bottom = H - (8 + TICK_FONT + 8 + LABEL_FONT + 10);
  if (bottom - top < 60) throw new Error(`[${op}] height ${H} leaves ${Math.round(bottom - top)} px for the plot area; at least 60 needed`);

  // Legend: names cut so that it takes at most 35% of the width.
  const legendMax = W * 0.35;
  const names = f.legend.map((e) => truncate(e.name, LEGEND_FONT, legendMax - 44));
  const legendW = f.legend.length ? 36 + Math.max(...names.map((n) => textWidth(n, LEGEND_FONT)), ...(f.notes ?? []).map((n) => textWidth(n, 10) - 32)) + 12 : 0;
  const right = W - 14 - legendW;

  // y ticks: about one per 45 px; the left margin follows from their widest label.
  const yt = ticksFor(f.y, Math.max(2, Math.floor((bottom - top) / 45)));
  const yLabW = Math.max(...yt.labels.map((s) => textWidth(s, TICK_FONT)), 0);
  const left = 10 + LABEL_FONT + 10 + yLabW + 8;
  if (right - left < 80) throw new Error(`[${op}] width ${W} leaves ${Math.round(right - left)} px for the plot area; at least 80 needed`);
  const y = (f.y.log ? logScale : linearScale)(yt.domain, [bottom, top]);

  // x ticks: fewer until neighbouring labels keep an 8 px gap.
  // x ticks: start dense (one per 28 px: every layer of a 13-layer model in 400 px), then fewer
  // until neighbouring labels keep an 8 px gap.
  let xt = ticksFor(f.x, 2);
  for (let count = Math.floor((right - left) / 28); count >= 1; --count) {
    xt = ticksFor(f.x, Math.max(1, count));
    const xs = (f.x.log ? logScale : linearScale)(xt.domain, [left, right]);
    const ok = xt.values.every((v, i) => i === 0
      || xs.map(v) - xs.map(xt.values[i - 1]) >= (textWidth(xt.labels[i], TICK_FONT) + textWidth(xt.labels[i - 1], TICK_FONT)) / 2 + 8);
    if (ok) break;
  }
  const x = (f.x.log ? logScale : linearScale)(xt.domain, [left, right]);
  const box = { left, top, right, bottom };

  if (f.title) under.push(textEl((left + right) / 2, 14 + TITLE_FONT - 2, truncate(f.title, TITLE_FONT, W - 20, true), { size: TITLE_FONT, anchor: 'middle', bold: true }));
  // Grid and ticks.
  yt.values.forEach((v, i) => {
    const py = y.map(v);
    if (py < top - 0.5 || py > bottom + 0.5) return;
    under.push(`<line x1="${fmt(left)}" y1="${fmt(py)}" x2="${fmt(right)}" y2="${fmt(py)}" stroke="#e6e6e6" stroke-width="1"/>`);
    under.push(`<line x1="${fmt(left - 5)}" y1="${fmt(py)}" x2="${fmt(left)}" y2="${fmt(py)}" stroke="#444" stroke-width="1"/>`);
    under.push(textEl(left - 8, py + TICK_FONT * 0.35, yt.labels[i], { size: TICK_FONT, anchor: 'end', fill: '#333' }));
  });
  xt.values.forEach((v, i) => {
    const px = x.map(v);
    if (px < left - 0.5 || px > right + 0.5) return;
    under.push(`<line x1="${fmt(px)}" y1="${fmt(top)}" x2="${fmt(px)}" y2="${fmt(bottom)}" stroke="#f0f0f0" stroke-width="1"/>`);
    under.push(`<line x1="${fmt(px)}" y1="${fmt(bottom)}" x2="${fmt(px)}" y2="${fmt(bottom + 5)}" stroke="#444" stroke-width="1"/>`);
    under.push(textEl(px, bottom + 8 + TICK_FONT, xt.labels[i], { size: TICK_FONT, anchor: 'middle', fill: '#333' }));
  });
  under.push(`<path d="M${fmt(left)},${fmt(top)}V${fmt(bottom)}H${fmt(right)}" fill="none" stroke="#444" stroke-width="1"/>`);
  under.push(textEl((left + right) / 2, H - 10, truncate(f.x.label, LABEL_FONT, right - left), { size: LABEL_FONT, anchor: 'middle' }));
  const ly = (top + bottom) / 2;
  under.push(textEl(10 + LABEL_FONT, ly, truncate(f.y.label, LABEL_FONT, bottom - top), { size: LABEL_FONT, anchor: 'middle', rotate: -90 }));
  const clipId = `plot-${Math.abs(hash(JSON.stringify([f.title ?? '', f.x.label, f.y.label, W, H, names])))}`;
  under.push(`<defs><clipPath id="${clipId}"><rect x="${fmt(left)}" y="${fmt(top - 4)}" width="${fmt(right - left + 4)}" height="${fmt(bottom - top + 4)}"/></clipPath></defs>`);

  // Legend rows, 20 px apart, from the top of the plot area; then the notes. When they do not
  // all fit, the last row that fits says how many entries were left out.
  const notes = f.notes ?? [];
  const rows = Math.max(1, Math.floor((bottom - top - 8) / 20) + 1);
  const shown = f.legend.length + notes.length <= rows ? f.legend.length : Math.max(0, rows - notes.length - 1);
  f.legend.slice(0, shown).forEach((e, i) => {
    const ry = top + 8 + i * 20;
    const sx = right + 16;
    if (e.line !== false) over.push(`<line x1="${fmt(sx)}" y1="${fmt(ry)}" x2="${fmt(sx + 24)}" y2="${fmt(ry)}" stroke="${e.color}" stroke-width="2"${e.dash ? ` stroke-dasharray="${e.dash}"` : ''}/>`);
    if (e.shape) over.push(marker(e.shape, sx + 12, ry, 4, e.color));
    over.push(textEl(sx + 32, ry + LEGEND_FONT * 0.35, names[i], { size: LEGEND_FONT }));
  });
  const more = shown < f.legend.length ? 1 : 0;
  if (more) over.push(noteEl({ x: right + 16, y: top + 8 + shown * 20 + LEGEND_FONT * 0.35, maxWidth: W - right - 20 }, `+${f.legend.length - shown} more`));
  const noteSlots = notes.slice(0, Math.max(0, rows - shown - more))
    .map((_, k) => ({ x: right + 16, y: top + 8 + (shown + more + k) * 20 + LEGEND_FONT * 0.35, maxWidth: W - right - 20 }));
  return { x, y, box, under, over, clipId, noteSlots };
}

/** Wraps the parts in an <svg> document. */
export function svgDocument(W: number, H: number, parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT_FAMILY}">\n${parts.join('\n')}\n</svg>\n`;
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; ++i) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** [min, max] of the finite numbers of `vals` (log axes: positive ones), or null when none. */
export function extentOf(vals: Iterable<number>, log: boolean): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of vals) {
    if (!Number.isFinite(v) || (log && v <= 0)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : null;
}

/** Checks chart dimensions; returns [width, height]. */
export function checkSize(op: string, width: unknown, height: unknown, dw: number, dh: number): [number, number] {
  const w = width ?? dw;
  const h = height ?? dh;
  for (const [n, v] of [['width', w], ['height', h]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 120 || v > 10000) throw new Error(`[${op}] ${n} must be a number of px in [120, 10000], got ${JSON.stringify(v)}`);
  }
  return [w as number, h as number];
}
