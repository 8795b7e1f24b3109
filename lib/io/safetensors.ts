/**
 * safetensors.ts — our own reader/writer of the safetensors format (the format is small):
 *
 *   [u64 little-endian N][N bytes of JSON header, space-padded][raw little-endian tensor data]
 *   header: { "<name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, ...,
 *             "__metadata__": { "<key>": "<string>" } }   (offsets relative to the data section)
 *
 * Read: F32, BF16, F16 (as float32), I32, I64 (as int32, range-checked), F64 (as float32).
 * Write: float32, bfloat16, int32 tensors; atomically (temp file + rename) so a crash mid-save
 * never leaves a corrupt file under the real name. A truncated or malformed file gives an error
 * naming the file and what is wrong.
 */
import * as fs from 'fs';
import * as path from 'path';

import { fromTypedArray, tensor } from '../tensor/creation';
import { Tensor } from '../tensor/tensor';
import { Device } from '../tensor/types';

export interface SafetensorsFile {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

const SIZES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

function bad(file: string, msg: string): Error {
  return new Error(`[loadSafetensors] ${file}: ${msg}`);
}

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Reads a .safetensors file into tensors on `device` (default: the default device). float
 * dtypes become float32 (bfloat16 stays bfloat16 unless `asFloat32`), integers int32.
 */
export function loadSafetensors(file: string, opts: { device?: Device; asFloat32?: boolean } = {}): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw bad(file, `cannot read: ${(e as Error).message}`);
  }
  if (buf.length < 8) throw bad(file, `file is ${buf.length} bytes; a safetensors file starts with an 8-byte header length`);
  const n = buf.readBigUInt64LE(0);
  if (n > BigInt(buf.length - 8)) throw bad(file, `header length ${n} exceeds the ${buf.length - 8} bytes after it (truncated?)`);
  const headerLen = Number(n);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
  } catch (e) {
    throw bad(file, `header is not valid JSON: ${(e as Error).message}`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw bad(file, 'header must be a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors: Record<string, Tensor> = {};
  const spans: [number, number, string][] = [];
  try {
    for (const [name, info] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const { dtype, shape, data_offsets: off } = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
      if (!(dtype in SIZES)) throw bad(file, `tensor '${name}' has unsupported dtype '${dtype}'`);
      if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) throw bad(file, `tensor '${name}' has a bad shape ${JSON.stringify(shape)}`);
      if (!Array.isArray(off) || off.length !== 2 || !(off[0] <= off[1])) throw bad(file, `tensor '${name}' has bad data_offsets ${JSON.stringify(off)}`);
      const count = shape.reduce((p, d) => p * d, 1);
      const bytes = count * SIZES[dtype];
      if (off[1] - off[0] !== bytes) throw bad(file, `tensor '${name}' (${dtype} ${JSON.stringify(shape)}) needs ${bytes} bytes but its offsets span ${off[1] - off[0]}`);
      if (off[1] > dataLen) throw bad(file, `tensor '${name}' ends at byte ${off[1]} of a ${dataLen}-byte data section (truncated file)`);
      spans.push([off[0], off[1], name]);
      const raw = buf.subarray(dataStart + off[0], dataStart + off[1]);
      tensors[name] = decode(file, name, dtype, shape, raw, count, opts);
    }
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; ++i) {
      if (spans[i][0] < spans[i - 1][1]) throw bad(file, `tensors '${spans[i - 1][2]}' and '${spans[i][2]}' overlap`);
    }
  } catch (e) {
    Object.values(tensors).forEach((t) => t.dispose());
    throw e;
  }
  return { tensors, metadata };
}

function decode(file: string, name: string, dtype: string, shape: number[], raw: Buffer, count: number,
  opts: { device?: Device; asFloat32?: boolean }): Tensor {
  const device = opts.device;
  // Copy into an aligned buffer: the data section need not be 4-byte aligned within the file.
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  const dv = new DataView(copy.buffer);
  switch (dtype) {
    case 'F32':
      return fromTypedArray(new Float32Array(copy.buffer, 0, count), shape, { device, copy: true });
    case 'F64':
      return tensor(Float32Array.from({ length: count }, (_, i) => dv.getFloat64(i * 8, true)), shape, { device });
    case 'F16':
      return tensor(Float32Array.from({ length: count }, (_, i) => f16ToF32(dv.getUint16(i * 2, true))), shape, { device });
    case 'BF16': {
      const f = new Float32Array(count);
      const u = new Uint32Array(f.buffer);
      for (let i = 0; i < count; ++i) u[i] = dv.getUint16(i * 2, true) << 16;
      return tensor(f, shape, { device, dtype: opts.asFloat32 ? 'float32' : 'bfloat16' });
    }
    case 'I32':
      return fromTypedArray(new Int32Array(copy.buffer, 0, count), shape, { device, copy: true });
    case 'I64': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; ++i) {
        const v = dv.getBigInt64(i * 8, true);
        if (v > 2147483647n || v < -2147483648n) throw bad(file, `tensor '${name}' holds int64 value ${v} outside the int32 range`);
        out[i] = Number(v);
      }
      return tensor(out, shape, { device });
    }
    default: {
      const out = new Int32Array(count);
      for (let i = 0; i < count; ++i) {
        out[i] = dtype === 'I16' ? dv.getInt16(i * 2, true) : dtype === 'I8' ? dv.getInt8(i) : dv.getUint8(i);
      }
      return tensor(out, shape, { device });
    }
  }
}

/**
 * Writes tensors (float32, bfloat16, int32; any device) and optional string metadata to `file`
 * atomically. Names are written in sorted order, as the Python library does.
 */
export function saveSafetensors(file: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`[saveSafetensors] metadata '${k}' must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    if (!(t instanceof Tensor)) throw new Error(`[saveSafetensors] '${name}' is not a Tensor`);
    const values = t.dataSync();
    let bytes: Buffer;
    let dtype: string;
    if (t.dtype === 'float32') {
      dtype = 'F32';
      bytes = Buffer.from(new Float32Array(values).buffer);
    } else if (t.dtype === 'int32') {
      dtype = 'I32';
      bytes = Buffer.from(new Int32Array(values).buffer);
    } else {
      dtype = 'BF16';
      // dataSync widened bf16 to float32 exactly; the top 16 bits are the bf16 value.
      const u = new Uint32Array(new Float32Array(values).buffer);
      const b = Buffer.alloc(u.length * 2);
      for (let i = 0; i < u.length; ++i) b.writeUInt16LE(u[i] >>> 16, i * 2);
      bytes = b;
    }
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    chunks.push(bytes);
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // 8-byte aligned data section
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, head);
    fs.writeSync(fd, Buffer.from(json, 'utf8'));
    for (const c of chunks) fs.writeSync(fd, c);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (e) {
    try { fs.closeSync(fd); } catch { /* already closed */ }
    fs.rmSync(tmp, { force: true });
    throw new Error(`[saveSafetensors] ${file}: ${(e as Error).message}`);
  }
}
