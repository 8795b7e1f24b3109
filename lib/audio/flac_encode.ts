/**
 * FLAC writing through the `libflacjs` package (the reference libFLAC encoder compiled to asm.js),
 * the counterpart of lib/audio/flac.ts: `encodeFlac` (bytes in memory) and `writeFlac` (atomic file).
 *
 * Glossary:
 *   bps          bits per sample of the stream: 8, 16 or 24. FLAC's subset also has 12 and 20, but
 *                libflacjs's decoder returns wrong bytes for them (3 bytes per 12-bit sample, MD5
 *                mismatch at 20), so files of those depths could not be read back here
 *   compression  libFLAC level 0..8 (flac -0 .. -8); 5 is flac's default, about 55 % of PCM size on
 *                speech; 8 is a few % smaller and ~3× slower
 *   code         the integer a sample is stored as: round(x · 2^(bps-1)) for float input, saturated
 *                to [-2^(bps-1), 2^(bps-1) - 1]; an Int16Array is already pcm16 codes
 *   STREAMINFO   header block holding rate, depth, total samples and the MD5 of the codes; libFLAC
 *                only learns the MD5 at the end and, writing to a stream without a seek callback,
 *                cannot go back, so it is patched here into the finished bytes
 *
 * libflacjs initialises asynchronously (~250 ms once per process, in plain node and under jest), so
 * `encodeFlac`/`writeFlac` return promises; after `await initFlacEncoder()` the synchronous
 * `encodeFlacSync` may be used in tight loops (it throws a clear error when called too early).
 */

import * as crypto from 'crypto';
import { writeFileAtomic } from './wav';

/** One channel of samples: floats in [-1, 1) (Float32Array/Float64Array) or pcm16 codes (Int16Array). */
export type FlacChannel = Float32Array | Float64Array | Int16Array;

export interface FlacEncodeOptions {
  /** 8, 16 (default) or 24 */
  bitsPerSample?: number;
  /** libFLAC compression level 0..8 (default 5) */
  compression?: number;
  /** let libFLAC decode every frame it writes and compare with the input (≈ 1.5× the time) */
  verify?: boolean;
}

interface FlacEncLib {
  isReady(): boolean;
  on(event: 'ready', cb: () => void): void;
  create_libflac_encoder(rate: number, channels: number, bps: number, level: number, total: number, verify: boolean, blockSize?: number): number;
  init_encoder_stream(id: number, write: (b: Uint8Array) => void, meta: (m: { md5sum?: string; min_framesize?: number; max_framesize?: number; total_samples?: number } | undefined) => void): number;
  FLAC__stream_encoder_process_interleaved(id: number, buf: Int32Array, n: number): number | boolean;
  FLAC__stream_encoder_finish(id: number): number | boolean;
  FLAC__stream_encoder_get_state(id: number): number;
  FLAC__stream_encoder_delete(id: number): void;
}

const DEPTHS = [8, 16, 24];
// Samples handed to libFLAC per call: 64 Ki frames × 8 ch × 4 B = 2 MiB at most on its heap.
const CHUNK = 1 << 16;

// FLAC__StreamEncoderInitStatus and FLAC__StreamEncoderState names (libFLAC stream_encoder.h).
const INIT_STATUS: Record<number, string> = {
  1: 'ENCODER_ERROR', 2: 'UNSUPPORTED_CONTAINER', 3: 'INVALID_CALLBACKS', 4: 'INVALID_NUMBER_OF_CHANNELS',
  5: 'INVALID_BITS_PER_SAMPLE', 6: 'INVALID_SAMPLE_RATE', 7: 'INVALID_BLOCK_SIZE', 8: 'INVALID_MAX_LPC_ORDER',
  9: 'INVALID_QLP_COEFF_PRECISION', 10: 'BLOCK_SIZE_TOO_SMALL_FOR_LPC_ORDER', 11: 'NOT_STREAMABLE', 12: 'INVALID_METADATA',
  13: 'ALREADY_INITIALIZED',
};
const ENC_STATE: Record<number, string> = {
  0: 'OK', 1: 'UNINITIALIZED', 2: 'OGG_ERROR', 3: 'VERIFY_DECODER_ERROR', 4: 'VERIFY_MISMATCH_IN_AUDIO_DATA',
  5: 'CLIENT_ERROR', 6: 'IO_ERROR', 7: 'FRAMING_ERROR', 8: 'MEMORY_ALLOCATION_ERROR',
};

let libPromise: Promise<FlacEncLib> | null = null;
let readyLib: FlacEncLib | null = null;

/** Loads and initialises libflacjs once per process (the same module instance lib/audio/flac.ts
 *  decodes with). Resolves when `encodeFlacSync` can be called; later calls return at once. */
export function initFlacEncoder(): Promise<void> {
  if (!libPromise) {
    libPromise = new Promise<FlacEncLib>((resolve, reject) => {
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const lib = require('libflacjs')('release.asmjs') as FlacEncLib;
        const done = (): void => { readyLib = lib; resolve(lib); };
        if (lib.isReady()) done();
        else lib.on('ready', done);
      } catch (e) {
        libPromise = null;
        reject(new Error(`[encodeFlac] cannot load the libflacjs encoder: ${(e as Error).message}`));
      }
    });
  }
  return libPromise.then(() => undefined);
}

/** Checks the options and the samples and converts them to interleaved integer codes (n · C). */
function toCodes(op: string, samples: FlacChannel | readonly FlacChannel[], sampleRate: number, bps: number, level: number): { codes: Int32Array; n: number; nc: number } {
  if (!Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate > 655350) {
    throw new Error(`[${op}] sampleRate must be an integer in 1..655350 (FLAC's 20-bit field), got ${sampleRate}`);
  }
  if (!DEPTHS.includes(bps)) throw new Error(`[${op}] bitsPerSample must be one of ${DEPTHS.join(', ')} (12 and 20 could not be decoded again by libflacjs), got ${bps}`);
  if (!Number.isInteger(level) || level < 0 || level > 8) throw new Error(`[${op}] compression must be an integer 0..8, got ${level}`);
  const channels: readonly FlacChannel[] = ArrayBuffer.isView(samples) ? [samples as FlacChannel] : (samples as readonly FlacChannel[]);
  if (!Array.isArray(channels) || channels.length < 1 || channels.length > 8) {
    throw new Error(`[${op}] samples must be a Float32Array, Float64Array or Int16Array, or an array of 1..8 of them (channels), got ${Array.isArray(channels) ? `${channels.length} channels` : typeof samples}`);
  }
  const nc = channels.length;
  const n = channels[0].length;
  channels.forEach((ch, c) => {
    const kind = Object.prototype.toString.call(ch).slice(8, -1);
    if (!['Float32Array', 'Float64Array', 'Int16Array'].includes(kind)) {
      throw new Error(`[${op}] channel ${c} must be a Float32Array, Float64Array or Int16Array, got ${kind}`);
    }
    if (ch.length !== n) throw new Error(`[${op}] channel ${c} has ${ch.length} samples, channel 0 has ${n}`);
  });
  if (n === 0) throw new Error(`[${op}] samples are empty; a FLAC file needs at least one sample`);
  const hi = 2 ** (bps - 1) - 1;
  const lo = -(2 ** (bps - 1));
  const scale = 2 ** (bps - 1);
  const codes = new Int32Array(n * nc); // (n, C) interleaved
  for (let c = 0; c < nc; c++) {
    const ch = channels[c];
    const isInt = Object.prototype.toString.call(ch) === '[object Int16Array]';
    // pcm16 codes move to other depths by an exact power of two (×2^8 for 24-bit, /2^8 for 8-bit)
    const k = isInt ? 2 ** (bps - 16) : scale;
    for (let i = 0, p = c; i < n; i++, p += nc) {
      const x = ch[i];
      if (x !== x || x === Infinity || x === -Infinity) {
        throw new Error(`[${op}] channel ${c} sample ${i} is ${x}; only finite samples can be encoded`);
      }
      let v = Math.round(x * k);
      v = v < lo ? lo : v > hi ? hi : v;
      codes[p] = v;
    }
  }
  return { codes, n, nc };
}

/** MD5 of the codes as libFLAC computes it: interleaved signed little-endian, ceil(bps/8) bytes. */
function codesMd5(codes: Int32Array, bps: number): string {
  const bytesPer = Math.ceil(bps / 8);
  const b = Buffer.alloc(codes.length * bytesPer);
  for (let i = 0, p = 0; i < codes.length; i++, p += bytesPer) {
    const v = codes[i];
    b[p] = v & 0xff;
    if (bytesPer > 1) b[p + 1] = (v >> 8) & 0xff;
    if (bytesPer > 2) b[p + 2] = (v >> 16) & 0xff;
  }
  return crypto.createHash('md5').update(b).digest('hex');
}

/** Writes the final facts into the STREAMINFO block at the start of `out` (bytes 8..42 after the
 *  'fLaC' marker and the 4-byte block header): min/max frame size, total samples, MD5. */
function patchStreamInfo(out: Uint8Array, n: number, md5: string, minFrame: number, maxFrame: number): void {
  const s = 8; // STREAMINFO body
  out[s + 4] = (minFrame >> 16) & 0xff; out[s + 5] = (minFrame >> 8) & 0xff; out[s + 6] = minFrame & 0xff;
  out[s + 7] = (maxFrame >> 16) & 0xff; out[s + 8] = (maxFrame >> 8) & 0xff; out[s + 9] = maxFrame & 0xff;
  // byte 13: 4 low bits of bps-1 | 4 high bits of the 36-bit total; bytes 14..17: its low 32 bits
  out[s + 13] = (out[s + 13] & 0xf0) | (Math.floor(n / 2 ** 32) & 0x0f);
  out[s + 14] = (n >>> 24) & 0xff; out[s + 15] = (n >>> 16) & 0xff; out[s + 16] = (n >>> 8) & 0xff; out[s + 17] = n & 0xff;
  for (let i = 0; i < 16; i++) out[s + 18 + i] = parseInt(md5.slice(2 * i, 2 * i + 2), 16);
}

/** Encodes samples as a FLAC file in memory, synchronously; needs `await initFlacEncoder()` once
 *  before (else throws saying so). `samples` is one channel (n) or an array of 1..8 channels, each
 *  (n). Floats are scaled by 2^(bps-1), rounded to nearest and saturated (≥ 1 becomes the largest
 *  code, 32767 at 16 bits; ≤ -1 the smallest), exactly as encodeWav does, so audio read from a pcm16
 *  WAV round-trips bit-exactly; Int16Array input is taken as pcm16 codes (×256 at 24 bits, rounded
 *  /256 at 8 bits). NaN/±Infinity, empty or unequal channels, a bad rate, depth or level throw
 *  `[encodeFlac] ...`. STREAMINFO carries the total sample count and the MD5 of the codes, which
 *  decodeFlac checks on every read. */
export function encodeFlacSync(samples: FlacChannel | readonly FlacChannel[], sampleRate: number, opts: FlacEncodeOptions = {}): Uint8Array {
  return encodeWith('encodeFlac', samples, sampleRate, opts);
}

function encodeWith(op: string, samples: FlacChannel | readonly FlacChannel[], sampleRate: number, opts: FlacEncodeOptions): Uint8Array {
  const bps = opts.bitsPerSample ?? 16;
  const level = opts.compression ?? 5;
  const { codes, n, nc } = toCodes(op, samples, sampleRate, bps, level);
  const lib = readyLib;
  if (!lib) throw new Error(`[${op}] libflacjs is not initialised yet: await audio.initFlacEncoder() once before the synchronous encoder, or use the async encodeFlac`);
  const id = lib.create_libflac_encoder(sampleRate, nc, bps, level, n, opts.verify ?? false);
  if (!id) throw new Error(`[${op}] libFLAC could not create an encoder (${sampleRate} Hz, ${nc} ch, ${bps} bit, level ${level})`);
  const parts: Uint8Array[] = [];
  let meta: { md5sum?: string; min_framesize?: number; max_framesize?: number; total_samples?: number } | undefined;
  try {
    const init = lib.init_encoder_stream(id, (b) => { parts.push(b); }, (m) => { if (m) meta = m; });
    if (init !== 0) {
      throw new Error(`[${op}] libFLAC rejected the stream (${INIT_STATUS[init] ?? init}): ${sampleRate} Hz, ${nc} ch, ${bps} bit, level ${level}`);
    }
    for (let f = 0; f < n; f += CHUNK) {
      const m = Math.min(CHUNK, n - f);
      if (!lib.FLAC__stream_encoder_process_interleaved(id, codes.subarray(f * nc, (f + m) * nc), m)) {
        const st = lib.FLAC__stream_encoder_get_state(id);
        throw new Error(`[${op}] libFLAC failed at sample ${f} (encoder state ${ENC_STATE[st] ?? st})`);
      }
    }
    if (!lib.FLAC__stream_encoder_finish(id)) {
      const st = lib.FLAC__stream_encoder_get_state(id);
      throw new Error(`[${op}] libFLAC failed to finish the stream (encoder state ${ENC_STATE[st] ?? st})`);
    }
  } finally {
    lib.FLAC__stream_encoder_delete(id);
  }
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  if (total < 42 || String.fromCharCode(out[0], out[1], out[2], out[3]) !== 'fLaC' || (out[4] & 0x7f) !== 0) {
    throw new Error(`[${op}] libFLAC output does not start with 'fLaC' + STREAMINFO (${total} bytes)`);
  }
  const md5 = codesMd5(codes, bps);
  // libFLAC hashed what it was given; a mismatch means the samples did not reach it intact.
  if (meta?.md5sum !== undefined && meta.md5sum !== md5) {
    throw new Error(`[${op}] libFLAC's MD5 of the encoded samples (${meta.md5sum}) differs from the input's (${md5})`);
  }
  patchStreamInfo(out, n, md5, meta?.min_framesize ?? 0, meta?.max_framesize ?? 0);
  return out;
}

/** Encodes samples as a FLAC file in memory (see encodeFlacSync for the conversion, checks and
 *  errors); initialises libflacjs on first use. Returns the file's bytes. */
export async function encodeFlac(samples: FlacChannel | readonly FlacChannel[], sampleRate: number, opts: FlacEncodeOptions = {}): Promise<Uint8Array> {
  await initFlacEncoder();
  return encodeWith('encodeFlac', samples, sampleRate, opts);
}

/** Encodes samples (see encodeFlacSync) and writes them to `file` atomically (temporary file in the
 *  same folder + rename; the folder is created), so a failure never leaves a partial .flac under
 *  the final name. Errors start with `[writeFlac] <file>:`. */
export async function writeFlac(file: string, samples: FlacChannel | readonly FlacChannel[], sampleRate: number, opts: FlacEncodeOptions = {}): Promise<void> {
  await initFlacEncoder();
  writeFlacSync(file, samples, sampleRate, opts);
}

/** writeFlac without the promise; needs `await initFlacEncoder()` once before. */
export function writeFlacSync(file: string, samples: FlacChannel | readonly FlacChannel[], sampleRate: number, opts: FlacEncodeOptions = {}): void {
  let bytes: Uint8Array;
  try {
    bytes = encodeWith('writeFlac', samples, sampleRate, opts);
  } catch (e) {
    throw new Error(`[writeFlac] ${file}: ${(e as Error).message.replace(/^\[writeFlac\] /, '')}`);
  }
  try {
    writeFileAtomic(file, bytes);
  } catch (e) {
    throw new Error(`[writeFlac] ${file}: cannot write (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}
