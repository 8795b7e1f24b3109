/**
 * hubert_report.ts — the self-supervised section of report.md (stage 4, hubert_stage.ts): the
 * iteration-1 targets (k-means on MFCC, their PNMI and purities against the phone alignments, the
 * chance level of masked prediction) and per encoder the pre-training's dev masked accuracy and
 * the fine-tuned error rate, each as mean ± 95 % t-interval over seeds (stats.meanCi).
 */
import type { HubertStageRecord } from './hubert_stage';
import { meanCi } from './stats';
import type { ModelResult } from './training';
import { corpusValue } from './verdict';

const LABEL: Record<string, string> = { transformer: 'Transformer', transbimamba: 'TransBiMamba', conbimamba: 'ConBiMamba', conformer: 'Conformer', mamba: 'Mamba', bimamba: 'BiMamba' };
const pct = (v: number): string => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '–');
const f3 = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : '–');

/** mean ± half-width over seeds (the bare value for one seed; '–' for none). */
function cell(values: number[], fmt: (v: number) => string): string {
  const v = values.filter(Number.isFinite);
  if (!v.length) return '–';
  const m = meanCi(v);
  return m.n > 1 ? `${fmt(m.mean)} ± ${fmt((m.hi - m.lo) / 2)}` : fmt(m.mean);
}

/** The Markdown lines of the HuBERT section; empty without a stage-4 record or models. */
export function hubertTable(rec: HubertStageRecord | null | undefined, results: readonly ModelResult[]): string[] {
  const hub = results.filter((r) => r.task === 'hubert-ctc');
  if (!rec || !hub.length) return [];
  const t = rec.targets;
  const M = hub[0].headline === 'cer' ? 'CER' : 'PER';
  const out = ['### Self-supervised: HuBERT pre-training, then CTC fine-tuning', ''];
  const q = t.quality
    ? ` Against the phone alignments (dev frames): PNMI ${f3(t.quality.dev.pnmi)}, phone purity ${pct(t.quality.dev.phonePurity)}, cluster purity ${pct(t.quality.dev.clusterPurity)} (training frames: PNMI ${f3(t.quality.train.pnmi)}).`
    : ' The corpus has no phone alignments: no PNMI.';
  out.push(`Targets (iteration 1): 39-d MFCC k-means, K = ${t.k} (${t.clustersUsed} used), fitted on ${t.fitFrames} of ${t.trainFrames} training frames (inertia ${f3(t.inertia)} per frame).${q} Chance masked accuracy (always the most frequent cluster): ${pct(t.chance)}. Front end: ${rec.frontend === 'cnn' ? 'waveform CNN (50 Hz)' : 'log-mel + Conv2dSubsampling (25 Hz)'}; encoders of ${rec.encoders[0]?.spec.layers} layers, d ${rec.encoders[0]?.spec.dModel}, parameter-matched (FFN width of the Transformer and TransBiMamba layers; ConBiMamba with FFN = d, expand 1 the reference).`, '');
  out.push(`| encoder | params (encoder) | pre-training steps | dev masked acc | dev unmasked acc | fine-tuned ${M} | per seed | time / model |`, '|---|---:|---:|---:|---:|---:|---|---:|');
  for (const enc of [...new Set(hub.map((r) => r.encoder))]) {
    const rs = hub.filter((r) => r.encoder === enc).sort((a, b) => a.seed - b.seed);
    const dev = (k: string) => rs.map((r) => r.pretrain?.dev[k] ?? NaN);
    const time = rs.reduce((a, r) => a + r.trainSeconds, 0) / rs.length;
    out.push(`| ${LABEL[enc] ?? enc}-HuBERT | ${(rs[0].parameters / 1e6).toFixed(2)} M (${(rs[0].encoderParameters / 1e6).toFixed(2)} M) | ${rs[0].pretrain?.steps ?? '–'} | ${cell(dev('acc_m'), pct)} | ${cell(dev('acc_u'), pct)} | ${cell(rs.map(corpusValue), pct)} | ${rs.map((r) => pct(corpusValue(r))).join(', ')} | ${time.toFixed(0)} s |`);
  }
  out.push('', `Masked / unmasked accuracy: argmax of the cosine logits on the dev split's masked / unmasked frames after pre-training (masks seeded per batch); ${M} of greedy CTC decoding on the test split; ± the 95 % interval over seeds; time = pre-training + fine-tuning.`, '');
  return out;
}
