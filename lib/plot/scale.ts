/**
 * scale.ts — axis scales and "nice" ticks (1, 2, 5 × 10^k steps; decades on log axes), and the
 * tick-label format that shows every tick with the fewest digits that tell them apart.
 *
 * Glossary:
 *   domain   [lo, hi] in data units          range   [a, b] in px
 *   step     distance between ticks (data units); ticks are integer multiples of it
 */

export interface Scale {
  /** data -> px */
  map(v: number): number;
  domain: [number, number];
  log: boolean;
}

export function linearScale(domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return { map: (v) => r0 + (v - d0) * k, domain, log: false };
}

export function logScale(domain: [number, number], range: [number, number]): Scale {
  const l0 = Math.log10(domain[0]);
  const lin = linearScale([l0, Math.log10(domain[1])], range);
  return { map: (v) => lin.map(Math.log10(v)), domain, log: true };
}

/** The nice step (1, 2, 2.5, 5 × 10^k) nearest to span / count from above. */
export function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  const m = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return m * p;
}

/** Ticks k·step inside [lo, hi] (float noise removed). */
export function ticksWithStep(lo: number, hi: number, step: number): number[] {
  const out: number[] = [];
  const eps = step * 1e-9;
  for (let k = Math.ceil((lo - eps) / step); k * step <= hi + eps; ++k) out.push(+(k * step).toPrecision(12));
  return out;
}

/** [lo, hi] widened to multiples of the nice step for about `count` intervals. */
export function niceDomain(lo: number, hi: number, count: number): { domain: [number, number]; step: number } {
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep(hi - lo, count);
  return { domain: [Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step], step };
}

/** Decimal places that show multiples of `step` exactly (0.25 -> 2, 5 -> 0). */
export function decimalsFor(step: number): number {
  for (let d = 0; d < 12; ++d) if (Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) < 1e-6) return d;
  return 12;
}

/** Tick label: fixed point with `decimals`, or 1e-5 style when the magnitude needs it. */
export function formatTick(v: number, decimals: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || decimals > 4) {
    const [m, e] = v.toExponential().split('e');
    return `${+(+m).toPrecision(3)}e${+e}`.replace(/-/g, '−');
  }
  return v.toFixed(decimals).replace('-', '−');
}

/**
 * Log-axis ticks for [lo, hi] (lo > 0): 1-2-5, 1-3 or 1 per decade, the densest set giving at
 * most `maxCount` ticks (then every k-th decade). With `nice`, the domain widens to the nearest
 * ticks of the chosen set, so both ends carry a label.
 */
export function logTicks(lo: number, hi: number, maxCount: number, nice = false): { values: number[]; domain: [number, number] } {
  const snap = (v: number, mults: number[], down: boolean): number => {
    const e = Math.floor(Math.log10(v));
    const c: number[] = [];
    for (let k = e - 1; k <= e + 1; ++k) for (const m of mults) c.push(+(m * 10 ** k).toPrecision(12));
    return down ? Math.max(...c.filter((x) => x <= v * (1 + 1e-12))) : Math.min(...c.filter((x) => x >= v * (1 - 1e-12)));
  };
  for (const mults of [[1, 2, 5], [1, 3], [1]]) {
    const d: [number, number] = nice ? [snap(lo, mults, true), snap(hi, mults, false)] : [lo, hi];
    const within = (v: number): boolean => v >= d[0] * (1 - 1e-9) && v <= d[1] * (1 + 1e-9);
    const t: number[] = [];
    for (let e = Math.floor(Math.log10(d[0]) + 1e-9); e <= Math.ceil(Math.log10(d[1]) - 1e-9); ++e) {
      for (const m of mults) if (within(m * 10 ** e)) t.push(+(m * 10 ** e).toPrecision(12));
    }
    if (t.length <= maxCount && t.length >= 2) return { values: t, domain: d };
  }
  const d: [number, number] = nice ? [10 ** Math.floor(Math.log10(lo) + 1e-9), 10 ** Math.ceil(Math.log10(hi) - 1e-9)] : [lo, hi];
  const e0 = Math.ceil(Math.log10(d[0]) - 1e-9);
  const e1 = Math.floor(Math.log10(d[1]) + 1e-9);
  const every = Math.max(1, Math.ceil((e1 - e0 + 1) / Math.max(1, maxCount)));
  const t: number[] = [];
  for (let e = e0; e <= e1; e += every) t.push(+(10 ** e).toPrecision(12));
  return { values: t.length ? t : [lo, hi], domain: d };
}

/** Log-tick label: 0.01, 1, 100 as plain numbers; beyond 1e-3 .. 1e5 as 1e-4 / 1e6. */
export function formatLogTick(v: number): string {
  const e = Math.log10(v);
  if (e >= -3 && e <= 5) return String(+v.toPrecision(6));
  const [m, x] = v.toExponential().split('e');
  return `${+m === 1 ? '' : `${+(+m).toPrecision(3)}×`}1e${+x}`.replace(/-/g, '−');
}
