/**
 * report.ts — stage 6 of the main job: report.json (every number, re-readable), report.md
 * (tables, verdict, embedded plots) and the plots (SVG + PNG) in the run folder.
 *
 * Plots
 *   mi-ixt        I(X; T̃_l) against layer, one line per (task, encoder), mean over seeds with the
 *                 95 % band over model seeds × estimator seeds
 *   mi-ity        probe I(T_l; Y) = H(Y) − CE against layer, likewise
 *   plane         the information plane: I(X; T̃_l) against I(T_l; Y), layers joined in order
 *   metrics       the headline metric per encoder (mean and 95 % interval over seeds), per task
 */
import * as path from 'path';
import type { LayerwiseMiResult } from '../analysis/types';
import { infoPlaneSvg, lineChartSvg, writePlot } from '../plot';
import type { LineSeries } from '../plot/line';
import type { PathSeries } from '../plot/path';
import { writeFileAtomic } from '../train/atomic';
import type { CorpusRecord } from './corpus';
import { hubertTable } from './hubert_report';
import type { HubertStageRecord } from './hubert_stage';
import type { MiRecord } from './mi_stage';
import type { MatchedEncoder } from './encoders';
import type { Preset } from './presets';
import { meanCi } from './stats';
import type { ModelResult } from './training';
import { corpusValue, ctcMetricLabel, summary, VerdictItem } from './verdict';

export interface RunInfo {
  preset: Preset;
  device: string;
  seeds: number[];
  startedAt: string;
  seconds: number;
  stageSeconds: Record<string, number>;
  version: string;
  /** a --dry-run: 10 steps per stage (on the CPU with shrunk models): the numbers mean nothing */
  dryRun?: boolean;
}

export interface ReportInput {
  outDir: string;
  info: RunInfo;
  corpus: CorpusRecord;
  encoders: { reconstruction: MatchedEncoder[]; classification: MatchedEncoder[]; enhancement?: MatchedEncoder[] };
  results: ModelResult[];
  mi: MiRecord[];
  verdict: VerdictItem[];
  baselines: { reconstructionMeanL1: number | null };
  /** stage 4's record (targets, encoders), or null when the preset has no HuBERT stage */
  hubert?: HubertStageRecord | null;
}

export interface ReportFiles {
  md: string;
  json: string;
  plots: Record<string, { svg: string; png: string }>;
}

const LABEL: Record<string, string> = { transformer: 'Transformer', conformer: 'Conformer', mamba: 'Mamba', bimamba: 'BiMamba', conbimamba: 'ConBiMamba', transbimamba: 'TransBiMamba' };
const TASK: Record<string, string> = { ctc: 'CTC', reconstruction: 'Recon', enhancement: 'Enh', 'hubert-ctc': 'HuBERT-CTC' };
const f3 = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(3));
const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
const f2 = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(2));

/** The enhancement results table: every test metric per encoder, mean ± 95 % CI over seeds, and
 *  the noisy input's own SI-SDR and STOI (what the models start from). Empty without models. */
function enhancementTable(results: readonly ModelResult[]): string[] {
  const enh = results.filter((r) => r.task === 'enhancement');
  if (!enh.length) return [];
  const cols: Array<[string, string]> = [['sisdr', 'SI-SDR [dB]'], ['sisdri', 'SI-SDRi [dB]'], ['stoi', 'STOI'], ['segsnr', 'segSNR [dB]'], ['lsd', 'LSD']];
  const cell = (vals: number[]) => {
    const v = vals.filter(Number.isFinite);
    if (!v.length) return '–';
    const m = meanCi(v);
    return m.n > 1 ? `${f2(m.mean)} ± ${f2((m.hi - m.lo) / 2)}` : f2(m.mean);
  };
  const out = ['### Speech enhancement (test pairs)', '', `| encoder | ${cols.map(([, h]) => h).join(' | ')} | utterances |`, `|---|${cols.map(() => '---:').join('|')}|---:|`];
  // the test pairs are the same for every model, so any model's noisy-input values serve
  out.push(`| noisy input | ${f2(enh[0].test.sisdrNoisy)} | 0.00 | ${f2(enh[0].test.stoiNoisy)} | – | – | ${enh[0].test.utterances ?? '–'} |`);
  for (const enc of [...new Set(enh.map((r) => r.encoder))]) {
    const rs = enh.filter((r) => r.encoder === enc);
    out.push(`| ${LABEL[enc] ?? enc} | ${cols.map(([k]) => cell(rs.map((r) => r.test[k]))).join(' | ')} | ${rs[0].test.utterances ?? '–'} |`);
  }
  out.push('', 'SI-SDR and segSNR against the clean reference (higher is better), SI-SDRi = SI-SDR − SI-SDR of the noisy input, STOI in [0, 1], LSD = log-spectral distance (lower is better); means over test utterances, ± the 95 % interval over seeds.', '');
  return out;
}

/** Per (task, encoder): layer-wise mean and 95 % band of a per-layer value pooled over seeds. */
function layerSeries(mi: readonly MiRecord[], pick: (r: LayerwiseMiResult, l: number) => number[] | null): LineSeries[] {
  const groups = new Map<string, MiRecord[]>();
  for (const m of mi) {
    const k = `${m.task}|${m.encoder}`;
    groups.set(k, [...(groups.get(k) ?? []), m]);
  }
  const out: LineSeries[] = [];
  for (const [k, recs] of groups) {
    const [task, enc] = k.split('|');
    const L = recs[0].corrected.layers.length;
    const x: number[] = [], y: number[] = [], lo: number[] = [], hi: number[] = [];
    for (let l = 0; l < L; ++l) {
      const vals = recs.flatMap((r) => pick(r.corrected, l) ?? []).filter(Number.isFinite);
      if (!vals.length) continue;
      const m = meanCi(vals);
      x.push(recs[0].corrected.layers[l].index); y.push(m.mean); lo.push(m.lo); hi.push(m.hi);
    }
    if (x.length) out.push({ name: `${LABEL[enc] ?? enc} ${TASK[task] ?? task}`, x, y, lo, hi, dash: task === 'reconstruction' ? '6 3' : task === 'enhancement' ? '2 3' : undefined });
  }
  return out;
}

/** Writes the report files of a finished run (every file atomically); returns their paths. */
export function writeReport(inp: ReportInput): ReportFiles {
  const { outDir, info, corpus, results } = inp;
  const plots: ReportFiles['plots'] = {};
  const real = corpus.source === 'librispeech';
  const M = ctcMetricLabel(results);
  const yName = real ? 'characters (CTC forced alignment)' : 'phones';
  const ixt = layerSeries(inp.mi, (r, l) => r.layers[l]?.ixt.perSeed ?? null);
  const ity = layerSeries(inp.mi, (r, l) => r.layers[l]?.ity?.probe?.perSeed ?? null);
  if (ixt.length) plots['mi-ixt'] = writePlot(path.join(outDir, 'mi-ixt'), lineChartSvg(ixt, { title: 'I(X; T) per layer (corrected protocol, 95% band)', xLabel: 'layer (0 = encoder input)', yLabel: 'I(X; T̃) [nats]', integerX: true }));
  if (ity.length) plots['mi-ity'] = writePlot(path.join(outDir, 'mi-ity'), lineChartSvg(ity, { title: `I(T; Y) per layer, Y = ${yName} (probe bound, 95% band)`, xLabel: 'layer (0 = encoder input)', yLabel: 'I(T; Y) [nats]', integerX: true }));
  if (ixt.length && ity.length) {
    const planes: PathSeries[] = ixt.filter((s) => ity.some((t) => t.name === s.name)).map((s) => {
      const t = ity.find((q) => q.name === s.name)!;
      return { name: s.name, points: Array.from(s.x, (xv, i) => ({ x: s.y[i], y: t.y[i], label: String(xv) })) };
    });
    if (planes.length) plots.plane = writePlot(path.join(outDir, 'plane'), infoPlaneSvg(planes, { title: 'Information plane (layers joined in order)', xLabel: 'I(X; T̃) [nats]', yLabel: 'I(T; Y) [nats]' }));
  }

  const md: string[] = [];
  const p = info.preset;
  md.push(`# mamba-speech reproduce — preset \`${p.name}\``, '');
  md.push(`*Rethinking Mamba in Speech Processing by Self-Supervised Models* (Zhang et al., 2024): do Mamba-based models excel at reconstruction but need extra modules for classification, and does the layer-wise mutual information show why?`, '');
  md.push(`Run of ${info.startedAt} on ${info.device}, mamba-speech ${info.version}; ${info.seeds.length} seeds (${info.seeds.join(', ')}); wall time ${(info.seconds / 60).toFixed(1)} min (${Object.entries(info.stageSeconds).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(', ')}).`, '');
  md.push(`Corpus: ${corpus.description ?? `built-in synth corpus, ${corpus.counts.train} / ${corpus.counts.dev} / ${corpus.counts.test} utterances (train / dev / test, speaker-disjoint), ${(corpus.audioHours * 60).toFixed(1)} minutes of audio; 80-d log-mel at 10 ms; ${corpus.tokenizer.tokens.length - 2} phones with exact alignments.`}`, '');

  md.push('## Verdict', '');
  md.push('Each claim is decided by a 95 % interval of the difference (hierarchical bootstrap over seeds and test utterances for task metrics; t-interval over seeds for the others): *supported* when the interval lies on the claimed side, *not supported* when it lies on the other side, *inconclusive* when it contains the boundary.', '');
  md.push('| | claim | measured | difference [95% CI] | decision |', '|---|---|---|---|---|');
  for (const v of inp.verdict) {
    const d = v.difference ? `${f3(v.difference.mean)} [${f3(v.difference.lo)}, ${f3(v.difference.hi)}]` : '–';
    md.push(`| ${v.id} | ${v.claim} | ${v.comparison} | ${d} | **${v.decision}**${v.note ? ` (${v.note})` : ''} |`);
  }
  md.push('');

  md.push('## Task results (test split)', '');
  md.push('| task | encoder | params (encoder) | metric | mean ± 95% CI over seeds | per seed | train time / model |', '|---|---|---:|---|---|---|---:|');
  const encs = [...new Set(results.map((r) => `${r.task}|${r.encoder}`))];
  for (const k of encs) {
    const [task, enc] = k.split('|');
    const rs = results.filter((r) => r.task === task && r.encoder === enc);
    const s = summary(results, task, enc)!;
    const ctc = task === 'ctc' || task === 'hubert-ctc';
    const fmt = ctc ? pct : task === 'enhancement' ? f2 : f3;
    const t = rs.reduce((a, r) => a + r.trainSeconds, 0) / rs.length;
    const what = ctc ? `${task === 'hubert-ctc' ? 'HuBERT + ' : ''}CTC ${M === 'CER' ? 'character' : 'phone'} recognition` : task === 'enhancement' ? 'speech enhancement' : 'masked-spectrogram reconstruction';
    const metric = ctc ? M : task === 'enhancement' ? 'SI-SDR [dB]' : 'masked-L1';
    md.push(`| ${what} | ${LABEL[enc] ?? enc} | ${(rs[0].parameters / 1e6).toFixed(2)} M (${(rs[0].encoderParameters / 1e6).toFixed(2)} M) | ${metric} | ${fmt(s.mean)}${s.n > 1 ? ` ± ${fmt((s.hi - s.lo) / 2)}` : ''} | ${rs.map((r) => fmt(corpusValue(r))).join(', ')} | ${t.toFixed(0)} s |`);
  }
  md.push('');
  if (inp.baselines.reconstructionMeanL1 !== null) md.push(`Trivial baselines: an empty CTC output has ${M} 100 %; predicting the training set's mean spectrum has masked-L1 ${f3(inp.baselines.reconstructionMeanL1)}.`, '');
  md.push(...enhancementTable(results));
  md.push(`Encoders of a task have equal depth (${p.model.layers}) and width (d ${p.model.dModel}); each family's size knob is set so the encoder parameter counts nearly match (FFN width for attention stacks, \`expand\` for Mamba stacks; ConBiMamba with FFN = d, expand 1 is the reference).`, '');
  md.push(...hubertTable(inp.hubert, results));

  md.push('## Layer-wise mutual information', '');
  md.push(`Corrected protocol: X = the model's input log-mel frames at the layer frame rate (the same X for every feature model; enhancement models read the noisy STFT magnitudes), T̃_l = the top principal components of layer l plus unit Gaussian noise (finite and comparable across layers), Y = ${real ? "characters of the reference transcript placed by CTC forced alignment with the seed's best-dev CTC model (the same Y for every model of a seed; none for VoiceBank enhancement models)" : 'exact phone labels'}; frames sampled across test utterances from valid lengths only; SMILE estimates with held-out evaluation; I(T; Y) as H(Y) − CE of a held-out linear probe. Full per-model tables, the matched calibration and the paper-protocol numbers are in \`5-analysis/\`.`, '');
  for (const [name, pl] of Object.entries(plots)) md.push(`![${name}](${path.basename(pl.png)})`, '');
  md.push('| model | ' + (inp.mi[0]?.corrected.layers.map((l) => `I(X;T) ${l.index}`).join(' | ') ?? '') + ' | rise | probe I(T;Y) last |', '|---|' + (inp.mi[0]?.corrected.layers.map(() => '---:').join('|') ?? '') + '|---:|---:|');
  for (const m of inp.mi) {
    const ls = m.corrected.layers;
    const rise = ls.length ? ls[ls.length - 1].ixt.nats - Math.min(...ls.map((l) => l.ixt.nats)) : NaN;
    md.push(`| ${m.model} | ${ls.map((l) => f3(l.ixt.nats)).join(' | ')} | ${f3(rise)} | ${f3(ls[ls.length - 1]?.ity?.probe?.nats)} |`);
  }
  md.push('');
  const paper = inp.mi.filter((m) => m.paper);
  if (paper.length) {
    md.push('Paper-compatible protocol (per-utterance DV, 1536-100-100-1 critic, batch 128, Adam 1e-4, X = hs0, padding included; utterances shorter than 128 frames skipped and counted):', '');
    md.push('| model | ' + paper[0].paper!.layers.map((l) => `I(X;T) ${l.index}`).join(' | ') + ' |', '|---|' + paper[0].paper!.layers.map(() => '---:').join('|') + '|');
    for (const m of paper) md.push(`| ${m.model} | ${m.paper!.layers.map((l) => f3(l.ixt.nats)).join(' | ')} |`);
    md.push('');
  }
  md.push('## How to read this', '');
  md.push('- Numbers come from this run only; rerun with another `--seeds` or preset to see how they move.');
  md.push('- With 2 seeds a t-interval over seeds is wide (t = 12.7); the bootstrap intervals also resample test utterances.');
  md.push(real ? '- LibriSpeech numbers are character error rates of greedy CTC decoding without a language model.' : '- The synth corpus is small and clean: it tests the mechanism, not LibriSpeech-level accuracy (`--preset paper` with `--data-root`).');
  if (info.dryRun) md.push('- This was a dry run: it validates the pipeline, not the sizes; its numbers mean nothing.');
  md.push('');

  const mdFile = path.join(outDir, 'report.md');
  const jsonFile = path.join(outDir, 'report.json');
  writeFileAtomic(mdFile, md.join('\n') + '\n');
  writeFileAtomic(jsonFile, JSON.stringify({ info, corpus, encoders: { ...inp.encoders, ...(inp.hubert ? { 'self-supervised': inp.hubert.encoders } : {}) }, ...(inp.hubert ? { hubertTargets: inp.hubert.targets } : {}), results, verdict: inp.verdict, baselines: inp.baselines, mi: inp.mi.map((m) => ({ ...m })), plots }, null, 1) + '\n');
  return { md: mdFile, json: jsonFile, plots };
}
