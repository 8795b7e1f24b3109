/**
 * report.ts — writes one or more layerwiseMi results as report.json (everything, re-readable),
 * report.md (tables of every layer with CIs, the calibration, the protocol and seeds, the plots
 * embedded) and the plots (SVG + PNG): I(X; T) per layer, I(T; Y) per layer, information plane.
 *
 * Glossary: run = one result (a model, or one protocol on a model), drawn as one line / path.
 */
import * as path from 'path';
import { writeFileAtomic } from '../audio/wav';
import { infoPlaneSvg, lineChartSvg, writePlot } from '../plot';
import type { LineSeries } from '../plot/line';
import type { PathSeries } from '../plot/path';
import { LayerwiseMiResult, MiValue } from './types';

export interface ReportOptions {
  title: string;
  outDir: string;
  /** Names of the runs (default: each result's `label`, else 'run 1', ...). */
  labels?: string[];
  /** PNG scale (default 2). */
  scale?: number;
}

export interface ReportFiles {
  json: string;
  md: string;
  plots: Record<string, { svg: string; png: string }>;
}

const f3 = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(3));
const ci = (v: MiValue | null | undefined): string => (v?.ci ? `[${f3(v.ci[0])}, ${f3(v.ci[1])}]` : '–');
const pct = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(1)}%`);
const esc = (s: string): string => s.replace(/\|/g, '\\|');

function ixtTable(r: LayerwiseMiResult): string[] {
  const paper = r.protocol === 'paper';
  const head = paper
    ? ['| layer | name | I(X; T) nats | 95% CI (utterances) | utterances | skipped |', '|---:|---|---:|---|---:|---:|']
    : ['| layer | name | d | k (variance kept) | I(X; T̃) nats | 95% CI | ceiling | calibration at this level |', '|---:|---|---:|---|---:|---|---|---|'];
  return [...head, ...r.layers.map((l) => {
    if (paper) return `| ${l.index} | ${esc(l.name)} | ${f3(l.ixt.nats)} | ${ci(l.ixt)} | ${l.utterances ?? '–'} | ${l.skipped ?? 0} |`;
    const c = l.ixt.calibration;
    const cal = c ? `true ${f3(c.truth)}, read ${f3(c.nats)} (${c.relError >= 0 ? '+' : ''}${pct(c.relError)})` : '–';
    const ceil = l.ixt.ceiling ? `${f3(l.ixt.ceiling.nats)} (${esc(l.ixt.ceiling.kind)})` : '–';
    return `| ${l.index} | ${esc(l.name)} | ${l.dim} | ${l.k} (${pct(l.explained)}) | ${f3(l.ixt.nats)} | ${ci(l.ixt)} | ${ceil} | ${cal} |`;
  })];
}

function ityTable(r: LayerwiseMiResult): string[] {
  if (!r.y) return [];
  return [
    '| layer | name | probe H(Y) − CE | 95% CI | probe accuracy (chance) | critic I(T; Y) | 95% CI |',
    '|---:|---|---:|---|---|---:|---|',
    ...r.layers.map((l) => {
      const p = l.ity?.probe;
      const c = l.ity?.critic;
      return `| ${l.index} | ${esc(l.name)} | ${f3(p?.nats)} | ${ci(p)} | ${p ? `${pct(p.accuracy)} (${pct(p.chance)})` : '–'} | ${f3(c?.nats)} | ${ci(c)} |`;
    }),
  ];
}

function calibrationTable(r: LayerwiseMiResult): string[] {
  const c = r.calibration;
  if (!c) return [];
  return [
    `Gaussian frames with known MI, the same pipeline: dX = ${c.dX}, dT = ${c.dT}, N = ${c.n}, ${c.k === null ? 'no PCA' : `PCA k = ${c.k}`}, σ = ${c.sigma}, the same estimator options and seeds (${c.seconds.toFixed(1)} s).`,
    '',
    '| level | true MI of the reduced variables | estimate | 95% CI | relative error |',
    '|---:|---:|---:|---|---:|',
    ...c.points.map((p) => `| ${f3(p.level)} | ${f3(p.truth)} | ${f3(p.nats)} | ${p.ci ? `[${f3(p.ci[0])}, ${f3(p.ci[1])}]` : '–'} | ${p.relError >= 0 ? '+' : ''}${pct(p.relError)} |`),
  ];
}

/**
 * Writes the report of `results` (one or several runs) into `outDir` (created): report.json,
 * report.md and the plots ixt / ity / plane as .svg and .png, every file atomically. Returns the
 * paths. Errors start with `[analysis.report]`.
 */
export function report(results: LayerwiseMiResult | LayerwiseMiResult[], opts: ReportOptions): ReportFiles {
  const op = 'analysis.report';
  const runs = Array.isArray(results) ? results : [results];
  if (runs.length === 0 || runs.some((r) => !r || !Array.isArray(r.layers))) throw new Error(`[${op}] results must be layerwiseMi results (one or an array)`);
  if (!opts || typeof opts.title !== 'string' || typeof opts.outDir !== 'string' || !opts.outDir) throw new Error(`[${op}] options need { title, outDir }`);
  if (opts.labels && opts.labels.length !== runs.length) throw new Error(`[${op}] labels has ${opts.labels.length} names for ${runs.length} results`);
  const labels = runs.map((r, i) => opts.labels?.[i] ?? r.label ?? (runs.length === 1 ? (r.protocol === 'paper' ? 'paper protocol' : 'model') : `run ${i + 1}`));
  const dir = opts.outDir;
  const png = { scale: opts.scale ?? 2 };
  const plots: ReportFiles['plots'] = {};

  const ixtSeries: LineSeries[] = runs.map((r, i) => ({
    name: `${labels[i]}${r.protocol === 'paper' && !/paper/i.test(labels[i]) ? ' (paper protocol)' : ''}`,
    x: r.layers.map((l) => l.index),
    y: r.layers.map((l) => l.ixt.nats),
    lo: r.layers.map((l) => l.ixt.ci?.[0] ?? NaN),
    hi: r.layers.map((l) => l.ixt.ci?.[1] ?? NaN),
    dash: r.protocol === 'paper' ? '6 3' : undefined,
  }));
  const corrected = runs.find((r) => r.protocol === 'corrected');
  const sigma = corrected ? Number((corrected.options as { noise?: number }).noise ?? 0) : 0;
  plots.ixt = writePlot(path.join(dir, 'ixt'), lineChartSvg(ixtSeries, {
    title: `${opts.title}: I(X; T) per layer`, xLabel: 'layer (0 = encoder input)',
    yLabel: sigma > 0 ? `I(X; T + σZ), σ = ${sigma} (nats)` : 'I(X; T) (nats)',
  }), png);
  const withY = runs.map((r, i) => ({ r, i })).filter(({ r }) => r.y);
  if (withY.length) {
    const s: LineSeries[] = [];
    for (const { r, i } of withY) {
      const pr = r.layers.map((l) => l.ity?.probe);
      if (pr.some(Boolean)) s.push({ name: `${labels[i]} (probe)`, x: r.layers.map((l) => l.index), y: pr.map((p) => p?.nats ?? NaN), lo: pr.map((p) => p?.ci?.[0] ?? NaN), hi: pr.map((p) => p?.ci?.[1] ?? NaN) });
      const cr = r.layers.map((l) => l.ity?.critic);
      if (cr.some(Boolean)) s.push({ name: `${labels[i]} (critic)`, x: r.layers.map((l) => l.index), y: cr.map((c) => c?.nats ?? NaN), lo: cr.map((c) => c?.ci?.[0] ?? NaN), hi: cr.map((c) => c?.ci?.[1] ?? NaN), dash: '6 3' });
    }
    if (s.length) {
      plots.ity = writePlot(path.join(dir, 'ity'), lineChartSvg(s, { title: `${opts.title}: I(T; Y) per layer`, xLabel: 'layer (0 = encoder input)', yLabel: 'I(T; Y) (nats)' }), png);
      const plane: PathSeries[] = withY.map(({ r, i }) => ({
        name: labels[i],
        points: r.layers.map((l) => {
          const yv = l.ity?.probe ?? l.ity?.critic ?? null;
          return { x: l.ixt.nats, y: yv?.nats ?? NaN, label: String(l.index), xLo: l.ixt.ci?.[0], xHi: l.ixt.ci?.[1], yLo: yv?.ci?.[0], yHi: yv?.ci?.[1] };
        }).filter((pt) => Number.isFinite(pt.x) && Number.isFinite(pt.y)),
      })).filter((p) => p.points.length > 0);
      if (plane.length) {
        plots.plane = writePlot(path.join(dir, 'plane'), infoPlaneSvg(plane, {
          title: `${opts.title}: information plane`,
          xLabel: sigma > 0 ? `I(X; T + σZ), σ = ${sigma} (nats)` : 'I(X; T) (nats)',
          yLabel: withY.some(({ r }) => r.layers.some((l) => l.ity?.probe)) ? 'I(T; Y) probe bound (nats)' : 'I(T; Y) (nats)',
        }), png);
      }
    }
  }

  const md: string[] = [`# ${opts.title}`, '', `Generated ${new Date().toISOString()} by mamba-speech analysis.layerwiseMi (${runs.length} run${runs.length > 1 ? 's' : ''}).`, ''];
  md.push('![I(X; T) per layer](ixt.png)', '', '[SVG](ixt.svg)', '');
  if (plots.ity) md.push('![I(T; Y) per layer](ity.png)', '', '[SVG](ity.svg)', '');
  if (plots.plane) md.push('![Information plane](plane.png)', '', '[SVG](plane.svg)', '');
  runs.forEach((r, i) => {
    md.push(`## ${labels[i]}${r.protocol === 'paper' && !/paper/i.test(labels[i]) ? ' — paper protocol' : ''}`, '', '### Protocol', '', ...r.protocolText.map((s) => `- ${s}`), '');
    md.push(`X: ${r.x.kind}, ${r.x.dim} dims${r.x.k !== r.x.dim ? ` → ${r.x.k} components (${pct(r.x.explained)} of its variance)` : ''}.`);
    if (r.y) md.push(`Y: ${r.y.kind}, ${r.y.classes} classes, ${r.y.labelled} labelled frames, plug-in H(Y) = ${f3(r.y.entropy)} nats.`);
    md.push(`Frames: ${r.frames.n} from ${r.frames.utterances} utterances in ${r.frames.batches} batches (${r.frames.validFrames} valid frames seen, subsampling ${r.frames.subsampling}). Seeds: ${r.seeds.join(', ')}.`, '');
    md.push('### I(X; T) per layer', '', ...ixtTable(r), '');
    if (r.y) md.push('### I(T; Y) per layer', '', ...ityTable(r), '');
    if (r.calibration) md.push('### Matched calibration', '', ...calibrationTable(r), '');
    md.push('### What is comparable', '', ...r.comparability.map((s) => `- ${s}`), '');
    md.push('### Wall time', '', Object.entries(r.timings).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', '), '');
  });
  const jsonPath = path.join(dir, 'report.json');
  const mdPath = path.join(dir, 'report.md');
  writeFileAtomic(jsonPath, JSON.stringify({ title: opts.title, generated: new Date().toISOString(), labels, runs }, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  writeFileAtomic(mdPath, md.join('\n'));
  return { json: jsonPath, md: mdPath, plots };
}
