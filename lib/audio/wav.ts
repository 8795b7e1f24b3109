/**
 * WAV (RIFF/WAVE) read and write, own implementation: the format is a 12-byte RIFF header and a
 * list of chunks, of which only 'fmt ' and 'data' matter here.
 *
 * Glossary:
 *   frame        one sample per channel at one instant (blockAlign bytes in the file)
 *   blockAlign   bytes per frame = channels × container bytes per sample
 *   container    bytes a sample occupies (1, 2, 3, 4 or 8); validBits ≤ 8 × container
 *   format tag   1 = integer PCM, 3 = IEEE float, 0xFFFE = WAVE_FORMAT_EXTENSIBLE (the real tag
 *                is the first two bytes of its SubFormat GUID)
 *   full scale   integer PCM maps to [-1, 1) by dividing by 2^(bits-1): -32768 → -1 exactly,
 *                32767 → 1 - 2^-15. Writing multiplies back, rounds to nearest and saturates at
 *                [-2^(bits-1), 2^(bits-1) - 1], so any quantised input k / 2^(bits-1) round-trips
 *                bit-exactly and values outside [-1, 1) clip (1.0 → 32767 in pcm16).
 *   pcm8         unsigned with offset 128 (the WAV convention), the other PCM widths are signed
 *
 * Samples are returned as Float32Array per channel. Float32 holds 24 significant bits, so pcm8,
 * pcm16, pcm24 and float32 are exact; pcm32 and float64 are rounded to the nearest float32.
 */

import * as fs from 'fs';

import { writeFileAtomic } from '../io/atomic';

// Bound once: under jest (a vm context) a global `Math.round` lookup per sample is ~10× slower.
const { round } = Math;

export type SampleFormat = 'pcm8' | 'pcm16' | 'pcm24' | 'pcm32' | 'float32' | 'float64';

/** Decoded audio: one Float32Array per channel, all the same length, in [-1, 1) for PCM (pcm32's
 *  largest value, 1 - 2^-31, rounds to 1 in float32). */
export interface AudioData {
  sampleRate: number;
  channels: Float32Array[];
  /** sample encoding in the file (for FLAC, the PCM width that holds its bit depth) */
  format: SampleFormat;
  /** significant bits per sample in the file (validBits of WAVE_FORMAT_EXTENSIBLE, FLAC depth) */
  bitsPerSample: number;
}

/** Audio to encode: channels may be Float32Array or Float64Array (float64 output keeps all bits). */
export interface AudioInput {
  sampleRate: number;
  channels: ArrayLike<number>[];
}

export interface ReadOptions {
  /** average all channels into one (channels.length becomes 1) */
  mono?: boolean;
  /** name used in error messages when decoding a buffer (default '<buffer>') */
  name?: string;
  /**
   * Keep NaN and ±Infinity samples of float WAV data (default false: they are an error naming
   * channel and sample, as writeWav refuses to write them; float64 values beyond the float32
   * range count as Infinity).
   */
  allowNonFinite?: boolean;
}

export interface EncodeOptions {
  format?: SampleFormat;
  /** write WAVE_FORMAT_EXTENSIBLE (default: only when channels > 2, as Microsoft recommends) */
  extensible?: boolean;
}

/** Header facts of a WAV file without its samples (see probeWav). */
export interface WavInfo {
  sampleRate: number;
  numChannels: number;
  numFrames: number;
  format: SampleFormat;
  bitsPerSample: number;
  /** byte offset and length of the sample data in the file */
  dataOffset: number;
  dataBytes: number;
}

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
// Bytes 2..15 of every standard SubFormat GUID (KSDATAFORMAT_SUBTYPE_*): 00000000-0010-8000-00AA00389B71.
const GUID_TAIL = Buffer.from([0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71]);

// Names for the tags people actually meet, so the error says "μ-law" rather than "tag 7".
const UNSUPPORTED_TAGS: Record<number, string> = {
  0x0002: 'Microsoft ADPCM',
  0x0006: 'A-law',
  0x0007: 'μ-law',
  0x0011: 'IMA ADPCM',
  0x0031: 'GSM 6.10',
  0x0050: 'MPEG',
  0x0055: 'MPEG Layer 3 (MP3)',
  0x00ff: 'AAC',
  0x1610: 'HE-AAC',
};

// Streaming writers (espeak-ng --stdout writes 0x7ffff000, ffmpeg 0xffffffff) put a placeholder
// length in the data chunk because they cannot seek back; any declared size this large in the
// last chunk means "to the end of the file", not a 2 GB truncation.
const STREAMING_SIZE_MIN = 0x7fff0000;

const FORMAT_BYTES: Record<SampleFormat, number> = {
  pcm8: 1, pcm16: 2, pcm24: 3, pcm32: 4, float32: 4, float64: 8,
};

/** Parses the RIFF header and chunks of a WAV buffer and returns where the samples are and how they
 *  are encoded, without decoding them. Unknown chunks (LIST, fact, cue, bext, ...) are skipped,
 *  odd-sized chunks take their pad byte (a missing pad byte before the end is tolerated), and a
 *  malformed header, a data chunk longer than what remains, an unsupported encoding (μ-law, ADPCM,
 *  ...) or a big-endian RIFX/RF64 file throws `[op] name: problem`. `totalBytes` is the full file
 *  length when `buf` holds only its head (used by probe functions reading a prefix). */
export function parseWavHeader(buf: Uint8Array, name = '<buffer>', op = 'decodeWav', totalBytes = buf.length): WavInfo {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const bad = (msg: string): never => {
    throw new Error(`[${op}] ${name}: ${msg}`);
  };
  if (b.length < 12) bad(`file is ${b.length} bytes, shorter than the 12-byte RIFF header`);
  const riff = b.toString('latin1', 0, 4);
  if (riff === 'RIFX') bad('big-endian RIFX files are not supported');
  if (riff === 'RF64') bad('RF64 (64-bit WAV) files are not supported');
  if (riff !== 'RIFF') bad(`not a WAV file: starts with ${JSON.stringify(riff)}, expected "RIFF"`);
  if (b.toString('latin1', 8, 12) !== 'WAVE') bad(`RIFF form is ${JSON.stringify(b.toString('latin1', 8, 12))}, expected "WAVE"`);

  let fmt: { tag: number; channels: number; rate: number; blockAlign: number; bits: number; validBits: number } | null = null;
  let dataOffset = -1;
  let dataBytes = 0;
  let pos = 12;
  while (pos + 8 <= b.length) {
    const id = b.toString('latin1', pos, pos + 4);
    const size = b.readUInt32LE(pos + 4);
    const body = pos + 8;
    const complete = fmt !== null && dataOffset >= 0;
    // Trailing junk after both needed chunks (zero padding, a cut-off LIST) is ignored.
    if (!/^[\x20-\x7e]{4}$/.test(id)) {
      if (complete) break;
      bad(`malformed chunk id ${JSON.stringify(id)} at byte ${pos}`);
    }
    const remaining = totalBytes - body;
    if (id !== 'data' && size > remaining) {
      if (complete) break;
      bad(`'${id}' chunk says ${size} bytes but only ${remaining} remain`);
    }
    if (id === 'fmt ') {
      if (size < 16) bad(`'fmt ' chunk is ${size} bytes, expected at least 16`);
      if (body + size > b.length) bad(`'fmt ' chunk says ${size} bytes but only ${Math.max(0, b.length - body)} remain`);
      let tag = b.readUInt16LE(body);
      const channels = b.readUInt16LE(body + 2);
      const rate = b.readUInt32LE(body + 4);
      const blockAlign = b.readUInt16LE(body + 12);
      const bits = b.readUInt16LE(body + 14);
      let validBits = bits;
      if (tag === WAVE_FORMAT_EXTENSIBLE) {
        if (size < 40) bad(`WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk is ${size} bytes, expected 40`);
        validBits = b.readUInt16LE(body + 18) || bits;
        tag = b.readUInt16LE(body + 24);
        if (!b.subarray(body + 26, body + 40).equals(GUID_TAIL)) bad('WAVE_FORMAT_EXTENSIBLE SubFormat GUID is not a standard KSDATAFORMAT_SUBTYPE');
      }
      fmt = { tag, channels, rate, blockAlign, bits, validBits };
    } else if (id === 'data') {
      if (dataOffset >= 0) bad(`second 'data' chunk at byte ${pos}`);
      dataOffset = body;
      if (size > remaining) {
        const last = size >= STREAMING_SIZE_MIN;
        if (!last) bad(`data chunk says ${size} bytes but only ${remaining} remain`);
        dataBytes = remaining; // streaming placeholder: data runs to the end of the file
        break;
      }
      dataBytes = size;
    }
    // Chunks are word-aligned: an odd size is followed by one pad byte. Some writers forget it;
    // if the padded position is not a plausible chunk id but the unpadded one is, trust the latter.
    let next = body + size + (size & 1);
    if ((size & 1) && next + 4 <= b.length && !/^[\x20-\x7e]{4}$/.test(b.toString('latin1', next, next + 4))
      && /^[\x20-\x7e]{4}$/.test(b.toString('latin1', next - 1, next + 3))) next -= 1;
    pos = next;
  }
  if (!fmt) bad(dataOffset >= 0 ? "'data' chunk found but no 'fmt ' chunk before the end" : "no 'fmt ' chunk");
  if (dataOffset < 0) bad("no 'data' chunk");
  const f = fmt!;
  const format = formatFromTag(f.tag, f.bits, (msg) => bad(msg));
  if (f.channels < 1) bad('header says 0 channels');
  if (f.rate < 1) bad('header says sample rate 0');
  const expectAlign = f.channels * FORMAT_BYTES[format];
  if (f.blockAlign !== expectAlign) bad(`blockAlign is ${f.blockAlign}, expected ${f.channels} channels × ${FORMAT_BYTES[format]} bytes = ${expectAlign}`);
  if (f.validBits < 1 || f.validBits > f.bits) bad(`valid bits per sample ${f.validBits} is not in [1, ${f.bits}]`);
  const partial = dataBytes % expectAlign;
  if (partial !== 0) bad(`data chunk is ${dataBytes} bytes, not a whole number of ${expectAlign}-byte frames (${partial} bytes left over)`);
  return {
    sampleRate: f.rate, numChannels: f.channels, numFrames: dataBytes / expectAlign,
    format, bitsPerSample: f.validBits, dataOffset, dataBytes,
  };
}

function formatFromTag(tag: number, bits: number, bad: (m: string) => never): SampleFormat {
  if (tag === WAVE_FORMAT_PCM) {
    if (bits === 8 || bits === 16 || bits === 24 || bits === 32) return `pcm${bits}` as SampleFormat;
    return bad(`integer PCM with ${bits} bits per sample is not supported (8, 16, 24 or 32)`);
  }
  if (tag === WAVE_FORMAT_IEEE_FLOAT) {
    if (bits === 32 || bits === 64) return `float${bits}` as SampleFormat;
    return bad(`IEEE float with ${bits} bits per sample is not supported (32 or 64)`);
  }
  const known = UNSUPPORTED_TAGS[tag];
  const hex = `0x${tag.toString(16).padStart(4, '0')}`;
  return bad(`${known ? `${known} (format tag ${hex})` : `format tag ${hex}`} is not supported; only integer PCM and IEEE float`);
}

/** Decodes the interleaved little-endian samples of `bytes` (whole frames) into one Float32Array per
 *  channel, scaled to [-1, 1) for integer PCM (divide by 2^(bits-1); pcm8 is unsigned, offset 128).
 *  Shared with the FLAC reader, whose decoder hands back WAV-layout bytes. */
export function deinterleave(bytes: Uint8Array, numChannels: number, format: SampleFormat): Float32Array[] {
  const bps = FORMAT_BYTES[format];
  const n = Math.floor(bytes.byteLength / (bps * numChannels));
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Float32Array[] = [];
  for (let c = 0; c < numChannels; c++) out.push(new Float32Array(n));
  const stride = bps * numChannels;
  for (let c = 0; c < numChannels; c++) {
    const ch = out[c];
    let p = c * bps;
    switch (format) {
      case 'pcm8': for (let i = 0; i < n; i++, p += stride) ch[i] = (bytes[p] - 128) / 128; break;
      case 'pcm16': for (let i = 0; i < n; i++, p += stride) ch[i] = dv.getInt16(p, true) / 32768; break;
      case 'pcm24':
        for (let i = 0; i < n; i++, p += stride) {
          const v = bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16);
          ch[i] = ((v << 8) >> 8) / 8388608; // shift pair sign-extends bit 23
        }
        break;
      case 'pcm32': for (let i = 0; i < n; i++, p += stride) ch[i] = dv.getInt32(p, true) / 2147483648; break;
      case 'float32': for (let i = 0; i < n; i++, p += stride) ch[i] = dv.getFloat32(p, true); break;
      case 'float64': for (let i = 0; i < n; i++, p += stride) ch[i] = dv.getFloat64(p, true); break;
    }
  }
  return out;
}

/** Averages the channels of `audio` into one (a no-op copy for mono input). */
export function downmix(channels: Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0];
  const n = channels[0].length;
  const out = new Float32Array(n);
  const acc = new Float64Array(n);
  for (const ch of channels) for (let i = 0; i < n; i++) acc[i] += ch[i];
  const inv = 1 / channels.length;
  for (let i = 0; i < n; i++) out[i] = acc[i] * inv;
  return out;
}

/** Decodes a WAV file held in memory. Integer PCM (8 unsigned, 16, 24, 32) and IEEE float (32, 64),
 *  plain or WAVE_FORMAT_EXTENSIBLE, any channel count and sample rate; `mono` averages the channels.
 *  Errors name `opts.name` and the problem, e.g. `[decodeWav] x.wav: data chunk says 32000 bytes
 *  but only 1200 remain`. */
export function decodeWav(buf: Uint8Array, opts: ReadOptions = {}): AudioData {
  return decodeAs(buf, opts.name ?? '<buffer>', 'decodeWav', opts);
}

function decodeAs(buf: Uint8Array, name: string, op: string, opts: ReadOptions): AudioData {
  const mono = opts.mono ?? false;
  const info = parseWavHeader(buf, name, op);
  const bytes = buf.subarray(info.dataOffset, info.dataOffset + info.dataBytes);
  const channels = deinterleave(bytes, info.numChannels, info.format);
  if ((info.format === 'float32' || info.format === 'float64') && !opts.allowNonFinite) {
    channels.forEach((ch, c) => {
      for (let i = 0; i < ch.length; i++) {
        if (!Number.isFinite(ch[i])) {
          throw new Error(`[${op}] ${name}: channel ${c} sample ${i} is ${ch[i]}; float WAV data must be finite (pass { allowNonFinite: true } to keep it)`);
        }
      }
    });
  }
  return {
    sampleRate: info.sampleRate,
    channels: mono ? [downmix(channels)] : channels,
    format: info.format,
    bitsPerSample: info.bitsPerSample,
  };
}

/** Reads a WAV file from a path (or decodes a buffer) into float channels; see decodeWav for the
 *  formats accepted. Errors start with `[readWav] <path>:`. */
export function readWav(pathOrBuffer: string | Uint8Array, opts: ReadOptions = {}): AudioData {
  if (typeof pathOrBuffer === 'string') {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(pathOrBuffer);
    } catch (e) {
      throw new Error(`[readWav] ${pathOrBuffer}: cannot read file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    return decodeAs(buf, pathOrBuffer, 'readWav', opts);
  }
  return decodeAs(pathOrBuffer, opts.name ?? '<buffer>', 'readWav', opts);
}

/** Reads only the header of a WAV file (its first 64 KiB, more if chunks before 'data' are larger)
 *  and returns sample rate, channels, frame count and encoding: durations for manifests without
 *  decoding audio. */
export function probeWav(file: string): WavInfo {
  const size = fs.statSync(file).size;
  let head = Math.min(size, 65536);
  for (;;) {
    const buf = Buffer.alloc(head);
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, buf, 0, head, 0);
    } finally {
      fs.closeSync(fd);
    }
    try {
      return parseWavHeader(buf, file, 'probeWav', size);
    } catch (e) {
      // A header that runs past the prefix read ("no 'data' chunk") needs a longer prefix.
      if (head >= size) throw e;
      head = Math.min(size, head * 8);
    }
  }
}

/** Encodes float channels as a WAV file in memory. PCM formats scale by 2^(bits-1), round to
 *  nearest and saturate (values ≥ 1 become the largest code, e.g. 32767 in pcm16; ≤ -1 the
 *  smallest), so quantised input round-trips bit-exactly; float formats store values unchanged.
 *  Throws on NaN/Infinity (naming channel and sample), empty or unequal channels. Writes plain
 *  PCM/float tags for ≤ 2 channels (readable by every tool) unless `extensible` is set; float
 *  files get the 'fact' chunk the spec asks for non-PCM data. */
export function encodeWav(audio: AudioInput, opts: EncodeOptions = {}): Buffer {
  const op = 'encodeWav';
  const format = opts.format ?? 'pcm16';
  if (!(format in FORMAT_BYTES)) throw new Error(`[${op}] format must be one of ${Object.keys(FORMAT_BYTES).join(', ')}, got ${JSON.stringify(format)}`);
  const { sampleRate, channels } = audio;
  if (!Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate > 0xffffffff) {
    throw new Error(`[${op}] sampleRate must be a positive integer, got ${sampleRate}`);
  }
  if (!Array.isArray(channels) || channels.length < 1 || channels.length > 65535) {
    throw new Error(`[${op}] channels must be an array of 1..65535 sample arrays, got ${Array.isArray(channels) ? channels.length : typeof channels}`);
  }
  const n = channels[0].length;
  channels.forEach((ch, c) => {
    if (ch.length !== n) throw new Error(`[${op}] channel ${c} has ${ch.length} samples, channel 0 has ${n}`);
  });
  const nc = channels.length;
  const bps = FORMAT_BYTES[format];
  const isFloat = format === 'float32' || format === 'float64';
  const extensible = opts.extensible ?? nc > 2;
  const fmtSize = extensible ? 40 : isFloat ? 18 : 16;
  const dataBytes = n * nc * bps;
  if (dataBytes > 0xffffffff - 100) throw new Error(`[${op}] ${dataBytes} bytes of samples exceed the 4 GiB RIFF limit`);
  const factSize = isFloat ? 12 : 0;
  const total = 12 + 8 + fmtSize + factSize + 8 + dataBytes + (dataBytes & 1);
  const b = Buffer.alloc(total);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(total - 8, 4);
  b.write('WAVE', 8, 'latin1');
  b.write('fmt ', 12, 'latin1');
  b.writeUInt32LE(fmtSize, 16);
  const tag = isFloat ? WAVE_FORMAT_IEEE_FLOAT : WAVE_FORMAT_PCM;
  b.writeUInt16LE(extensible ? WAVE_FORMAT_EXTENSIBLE : tag, 20);
  b.writeUInt16LE(nc, 22);
  b.writeUInt32LE(sampleRate, 24);
  b.writeUInt32LE(sampleRate * nc * bps, 28);
  b.writeUInt16LE(nc * bps, 32);
  b.writeUInt16LE(bps * 8, 34);
  let pos = 36;
  if (fmtSize > 16) {
    b.writeUInt16LE(fmtSize - 18, 36); // cbSize
    pos = 38;
  }
  if (extensible) {
    b.writeUInt16LE(bps * 8, 38); // valid bits
    // Channel mask: speaker positions are unknown here; 0 says "not assigned", which readers accept.
    b.writeUInt32LE(0, 40);
    b.writeUInt16LE(tag, 44);
    GUID_TAIL.copy(b, 46);
    pos = 60;
  }
  if (isFloat) {
    b.write('fact', pos, 'latin1');
    b.writeUInt32LE(4, pos + 4);
    b.writeUInt32LE(n, pos + 8);
    pos += 12;
  }
  b.write('data', pos, 'latin1');
  b.writeUInt32LE(dataBytes, pos + 4);
  pos += 8;
  writeSamples(b, pos, channels, format, op);
  return b;
}

function writeSamples(b: Buffer, start: number, channels: ArrayLike<number>[], format: SampleFormat, op: string): void {
  const nc = channels.length;
  const bps = FORMAT_BYTES[format];
  const stride = nc * bps;
  const n = channels[0].length;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const bits = bps * 8;
  const scale = 2 ** (bits - 1);
  const lo = -scale;
  const hi = scale - 1;
  for (let c = 0; c < nc; c++) {
    const ch = channels[c];
    let p = start + c * bps;
    for (let i = 0; i < n; i++, p += stride) {
      const x = ch[i];
      if (!Number.isFinite(x)) throw new Error(`[${op}] channel ${c} sample ${i} is ${x}; only finite samples can be written`);
      if (format === 'float32') { dv.setFloat32(p, x, true); continue; }
      if (format === 'float64') { dv.setFloat64(p, x, true); continue; }
      let v = round(x * scale);
      v = v < lo ? lo : v > hi ? hi : v;
      switch (format) {
        case 'pcm8': b[p] = v + 128; break;
        case 'pcm16': dv.setInt16(p, v, true); break;
        case 'pcm24': b[p] = v & 0xff; b[p + 1] = (v >> 8) & 0xff; b[p + 2] = (v >> 16) & 0xff; break;
        case 'pcm32': dv.setInt32(p, v, true); break;
      }
    }
  }
}

// writeFileAtomic lives in lib/io/atomic.ts; re-exported for the callers that import it from here.
export { writeFileAtomic };

/** Encodes `audio` (see encodeWav for formats and clipping) and writes it to `file` atomically
 *  (temporary file + rename). Errors start with `[writeWav] <file>:`. */
export function writeWav(file: string, audio: AudioInput, opts: EncodeOptions = {}): void {
  let buf: Buffer;
  try {
    buf = encodeWav(audio, opts);
  } catch (e) {
    throw new Error(`[writeWav] ${file}: ${(e as Error).message.replace(/^\[encodeWav\] /, '')}`);
  }
  try {
    writeFileAtomic(file, buf);
  } catch (e) {
    throw new Error(`[writeWav] ${file}: cannot write (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}
