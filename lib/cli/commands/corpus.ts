/**
 * `mamba-speech corpus synth|espeak|librispeech|voicebank|folder`: make a corpus (synth, espeak:
 * WAV files + train/dev/test manifests) or index one that exists (JSONL manifest of a
 * LibriSpeech tree, VoiceBank-DEMAND, or a folder of audio + transcript).
 */
import type { Command } from 'commander';
import * as fs from 'fs';
import * as path from 'path';

import { buildFolderManifest, buildLibriSpeechManifest, buildVoiceBankManifest } from '../../data/builders';
import { generateCorpus } from '../../data/corpus';
import { formatProblem, Manifest, manifestStats, writeManifest } from '../../data/manifest';
import type { CliContext } from '../context';
import { UsageError } from '../context';
import { int, number } from '../parse';

const KINDS = ['synth', 'espeak', 'librispeech', 'voicebank', 'folder'] as const;

interface CorpusOpts {
  out?: string;
  utterances: number;
  speakers: number;
  seed: number;
  minSeconds?: number;
  maxSeconds?: number;
  sampleRate: number;
  noisy?: boolean;
  transcript?: string;
  sets?: string;
  skipBad?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  program.command('corpus')
    .description('make a corpus (synth, espeak) or index one (librispeech, voicebank, folder) into JSONL manifests')
    .argument('<kind>', KINDS.join(' | '))
    .argument('[root]', 'the corpus folder to index (librispeech, voicebank, folder)')
    .option('-o, --out <path>', 'synth/espeak: output folder (default corpora/<kind>); others: manifest file (default <root>/manifest.jsonl)')
    .option('-n, --utterances <n>', 'synth/espeak: number of utterances', int('--utterances', 1), 200)
    .option('--speakers <n>', 'synth/espeak: number of speakers', int('--speakers', 1), 20)
    .option('--seed <n>', 'synth/espeak: seed', int('--seed', 0), 0)
    .option('--min-seconds <s>', 'synth: shortest utterance (default 2)', number('--min-seconds'))
    .option('--max-seconds <s>', 'synth: longest utterance (default 4)', number('--max-seconds'))
    .option('--sample-rate <hz>', 'synth/espeak: sample rate', int('--sample-rate', 1), 16000)
    .option('--noisy', 'synth/espeak: also write noisy copies (enhancement pairs)')
    .option('--transcript <file>', 'folder: transcript file of "<id> <text>" lines (default <root>/transcript.txt)')
    .option('--sets <list>', 'voicebank: comma-separated sets (default all clean_* folders)')
    .option('--skip-bad', 'librispeech/voicebank/folder: skip unusable entries (listed) instead of failing')
    .action(async (kind: string, root: string | undefined, o: CorpusOpts) => {
      if (!(KINDS as readonly string[]).includes(kind)) throw new UsageError(`corpus: unknown kind '${kind}'`, `use one of ${KINDS.join(', ')}`);
      if (kind === 'synth' || kind === 'espeak') {
        if (root !== undefined) throw new UsageError(`corpus ${kind} takes no root folder (got '${root}')`, `write it with --out ${root}`);
        const out = path.resolve(o.out ?? path.join('corpora', kind));
        let last = 0;
        const r = await generateCorpus({
          outDir: out, engine: kind, numUtterances: o.utterances, numSpeakers: o.speakers, seed: o.seed, sampleRate: o.sampleRate,
          minSeconds: o.minSeconds, maxSeconds: o.maxSeconds, noisy: !!o.noisy,
          onProgress: (done, total) => {
            const now = Date.now();
            if (now - last > 2000 || done === total) {
              last = now;
              ctx.note(`corpus ${kind}: ${done}/${total} utterances`);
            }
          },
        });
        ctx.result({ kind, outDir: out, ...r }, () => [
          `wrote ${r.counts.train + r.counts.dev + r.counts.test} utterances (${(r.audioSeconds / 60).toFixed(1)} min of audio) to ${out} in ${r.elapsedSeconds.toFixed(1)} s`,
          ...(['train', 'dev', 'test'] as const).map((s) => `  ${s.padEnd(5)} ${String(r.counts[s]).padStart(5)} utterances, ${r.speakers[s].length} speakers: ${r.manifests[s]}`),
        ]);
        return;
      }
      if (root === undefined) throw new UsageError(`corpus ${kind} needs the corpus folder`, `mamba-speech corpus ${kind} <root> [--out manifest.jsonl]`);
      if (!fs.existsSync(root)) throw new UsageError(`corpus ${kind}: ${root} does not exist`);
      const opts = { onError: o.skipBad ? 'skip' as const : 'throw' as const };
      let m: Manifest;
      if (kind === 'librispeech') m = buildLibriSpeechManifest(root, opts);
      else if (kind === 'voicebank') m = buildVoiceBankManifest(root, { ...opts, sets: o.sets ? o.sets.split(',').map((s) => s.trim()) : undefined });
      else m = buildFolderManifest(root, { ...opts, transcript: o.transcript });
      if (m.entries.length === 0) throw new UsageError(`corpus ${kind}: no usable entries under ${root}`, m.problems.length ? formatProblem(m.problems[0]) : undefined);
      const out = path.resolve(o.out ?? path.join(root, 'manifest.jsonl'));
      writeManifest(out, m.entries);
      const st = manifestStats(m.entries);
      for (const p of m.problems) ctx.note(`skipped: ${formatProblem(p)}`);
      ctx.result({ kind, manifest: out, ...st, problems: m.problems }, () => [
        `wrote ${st.count} entries (${st.hours.toFixed(2)} h, ${st.speakers} speakers) to ${out}${m.problems.length ? `; skipped ${m.problems.length}` : ''}`,
      ]);
    });
}
