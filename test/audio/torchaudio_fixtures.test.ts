/**
 * Golden outputs dumped from torchaudio by scripts/fixtures/torchaudio_fbank.py. The file is made
 * on a machine with torchaudio; while test/fixtures/audio/torchaudio.json is absent these tests
 * are skipped with a printed reason. torchaudio computes in float32, so tolerances are float32's:
 * 2e-3 absolute on log/dB features (values ~ 1..100), 1e-4 relative on linear ones.
 */
import * as fs from 'fs';
import * as path from 'path';
import { kaldiFbank, KaldiFbankOptions, kaldiMfcc, KaldiMfccOptions } from '../../lib/audio/kaldi';
import { fbank, FbankOptions, melscaleFbanks } from '../../lib/audio/mel';
import { computeDeltas, mfcc, MfccOptions } from '../../lib/audio/mfcc';
import { resample, ResampleMethod } from '../../lib/audio/resample';
import { stft } from '../../lib/audio/stft';

interface Case {
  fn: string;
  opts: Record<string, unknown>;
  shape: number[];
  data: number[];
}

const FILE = path.join(__dirname, '..', 'fixtures', 'audio', 'torchaudio.json');
const present = fs.existsSync(FILE);
if (!present) {
  // eslint-disable-next-line no-console
  console.log(`torchaudio fixtures skipped: ${path.relative(process.cwd(), FILE)} not found (run scripts/fixtures/torchaudio_fbank.py where torchaudio is installed)`);
}
const fixture = present ? (JSON.parse(fs.readFileSync(FILE, 'utf8')) as { signal: number[]; cases: Record<string, Case> }) : { signal: [], cases: {} };
const signal = Float32Array.from(fixture.signal);
const kaldiSignal = signal.map((v) => v * 32768);

/** [max abs error, max |ref|]. */
function errors(got: ArrayLike<number>, want: number[]): [number, number] {
  let e = 0;
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    e = Math.max(e, Math.abs(got[i] - want[i]));
    m = Math.max(m, Math.abs(want[i]));
  }
  return [e, m];
}

function run(c: Case): { data: ArrayLike<number>; shape: number[]; log: boolean } {
  const o = c.opts;
  switch (c.fn) {
    case 'fbank': {
      const f = fbank(signal, o as FbankOptions);
      return { data: f.data, shape: [f.numFrames, f.dim], log: o.log !== 'none' };
    }
    case 'mfcc': {
      const f = mfcc(signal, o as MfccOptions);
      return { data: f.data, shape: [f.numFrames, f.dim], log: true };
    }
    case 'kaldiFbank': {
      const f = kaldiFbank(kaldiSignal, o as KaldiFbankOptions);
      return { data: f.data, shape: [f.numFrames, f.dim], log: o.useLogFbank !== false };
    }
    case 'kaldiMfcc': {
      const f = kaldiMfcc(kaldiSignal, o as KaldiMfccOptions);
      return { data: f.data, shape: [f.numFrames, f.dim], log: true };
    }
    case 'melscaleFbanks': {
      const [nF, lo, hi, nM, sr, norm, scale] = o.args as [number, number, number, number, number, null | 'slaney', 'htk' | 'slaney'];
      return { data: melscaleFbanks(nF, lo, hi, nM, sr, norm, scale), shape: [nF, nM], log: false };
    }
    case 'resample': {
      const y = resample(signal, o.fromRate as number, o.toRate as number, { method: o.method as ResampleMethod });
      return { data: y, shape: [y.length], log: false };
    }
    case 'computeDeltas': {
      const f = fbank(signal);
      return { data: computeDeltas(f.data, f.numFrames, f.dim, o.winLength as number), shape: [f.numFrames, f.dim], log: true };
    }
    case 'stft': {
      const s = stft(signal, { nFft: o.nFft as number, hopLength: o.hopLength as number });
      return { data: o.part === 're' ? s.re : s.im, shape: [s.frames, s.bins], log: false };
    }
    default:
      throw new Error(`unknown fixture fn ${c.fn}`);
  }
}

const names = Object.keys(fixture.cases);
(present ? describe : describe.skip)('torchaudio golden outputs', () => {
  test.each(names.length ? names : ['(none)'])('%s', (name) => {
    const c = fixture.cases[name];
    const got = run(c);
    expect(got.shape).toEqual(c.shape);
    const [e, m] = errors(got.data, c.data);
    if (got.log) expect(e).toBeLessThan(2e-3);
    else expect(e / Math.max(m, 1e-30)).toBeLessThan(1e-4);
  });
});
