/**
 * png.test.ts — SVG -> PNG: a real PNG of the asked size, text that actually draws ink (with the
 * installed fonts and with the built-in stroke font used where none exist), atomic writes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { plot } from '../../lib';
import { textToStrokes } from '../../lib/plot/strokefont';

/** Decodes an 8-bit RGBA, non-interlaced PNG (what resvg writes) into its pixels. */
function decodePng(buf: Buffer): { w: number; h: number; px: Buffer } {
  expect(buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  let at = 8;
  let w = 0;
  let h = 0;
  const idat: Buffer[] = [];
  while (at < buf.length) {
    const len = buf.readUInt32BE(at);
    const type = buf.toString('ascii', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      w = data.readUInt32BE(0);
      h = data.readUInt32BE(4);
      expect([data[8], data[9], data[12]]).toEqual([8, 6, 0]);
    }
    if (type === 'IDAT') idat.push(data);
    at += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const px = Buffer.alloc(w * h * 4);
  const stride = w * 4;
  for (let y = 0; y < h; ++y) {
    const f = raw[y * (stride + 1)];
    for (let x = 0; x < stride; ++x) {
      const cur = raw[y * (stride + 1) + 1 + x];
      const a = x >= 4 ? px[y * stride + x - 4] : 0;
      const b = y > 0 ? px[(y - 1) * stride + x] : 0;
      const c = x >= 4 && y > 0 ? px[(y - 1) * stride + x - 4] : 0;
      const p = a + b - c;
      const pr = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      px[y * stride + x] = (cur + [0, a, b, (a + b) >> 1, pr][f]) & 255;
    }
  }
  return { w, h, px };
}

/** Dark pixels (luma < 128) inside [x0, x1) x [y0, y1). */
function ink(img: { w: number; px: Buffer }, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; ++y) for (let x = x0; x < x1; ++x) {
    const i = (y * img.w + x) * 4;
    if (0.3 * img.px[i] + 0.59 * img.px[i + 1] + 0.11 * img.px[i + 2] < 128) n++;
  }
  return n;
}

const TEXT_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60" font-family="DejaVu Sans, sans-serif">'
  + '<text x="100" y="35" font-size="20" text-anchor="middle" fill="#000">I(X; T) 1.25</text></svg>';

test.each(['auto', 'builtin'] as const)('svgToPng draws text (fonts: %s) at the asked scale', (fonts) => {
  const img = decodePng(plot.svgToPng(TEXT_SVG, { scale: 2, fonts }));
  expect([img.w, img.h]).toEqual([400, 120]);
  const inside = ink(img, 60, 20, 340, 90);
  expect(inside).toBeGreaterThan(800);                                  // ~12 glyphs of 40 px strokes
  expect(ink(img, 0, 0, 400, 120)).toBe(inside);                        // nothing outside the text's box
  // 'auto' uses the system fonts where there are some (DejaVu on the CI machine), else the built-in strokes.
  if (fonts === 'auto') expect(plot.fontStatus().system).toBe(fs.existsSync('/usr/share/fonts/truetype/dejavu'));
});

test('built-in stroke font: every <text> becomes paths (halo under the glyphs), unknown characters as boxes', () => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="40"><text x="10" y="20" font-size="12" text-anchor="start" fill="#f00" stroke="#fff" stroke-width="3" paint-order="stroke">σ &amp; <tspan>x</tspan></text></svg>';
  const out = textToStrokes(svg);
  expect(out).not.toContain('<text');
  const paths = [...out.matchAll(/<path d="([^"]*)" fill="none" stroke="([^"]*)"/g)];
  expect(paths.map((p) => p[2])).toEqual(['#fff', '#f00']);
  expect(paths[0][1]).toBe(paths[1][1]);
  expect(paths[1][1].split('M').length - 1).toBeGreaterThanOrEqual(1 + 1 + 1 + 2);  // σ: 2 strokes, &: box, x: 2
});

test('writePlot writes .svg and .png atomically; a failed render writes nothing', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-plot-'));
  const svg = plot.lineChartSvg([{ name: 'a', x: [0, 1, 2], y: [1, 2, 1.5] }], { xLabel: 'x', yLabel: 'y' });
  const out = plot.writePlot(path.join(dir, 'sub', 'chart'), svg, { scale: 1 });
  expect(out).toEqual({ svg: path.join(dir, 'sub', 'chart.svg'), png: path.join(dir, 'sub', 'chart.png') });
  expect(fs.readFileSync(out.svg, 'utf8')).toBe(svg);
  const img = decodePng(fs.readFileSync(out.png));
  expect([img.w, img.h]).toEqual([720, 440]);
  expect(fs.readdirSync(path.join(dir, 'sub')).sort()).toEqual(['chart.png', 'chart.svg']);
  expect(() => plot.writePlot(path.join(dir, 'bad'), '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><path d="M0,0L"')).toThrow('[plot.svgToPng] resvg could not render the SVG');
  expect(() => plot.svgToPng('hello')).toThrow("[plot.svgToPng] expected SVG text, got 'hello'");
  expect(() => plot.svgToPng(svg, { scale: 0 })).toThrow('[plot.svgToPng] scale must be a number in (0, 16], got 0');
  expect(fs.readdirSync(dir).sort()).toEqual(['sub']);
  fs.rmSync(dir, { recursive: true, force: true });
});
