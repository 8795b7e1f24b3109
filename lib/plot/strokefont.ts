/**
 * strokefont.ts — a built-in single-stroke font, so that charts render readable text where no
 * font file exists (a bare container): svgToPng replaces each <text> with stroked paths.
 *
 * Glossary:
 *   unit     glyph coordinates: baseline y = 0, x-height 7, cap height 10, descenders to -3,
 *            y up; one em = 14 units (cap height 0.71 em, as DejaVu Sans' 0.73)
 *   glyph    { w: advance in units (2 units of spacing are added), d: strokes }
 *   strokes  'M x y' starts a stroke, 'L x y' continues it, 'Z' closes it,
 *            'A cx cy rx ry a0 a1' continues it along an elliptic arc from angle a0 to a1
 *            (degrees, counter-clockwise when a1 > a0), starting a stroke when none is open
 * Covers ASCII 32..126 (except & and @, drawn as boxes like every other unknown character) and
 * σ τ ρ μ θ Δ − – — · × ≤ ≥ ≈ ± ² ³ ₀ ₁ ₂ ℓ → … (what the charts and MI reports write).
 */
import { unescapeXml } from './text';

interface Glyph { w: number; d: string; scale?: number; dy?: number }

const S_UPPER = 'A 3.5 7.5 3.3 2.5 20 270 A 3.5 2.5 3.5 2.5 90 -160';
const G: Record<string, Glyph> = {
  ' ': { w: 3.5, d: '' },
  '0': { w: 7, d: 'A 3.5 5 3.5 5 0 360' },
  '1': { w: 7, d: 'M 1.5 8 L 3.5 10 L 3.5 0 M 1 0 L 6 0' },
  '2': { w: 7, d: 'A 3.5 7 3.3 3 160 -35 L 0 0 L 7 0' },
  '3': { w: 7, d: 'A 3.5 7.5 3 2.5 150 -90 A 3.5 2.6 3.4 2.6 90 -150' },
  '4': { w: 7, d: 'M 5.5 0 L 5.5 10 L 0 3 L 7 3' },
  '5': { w: 7, d: 'M 6.5 10 L 1 10 L 0.6 5.6 A 3.5 3.3 3.4 3.3 140 -150' },
  '6': { w: 7, d: 'A 3.5 3.2 3.5 3.2 0 360 M 0 3.2 L 0 6 A 4 6 4 4 180 60' },
  '7': { w: 7, d: 'M 0 10 L 7 10 L 2 0' },
  '8': { w: 7, d: 'A 3.5 7.6 2.9 2.4 0 360 M 3.5 5.2 A 3.5 2.6 3.5 2.6 90 450' },
  '9': { w: 7, d: 'A 3.5 6.8 3.5 3.2 0 360 M 7 6.8 L 7 4 A 3 4 4 4 0 -120' },
  'A': { w: 7, d: 'M 0 0 L 3.5 10 L 7 0 M 1.3 3.5 L 5.7 3.5' },
  'B': { w: 7, d: 'M 0 0 L 0 10 L 4 10 A 4 7.6 2.4 2.4 90 -90 L 0 5.2 M 4 5.2 A 4.2 2.6 2.6 2.6 90 -90 L 0 0' },
  'C': { w: 7.5, d: 'A 3.9 5 3.9 5 40 320' },
  'D': { w: 7, d: 'M 0 0 L 0 10 L 3 10 A 3 5 4 5 90 -90 L 0 0' },
  'E': { w: 6.5, d: 'M 6.5 10 L 0 10 L 0 0 L 6.5 0 M 0 5.2 L 5.5 5.2' },
  'F': { w: 6.5, d: 'M 6.5 10 L 0 10 L 0 0 M 0 5.2 L 5.5 5.2' },
  'G': { w: 8, d: 'A 4 5 4 5 40 355 L 4.8 4.6' },
  'H': { w: 7, d: 'M 0 0 L 0 10 M 7 0 L 7 10 M 0 5.2 L 7 5.2' },
  'I': { w: 3, d: 'M 0 0 L 3 0 M 1.5 0 L 1.5 10 M 0 10 L 3 10' },
  'J': { w: 5, d: 'M 5 10 L 5 2.5 A 2.5 2.5 2.5 2.5 0 -180' },
  'K': { w: 7, d: 'M 0 0 L 0 10 M 6.5 10 L 0 3.5 M 2 5.5 L 7 0' },
  'L': { w: 6, d: 'M 0 10 L 0 0 L 6 0' },
  'M': { w: 8, d: 'M 0 0 L 0 10 L 4 3 L 8 10 L 8 0' },
  'N': { w: 7, d: 'M 0 0 L 0 10 L 7 0 L 7 10' },
  'O': { w: 8, d: 'A 4 5 4 5 0 360' },
  'P': { w: 6.6, d: 'M 0 0 L 0 10 L 4 10 A 4 7.4 2.6 2.6 90 -90 L 0 4.8' },
  'Q': { w: 8, d: 'A 4 5 4 5 0 360 M 4.8 2.2 L 8 -1' },
  'R': { w: 7, d: 'M 0 0 L 0 10 L 4 10 A 4 7.4 2.6 2.6 90 -90 L 0 4.8 M 3.5 4.8 L 7 0' },
  'S': { w: 7, d: S_UPPER },
  'T': { w: 7, d: 'M 0 10 L 7 10 M 3.5 10 L 3.5 0' },
  'U': { w: 7, d: 'M 0 10 L 0 3.5 A 3.5 3.5 3.5 3.5 180 360 L 7 10' },
  'V': { w: 7, d: 'M 0 10 L 3.5 0 L 7 10' },
  'W': { w: 9, d: 'M 0 10 L 2.2 0 L 4.5 7 L 6.8 0 L 9 10' },
  'X': { w: 7, d: 'M 0 10 L 7 0 M 0 0 L 7 10' },
  'Y': { w: 7, d: 'M 0 10 L 3.5 5 L 7 10 M 3.5 5 L 3.5 0' },
  'Z': { w: 7, d: 'M 0 10 L 7 10 L 0 0 L 7 0' },
  'a': { w: 6, d: 'A 3 3.5 3 3.5 0 360 M 6 7 L 6 0' },
  'b': { w: 6, d: 'M 0 10 L 0 0 M 0 3.5 A 3 3.5 3 3.5 180 540' },
  'c': { w: 6, d: 'A 3.2 3.5 3.2 3.5 45 315' },
  'd': { w: 6, d: 'A 3 3.5 3 3.5 0 360 M 6 10 L 6 0' },
  'e': { w: 6.4, d: 'M 0.1 3.6 L 6.3 3.6 A 3.2 3.5 3.1 3.5 0 320' },
  'f': { w: 5, d: 'M 5 9.6 A 3.6 8.2 1.5 1.6 60 180 L 2.1 0 M 0 7 L 4.5 7' },
  'g': { w: 6, d: 'A 3 3.5 3 3.5 0 360 M 6 7 L 6 -0.5 A 3 -0.5 3 2.5 0 -160' },
  'h': { w: 6, d: 'M 0 10 L 0 0 M 0 4 A 3 4 3 3 180 0 L 6 0' },
  'i': { w: 2, d: 'M 1 0 L 1 7 M 1 9 L 1 9.6' },
  'j': { w: 3, d: 'M 2.5 7 L 2.5 -1.5 A 1 -1.5 1.5 1.5 0 -160 M 2.5 9 L 2.5 9.6' },
  'k': { w: 6, d: 'M 0 10 L 0 0 M 5.5 7 L 0 2.5 M 2 4 L 6 0' },
  'l': { w: 2, d: 'M 1 10 L 1 0' },
  'm': { w: 10, d: 'M 0 7 L 0 0 M 0 4.5 A 2.5 4.5 2.5 2.5 180 0 L 5 0 M 5 4.5 A 7.5 4.5 2.5 2.5 180 0 L 10 0' },
  'n': { w: 6, d: 'M 0 7 L 0 0 M 0 4 A 3 4 3 3 180 0 L 6 0' },
  'o': { w: 6.4, d: 'A 3.2 3.5 3.2 3.5 0 360' },
  'p': { w: 6, d: 'M 0 7 L 0 -3 M 0 3.5 A 3 3.5 3 3.5 180 540' },
  'q': { w: 6, d: 'A 3 3.5 3 3.5 0 360 M 6 7 L 6 -3' },
  'r': { w: 4.5, d: 'M 0 7 L 0 0 M 0 4 A 3.5 4 3.5 3 180 70' },
  's': { w: 5.6, d: 'A 2.8 5.3 2.6 1.7 20 270 A 2.8 1.7 2.9 1.7 90 -160' },
  't': { w: 4.6, d: 'M 1.8 9.5 L 1.8 1.5 A 3.3 1.5 1.5 1.5 180 300 M 0 7 L 4.5 7' },
  'u': { w: 6, d: 'M 0 7 L 0 3 A 3 3 3 3 180 360 M 6 7 L 6 0' },
  'v': { w: 6, d: 'M 0 7 L 3 0 L 6 7' },
  'w': { w: 8, d: 'M 0 7 L 2 0 L 4 5.5 L 6 0 L 8 7' },
  'x': { w: 6, d: 'M 0 7 L 6 0 M 0 0 L 6 7' },
  'y': { w: 6, d: 'M 0 7 L 3 0 M 6 7 L 2 -3 L 0.5 -3' },
  'z': { w: 6, d: 'M 0 7 L 6 7 L 0 0 L 6 0' },
  '.': { w: 2, d: 'M 1 0 L 1 0.6' },
  ',': { w: 2, d: 'M 1.2 0.5 L 0.2 -2' },
  ':': { w: 2, d: 'M 1 0 L 1 0.6 M 1 5 L 1 5.6' },
  ';': { w: 2, d: 'M 1 5 L 1 5.6 M 1.2 0.5 L 0.2 -2' },
  '-': { w: 4, d: 'M 0 4 L 4 4' },
  '+': { w: 7, d: 'M 0 4 L 7 4 M 3.5 0.5 L 3.5 7.5' },
  '=': { w: 7, d: 'M 0 2.5 L 7 2.5 M 0 5.5 L 7 5.5' },
  '<': { w: 7, d: 'M 7 8 L 0 4 L 7 0' },
  '>': { w: 7, d: 'M 0 8 L 7 4 L 0 0' },
  '(': { w: 3, d: 'A 4.5 3.75 4 7.2 120 240' },
  ')': { w: 3, d: 'A -1.5 3.75 4 7.2 60 -60' },
  '[': { w: 3, d: 'M 2.5 10 L 0.5 10 L 0.5 -2.5 L 2.5 -2.5' },
  ']': { w: 3, d: 'M 0.5 10 L 2.5 10 L 2.5 -2.5 L 0.5 -2.5' },
  '{': { w: 3, d: 'M 3 10 L 2 10 L 1.5 9 L 1.5 5 L 0 3.75 L 1.5 2.5 L 1.5 -1.5 L 2 -2.5 L 3 -2.5' },
  '}': { w: 3, d: 'M 0 10 L 1 10 L 1.5 9 L 1.5 5 L 3 3.75 L 1.5 2.5 L 1.5 -1.5 L 1 -2.5 L 0 -2.5' },
  '/': { w: 4, d: 'M 0 -1 L 4 10' },
  '\\': { w: 4, d: 'M 0 10 L 4 -1' },
  '|': { w: 2, d: 'M 1 10.5 L 1 -2.5' },
  '%': { w: 8, d: 'A 1.8 8 1.6 2 0 360 M 7 10 L 1 0 M 7.8 2 A 6.2 2 1.6 2 0 360' },
  '_': { w: 7, d: 'M 0 -1.5 L 7 -1.5' },
  '!': { w: 2, d: 'M 1 10 L 1 3 M 1 0 L 1 0.6' },
  '?': { w: 6, d: 'A 3 7.5 3 2.5 160 -60 L 3 3.5 L 3 2.8 M 3 0 L 3 0.6' },
  '*': { w: 6, d: 'M 3 10 L 3 4 M 0.4 8.5 L 5.6 5.5 M 0.4 5.5 L 5.6 8.5' },
  '#': { w: 8.5, d: 'M 2.5 0 L 3.5 10 M 5.5 0 L 6.5 10 M 0.5 3.5 L 8 3.5 M 1 6.5 L 8.5 6.5' },
  '$': { w: 7, d: `${S_UPPER} M 3.5 11 L 3.5 -1` },
  '^': { w: 6, d: 'M 0 7 L 3 10 L 6 7' },
  '~': { w: 7, d: 'M 0 4 L 2 5.5 L 4.5 4 L 7 5.5' },
  '`': { w: 2.5, d: 'M 0.5 10 L 2 8.5' },
  "'": { w: 2, d: 'M 1 10 L 1 7.5' },
  '"': { w: 4, d: 'M 1 10 L 1 7.5 M 3 10 L 3 7.5' },
  'σ': { w: 7, d: 'A 3 3.2 3 3.2 0 360 M 3 6.4 L 7 6.4' },
  'τ': { w: 6, d: 'M 0 7 L 6 7 M 3 7 L 3 1 A 4.3 1 1.3 1 180 300' },
  'ρ': { w: 6, d: 'A 3 3.5 3 3.5 0 360 M 0 3.5 L 0 -3' },
  'μ': { w: 6, d: 'M 0 7 L 0 -3 M 0 3 A 3 3 3 3 180 360 M 6 7 L 6 0' },
  'θ': { w: 6, d: 'A 3 5 3 5 0 360 M 0 5 L 6 5' },
  'Δ': { w: 7.5, d: 'M 0 0 L 3.75 10 L 7.5 0 Z' },
  '−': { w: 7, d: 'M 0 4 L 7 4' },
  '–': { w: 5, d: 'M 0 4 L 5 4' },
  '—': { w: 10, d: 'M 0 4 L 10 4' },
  '·': { w: 2, d: 'M 1 4 L 1 4.6' },
  '×': { w: 7, d: 'M 0.5 1 L 6.5 7 M 0.5 7 L 6.5 1' },
  '≤': { w: 7, d: 'M 7 9 L 0 6 L 7 3 M 0 1 L 7 1' },
  '≥': { w: 7, d: 'M 0 9 L 7 6 L 0 3 M 0 1 L 7 1' },
  '≈': { w: 7, d: 'M 0 3 L 2 4 L 4.5 3 L 7 4 M 0 5.5 L 2 6.5 L 4.5 5.5 L 7 6.5' },
  '±': { w: 7, d: 'M 0 5 L 7 5 M 3.5 1.5 L 3.5 8.5 M 0 0 L 7 0' },
  '→': { w: 9, d: 'M 0 4 L 9 4 M 6 7 L 9 4 L 6 1' },
  '…': { w: 8, d: 'M 1 0 L 1 0.6 M 4 0 L 4 0.6 M 7 0 L 7 0.6' },
  'ℓ': { w: 2, d: 'M 1 10 L 1 0' },
};
const SCRIPT: Record<string, [string, number]> = { '²': ['2', 5], '³': ['3', 5], '₀': ['0', -2], '₁': ['1', -2], '₂': ['2', -2] };
for (const [ch, [base, dy]] of Object.entries(SCRIPT)) G[ch] = { ...G[base], scale: 0.6, dy };
const BOX: Glyph = { w: 6, d: 'M 0 0 L 6 0 L 6 10 L 0 10 Z' };

const EM = 14;

const glyphOf = (ch: string): Glyph => G[ch] ?? BOX;

/** Advance of `s` in px at font size `size` in the stroke font. */
export function strokeTextWidth(s: string, size: number): number {
  let w = 0;
  for (const ch of s) {
    const g = glyphOf(ch);
    w += (g.w * (g.scale ?? 1) + 2) * (size / EM);
  }
  return w;
}

/** Path data of one glyph placed with its origin at (ox, oy) px, k px per unit (SVG y down). */
function glyphPath(g: Glyph, ox: number, oy: number, k: number): string {
  const sc = (g.scale ?? 1) * k;
  const dy = (g.dy ?? 0) * k;
  const P = (x: number, y: number): string => `${(ox + x * sc).toFixed(2)},${(oy - dy - y * sc).toFixed(2)}`;
  const tok = g.d.split(/\s+/).filter(Boolean);
  let out = '';
  let open = false;
  for (let i = 0; i < tok.length;) {
    const c = tok[i++];
    if (c === 'M' || c === 'L') {
      const x = +tok[i++];
      const y = +tok[i++];
      out += `${c === 'L' && open ? 'L' : 'M'}${P(x, y)}`;
      open = true;
    } else if (c === 'Z') {
      out += 'Z';
    } else if (c === 'A') {
      const [cx, cy, rx, ry, a0, a1] = tok.slice(i, i + 6).map(Number);
      i += 6;
      const n = Math.max(4, Math.ceil(Math.abs(a1 - a0) / 12));
      for (let s = 0; s <= n; ++s) {
        const a = ((a0 + ((a1 - a0) * s) / n) * Math.PI) / 180;
        out += `${open ? 'L' : 'M'}${P(cx + rx * Math.cos(a), cy + ry * Math.sin(a))}`;
        open = true;
      }
    } else {
      throw new Error(`[plot.strokefont] bad glyph command '${c}'`);
    }
  }
  return out;
}

/** Stroked outline of `s` as path data, for text at (x, y) (baseline) with `anchor`. */
export function strokeTextPath(s: string, x: number, y: number, size: number, anchor: string): string {
  const k = size / EM;
  const w = strokeTextWidth(s, size);
  let pen = anchor === 'middle' ? x - w / 2 : anchor === 'end' ? x - w : x;
  let d = '';
  for (const ch of s) {
    const g = glyphOf(ch);
    d += glyphPath(g, pen + k, y, k);
    pen += (g.w * (g.scale ?? 1) + 2) * k;
  }
  return d;
}

const attr = (attrs: string, name: string): string | undefined => new RegExp(`(?:^|\\s)${name}="([^"]*)"`).exec(attrs)?.[1];

/**
 * `svg` with every <text> element replaced by stroked paths in the built-in font (position,
 * size, anchor, weight, fill and transform kept; nested tags such as <tspan> are flattened).
 */
export function textToStrokes(svg: string): string {
  return svg.replace(/<text\b([^>]*)>([\s\S]*?)<\/text>/g, (_, attrs: string, body: string) => {
    const text = unescapeXml(body.replace(/<[^>]*>/g, ''));
    const size = parseFloat(attr(attrs, 'font-size') ?? '12') || 12;
    const x = parseFloat(attr(attrs, 'x') ?? '0') || 0;
    const y = parseFloat(attr(attrs, 'y') ?? '0') || 0;
    const bold = /bold|[6-9]00/.test(attr(attrs, 'font-weight') ?? '');
    const fill = attr(attrs, 'fill') ?? '#000';
    const tr = attr(attrs, 'transform');
    const d = strokeTextPath(text, x, y, size, attr(attrs, 'text-anchor') ?? 'start');
    const sw = size * (bold ? 0.12 : 0.08);
    const t = tr ? ` transform="${tr}"` : '';
    const line = (colour: string, width: number): string => `<path d="${d}" fill="none" stroke="${colour}" stroke-width="${width.toFixed(2)}" stroke-linecap="round" stroke-linejoin="round"${t}/>`;
    // A text stroke (a halo under the glyphs, paint-order="stroke") becomes a wider path beneath.
    const halo = attr(attrs, 'stroke');
    const haloW = parseFloat(attr(attrs, 'stroke-width') ?? '1') || 1;
    return (halo && halo !== 'none' ? line(halo, sw + haloW) : '') + line(fill, sw);
  });
}
