// safetensors: round trips, files built byte by byte as the Python library writes them, errors.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { io, randn, tensor } from '../../lib';
import { bf16Round, randomArray } from '../helpers/reference';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-st-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A file assembled by hand: header JSON, then the given raw blobs in order. */
function handmade(file: string, entries: [string, string, number[], Buffer][], metadata?: Record<string, string>, pad = true): void {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const [name, dtype, shape, data] of entries) {
    header[name] = { dtype, shape, data_offsets: [off, off + data.length] };
    off += data.length;
  }
  let json = JSON.stringify(header);
  if (pad) json += ' '.repeat((8 - (json.length % 8)) % 8);
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([n, Buffer.from(json), ...entries.map((e) => e[3])]));
}

test('round trip of float32, bfloat16 and int32 with metadata', () => {
  const f = path.join(dir, 'rt.safetensors');
  const a = Float32Array.from(randomArray(7 * 129));
  const t = {
    'layer.weight': tensor(a, [7, 129], { device: 'cpu' }),
    'layer.bf': tensor(a.subarray(0, 10), [10], { device: 'cpu', dtype: 'bfloat16' }),
    lengths: tensor(new Int32Array([3, -1, 2147483647]), undefined, { device: 'cpu' }),
    scalar: tensor([2.5], [], { device: 'cpu' }),
  };
  io.saveSafetensors(f, t, { format: 'pt', note: 'hello' });
  const back = io.loadSafetensors(f, { device: 'cpu' });
  expect(back.metadata).toEqual({ format: 'pt', note: 'hello' });
  expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(t).sort());
  expect(Array.from(back.tensors['layer.weight'].dataSync())).toEqual(Array.from(a));
  expect(back.tensors['layer.bf'].dtype).toBe('bfloat16');
  expect(Array.from(back.tensors['layer.bf'].dataSync())).toEqual(Array.from(a.subarray(0, 10), bf16Round));
  expect(Array.from(back.tensors.lengths.dataSync())).toEqual([3, -1, 2147483647]);
  expect(back.tensors.scalar.shape).toEqual([]);
  // The header is 8-byte aligned so the data section is too.
  const n = Number(fs.readFileSync(f).readBigUInt64LE(0));
  expect(n % 8).toBe(0);
});

test('reads F16, BF16, I64, F64 as PyTorch writes them', () => {
  const f = path.join(dir, 'py.safetensors');
  const f16 = Buffer.alloc(6);
  [0x3c00, 0xc000, 0x3555].forEach((h, i) => f16.writeUInt16LE(h, i * 2)); // 1, -2, 0.333251953125
  const bf = Buffer.alloc(4);
  bf.writeUInt16LE(0x3f80, 0); // 1.0
  bf.writeUInt16LE(0xc040, 2); // -3.0
  const i64 = Buffer.alloc(16);
  i64.writeBigInt64LE(-5n, 0);
  i64.writeBigInt64LE(1234567n, 8);
  const f64 = Buffer.alloc(8);
  f64.writeDoubleLE(0.1, 0);
  handmade(f, [['h', 'F16', [3], f16], ['b', 'BF16', [2], bf], ['i', 'I64', [2], i64], ['d', 'F64', [1], f64]], undefined, false);
  const { tensors } = io.loadSafetensors(f, { device: 'cpu', asFloat32: true });
  expect(Array.from(tensors.h.dataSync())).toEqual([1, -2, 0.333251953125]);
  expect(tensors.b.dtype).toBe('float32');
  expect(Array.from(tensors.b.dataSync())).toEqual([1, -3]);
  expect(Array.from(tensors.i.dataSync())).toEqual([-5, 1234567]);
  expect(tensors.d.dataSync()[0]).toBe(Math.fround(0.1));
});

test('truncated and malformed files name the file and the problem', () => {
  const f = path.join(dir, 'bad.safetensors');
  fs.writeFileSync(f, Buffer.from([1, 2, 3]));
  expect(() => io.loadSafetensors(f)).toThrow(`[loadSafetensors] ${f}: file is 3 bytes`);
  const x = Buffer.alloc(16);
  handmade(f, [['x', 'F32', [4], x]]);
  const whole = fs.readFileSync(f);
  fs.writeFileSync(f, whole.subarray(0, whole.length - 4));
  expect(() => io.loadSafetensors(f)).toThrow(/tensor 'x' ends at byte 16 of a 12-byte data section \(truncated file\)/);
  handmade(f, [['x', 'F32', [5], x]]);
  expect(() => io.loadSafetensors(f)).toThrow("tensor 'x' (F32 [5]) needs 20 bytes but its offsets span 16");
  handmade(f, [['x', 'Q4', [4], x]]);
  expect(() => io.loadSafetensors(f)).toThrow("tensor 'x' has unsupported dtype 'Q4'");
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(5n);
  fs.writeFileSync(f, Buffer.concat([n, Buffer.from('{oops')]));
  expect(() => io.loadSafetensors(f)).toThrow(/header is not valid JSON/);
  const big = Buffer.alloc(8);
  big.writeBigUInt64LE(1000n);
  fs.writeFileSync(f, Buffer.concat([big, Buffer.from('{}')]));
  expect(() => io.loadSafetensors(f)).toThrow('header length 1000 exceeds the 2 bytes after it (truncated?)');
  expect(() => io.loadSafetensors(path.join(dir, 'missing.safetensors'))).toThrow(/cannot read/);
});

test('a failing save leaves the previous file intact and no temp file behind', () => {
  const f = path.join(dir, 'atomic.safetensors');
  io.saveSafetensors(f, { w: tensor([1, 2, 3], undefined, { device: 'cpu' }) });
  const before = fs.readFileSync(f);
  const gone = randn([4], { device: 'cpu' });
  gone.dispose();
  expect(() => io.saveSafetensors(f, { w: tensor([9], undefined, { device: 'cpu' }), z: gone })).toThrow(/disposed/);
  expect(fs.readFileSync(f).equals(before)).toBe(true);
  expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
});
