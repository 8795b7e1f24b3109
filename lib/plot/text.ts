/**
 * text.ts — text measurement and escaping for the SVG writer.
 *
 * Glossary:
 *   em       the font size in px; advance widths below are in thousandths of an em
 *   advance  horizontal distance a glyph moves the pen (DejaVu Sans, read from its hmtx table)
 *
 * Charts place labels before any renderer sees them, so widths are estimated from DejaVu Sans's
 * advance widths (the font the charts ask for first; Liberation Sans / Arial are within ~10% of
 * it, and the layout leaves that much slack). Unknown characters count as 0.65 em.
 */

/** DejaVu Sans advance widths (1/1000 em) of ASCII 32..126, from DejaVuSans.ttf (2048 units/em). */
const ASCII = [318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636, 636, 636,
  636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748,
  787, 603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635,
  634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838];

const EXTRA: Record<string, number> = {
  'σ': 634, 'τ': 602, 'ρ': 635, 'μ': 636, 'θ': 612, 'Δ': 684, '−': 838, '–': 500, '—': 1000, '·': 318, '×': 838,
  '≤': 838, '≥': 838, '≈': 838, '±': 838, '²': 401, '³': 401, '₀': 401, '₁': 401, '₂': 401, 'ℓ': 413, '→': 838, '…': 1000,
};

/** The font-family list every chart asks for; the PNG renderer resolves it (see png.ts). */
export const FONT_FAMILY = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';

/** Estimated width in px of `s` at font size `size` px (bold adds ~8%). */
export function textWidth(s: string, size: number, bold = false): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    w += c >= 32 && c <= 126 ? ASCII[c - 32] : EXTRA[ch] ?? 650;
  }
  return (w / 1000) * size * (bold ? 1.08 : 1);
}

/** `s` cut to at most `maxWidth` px at `size`, ending in '…' when cut. */
export function truncate(s: string, size: number, maxWidth: number, bold = false): string {
  if (textWidth(s, size, bold) <= maxWidth) return s;
  const chars = Array.from(s);
  while (chars.length > 0 && textWidth(chars.join('') + '…', size, bold) > maxWidth) chars.pop();
  return chars.join('') + '…';
}

/** Escapes text for an SVG text node or attribute value. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** Undoes escapeXml (and numeric character references), for the built-in stroke font. */
export function unescapeXml(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e];
  });
}
