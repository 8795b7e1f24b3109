/**
 * realdata.ts — stage 1 of the main job on real corpora (preset paper, `--data-root DIR`):
 * LibriSpeech-100 for reconstruction and CTC, VoiceBank-DEMAND for enhancement, checked before
 * anything else runs and cached in the same feature format as the synth corpus (corpus.ts).
 *
 * Glossary:
 *   data root     the folder data.inspectDataRoot accepts (LibriSpeech in any of its 3 layouts,
 *                 VoiceBank-DEMAND in the root or a named subfolder); a missing or malformed one
 *                 is ONE DataRootError listing every problem, thrown before a run folder exists
 *   splits        train = train-clean-100 (28,539 utterances, 100.6 h), dev = dev-clean (2,703),
 *                 test = test-clean (2,620); VoiceBank: train = trainset_28spk minus the held-out
 *                 speakers, dev = those speakers (7 %, speaker-disjoint, 2 of 28), test = testset
 *   tokenizer     characters of the training transcripts (LibriSpeech: 26 upper-case letters,
 *                 apostrophe and space = 28 symbols + <blank>, <unk>); CTC on LibriSpeech is
 *                 character recognition and its headline metric is the CER
 *   labels        null: LibriSpeech has no frame alignment; the MI stage gets Y from CTC forced
 *                 alignments instead (mi_stage.ts)
 *   cap           preset.corpus.numUtterances > 0 (the dry run) keeps that many training
 *                 utterances and a quarter as many (≥ 4) dev and test ones, spread evenly over the
 *                 speaker-sorted list so every part of it is represented; 0 keeps everything
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildLibriSpeechManifest, buildVoiceBankManifest } from '../data/builders';
import type { SplitName } from '../data/corpus';
import { DataCorpus, DataRootInfo, inspectDataRoot } from '../data/dataroot';
import { ManifestEntry, writeManifest } from '../data/manifest';
import { Tokenizer } from '../data/tokenizer';
import { cacheSplitFeatures, CorpusRecord, N_MELS, SPLITS } from './corpus';
import type { Preset } from './presets';

/** The corpora a preset reads from its data root: LibriSpeech always, VoiceBank-DEMAND when it
 *  has an enhancement stage. */
export function neededCorpora(preset: Preset): DataCorpus[] {
  return preset.enhancement ? ['librispeech', 'voicebank'] : ['librispeech'];
}

/** Checks `root` for what `preset` needs (data.inspectDataRoot: layouts, transcripts beside the
 *  audio, clean/noisy twins, a few headers probed and one file per subset decoded in full) and
 *  returns the folders. Throws the DataRootError as it comes, so its message (`[data-root] <root>:
 *  LibriSpeech train-clean-100 not found; expected ...`) reaches the user unchanged. */
export async function inspectRunData(root: string, preset: Preset): Promise<DataRootInfo> {
  return inspectDataRoot(root, { need: neededCorpora(preset) });
}

/** `k` items of `list` at evenly spaced positions (first and last included); all when k ≥ length
 *  or k ≤ 0. */
export function spreadSubset<T>(list: readonly T[], k: number): T[] {
  if (k <= 0 || k >= list.length) return [...list];
  if (k === 1) return [list[0]];
  return Array.from({ length: k }, (_, i) => list[Math.round((i * (list.length - 1)) / (k - 1))]);
}

/** Splits entries into train and a speaker-disjoint dev part holding `fraction` of the speakers
 *  (at least one, the last ones in name order); with a single speaker every 10th utterance goes to
 *  dev instead, so both parts are never empty when there are ≥ 2 entries. */
export function holdOutSpeakers(entries: readonly ManifestEntry[], fraction: number): { train: ManifestEntry[]; dev: ManifestEntry[] } {
  const speakers = [...new Set(entries.map((e) => e.speaker ?? ''))].sort();
  if (speakers.length >= 2) {
    const n = Math.min(speakers.length - 1, Math.max(1, Math.round(fraction * speakers.length)));
    const dev = new Set(speakers.slice(speakers.length - n));
    return { train: entries.filter((e) => !dev.has(e.speaker ?? '')), dev: entries.filter((e) => dev.has(e.speaker ?? '')) };
  }
  const dev = new Set<number>();
  for (let i = 9; i < entries.length; i += 10) dev.add(i);
  if (dev.size === 0 && entries.length >= 2) dev.add(entries.length - 1);
  return { train: entries.filter((_, i) => !dev.has(i)), dev: entries.filter((_, i) => dev.has(i)) };
}

/** Entries per split after the cap (see the glossary). */
function capSplits(lists: Record<SplitName, ManifestEntry[]>, cap: number): Record<SplitName, ManifestEntry[]> {
  if (!(cap > 0)) return lists;
  const small = Math.max(4, Math.ceil(cap / 4));
  return { train: spreadSubset(lists.train, cap), dev: spreadSubset(lists.dev, small), test: spreadSubset(lists.test, small) };
}

function fail(problem: string): never {
  throw new Error(`[reproduce] ${problem}`);
}

/**
 * Stage 1 on a checked data root (`info` from inspectRunData): builds the LibriSpeech manifests
 * (`<dir>/corpus/{train,dev,test}.jsonl`), the char tokenizer of the training transcripts and the
 * feature cache (corpus.cacheSplitFeatures: resumable shard by shard, progress per utterance as
 * `onProgress(done, total, 'features')`); when the preset has an enhancement stage, also the
 * VoiceBank-DEMAND pair manifests (`voicebank-{train,dev,test}.jsonl`; the audio is read by the
 * enhancement stage). Returns the CorpusRecord the later stages use.
 */
export async function prepareRealCorpus(dir: string, preset: Preset, info: DataRootInfo, onProgress?: (done: number, total: number, what: string) => void): Promise<CorpusRecord> {
  const ls = info.librispeech;
  if (!ls) fail(`data root ${info.root} was not checked for LibriSpeech (inspectRunData first)`);
  const corpusDir = path.join(dir, 'corpus');
  fs.mkdirSync(corpusDir, { recursive: true });
  onProgress?.(0, 3, 'LibriSpeech manifests');
  const built = {} as Record<SplitName, ManifestEntry[]>;
  for (const [i, split] of SPLITS.entries()) {
    built[split] = buildLibriSpeechManifest(ls[split]).entries;
    if (built[split].length === 0) fail(`LibriSpeech ${ls.subsets[split]} at ${ls[split]} has no utterances`);
    onProgress?.(i + 1, 3, 'LibriSpeech manifests');
  }
  const lists = capSplits(built, preset.corpus.numUtterances);
  for (const split of SPLITS) writeManifest(path.join(corpusDir, `${split}.jsonl`), lists[split]);
  const tokenizer = Tokenizer.fromManifest(lists.train, 'char');

  const featureDir = path.join(dir, 'features');
  const total = SPLITS.reduce((a, s) => a + lists[s].length, 0);
  let done = 0;
  const frames = { train: 0, dev: 0, test: 0 } as Record<SplitName, number>;
  for (const split of SPLITS) {
    frames[split] = (await cacheSplitFeatures(featureDir, split, lists[split], null, { onUtterance: (n) => onProgress?.(done += n, total, 'features') })).frames;
  }
  const seconds = SPLITS.reduce((a, s) => a + lists[s].reduce((b, e) => b + e.duration, 0), 0);
  const counts = { train: lists.train.length, dev: lists.dev.length, test: lists.test.length };

  let enhancement: CorpusRecord['enhancement'] = null;
  if (preset.enhancement) {
    const vb = info.voicebank;
    if (!vb) fail(`preset ${preset.name} trains enhancement models but data root ${info.root} was not checked for VoiceBank-DEMAND`);
    const trainAll = buildVoiceBankManifest(vb.root, { sets: [vb.train.set] }).entries;
    const held = holdOutSpeakers(trainAll, 2 / 28);
    const vbLists = capSplits({ train: held.train, dev: held.dev, test: buildVoiceBankManifest(vb.root, { sets: [vb.test.set] }).entries }, preset.corpus.numUtterances);
    const manifests = {} as Record<SplitName, string>;
    for (const split of SPLITS) {
      if (vbLists[split].length === 0) fail(`VoiceBank-DEMAND at ${vb.root} leaves no ${split} pairs`);
      manifests[split] = path.join(corpusDir, `voicebank-${split}.jsonl`);
      writeManifest(manifests[split], vbLists[split]);
    }
    enhancement = { source: 'voicebank', manifests, counts: { train: vbLists.train.length, dev: vbLists.dev.length, test: vbLists.test.length } };
  }
  const capped = preset.corpus.numUtterances > 0 ? ` (a subset: at most ${preset.corpus.numUtterances} training utterances)` : '';
  return {
    corpusDir, featureDir, tokenizer: tokenizer.toJSON(), counts, frames, audioHours: seconds / 3600, featureDim: N_MELS, frameShift: 0.01,
    source: 'librispeech', enhancement,
    description: `LibriSpeech ${ls.subsets.train} / ${ls.subsets.dev} / ${ls.subsets.test} from ${info.root}${capped}: ${counts.train} / ${counts.dev} / ${counts.test} utterances, ${(seconds / 3600).toFixed(2)} hours of audio; 80-d log-mel at 10 ms; ${tokenizer.size - 2} characters, no frame alignments (Y for the MI analysis comes from CTC forced alignments).` +
      (enhancement ? ` Enhancement: VoiceBank-DEMAND ${info.voicebank!.train.set} (${enhancement.counts.train} pairs for training, ${enhancement.counts.dev} from held-out speakers for dev) and ${info.voicebank!.test.set} (${enhancement.counts.test} test pairs).` : ''),
  };
}
