/** Manifests: round trip with relative paths, problems reported with file:line (skip/throw),
 *  and the LibriSpeech / VoiceBank / folder builders on small trees made in os.tmpdir(). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encodeWav } from '../../lib/audio/wav';
import { buildFolderManifest, buildLibriSpeechManifest, buildVoiceBankManifest } from '../../lib/data/builders';
import { ManifestEntry, alignmentFrames, readManifest, writeManifest } from '../../lib/data/manifest';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'manifest-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function wav(file: string, seconds: number, rate = 16000): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const x = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < x.length; i++) x[i] = 0.1 * Math.sin(i * 0.05 + Math.random());
  fs.writeFileSync(file, encodeWav({ sampleRate: rate, channels: [x] }));
}

describe('read/write', () => {
  test('round trip keeps fields; paths relative in the file, absolute when read', () => {
    const dir = path.join(tmp, 'rt');
    wav(path.join(dir, 'audio', 'a.wav'), 0.3);
    const entries: ManifestEntry[] = [{
      id: 'a', audio: path.join(dir, 'audio', 'a.wav'), duration: 0.3, text: 'hi there', phones: ['hh', 'ay'],
      alignment: { frameShift: 0.01, segments: [['sil', 0, 10], ['hh', 10, 18], ['ay', 18, 30]] }, speaker: 's1',
      noise: { type: 'pink', snrDb: 5, seed: 7 },
    }];
    const file = path.join(dir, 'm.jsonl');
    writeManifest(file, entries);
    expect(JSON.parse(fs.readFileSync(file, 'utf8').trim()).audio).toBe('audio/a.wav');
    const back = readManifest(file, { checkAudio: true });
    expect(back.problems).toEqual([]);
    expect(back.entries).toEqual(entries);
    expect(alignmentFrames(back.entries[0].alignment!).length).toBe(30);
  });

  test('bad lines are problems with file and line; skip collects, throw stops', () => {
    const file = path.join(tmp, 'bad.jsonl');
    wav(path.join(tmp, 'ok.wav'), 0.1);
    const lines = [
      JSON.stringify({ id: 'ok', audio: 'ok.wav', duration: 0.1 }),
      '{"id": "broken", ',
      JSON.stringify({ id: 'nodur', audio: 'ok.wav' }),
      '',
      JSON.stringify({ audio: 'ok.wav', duration: 1 }),
      JSON.stringify({ id: 'ok', audio: 'ok.wav', duration: 0.1 }),
      JSON.stringify({ id: 'gone', audio: 'missing.wav', duration: 0.1 }),
      JSON.stringify({ id: 'align', audio: 'ok.wav', duration: 0.1, alignment: { frameShift: 0.01, segments: [['a', 0, 4], ['b', 5, 10]] } }),
      JSON.stringify({ id: 'short', audio: 'ok.wav', duration: 0.1, alignment: { frameShift: 0.01, segments: [['a', 0, 8]] } }),
    ];
    fs.writeFileSync(file, lines.join('\n'));
    const m = readManifest(file, { onError: 'skip', checkAudio: true });
    expect(m.entries.map((e) => e.id)).toEqual(['ok']);
    expect(m.problems.map((p) => [p.line, p.id])).toEqual([[2, undefined], [3, 'nodur'], [5, undefined], [6, 'ok'], [7, 'gone'], [8, 'align'], [9, 'short']]);
    expect(m.problems.every((p) => p.file === file)).toBe(true);
    expect(m.problems[0].message).toMatch(/^bad JSON/);
    expect(m.problems[1].message).toMatch(/duration/);
    expect(m.problems[3].message).toBe('duplicate id (first on line 1)');
    expect(m.problems[4].message).toMatch(/audio file not found: .*missing\.wav/);
    expect(m.problems[5].message).toMatch(/segment 1 \[5, 10\) does not continue from frame 4/);
    expect(m.problems[6].message).toMatch(/segments end at frame 8 but the audio has 10 frames/);
    expect(() => readManifest(file)).toThrow(`[readManifest] ${file}:2: bad JSON`);
    // without checkAudio a missing file is not a problem
    expect(readManifest(file, { onError: 'skip' }).entries.map((e) => e.id)).toEqual(['ok', 'gone']);
    expect(() => writeManifest(path.join(tmp, 'w.jsonl'), [{ id: 'x', audio: 'a.wav', duration: -1 }])).toThrow('[writeManifest]');
    expect(fs.existsSync(path.join(tmp, 'w.jsonl'))).toBe(false);
  });
});

describe('builders', () => {
  test('LibriSpeech layout (FLAC), with a missing file and a bad line reported', () => {
    const root = path.join(tmp, 'libri');
    const fixture = path.join(__dirname, '..', 'fixtures', 'data', 'noise_16k_s16_stereo.flac');
    for (const [spk, chap, n] of [['19', '198', 3], ['26', '495', 2]] as const) {
      const d = path.join(root, spk, chap);
      fs.mkdirSync(d, { recursive: true });
      const lines = [];
      for (let u = 0; u < n; u++) {
        const id = `${spk}-${chap}-${String(u).padStart(4, '0')}`;
        lines.push(`${id} WORD NUMBER ${u}`);
        if (!(spk === '26' && u === 1)) fs.copyFileSync(fixture, path.join(d, `${id}.flac`));
      }
      if (spk === '19') lines.push('JUSTONETOKEN');
      fs.writeFileSync(path.join(d, `${spk}-${chap}.trans.txt`), lines.join('\n') + '\n');
    }
    expect(() => buildLibriSpeechManifest(root)).toThrow(/\[buildLibriSpeechManifest\] .*19-198\.trans\.txt:4: expected "<id> <text>"/);
    const m = buildLibriSpeechManifest(root, { onError: 'skip' });
    expect(m.entries.map((e) => e.id)).toEqual(['19-198-0000', '19-198-0001', '19-198-0002', '26-495-0000']);
    expect(m.entries[0]).toMatchObject({ text: 'WORD NUMBER 0', speaker: '19', duration: 0.1 });
    expect(m.problems.map((p) => [path.basename(p.file), p.line])).toEqual([['19-198.trans.txt', 4], ['26-495.trans.txt', 2]]);
    expect(m.problems[1].message).toMatch(/audio file not found/);
  });

  test('VoiceBank-DEMAND clean/noisy pairing by file name', () => {
    const root = path.join(tmp, 'vb');
    for (const id of ['p232_001', 'p232_002', 'p257_001']) {
      wav(path.join(root, 'clean_testset_wav', `${id}.wav`), 0.2, 48000);
      if (id !== 'p257_001') wav(path.join(root, 'noisy_testset_wav', `${id}.wav`), 0.2, 48000);
    }
    wav(path.join(root, 'noisy_testset_wav', 'p999_001.wav'), 0.1);
    fs.mkdirSync(path.join(root, 'testset_txt'));
    fs.writeFileSync(path.join(root, 'testset_txt', 'p232_001.txt'), 'Please call Stella.\n');
    const m = buildVoiceBankManifest(root, { onError: 'skip' });
    expect(m.entries.map((e) => [e.id, e.speaker, e.text])).toEqual([['p232_001', 'p232', 'Please call Stella.'], ['p232_002', 'p232', undefined]]);
    expect(m.entries[0].noisy).toBe(path.join(root, 'noisy_testset_wav', 'p232_001.wav'));
    expect(m.entries[0].duration).toBeCloseTo(0.2, 6);
    expect(m.problems.map((p) => p.id)).toEqual(['p257_001', 'p999_001']);
    expect(m.problems[0].message).toMatch(/no noisy twin/);
  });

  test('folder of WAVs with a transcript', () => {
    const dir = path.join(tmp, 'folder');
    wav(path.join(dir, 'u1.wav'), 0.25);
    wav(path.join(dir, 'u3.wav'), 0.1);
    fs.writeFileSync(path.join(dir, 'transcript.txt'), 'u1 hello world\nu2 no audio here\n');
    const m = buildFolderManifest(dir, { onError: 'skip' });
    expect(m.entries).toEqual([{ id: 'u1', audio: path.join(dir, 'u1.wav'), text: 'hello world', duration: 0.25 }]);
    expect(m.problems.map((p) => [p.line, p.id])).toEqual([[2, 'u2'], [0, 'u3']]);
    expect(buildFolderManifest(dir, { onError: 'skip', allowUntranscribed: true }).entries.map((e) => e.id)).toEqual(['u1', 'u3']);
    expect(() => buildFolderManifest(dir)).toThrow(`[buildFolderManifest] ${path.join(dir, 'transcript.txt')}:2: entry "u2": no audio file`);
  });
});
