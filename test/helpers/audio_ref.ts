/**
 * Float64 reference implementations for the audio tests, written straight from the published
 * formulas (naive O(n^2) DFT, explicit padding and framing, dense matrices) and sharing no code
 * with lib/audio, so that agreement means something.
 *
 * Glossary:
 *   seed      each test file draws a fresh seed (or AUDIO_TEST_SEED) and prints it, so a failure
 *             can be replayed: AUDIO_TEST_SEED=123 npx jest test/audio
 *   frames    time-major (frames, bins) like the library, row-major Float64Array
 */

/** Fresh seed per run, printed; AUDIO_TEST_SEED overrides. */
export function testSeed(file: string): number {
  const env = process.env.AUDIO_TEST_SEED;
  const seed = env !== undefined ? Number(env) : Math.floor(Math.random() * 2 ** 31);
  // eslint-disable-next-line no-console
  console.log(`${file}: AUDIO_TEST_SEED=${seed}`);
  return seed;
}

/** xoshiro128** (Blackman & Vigna), its 128-bit state filled by splitmix32 from the seed; independent
 *  of lib/audio/rng. (The earlier 64-bit xorshift variant here had visible structure: for a quarter
 *  of seeds FLAC compressed its "white noise" below 16 bits per sample.) */
export function refRng(seed: number): { uniform(): number; normal(): number; int(lo: number, hi: number): number } {
  let z = seed >>> 0;
  const splitmix32 = (): number => {
    z = (z + 0x9e3779b9) >>> 0;
    let t = z ^ (z >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
  const s = [splitmix32(), splitmix32(), splitmix32(), splitmix32()];
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;
  const next = (): number => {
    const r = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r / 4294967296;
  };
  for (let i = 0; i < 20; i++) next();
  return {
    uniform: next,
    normal: () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
  };
}

/** White noise in [-1, 1). */
export function randomSignal(n: number, rng: { uniform(): number }, Type?: Float32ArrayConstructor): Float32Array;
export function randomSignal(n: number, rng: { uniform(): number }, Type: Float64ArrayConstructor): Float64Array;
export function randomSignal(n: number, rng: { uniform(): number }, Type: Float32ArrayConstructor | Float64ArrayConstructor = Float32Array): Float32Array | Float64Array {
  const x = new Type(n);
  for (let i = 0; i < n; i++) x[i] = 2 * rng.uniform() - 1;
  return x;
}

/** Naive DFT X_k = sum_t x_t exp(-sign 2 pi i k t / n), angle reduced mod n for accuracy. */
export function naiveDft(re: ArrayLike<number>, im: ArrayLike<number> | null, sign = 1): { re: Float64Array; im: Float64Array } {
  const n = re.length;
  const R = new Float64Array(n);
  const I = new Float64Array(n);
  const cos = new Float64Array(n); // cos(2 pi j / n), looked up at j = k t mod n
  const sin = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    cos[j] = Math.cos((2 * Math.PI * j) / n);
    sin[j] = -sign * Math.sin((2 * Math.PI * j) / n);
  }
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < n; t++) {
      const j = (k * t) % n;
      const xi = im ? im[t] : 0;
      sr += re[t] * cos[j] - xi * sin[j];
      si += re[t] * sin[j] + xi * cos[j];
    }
    R[k] = sr;
    I[k] = si;
  }
  return { re: R, im: I };
}

/** torch.hann_window / hamming_window formulas. */
export function refWindow(kind: 'hann' | 'hamming' | 'rectangular', N: number, periodic: boolean): Float64Array {
  const w = new Float64Array(N);
  const D = periodic ? N : N - 1;
  for (let n = 0; n < N; n++) {
    if (kind === 'rectangular') w[n] = 1;
    else if (N === 1) w[n] = 1;
    else if (kind === 'hann') w[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / D);
    else w[n] = 0.54 - 0.46 * Math.cos((2 * Math.PI * n) / D);
  }
  return w;
}

/** numpy.pad(x, p, mode) for 'reflect' and 'constant'. */
export function refPad(x: ArrayLike<number>, p: number, mode: 'reflect' | 'constant'): Float64Array {
  const n = x.length;
  const out = new Float64Array(n + 2 * p);
  for (let i = 0; i < n; i++) out[p + i] = x[i];
  if (mode === 'reflect') {
    for (let i = 1; i <= p; i++) {
      out[p - i] = x[i];
      out[p + n - 1 + i] = x[n - 1 - i];
    }
  }
  return out;
}

export interface RefStftOpts {
  nFft: number;
  hop: number;
  winLength: number;
  window: 'hann' | 'hamming' | 'rectangular';
  periodic: boolean;
  center: boolean;
  padMode: 'reflect' | 'constant';
}

/** torch.stft by its definition: pad, frame, window (zero-padded centred), naive DFT.
 *  Returns all nFft bins, time-major. */
export function refStft(x: ArrayLike<number>, o: RefStftOpts): { re: Float64Array; im: Float64Array; frames: number } {
  const padded = o.center ? refPad(x, Math.floor(o.nFft / 2), o.padMode) : Float64Array.from(x);
  const frames = 1 + Math.floor((padded.length - o.nFft) / o.hop);
  const w0 = refWindow(o.window, o.winLength, o.periodic);
  const w = new Float64Array(o.nFft);
  const left = Math.floor((o.nFft - o.winLength) / 2);
  for (let i = 0; i < o.winLength; i++) w[left + i] = w0[i];
  const re = new Float64Array(frames * o.nFft);
  const im = new Float64Array(frames * o.nFft);
  for (let t = 0; t < frames; t++) {
    const f = new Float64Array(o.nFft);
    for (let j = 0; j < o.nFft; j++) f[j] = padded[t * o.hop + j] * w[j];
    const X = naiveDft(f, null);
    re.set(X.re, t * o.nFft);
    im.set(X.im, t * o.nFft);
  }
  return { re, im, frames };
}

/** torchaudio.functional.melscale_fbanks, transcribed: (nFreqs, nMels) row-major. */
export function refMelFbanks(nFreqs: number, fMin: number, fMax: number, nMels: number, sr: number, norm: null | 'slaney', scale: 'htk' | 'slaney'): Float64Array {
  const toMel = (f: number): number => {
    if (scale === 'htk') return 2595 * Math.log10(1 + f / 700);
    const fsp = 200 / 3;
    const logstep = Math.log(6.4) / 27;
    return f >= 1000 ? 1000 / fsp + Math.log(f / 1000) / logstep : f / fsp;
  };
  const toHz = (m: number): number => {
    if (scale === 'htk') return 700 * (10 ** (m / 2595) - 1);
    const fsp = 200 / 3;
    const logstep = Math.log(6.4) / 27;
    return m >= 1000 / fsp ? 1000 * Math.exp(logstep * (m - 1000 / fsp)) : fsp * m;
  };
  const allFreqs = Array.from({ length: nFreqs }, (_, i) => (i * Math.floor(sr / 2)) / (nFreqs - 1));
  const mMin = toMel(fMin);
  const mMax = toMel(fMax);
  const fPts = Array.from({ length: nMels + 2 }, (_, i) => toHz(mMin + (i * (mMax - mMin)) / (nMels + 1)));
  const fb = new Float64Array(nFreqs * nMels);
  for (let k = 0; k < nFreqs; k++) {
    for (let m = 0; m < nMels; m++) {
      const slopeL = fPts[m] - allFreqs[k];
      const slopeR = fPts[m + 2] - allFreqs[k];
      const down = -slopeL / (fPts[m + 1] - fPts[m]);
      const up = slopeR / (fPts[m + 2] - fPts[m + 1]);
      let v = Math.max(0, Math.min(down, up));
      if (norm === 'slaney') v *= 2 / (fPts[m + 2] - fPts[m]);
      fb[k * nMels + m] = v;
    }
  }
  return fb;
}

/** Mel power spectrogram (frames, nMels) by reference STFT and a dense filterbank product. */
export function refMelSpec(x: ArrayLike<number>, o: RefStftOpts & { sr: number; nMels: number; fMin: number; fMax: number; norm: null | 'slaney'; scale: 'htk' | 'slaney'; power: number }): { data: Float64Array; frames: number } {
  const s = refStft(x, o);
  const nFreqs = Math.floor(o.nFft / 2) + 1;
  const fb = refMelFbanks(nFreqs, o.fMin, o.fMax, o.nMels, o.sr, o.norm, o.scale);
  const data = new Float64Array(s.frames * o.nMels);
  for (let t = 0; t < s.frames; t++) {
    for (let m = 0; m < o.nMels; m++) {
      let acc = 0;
      for (let k = 0; k < nFreqs; k++) {
        const mag = Math.hypot(s.re[t * o.nFft + k], s.im[t * o.nFft + k]);
        acc += fb[k * o.nMels + m] * mag ** o.power;
      }
      data[t * o.nMels + m] = acc;
    }
  }
  return { data, frames: s.frames };
}

/** Direct DCT-II: c_k = s_k sum_m x_m cos(pi k (2m + 1) / (2M)), ortho scaling. */
export function refDct(x: ArrayLike<number>, nOut: number): Float64Array {
  const M = x.length;
  const c = new Float64Array(nOut);
  for (let k = 0; k < nOut; k++) {
    let acc = 0;
    for (let m = 0; m < M; m++) acc += x[m] * Math.cos((Math.PI * k * (2 * m + 1)) / (2 * M));
    c[k] = acc * (k === 0 ? Math.sqrt(1 / M) : Math.sqrt(2 / M));
  }
  return c;
}

export interface RefKaldiOpts {
  sampleFrequency: number;
  frameLength: number;
  frameShift: number;
  numMelBins: number;
  lowFreq: number;
  highFreq: number;
  preemph: number;
  removeDc: boolean;
  rawEnergy: boolean;
  energyFloor: number;
  snipEdges: boolean;
  usePower: boolean;
  window: 'povey' | 'hamming' | 'rectangular';
  roundPow2: boolean;
}

/** Kaldi fbank from the Kaldi formulas (feature-window.cc, mel-computations.cc): returns the log
 *  mel energies (frames, numMelBins) and the log energies (frames). */
export function refKaldiFbank(x: ArrayLike<number>, o: RefKaldiOpts): { mel: Float64Array; energy: Float64Array; frames: number } {
  const eps = 1.1920928955078125e-7;
  const ws = Math.trunc(o.sampleFrequency * o.frameLength * 0.001);
  const shift = Math.trunc(o.sampleFrequency * o.frameShift * 0.001);
  let padded = ws;
  if (o.roundPow2) padded = 2 ** Math.ceil(Math.log2(ws));
  const n = x.length;
  // Kaldi's ExtractWindow: sample index s maps into [0, n) by mirroring with the edge repeated.
  const frames = o.snipEdges ? 1 + Math.floor((n - ws) / shift) : Math.floor((n + shift / 2) / shift);
  const firstSample = (t: number): number => (o.snipEdges ? t * shift : t * shift + Math.floor(shift / 2) - Math.floor(ws / 2));
  const mirror = (s: number): number => {
    while (s < 0 || s >= n) s = s < 0 ? -s - 1 : 2 * n - 1 - s;
    return s;
  };
  const win = new Float64Array(ws);
  for (let i = 0; i < ws; i++) {
    const a = (2 * Math.PI * i) / (ws - 1);
    win[i] = o.window === 'povey' ? (0.5 - 0.5 * Math.cos(a)) ** 0.85 : o.window === 'hamming' ? 0.54 - 0.46 * Math.cos(a) : 1;
  }
  const mel = (f: number): number => 1127 * Math.log(1 + f / 700);
  const nyq = o.sampleFrequency / 2;
  const hi = o.highFreq <= 0 ? nyq + o.highFreq : o.highFreq;
  const delta = (mel(hi) - mel(o.lowFreq)) / (o.numMelBins + 1);
  const melOut = new Float64Array(frames * o.numMelBins);
  const energy = new Float64Array(frames);
  for (let t = 0; t < frames; t++) {
    const f = new Float64Array(padded);
    for (let j = 0; j < ws; j++) f[j] = x[mirror(firstSample(t) + j)];
    if (o.removeDc) {
      const mean = f.slice(0, ws).reduce((s, v) => s + v, 0) / ws;
      for (let j = 0; j < ws; j++) f[j] -= mean;
    }
    const logE = (arr: Float64Array): number => {
      const e = Math.log(Math.max(arr.reduce((s, v) => s + v * v, 0), eps));
      return o.energyFloor > 0 ? Math.max(e, Math.log(o.energyFloor)) : e;
    };
    if (o.rawEnergy) energy[t] = logE(f);
    for (let j = ws - 1; j >= 1; j--) f[j] -= o.preemph * f[j - 1];
    f[0] -= o.preemph * f[0];
    for (let j = 0; j < ws; j++) f[j] *= win[j];
    if (!o.rawEnergy) energy[t] = logE(f);
    const X = naiveDft(f, null);
    for (let b = 0; b < o.numMelBins; b++) {
      const l = mel(o.lowFreq) + b * delta;
      const c = l + delta;
      const r = c + delta;
      let acc = 0;
      for (let k = 0; k < padded / 2; k++) {
        const m = mel((k * o.sampleFrequency) / padded);
        const wgt = m > l && m < r ? (m <= c ? (m - l) / (c - l) : (r - m) / (r - c)) : 0;
        const p = X.re[k] ** 2 + X.im[k] ** 2;
        acc += wgt * (o.usePower ? p : Math.sqrt(p));
      }
      melOut[t * o.numMelBins + b] = Math.log(Math.max(acc, eps));
    }
  }
  return { mel: melOut, energy, frames };
}

/** torchaudio.functional.resample by its definition: the full (new, 2 width + orig) kernel
 *  matrix, zero padding (width, width + orig), strided correlation, truncation. */
export function refResample(x: ArrayLike<number>, from: number, to: number, lpw = 6, rolloff = 0.99, kaiser = true, beta = 14.769656459379492): Float64Array {
  const g = ((a: number, b: number): number => { while (b) [a, b] = [b, a % b]; return a; })(from, to);
  const orig = from / g;
  const nw = to / g;
  const base = Math.min(orig, nw) * rolloff;
  const width = Math.ceil((lpw * orig) / base);
  const K = 2 * width + orig;
  const i0 = (v: number): number => { let s = 1, term = 1; for (let k = 1; k < 300 && term > 1e-18 * s; k++) { term *= (v * v) / 4 / (k * k); s += term; } return s; };
  const kern = new Float64Array(nw * K);
  for (let p = 0; p < nw; p++) {
    for (let k = 0; k < K; k++) {
      let t = (-p / nw + (k - width) / orig) * base;
      t = Math.max(-lpw, Math.min(lpw, t));
      const w = kaiser ? i0(beta * Math.sqrt(1 - (t / lpw) ** 2)) / i0(beta) : Math.cos((t * Math.PI) / lpw / 2) ** 2;
      const tp = t * Math.PI;
      kern[p * K + k] = (tp === 0 ? 1 : Math.sin(tp) / tp) * w * (base / orig);
    }
  }
  const xp = new Float64Array(x.length + 2 * width + orig);
  for (let i = 0; i < x.length; i++) xp[width + i] = x[i];
  const blocks = Math.floor((xp.length - K) / orig) + 1;
  const out: number[] = [];
  for (let j = 0; j < blocks; j++) {
    for (let p = 0; p < nw; p++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += xp[j * orig + k] * kern[p * K + k];
      out.push(acc);
    }
  }
  return Float64Array.from(out.slice(0, Math.ceil((nw * x.length) / orig)));
}

/** max |a - b| / max(max |b|, tiny). */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return e / Math.max(m, 1e-300);
}

/** max |a - b|. */
export function maxAbsErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < b.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
  return e;
}
