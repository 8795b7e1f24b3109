/**
 * figures.ts — the comparable numbers of a benchmark's JSON, and the comparison against a
 * baseline that a GPU CI job fails on.
 *
 * Glossary:
 *   figure      one measured number with a direction, named by its JSON path under the
 *               benchmark's name: `matmul.cpu.1024.GFLOPs` (higher is better),
 *               `selective_scan.cpu.fwdMs` (lower is better)
 *   direction   from the leaf's name: times (seconds, ms, us, *Seconds, *Ms, *_ms, and the names
 *               a benchmark lists as times) are lower-better; rates (GBps, *FLOPs, *_flops (FLOP/s),
 *               steps/s, real-time factors) higher-better; anything else (sizes, counts, settings,
 *               per-repeat `runs`) is not a figure
 *   references  numbers measured for comparison, not of this library (numpy*, torch*, ref*,
 *               goal*, target*), and the machine block, are never figures
 *   regression  lower-better: current > baseline · (1 + threshold); higher-better: current <
 *               baseline · (1 − threshold) (a 5% threshold fails a time 5% longer or a rate 5%
 *               lower than the baseline's)
 */

export type Direction = 'lower' | 'higher';

/** One comparable number. */
export interface Figure {
  value: number;
  better: Direction;
}

const LOWER = /^(seconds|ms|us|time|latency)$|[a-z0-9](Seconds|Ms|Us|Time|Latency)$|_(s|ms|us|seconds)$/;
const HIGHER = /(GBps|GFLOPs|TFLOPs|FLOPs|GFLOPS|TFLOPS|perSec|PerSec|perSecond|PerSecond|stepsPerSec|throughput|Throughput|realTime|RealTime|speedup|Speedup|_flops|_gbps)$/;
const SKIP_SEGMENT = /^(machine|date|args|options|config|runs)$|numpy|torch|^ref|Ref$|reference|goal|Goal|target|Target|All$/;
const SKIP_RATIO = /^(overheadRatio)$/;

/**
 * Figures of one benchmark's JSON, named `<prefix>.<path>`; `lowerKeys` names leaves that are
 * times without a unit in their name (autograd_overhead's `forward`).
 */
export function extractFigures(prefix: string, json: unknown, lowerKeys: readonly string[] = []): Record<string, Figure> {
  const out: Record<string, Figure> = {};
  const walk = (v: unknown, p: string[]): void => {
    if (typeof v === 'number') {
      const leaf = p[p.length - 1] ?? '';
      if (!Number.isFinite(v)) return;
      let better: Direction | null = null;
      if (HIGHER.test(leaf)) better = 'higher'; // first: 'realTime' is a rate, not a time
      else if (lowerKeys.includes(leaf) || LOWER.test(leaf) || SKIP_RATIO.test(leaf)) better = 'lower';
      if (better) out[[prefix, ...p].join('.')] = { value: v, better };
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, [...p, String(i)]));
      return;
    }
    if (v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (SKIP_SEGMENT.test(k)) continue;
      walk(x, [...p, k]);
    }
  };
  walk(json, []);
  return out;
}

/** One compared figure. */
export interface Comparison {
  name: string;
  better: Direction;
  baseline: number;
  current: number;
  /** relative change in the "worse" direction: +0.12 = 12% worse, negative = better */
  worse: number;
  regressed: boolean;
}

/** Compares every figure present in both; figures only in one side are listed separately. */
export function compareFigures(current: Record<string, Figure>, baseline: Record<string, Figure>, threshold: number): {
  compared: Comparison[]; regressions: Comparison[]; missing: string[]; added: string[];
} {
  const compared: Comparison[] = [];
  for (const [name, b] of Object.entries(baseline)) {
    const c = current[name];
    if (!c) continue;
    const worse = b.better === 'lower' ? c.value / b.value - 1 : 1 - c.value / b.value;
    compared.push({ name, better: b.better, baseline: b.value, current: c.value, worse, regressed: b.value > 0 && c.value > 0 ? worse > threshold + 1e-12 : false });
  }
  return {
    compared,
    regressions: compared.filter((c) => c.regressed),
    missing: Object.keys(baseline).filter((k) => !(k in current)),
    added: Object.keys(current).filter((k) => !(k in baseline)),
  };
}
