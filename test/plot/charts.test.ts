/**
 * charts.test.ts — the SVG charts: nice ticks, data mapped to the right pixels, gaps and bands,
 * no two labels overlapping (every <text> box, estimated with the layout's own metrics, checked
 * pairwise), input errors.
 */
import { plot } from '../../lib';
import { logTicks, niceStep, ticksWithStep } from '../../lib/plot/scale';

interface TextBox { s: string; x0: number; x1: number; y0: number; y1: number; rotated: boolean; size: number; anchor: string }

/** Every <text> of an SVG as its box (font size from the element, width from plot.textWidth). */
function textBoxes(svg: string): TextBox[] {
  const out: TextBox[] = [];
  for (const m of svg.matchAll(/<text\b([^>]*)>([^<]*)<\/text>/g)) {
    const a = (n: string): string => (new RegExp(`${n}="([^"]*)"`).exec(m[1]) as RegExpExecArray)[1];
    const s = m[2].replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
    const size = +a('font-size');
    const x = +a('x');
    const y = +a('y');
    const w = plot.textWidth(s, size, /bold/.test(m[1]));
    const anchor = a('text-anchor');
    const x0 = anchor === 'middle' ? x - w / 2 : anchor === 'end' ? x - w : x;
    out.push({ s, x0, x1: x0 + w, y0: y - size * 0.75, y1: y + size * 0.2, rotated: /rotate/.test(m[1]), size, anchor });
  }
  return out;
}

function expectNoOverlap(svg: string): void {
  const b = textBoxes(svg).filter((t) => !t.rotated && t.s.trim());
  for (let i = 0; i < b.length; ++i) {
    for (let j = i + 1; j < b.length; ++j) {
      const o = b[i].x0 < b[j].x1 && b[j].x0 < b[i].x1 && b[i].y0 < b[j].y1 && b[j].y0 < b[i].y1;
      if (o) throw new Error(`labels overlap: '${b[i].s}' [${b[i].x0.toFixed(1)}..${b[i].x1.toFixed(1)}, ${b[i].y0.toFixed(1)}..${b[i].y1.toFixed(1)}] and '${b[j].s}' [${b[j].x0.toFixed(1)}..${b[j].x1.toFixed(1)}, ${b[j].y0.toFixed(1)}..${b[j].y1.toFixed(1)}]`);
    }
  }
}

const texts = (svg: string): string[] => textBoxes(svg).map((t) => t.s);

test('nice steps and ticks', () => {
  expect(niceStep(12, 6)).toBe(2);
  expect(niceStep(1, 4)).toBe(0.25);
  expect(niceStep(0.037, 5)).toBeCloseTo(0.01, 12);
  expect(niceStep(7300, 4)).toBe(2000);
  expect(ticksWithStep(-0.25, 1.75, 0.25)).toEqual([-0.25, 0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75]);
  expect(ticksWithStep(0.1, 0.3, 0.1)).toEqual([0.1, 0.2, 0.3]);          // no 0.30000000000000004
  expect(logTicks(0.067, 5.2, 8, true)).toEqual({ values: [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10], domain: [0.05, 10] });
  expect(logTicks(0.067, 5.2, 6, true)).toEqual({ values: [0.03, 0.1, 0.3, 1, 3, 10], domain: [0.03, 10] });
  expect(logTicks(0.067, 5.2, 5, true)).toEqual({ values: [0.01, 0.1, 1, 10], domain: [0.01, 10] });
  expect(logTicks(1, 1e8, 5).values).toEqual([1, 100, 10000, 1e6, 1e8]);
});

test('lineChartSvg: points land on their pixels, layers get integer ticks, bands and gaps', () => {
  const x = Array.from({ length: 13 }, (_, i) => i);
  const y = x.map((i) => 3 - 0.2 * i);
  y[6] = NaN;                                                           // a gap
  const svg = plot.lineChartSvg([
    { name: 'model A', x, y, lo: y.map((v) => v - 0.3), hi: y.map((v) => v + 0.3) },
    { name: 'model B with a long name that must not push the plot away', x, y: x.map((i) => 1 + 0.05 * i) },
  ], { title: 'I(X; T) per layer', xLabel: 'layer', yLabel: 'I(X; T) (nats)' });
  expectNoOverlap(svg);
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="720" height="440"')).toBe(true);
  const labels = texts(svg);
  for (const l of ['0', '1', '2', '6', '12', 'I(X; T) per layer', 'layer', 'I(X; T) (nats)', 'model A']) expect(labels).toContain(l);
  expect(labels.some((l) => l.startsWith('model B') && l.endsWith('…'))).toBe(true);
  const xTicks = textBoxes(svg).filter((t) => t.size === 11 && t.anchor === 'middle');
  expect(xTicks.map((t) => t.s)).toEqual(x.map(String));               // every layer, no fractional ticks

  // Circles of series A: x pixel linear in the layer index, y pixel linear in the value.
  const circles = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [+m[1], +m[2]]);
  expect(circles.length).toBe(13);                                      // 13 points, one gap, the legend swatch last
  circles.pop();
  const [p0, p1] = [circles[0], circles[1]];
  const dx = p1[0] - p0[0];
  const dyPerNat = (p1[1] - p0[1]) / -0.2;
  circles.forEach(([cx, cy], k) => {
    const i = k < 6 ? k : k + 1;
    expect(Math.abs(cx - (p0[0] + dx * i))).toBeLessThan(0.1);             // coordinates are written to 0.01 px
    expect(Math.abs(cy - (p0[1] + dyPerNat * (y[i] - 3)))).toBeLessThan(0.1);
  });
  // The line of A breaks at the gap: two sub-paths; the band too (two filled polygons).
  const linePaths = [...svg.matchAll(/<path d="([^"]*)" fill="none" stroke="#0072B2" stroke-width="2"/g)];
  expect(linePaths.length).toBe(1);
  expect(linePaths[0][1].match(/M/g)!.length).toBe(2);
  expect([...svg.matchAll(/fill="#0072B2" fill-opacity="0.18"/g)].length).toBe(2);
});

test('lineChartSvg: log axis, many series, small sizes keep labels apart', () => {
  const steps = Array.from({ length: 400 }, (_, i) => 1 + i * 25);
  const series = Array.from({ length: 9 }, (_, k) => ({ name: `run ${k}`, x: steps, y: steps.map((s) => (k + 1) * Math.exp(-s / 3000) + 0.01) }));
  for (const [w, h] of [[720, 440], [360, 240], [1200, 300]]) {
    const svg = plot.lineChartSvg(series, { xLabel: 'step', yLabel: 'loss', logY: true, width: w, height: h, title: 'Training loss of nine runs with a deliberately long title' });
    expectNoOverlap(svg);
    expect(svg).not.toContain('<circle');                                // > 40 points: no markers by default
  }
  const svg = plot.lineChartSvg([{ name: 'a', x: [0, 1, 2], y: [0, 1e-3, 2] }], { xLabel: 'x', yLabel: 'y', logY: true, markers: false });
  expect(texts(svg)).toContain('0.001');                                // y <= 0 left out on a log axis
});

test('pathChartSvg / infoPlaneSvg: labels avoid markers and each other; crowded ones are hidden and counted', () => {
  const model = (a: number) => Array.from({ length: 13 }, (_, i) => ({
    x: 4 * Math.exp(-i / (4 + a)) + 0.3, y: 1.5 * (1 - Math.exp(-i / 3)) + 0.1 * a,
    xLo: 4 * Math.exp(-i / (4 + a)) + 0.1, xHi: 4 * Math.exp(-i / (4 + a)) + 0.5,
  }));
  const svg = plot.infoPlaneSvg([{ name: 'A', points: model(0) }, { name: 'B', points: model(1) }]);
  expectNoOverlap(svg);
  const labels = texts(svg);
  expect(labels).toContain('I(X; T) (nats)');
  expect(labels).toContain('I(T; Y) (nats)');
  const layerLabels = labels.filter((l) => /^\d+$/.test(l) && +l <= 12).length;
  // 26 points; tick labels are also numbers, so count the layer labels by colour instead.
  const placed = [...svg.matchAll(/<text [^>]*fill="(#0072B2|#D55E00)"[^>]*>(\d+)<\/text>/g)].length;
  const hidden = /(\d+) labels? hidden/.exec(svg);
  expect(placed + (hidden ? +hidden[1] : 0)).toBe(26);
  expect(placed).toBeGreaterThan(18);
  expect(layerLabels).toBeGreaterThan(0);
  // Label boxes never cover a (circle) marker's centre.
  const boxes = textBoxes(svg).filter((b) => /^\d+$/.test(b.s));
  const centres = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [+m[1], +m[2]]);
  expect(centres.length).toBe(14);                                      // 13 points + the legend's swatch
  for (const [cx, cy] of centres) for (const b of boxes) expect(cx > b.x0 && cx < b.x1 && cy > b.y0 && cy < b.y1).toBe(false);
  // Many points on top of each other: most labels hidden, none overlapping.
  const pile = plot.pathChartSvg([{ name: 'pile', points: Array.from({ length: 30 }, (_, i) => ({ x: i % 3, y: i % 2 })) }], { xLabel: 'x', yLabel: 'y' });
  expectNoOverlap(pile);
  expect(pile).toMatch(/\d+ labels hidden \(crowded\)/);
});

test('bad input is answered with [plot.*] errors', () => {
  expect(() => plot.lineChartSvg([], { xLabel: 'x', yLabel: 'y' })).toThrow('[plot.lineChartSvg] series must be a non-empty array');
  expect(() => plot.lineChartSvg([{ name: 'a', x: [1, 2, 3], y: [1, 2] }], { xLabel: 'x', yLabel: 'y' }))
    .toThrow("[plot.lineChartSvg] series 0 ('a') y must have 3 values like x, got 2");
  expect(() => plot.lineChartSvg([{ name: 'a', x: [1, NaN], y: [1, 2] }], { xLabel: 'x', yLabel: 'y' })).toThrow("x[1] = NaN is not finite");
  expect(() => plot.lineChartSvg([{ name: 'a', x: [1, 2], y: [NaN, NaN] }], { xLabel: 'x', yLabel: 'y' })).toThrow('no finite point');
  expect(() => plot.lineChartSvg([{ name: 'a', x: [1, 2], y: [1, 2] }], { xLabel: 'x', yLabel: 'y', width: 50 })).toThrow('[plot.lineChartSvg] width must be a number of px in [120, 10000], got 50');
  expect(() => plot.pathChartSvg([{ name: 'a', points: [{ x: 1, y: Infinity }] }], { xLabel: 'x', yLabel: 'y' })).toThrow("[plot.pathChartSvg] series 0 ('a') point 0 needs finite x and y");
});
