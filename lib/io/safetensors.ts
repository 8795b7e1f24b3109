/**
 * safetensors.ts — our own reader/writer of the safetensors format (the format is small):
 *
 *   [u64 little-endian N][N bytes of JSON header, space-padded][raw little-endian tensor data]
 *   header: { "<name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, ...,
 *             "__metadata__": { "<key>": "<string>" } }   (offsets relative to the data section)
 *
 * Read: F32, BF16, F16 (as float32), I32, I64 (as int32, range-checked), F64 (as float32).
 * Write: float32, bfloat16, int32 tensors; atomically (lib/io/atomic.ts: unique temp file +
 * rename) so a crash mid-save never leaves a corrupt file under the real name, and concurrent
 * saves to one path leave one of them whole. Read: the header is validated as the reference
 * implementation does before anything is allocated; a truncated or malformed file gives an error
 * naming the file and what is wrong.
 */
import * as fs from 'fs';

import { fromTypedArray, tensor } from '../tensor/creation';
import { Tensor } from '../tensor/tensor';
import { Device } from '../tensor/types';
import { cleanStaleTemps, writeFileAtomic } from './atomic';

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

// The reference implementation's limit (safetensors MAX_HEADER_SIZE): a header is names, dtypes
// and shapes, ~100 bytes per tensor; 100 MB is a million tensors.
const MAX_HEADER = 100_000_000;

/** One tensor entry of a validated header. */
interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
  count: number;
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/**
 * Parses and validates the header of a safetensors buffer as the reference implementation does:
 * a JSON object of at most 100 MB starting with '{'; per tensor a known dtype, a shape of integers
 * >= 0, data_offsets [begin, end] of integers with begin <= end and end - begin = dtype size x
 * element count; the tensors cover the data section exactly, contiguous and without overlap;
 * `__metadata__` maps strings to strings. Returns the entries in file order and the metadata
 * (prototype-free objects: a tensor named `__proto__` is an ordinary key).
 */
function parseHeader(buf: Uint8Array, file: string): { entries: Entry[]; metadata: Record<string, string>; dataStart: number } {
  if (buf.length < 8) throw bad(file, `file is ${buf.length} bytes; a safetensors file starts with an 8-byte header length`);
  const n = Buffer.from(buf.buffer, buf.byteOffset, 8).readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER)) throw bad(file, `header length ${n} exceeds the ${MAX_HEADER}-byte limit of the format`);
  if (n > BigInt(buf.length - 8)) throw bad(file, `header length ${n} exceeds the ${buf.length - 8} bytes after it (truncated?)`);
  const headerLen = Number(n);
  const text = Buffer.from(buf.buffer, buf.byteOffset + 8, headerLen).toString('utf8');
  if (!text.startsWith('{')) throw bad(file, 'header must be a JSON object starting with "{"');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw bad(file, `header is not valid JSON: ${(e as Error).message}`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw bad(file, 'header must be a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const metadata = Object.create(null) as Record<string, string>;
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!info || typeof info !== 'object' || Array.isArray(info)) throw bad(file, '__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') throw bad(file, `__metadata__ '${k}' must be a string, got ${JSON.stringify(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    if (!info || typeof info !== 'object' || Array.isArray(info)) throw bad(file, `tensor '${name}' must be an object with dtype, shape and data_offsets`);
    const { dtype, shape, data_offsets: off } = info as { dtype: unknown; shape: unknown; data_offsets: unknown };
    for (const [field, v] of [['dtype', dtype], ['shape', shape], ['data_offsets', off]] as const) {
      if (v === undefined) throw bad(file, `tensor '${name}' has no ${field}`);
    }
    if (typeof dtype !== 'string' || !Object.prototype.hasOwnProperty.call(SIZES, dtype)) {
      throw bad(file, `tensor '${name}' has unsupported dtype ${typeof dtype === 'string' ? `'${dtype}'` : JSON.stringify(dtype)}`);
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) throw bad(file, `tensor '${name}' has a bad shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(off) || off.length !== 2 || !isCount(off[0]) || !isCount(off[1]) || off[0] > off[1]) {
      throw bad(file, `tensor '${name}' has bad data_offsets ${JSON.stringify(off)}; expected [begin, end], integers with 0 <= begin <= end`);
    }
    let count = 1;
    for (const d of shape as number[]) count *= d;
    const bytes = count * SIZES[dtype];
    if (!Number.isSafeInteger(bytes)) throw bad(file, `tensor '${name}' (${dtype} ${JSON.stringify(shape)}) is too large`);
    if (off[1] - off[0] !== bytes) throw bad(file, `tensor '${name}' (${dtype} ${JSON.stringify(shape)}) needs ${bytes} bytes but its offsets span ${off[1] - off[0]}`);
    if (off[1] > dataLen) throw bad(file, `tensor '${name}' ends at byte ${off[1]} of a ${dataLen}-byte data section (truncated file)`);
    entries.push({ name, dtype, shape: shape as number[], begin: off[0], end: off[1], count });
  }
  // Exact coverage: sorted by begin, each tensor starts where the previous ended.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of sorted) {
    if (e.begin < pos) throw bad(file, `tensors overlap: '${e.name}' starts at byte ${e.begin}, before byte ${pos} where the previous one ends`);
    if (e.begin > pos) throw bad(file, `bytes ${pos}..${e.begin} of the data section belong to no tensor (before '${e.name}')`);
    pos = e.end;
  }
  if (pos !== dataLen) throw bad(file, `the tensors cover ${pos} bytes but the data section has ${dataLen} (extra or missing data)`);
  return { entries, metadata, dataStart };
}

/** Options of loadSafetensors / parseSafetensors. */
export interface LoadSafetensorsOptions {
  /** Device of the tensors (default: the default device). */
  device?: Device;
  /** bfloat16 tensors as float32 (default: they stay bfloat16). */
  asFloat32?: boolean;
}

/**
 * Decodes a safetensors file held in memory (see loadSafetensors); `name` appears in errors.
 * Nothing is allocated before the whole header is validated.
 */
export function parseSafetensors(buf: Uint8Array, name = '<buffer>', opts: LoadSafetensorsOptions = {}): SafetensorsFile {
  if (!(buf instanceof Uint8Array)) throw bad(name, 'expected a Buffer or Uint8Array');
  const { entries, metadata, dataStart } = parseHeader(buf, name);
  const tensors = Object.create(null) as Record<string, Tensor>;
  try {
    for (const e of entries) {
      const raw = buf.subarray(dataStart + e.begin, dataStart + e.end);
      tensors[e.name] = decode(name, e.name, e.dtype, e.shape, raw, e.count, opts);
    }
  } catch (err) {
    Object.values(tensors).forEach((t) => t.dispose());
    throw err;
  }
  return { tensors, metadata };
}

/**
 * Reads a .safetensors file into tensors on `device` (default: the default device). float
 * dtypes become float32 (bfloat16 stays bfloat16 unless `asFloat32`), integers int32. The result
 * objects have no prototype (any tensor name is a plain key). Errors start with
 * `[loadSafetensors] <file>:` and say what is wrong.
 */
export function loadSafetensors(file: string, opts: LoadSafetensorsOptions = {}): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw bad(file, `cannot read: ${(e as Error).message}`);
  }
  cleanStaleTemps(file);
  return parseSafetensors(buf, file, opts);
}

function decode(file: string, name: string, dtype: string, shape: number[], raw: Uint8Array, count: number,
  opts: LoadSafetensorsOptions): Tensor {
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
  // Prototype-free: a tensor named `__proto__` is written as one, not swallowed as a prototype.
  const header = Object.create(null) as Record<string, unknown>;
  if (names.includes('__metadata__')) throw new Error("[saveSafetensors] '__metadata__' is reserved by the format; rename that tensor");
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
    if (t.dtype === 'float32' || t.dtype === 'int32') {
      dtype = t.dtype === 'float32' ? 'F32' : 'I32';
      bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    } else {
      dtype = 'BF16';
      // dataSync widened bf16 to float32 exactly; the top 16 bits are the bf16 value.
      const u = new Uint32Array(values.buffer, values.byteOffset, values.length);
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
  try {
    writeFileAtomic(file, [head, Buffer.from(json, 'utf8'), ...chunks], { fsync: true });
  } catch (e) {
    throw new Error(`[saveSafetensors] ${file}: ${(e as Error).message}`);
  }
}
