/**
 * verdict.ts — the paper's hypothesis as measured comparisons, each decided by a 95 % interval
 * (never asserted in advance):
 *
 *   R1 reconstruction   Mamba alone is not worse than the Transformer on masked-L1
 *                       (non-inferiority: Mamba − Transformer < 5 % of the Transformer's value)
 *   E1 enhancement      Mamba alone is not worse than the Transformer on SI-SDR (non-inferiority:
 *                       Transformer − Mamba < 0.5 dB; SI-SDR is in dB, where a relative margin
 *                       means nothing, and 0.5 dB is about the spread between seeds of one
 *                       SEMamba configuration)
 *   C1 classification   Mamba alone is worse than ConBiMamba (extra modules help): PER
 *                       ConBiMamba − Mamba < 0 (CER on LibriSpeech, likewise C2, C3, B1)
 *   C2 classification   with the extra modules Mamba reaches the Transformer: PER ConBiMamba −
 *                       Transformer < 0 (supported) / > 0 (not supported)
 *   C3 classification   bidirectionality alone is not enough: PER ConBiMamba − BiMamba < 0
 *   S1 self-supervised  (stage 4) fine-tuned with CTC, TransBiMamba-HuBERT reaches
 *                       Transformer-HuBERT: PER TransBiMamba-HuBERT − Transformer-HuBERT < 0
 *   S2 self-supervised  likewise ConBiMamba-HuBERT − Transformer-HuBERT < 0
 *   A1 asymmetry        Mamba's relative gap to the Transformer is larger in classification than
 *                       in reconstruction (per seed: gap_cls − gap_rec > 0)
 *   M1 MI               the better classifier shows the larger late-layer rise of I(X; T_l) (the
 *                       "reconstruction step"): rise(ConBiMamba CTC) − rise(Mamba CTC) > 0
 *   B  baselines        every CTC model beats the empty-output baseline (PER 1.0), every
 *                       reconstruction model the mean-spectrum baseline, and every enhancement
 *                       model improves SI-SDR over its noisy input; every HuBERT pre-training
 *                       beats chance on masked frames (B4: dev masked accuracy above the most
 *                       frequent cluster's share) and every fine-tuned HuBERT the empty output (B5)
 * Task comparisons use the hierarchical paired bootstrap over seeds and test utterances
 * (stats.ts); A1 and M1 use t-intervals over seeds (and estimator seeds for M1).
 */
import { Decision, decide, meanCi, MeanCi, pairedBootstrap } from './stats';
import type { ModelResult } from './training';

export interface VerdictItem {
  id: string;
  claim: string;
  comparison: string;
  difference: { mean: number; lo: number; hi: number } | null;
  decision: Decision | 'not measured';
  note?: string;
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
const f3 = (v: number): string => v.toFixed(3);
const db = (v: number): string => `${v.toFixed(2)} dB`;

/** Non-inferiority margin of E1 in dB (see the module header). */
export const ENHANCEMENT_MARGIN_DB = 0.5;

/** The name of the CTC error rate in `results`: 'CER' when the models report cer (a char
 *  tokenizer), else 'PER'. */
export function ctcMetricLabel(results: readonly ModelResult[]): 'CER' | 'PER' {
  return results.some((r) => r.task === 'ctc' && r.headline === 'cer') ? 'CER' : 'PER';
}

/** Test values of `encoder` on `task`, one row per seed (seed order), utterances in test order. */
function rows(results: readonly ModelResult[], task: string, encoder: string): ModelResult[] {
  return results.filter((r) => r.task === task && r.encoder === encoder).sort((a, b) => a.seed - b.seed);
}

/** Corpus value of a model from its per-utterance values and weights. */
export function corpusValue(r: ModelResult): number {
  const { values, weights } = r.perUtterance;
  let s = 0, w = 0;
  values.forEach((v, i) => { s += v * weights[i]; w += weights[i]; });
  return w > 0 ? s / w : NaN;
}

/** Mean ± CI over seeds of the headline metric of (task, encoder), or null when not trained. */
export function summary(results: readonly ModelResult[], task: string, encoder: string): MeanCi | null {
  const r = rows(results, task, encoder);
  return r.length ? meanCi(r.map(corpusValue)) : null;
}

/** Paired bootstrap of a − b for two encoders of one task (weighted per utterance). */
function compare(results: readonly ModelResult[], task: string, a: string, b: string): { mean: number; lo: number; hi: number } | null {
  const ra = rows(results, task, a), rb = rows(results, task, b);
  if (!ra.length || ra.length !== rb.length) return null;
  // Weighted per-utterance values: v·w·n/Σw keeps the pooled mean equal to the corpus value.
  const scaled = (r: ModelResult) => {
    const { values, weights } = r.perUtterance;
    const W = weights.reduce((x, y) => x + y, 0);
    return values.map((v, i) => (v * weights[i] * values.length) / W);
  };
  return pairedBootstrap(ra.map(scaled), rb.map(scaled), { draws: 2000, seed: 7 });
}

function fmtSummary(m: MeanCi | null, asPct: boolean | 'db'): string {
  if (!m) return 'n/a';
  const f = asPct === 'db' ? db : asPct ? pct : f3;
  return m.n > 1 ? `${f(m.mean)} ± ${f((m.hi - m.lo) / 2)}` : f(m.mean);
}

/** Builds the verdict items from the trained models' results and the MI rises per model name. */
export function verdict(results: readonly ModelResult[], rises: ReadonlyMap<string, number[]>, baselines: { reconstructionMeanL1: number | null }): VerdictItem[] {
  const items: VerdictItem[] = [];
  const rec = (e: string) => summary(results, 'reconstruction', e);
  const cls = (e: string) => summary(results, 'ctc', e);
  const add = (id: string, claim: string, comparison: string, diff: { mean: number; lo: number; hi: number } | null, margin = 0, note?: string) => {
    items.push({ id, claim, comparison, difference: diff, decision: diff ? decide(diff, { margin }) : 'not measured', note });
  };

  const tR = rec('transformer'), mR = rec('mamba');
  add('R1', 'reconstruction: Mamba alone is not worse than the Transformer (masked-L1, non-inferiority margin 5 %)',
    `Mamba masked-L1 ${fmtSummary(mR, false)} vs Transformer ${fmtSummary(tR, false)}`,
    compare(results, 'reconstruction', 'mamba', 'transformer'), tR ? 0.05 * tR.mean : 0);

  if (results.some((r) => r.task === 'enhancement')) {
    const tE = summary(results, 'enhancement', 'transformer'), mE = summary(results, 'enhancement', 'mamba');
    add('E1', `enhancement: Mamba alone is not worse than the Transformer (SI-SDR, non-inferiority: Transformer − Mamba below ${ENHANCEMENT_MARGIN_DB} dB)`,
      `Mamba SI-SDR ${fmtSummary(mE, 'db')} vs Transformer ${fmtSummary(tE, 'db')}`,
      compare(results, 'enhancement', 'transformer', 'mamba'), ENHANCEMENT_MARGIN_DB);
  }

  const M = ctcMetricLabel(results);
  const tC = cls('transformer'), mC = cls('mamba'), cC = cls('conbimamba'), bC = cls('bimamba');
  add('C1', `classification: Mamba alone needs extra modules (ConBiMamba ${M} below Mamba ${M})`,
    `ConBiMamba ${M} ${fmtSummary(cC, true)} vs Mamba ${fmtSummary(mC, true)}`, compare(results, 'ctc', 'conbimamba', 'mamba'));
  add('C2', `classification: with the extra modules it reaches the Transformer (ConBiMamba ${M} below Transformer ${M})`,
    `ConBiMamba ${M} ${fmtSummary(cC, true)} vs Transformer ${fmtSummary(tC, true)}`, compare(results, 'ctc', 'conbimamba', 'transformer'));
  add('C3', `classification: bidirectionality alone is not enough (ConBiMamba ${M} below BiMamba ${M})`,
    `ConBiMamba ${M} ${fmtSummary(cC, true)} vs BiMamba ${fmtSummary(bC, true)}`, compare(results, 'ctc', 'conbimamba', 'bimamba'));

  // S1, S2: the fine-tuned HuBERTs of stage 4 (presets with a HuBERT stage only).
  if (results.some((r) => r.task === 'hubert-ctc')) {
    const hT = summary(results, 'hubert-ctc', 'transformer');
    for (const [id, enc, name] of [['S1', 'transbimamba', 'TransBiMamba'], ['S2', 'conbimamba', 'ConBiMamba']] as const) {
      add(id, `self-supervised: fine-tuned with CTC, ${name}-HuBERT reaches Transformer-HuBERT (${name}-HuBERT ${M} below Transformer-HuBERT ${M})`,
        `${name}-HuBERT ${M} ${fmtSummary(summary(results, 'hubert-ctc', enc), true)} vs Transformer-HuBERT ${fmtSummary(hT, true)}`, compare(results, 'hubert-ctc', enc, 'transformer'));
    }
  }

  // A1: per seed, relative gaps (Mamba − Transformer) / Transformer in each task.
  const rm = rows(results, 'reconstruction', 'mamba'), rt = rows(results, 'reconstruction', 'transformer');
  const cm = rows(results, 'ctc', 'mamba'), ct = rows(results, 'ctc', 'transformer');
  const n = Math.min(rm.length, rt.length, cm.length, ct.length);
  if (n >= 1) {
    const d = Array.from({ length: n }, (_, s) => (corpusValue(cm[s]) - corpusValue(ct[s])) / corpusValue(ct[s]) - (corpusValue(rm[s]) - corpusValue(rt[s])) / corpusValue(rt[s]));
    const m = meanCi(d);
    // claim "gap_cls − gap_rec > 0": decide() tests "< 0", so give it the negated interval.
    items.push({
      id: 'A1', claim: "asymmetry: Mamba's relative gap to the Transformer is larger in classification than in reconstruction",
      comparison: `gap(classification) − gap(reconstruction) = ${pct(m.mean)} (per seed: ${d.map(pct).join(', ')})`,
      difference: { mean: m.mean, lo: m.lo, hi: m.hi }, decision: n > 1 ? decide({ lo: -m.hi, hi: -m.lo }) : 'inconclusive',
      note: n > 1 ? undefined : 'one seed: no interval',
    });
  } else add('A1', 'asymmetry between tasks', 'needs both tasks with Mamba and Transformer', null);

  // M1: rises of the CTC models, paired by (model seed, estimator seed).
  const riseOf = (enc: string) => rows(results, 'ctc', enc).map((r) => rises.get(r.name) ?? null);
  const rc = riseOf('conbimamba'), rmb = riseOf('mamba');
  const diffs: number[] = [];
  rc.forEach((a, s) => {
    const b = rmb[s];
    if (a && b) a.forEach((v, k) => { if (k < b.length) diffs.push(v - b[k]); });
  });
  if (diffs.length >= 2) {
    const m = meanCi(diffs);
    const all = (x: (number[] | null)[]) => meanCi(x.flatMap((v) => v ?? []));
    items.push({
      id: 'M1', claim: 'MI: the better classifier shows the larger late-layer rise of I(X; T_l) (the "reconstruction step")',
      comparison: `rise ConBiMamba-CTC ${f3(all(rc).mean)} vs Mamba-CTC ${f3(all(rmb).mean)} nats (I(X; T_L) − min_l I(X; T_l))`,
      difference: { mean: m.mean, lo: m.lo, hi: m.hi }, decision: decide({ lo: -m.hi, hi: -m.lo }),
    });
  } else add('M1', 'MI: late-layer rise in the better classifier', 'needs the MI of ConBiMamba and Mamba CTC models', null);

  // Baselines.
  const ctcModels = results.filter((r) => r.task === 'ctc');
  const beats = ctcModels.filter((r) => corpusValue(r) < 1).length;
  items.push({
    id: 'B1', claim: `every CTC model beats the empty-output baseline (${M} 100 %)`, comparison: `${beats} of ${ctcModels.length} models below 100 % ${M}`,
    difference: null, decision: ctcModels.length === 0 ? 'not measured' : beats === ctcModels.length ? 'supported' : 'not supported',
  });
  const recModels = results.filter((r) => r.task === 'reconstruction');
  const base = baselines.reconstructionMeanL1;
  if (base !== null && recModels.length) {
    const ok = recModels.filter((r) => corpusValue(r) < base).length;
    items.push({
      id: 'B2', claim: 'every reconstruction model beats the mean-spectrum baseline', comparison: `${ok} of ${recModels.length} below the baseline's masked-L1 ${f3(base)}`,
      difference: null, decision: ok === recModels.length ? 'supported' : 'not supported',
    });
  }
  const enhModels = results.filter((r) => r.task === 'enhancement');
  if (enhModels.length) {
    const ok = enhModels.filter((r) => (r.test.sisdri ?? NaN) > 0).length;
    items.push({
      id: 'B3', claim: 'every enhancement model improves SI-SDR over its noisy input', comparison: `${ok} of ${enhModels.length} with SI-SDRi > 0 dB (noisy input ${db(enhModels[0].test.sisdrNoisy ?? NaN)})`,
      difference: null, decision: ok === enhModels.length ? 'supported' : 'not supported',
    });
  }
  const hub = results.filter((r) => r.task === 'hubert-ctc');
  if (hub.length) {
    const above = hub.filter((r) => r.pretrain && r.pretrain.dev.acc_m > r.pretrain.chance).length;
    items.push({
      id: 'B4', claim: 'every HuBERT pre-training predicts masked targets better than chance (always the most frequent cluster)',
      comparison: `${above} of ${hub.length} with dev masked accuracy above ${pct(hub[0].pretrain?.chance ?? NaN)} (${hub.map((r) => pct(r.pretrain?.dev.acc_m ?? NaN)).join(', ')})`,
      difference: null, decision: above === hub.length ? 'supported' : 'not supported',
    });
    const ok = hub.filter((r) => corpusValue(r) < 1).length;
    items.push({
      id: 'B5', claim: `every fine-tuned HuBERT beats the empty-output baseline (${M} 100 %)`, comparison: `${ok} of ${hub.length} models below 100 % ${M}`,
      difference: null, decision: ok === hub.length ? 'supported' : 'not supported',
    });
  }
  return items;
}
