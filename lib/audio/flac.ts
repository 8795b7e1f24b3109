/**
 * FLAC reading through the `libflacjs` package (the reference libFLAC compiled to asm.js: plain
 * JavaScript, no native build, CommonJS), and `readAudio`, which picks WAV or FLAC by magic bytes.
 *
 * Glossary:
 *   STREAMINFO   the first metadata block: sample rate, channels, bit depth, total samples, and the
 *                MD5 of the decoded samples
 *   bps          bits per sample of the stream (FLAC allows 4..32; 8, 16, 24 in practice)
 *   interleaved  libflacjs's output layout: WAV-style little-endian frames, so the WAV
 *                deinterleaver decodes it (8-bit as unsigned offset-128, like pcm8 WAV)
 *
 * libflacjs post-processes libFLAC's int32 output in JavaScript with a byte heuristic (see its
 * `__fix_write_buffer`); to never hand back silently wrong audio, every decode is checked against
 * the MD5 in STREAMINFO (libFLAC hashes the signed little-endian samples; ~2 ms per second of
 * 16 kHz audio) and a mismatch throws.
 *
 * The library initialises asynchronously (about 20 ms once per process), so the readers here
 * return promises.
 */

import * as crypto from 'crypto';
import * as fs from 'fs';
import { AudioData, ReadOptions, SampleFormat, decodeWav, deinterleave, downmix, probeWav } from './wav';

interface FlacMetadata {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  total_samples: number;
  md5sum: string;
}

interface FlacDecoder {
  /** Decoded frames so far: per frame, one buffer per channel (libflacjs's write callback). */
  readonly data: Uint8Array[][];
  decode(data: Uint8Array): boolean;
  getSamples(interleaved: true): Uint8Array;
  getState(): number;
  destroy(): void;
  readonly metadata: FlacMetadata | undefined;
}

interface FlacLib {
  isReady(): boolean;
  on(event: 'ready', cb: () => void): void;
}

// FLAC__StreamDecoderState values (libFLAC stream_decoder.h), for error messages.
const STATE_END_OF_STREAM = 4;
const STATE_NAMES: Record<number, string> = {
  0: 'SEARCH_FOR_METADATA', 1: 'READ_METADATA', 2: 'SEARCH_FOR_FRAME_SYNC', 3: 'READ_FRAME',
  4: 'END_OF_STREAM', 5: 'OGG_ERROR', 6: 'SEEK_ERROR', 7: 'ABORTED', 8: 'MEMORY_ALLOCATION_ERROR', 9: 'UNINITIALIZED',
};

let flacLib: Promise<{ lib: FlacLib; Decoder: new (lib: FlacLib, opts: object) => FlacDecoder }> | null = null;

/** Loads libflacjs once (asm.js variant: plain JavaScript, same output as the wasm build). */
function loadFlac(): Promise<{ lib: FlacLib; Decoder: new (lib: FlacLib, opts: object) => FlacDecoder }> {
  if (!flacLib) {
    flacLib = new Promise((resolve, reject) => {
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const lib = require('libflacjs')('release.asmjs') as FlacLib;
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { Decoder } = require('libflacjs/lib/decoder') as { Decoder: new (l: FlacLib, o: object) => FlacDecoder };
        if (lib.isReady()) resolve({ lib, Decoder });
        else lib.on('ready', () => resolve({ lib, Decoder }));
      } catch (e) {
        reject(new Error(`[readFlac] cannot load the libflacjs decoder: ${(e as Error).message}`));
      }
    });
  }
  return flacLib;
}

/** STREAMINFO facts read from the first bytes of a FLAC file (see probeFlac). */
export interface FlacInfo {
  sampleRate: number;
  numChannels: number;
  numFrames: number;
  bitsPerSample: number;
  md5: string;
}

/** Offset of the 'fLaC' marker: 0, or just after an ID3v2 tag some taggers put in front. */
function flacStart(b: Uint8Array): number {
  if (b.length >= 10 && b[0] === 0x49 && b[1] === 0x44 && b[2] === 0x33) {
    // ID3v2 size: 4 bytes of 7 bits (syncsafe), plus the 10-byte header, plus 10 if a footer.
    const size = ((b[6] & 0x7f) << 21) | ((b[7] & 0x7f) << 14) | ((b[8] & 0x7f) << 7) | (b[9] & 0x7f);
    return 10 + size + ((b[5] & 0x10) ? 10 : 0);
  }
  return 0;
}

/** Parses the STREAMINFO block of a FLAC buffer (whole file or at least its first ~100 bytes). */
export function parseFlacHeader(b: Uint8Array, name = '<buffer>', op = 'decodeFlac'): FlacInfo {
  const bad = (msg: string): never => {
    throw new Error(`[${op}] ${name}: ${msg}`);
  };
  const s = flacStart(b);
  if (b.length < s + 42) bad(`file is ${b.length} bytes, too short for the FLAC marker and STREAMINFO (${s + 42})`);
  if (String.fromCharCode(b[s], b[s + 1], b[s + 2], b[s + 3]) !== 'fLaC') bad('not a FLAC file: no "fLaC" marker');
  const blockType = b[s + 4] & 0x7f;
  const blockLen = (b[s + 5] << 16) | (b[s + 6] << 8) | b[s + 7];
  if (blockType !== 0 || blockLen !== 34) bad(`first metadata block is type ${blockType} of ${blockLen} bytes, expected STREAMINFO (type 0, 34 bytes)`);
  const p = s + 8 + 10; // skip min/max block size (2+2) and min/max frame size (3+3)
  // 20 bits sample rate | 3 bits channels-1 | 5 bits bps-1 | 36 bits total samples
  const sampleRate = (b[p] << 12) | (b[p + 1] << 4) | (b[p + 2] >> 4);
  const numChannels = ((b[p + 2] >> 1) & 0x7) + 1;
  const bitsPerSample = (((b[p + 2] & 1) << 4) | (b[p + 3] >> 4)) + 1;
  const numFrames = (b[p + 3] & 0xf) * 2 ** 32 + ((b[p + 4] << 24) >>> 0) + (b[p + 5] << 16) + (b[p + 6] << 8) + b[p + 7];
  const md5 = Buffer.from(b.subarray(p + 8, p + 24)).toString('hex');
  if (sampleRate === 0) bad('STREAMINFO says sample rate 0');
  return { sampleRate, numChannels, numFrames, bitsPerSample, md5 };
}

/** Decodes a FLAC file held in memory into float channels scaled by 2^(bps-1) (so 16-bit FLAC gives
 *  exactly what the same samples in a pcm16 WAV give). Checks the decoded samples against the MD5
 *  in STREAMINFO when the encoder stored one. `format` is the PCM width holding the bit depth
 *  (pcm16 for 12- or 16-bit streams), `bitsPerSample` the depth itself. */
export async function decodeFlac(buf: Uint8Array, opts: ReadOptions = {}): Promise<AudioData> {
  return decodeFlacAs(buf, opts.name ?? '<buffer>', 'decodeFlac', opts.mono ?? false);
}

async function decodeFlacAs(buf: Uint8Array, name: string, op: string, mono: boolean): Promise<AudioData> {
  const info = parseFlacHeader(buf, name, op);
  const bad = (msg: string): never => {
    throw new Error(`[${op}] ${name}: ${msg}`);
  };
  if (info.bitsPerSample > 24) bad(`${info.bitsPerSample}-bit FLAC is not supported (up to 24)`);
  const { lib, Decoder } = await loadFlac();
  const dec = new Decoder(lib, { verify: false });
  let bytes: Uint8Array;
  let ok: boolean;
  try {
    // libflacjs logs decoder errors with console.error; its return value and state carry them too.
    const origError = console.error;
    const logged: string[] = [];
    console.error = (...a: unknown[]) => { logged.push(a.map(String).join(' ')); };
    try {
      const data = new Uint8Array(buf.byteLength);
      data.set(buf);
      ok = dec.decode(data);
    } finally {
      console.error = origError;
    }
    // A cut-off file ends in END_OF_STREAM with ok = false: named below, with or without a total.
    const state = dec.getState();
    if (!dec.metadata || (!ok && (state !== STATE_END_OF_STREAM || logged.length > 0))) {
      bad(`decoding failed${logged.length ? `: ${logged[0]}` : ` (decoder state ${STATE_NAMES[state] ?? state})`}`);
    }
    // Every frame must carry the channels STREAMINFO declares: the interleaver reads that many
    // (a frame with fewer made it throw a bare TypeError; one with more was silently cut).
    const m = dec.metadata!;
    if (m.channels !== info.numChannels || m.bitsPerSample !== info.bitsPerSample || m.sampleRate !== info.sampleRate) {
      bad(`the decoder read STREAMINFO as ${m.channels} channels, ${m.bitsPerSample} bits, ${m.sampleRate} Hz, not ` +
        `${info.numChannels}, ${info.bitsPerSample}, ${info.sampleRate} (corrupt or repeated header)`);
    }
    dec.data.forEach((frame, i) => {
      if (!Array.isArray(frame) || frame.length !== info.numChannels) {
        bad(`frame ${i} has ${Array.isArray(frame) ? frame.length : 0} channels but STREAMINFO says ${info.numChannels}`);
      }
      if (frame.some((c) => !c || c.length !== frame[0].length)) bad(`frame ${i} has channels of different lengths`);
    });
    // libflacjs's interleaver logs (console.error) samples that spill past the declared depth:
    // a corrupt stream, refused rather than printed on the user's console.
    const spill: string[] = [];
    console.error = (...a: unknown[]) => { spill.push(a.map(String).join(' ')); };
    try {
      bytes = dec.getSamples(true);
    } finally {
      console.error = origError;
    }
    if (spill.length) bad(`decoded samples do not fit the ${info.bitsPerSample}-bit depth STREAMINFO declares (${spill.length} reported, e.g. ${spill[0].replace(/^\[ERROR\] /, '')})`);
  } catch (e) {
    const msg = (e as Error).message;
    if (msg.startsWith(`[${op}] `)) throw e;
    // Anything else thrown inside the decoder still names the op and the file.
    throw new Error(`[${op}] ${name}: decoding failed: ${msg}`);
  } finally {
    dec.destroy();
  }
  const bytesPer = Math.ceil(info.bitsPerSample / 8);
  const format = `pcm${bytesPer * 8}` as SampleFormat;
  const got = bytes.byteLength / (bytesPer * info.numChannels);
  if (!Number.isInteger(got)) bad(`decoded ${bytes.byteLength} bytes, not whole frames of ${info.numChannels} x ${bytesPer} bytes`);
  if (info.numFrames > 0 && got !== info.numFrames) {
    bad(`STREAMINFO says ${info.numFrames} samples per channel but ${got} were decoded (truncated file?)`);
  }
  if (!ok) {
    // Streaming encoders write total samples 0 (unknown) and no MD5: the decoder running out of
    // data mid-frame is then the only sign of a cut file.
    bad(`the stream ends in the middle of a frame after ${got} samples per channel (truncated file?)`);
  }
  if (!/^0+$/.test(info.md5)) {
    const md5 = flacMd5(bytes, bytesPer);
    if (md5 !== info.md5) bad(`decoded samples fail the STREAMINFO MD5 check (${md5} != ${info.md5}); the file is corrupt or the decoder is wrong`);
  }
  let channels = deinterleave(bytes, info.numChannels, format);
  // Streams whose depth is not a whole number of bytes (12, 20 bit) carry right-aligned values.
  const extra = bytesPer * 8 - info.bitsPerSample;
  if (extra > 0) {
    const k = 2 ** extra;
    for (const ch of channels) {
      for (let i = 0; i < ch.length; i++) {
        const v = (ch[i] *= k);
        // Frames coded at a larger depth than STREAMINFO declares decode to values past full scale.
        if (v < -1 || v >= 1) bad(`sample ${i} is ${v * 2 ** (info.bitsPerSample - 1)}, outside the ${info.bitsPerSample}-bit range STREAMINFO declares (corrupt file)`);
      }
    }
  }
  if (mono) channels = [downmix(channels)];
  return { sampleRate: info.sampleRate, channels, format, bitsPerSample: info.bitsPerSample };
}

/** MD5 as libFLAC computes it: interleaved signed little-endian samples of ceil(bps/8) bytes. The
 *  WAV layout differs only for 8-bit (unsigned), which is flipped to signed first. */
function flacMd5(bytes: Uint8Array, bytesPer: number): string {
  if (bytesPer !== 1) return crypto.createHash('md5').update(bytes).digest('hex');
  const signed = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) signed[i] = bytes[i] ^ 0x80;
  return crypto.createHash('md5').update(signed).digest('hex');
}

function readFileFor(op: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new Error(`[${op}] ${file}: cannot read file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/** Reads a FLAC file into float channels (see decodeFlac); same result shape as readWav. */
export async function readFlac(file: string, opts: ReadOptions = {}): Promise<AudioData> {
  return decodeFlacAs(readFileFor('readFlac', file), file, 'readFlac', opts.mono ?? false);
}

export type AudioContainer = 'wav' | 'flac';

/** Names the container of a buffer from its first bytes: 'RIFF'/'RIFX'/'RF64' → wav, 'fLaC' (maybe
 *  after an ID3v2 tag) → flac; anything else throws naming the bytes seen. */
export function sniffAudio(head: Uint8Array, name = '<buffer>', op = 'readAudio'): AudioContainer {
  const tag = String.fromCharCode(...head.subarray(0, 4));
  if (tag === 'RIFF' || tag === 'RIFX' || tag === 'RF64') return 'wav';
  const s = flacStart(head);
  if (head.length >= s + 4 && String.fromCharCode(head[s], head[s + 1], head[s + 2], head[s + 3]) === 'fLaC') return 'flac';
  if (head.length >= s + 4 || s === 0) {
    throw new Error(`[${op}] ${name}: unknown audio format (first bytes ${JSON.stringify(tag)}); WAV and FLAC are supported`);
  }
  return 'flac'; // an ID3 tag longer than the head read: only FLAC files carry one here
}

/** Reads a WAV or FLAC file (or buffer), choosing the decoder by magic bytes, not by extension. */
export async function readAudio(pathOrBuffer: string | Uint8Array, opts: ReadOptions = {}): Promise<AudioData> {
  const name = typeof pathOrBuffer === 'string' ? pathOrBuffer : opts.name ?? '<buffer>';
  const buf = typeof pathOrBuffer === 'string' ? readFileFor('readAudio', pathOrBuffer) : pathOrBuffer;
  if (sniffAudio(buf, name) === 'wav') {
    try {
      return decodeWav(buf, { ...opts, name });
    } catch (e) {
      throw new Error((e as Error).message.replace(/^\[decodeWav\]/, '[readAudio]'));
    }
  }
  return decodeFlacAs(buf, name, 'readAudio', opts.mono ?? false);
}

/** Sample rate, channel count and length of a WAV or FLAC file from its header only (no decoding):
 *  used to fill manifest durations quickly. */
export function probeAudio(file: string): { sampleRate: number; numChannels: number; numFrames: number; duration: number } {
  const fd = fs.openSync(file, 'r');
  const head = Buffer.alloc(4096);
  let n: number;
  try {
    n = fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  const kind = sniffAudio(head.subarray(0, n), file, 'probeAudio');
  let info: { sampleRate: number; numChannels: number; numFrames: number };
  if (kind === 'wav') {
    info = probeWav(file);
  } else {
    const s = flacStart(head);
    info = parseFlacHeader(s + 42 <= n ? head.subarray(0, n) : readFileFor('probeAudio', file), file, 'probeAudio');
  }
  return { sampleRate: info.sampleRate, numChannels: info.numChannels, numFrames: info.numFrames, duration: info.numFrames / info.sampleRate };
}
