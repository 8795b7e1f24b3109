// Issue 19, items 7, 9, 11, 12: safetensors headers validated as the reference implementation
// does, no silent dtype casts on load, stale temp files cleaned, concurrent saves never torn.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { io, memory, nn, tensor } from '../../lib';
import { describeExit, LIB, REGISTER, runChild } from '../helpers/child';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-ckpt-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A safetensors file from a header object (written as given) and a data section. */
function raw(file: string, header: unknown, data: Buffer): void {
  const json = Buffer.from(JSON.stringify(header));
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([n, json, data]));
}

const f32 = (values: number[]): Buffer => Buffer.from(new Float32Array(values).buffer);

describe('7: safetensors headers', () => {
  const f = path.join(dir, 'h.safetensors');
  const cases: [string, unknown, Buffer, RegExp][] = [
    ['negative offsets', { x: { dtype: 'F32', shape: [2], data_offsets: [-8, 0] } }, f32([1, 2]), /tensor 'x' has bad data_offsets \[-8,0\]/],
    ['string offsets', { x: { dtype: 'F32', shape: [1], data_offsets: ['4', '8'] } }, f32([1, 2]), /tensor 'x' has bad data_offsets \["4","8"\]/],
    ['fractional offsets', { x: { dtype: 'F32', shape: [1], data_offsets: [0.5, 4.5] } }, f32([1, 2]), /bad data_offsets/],
    ['reversed offsets', { x: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, f32([1]), /bad data_offsets \[4,0\]/],
    ['a gap before a tensor', { x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32([1, 2]), /bytes 0\.\.4 of the data section belong to no tensor/],
    ['overlapping tensors', {
      x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, y: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
    }, f32([1, 2]), /tensors overlap: 'y' starts at byte 4/],
    ['trailing bytes', { x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32([1, 2]), /cover 4 bytes but the data section has 8/],
    ['a string shape', { x: { dtype: 'F32', shape: '2', data_offsets: [0, 8] } }, f32([1, 2]), /tensor 'x' has a bad shape "2"/],
    ['a dtype that is not a string', { x: { dtype: 7, shape: [2], data_offsets: [0, 8] } }, f32([1, 2]), /unsupported dtype 7/],
    ['a dtype from the prototype', { x: { dtype: 'toString', shape: [2], data_offsets: [0, 8] } }, f32([1, 2]), /unsupported dtype 'toString'/],
    ['an entry that is not an object', { x: [1, 2] }, f32([1, 2]), /tensor 'x' must be an object/],
    ['non-string metadata', { __metadata__: { epoch: 3 } }, Buffer.alloc(0), /__metadata__ 'epoch' must be a string/],
    ['a header that is an array', [1], Buffer.alloc(0), /header must be a JSON object/],
    ['an element count past 2^53', { x: { dtype: 'F64', shape: [2 ** 30, 2 ** 30], data_offsets: [0, 8] } }, f32([1, 2]), /too large|needs/],
  ];
  test.each(cases)('%s is an error naming the file', (_, header, data, msg) => {
    raw(f, header, data);
    const before = memory().tensors;
    let err: Error | null = null;
    try {
      io.loadSafetensors(f, { device: 'cpu' });
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message.startsWith(`[loadSafetensors] ${f}: `)).toBe(true);
    expect(err?.message).toMatch(msg);
    expect(memory().tensors).toBe(before); // nothing allocated, nothing leaked
  });

  test('a header that does not start with "{" or exceeds 100 MB is refused before parsing', () => {
    const n = Buffer.alloc(8);
    n.writeBigUInt64LE(4n);
    fs.writeFileSync(f, Buffer.concat([n, Buffer.from(' {} ')]));
    expect(() => io.loadSafetensors(f)).toThrow(/header must be a JSON object starting with "\{"/);
    const parsed = () => io.parseSafetensors(Buffer.concat([Buffer.from([1, 0xe1, 0xf5, 0x05, 0, 0, 0, 0]), Buffer.from('{}')]), 'big');
    expect(parsed).toThrow('[loadSafetensors] big: header length 100000001 exceeds the 100000000-byte limit');
  });

  test('a tensor named __proto__ is an ordinary key: loaded, saved and freed like any other', () => {
    const header = Object.create(null) as Record<string, unknown>;
    header['__proto__'] = { dtype: 'F32', shape: [2], data_offsets: [0, 8] }; // an own key of a prototype-free object
    raw(f, header, f32([3, 4]));
    expect(fs.readFileSync(f).includes('"__proto__"')).toBe(true);
    const before = memory().tensors;
    const { tensors } = io.loadSafetensors(f, { device: 'cpu' });
    expect(Object.keys(tensors)).toEqual(['__proto__']);
    expect(Array.from(tensors['__proto__'].dataSync())).toEqual([3, 4]);
    const g = path.join(dir, 'proto2.safetensors');
    io.saveSafetensors(g, tensors);
    const back = io.loadSafetensors(g, { device: 'cpu' }).tensors;
    expect(Array.from(back['__proto__'].dataSync())).toEqual([3, 4]);
    Object.values(tensors).forEach((t) => t.dispose());
    Object.values(back).forEach((t) => t.dispose());
    expect(memory().tensors).toBe(before);
  });
});

describe('9: Module.load refuses a silent dtype cast', () => {
  test('int32 or bfloat16 into float32 is an error unless allowCast', () => {
    for (const dtype of ['int32', 'bfloat16'] as const) {
      const m = new nn.Linear(3, 2, { seed: 1, device: 'cpu' });
      const w = Array.from(m.weight.dataSync());
      const f = path.join(dir, `cast-${dtype}.safetensors`);
      const sd = { weight: tensor([[1, 2, 3], [4, 5, 6]], undefined, { dtype, device: 'cpu' }), bias: tensor([7, 8], undefined, { device: 'cpu' }) };
      io.saveSafetensors(f, sd);
      expect(() => m.load(f)).toThrow(`[Module.load] ${f}: Linear: dtype mismatches (pass { allowCast: true } to convert): weight: expected float32, got ${dtype}`);
      expect(() => m.loadStateDict(sd, { strict: false })).toThrow(/^\[loadStateDict\] Linear: dtype mismatches/);
      expect(Array.from(m.weight.dataSync())).toEqual(w); // nothing written
      m.load(f, { allowCast: true });
      expect(Array.from(m.weight.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
      expect(Array.from(m.bias!.dataSync())).toEqual([7, 8]);
      Object.values(sd).forEach((t) => t.dispose());
      m.parameters().forEach((p) => p.dispose());
    }
  });
});

describe('11-12: atomic checkpoints', () => {
  const temps = (file: string): string[] => fs.readdirSync(path.dirname(file)).filter((n) => n.startsWith(`.${path.basename(file)}.`));

  test('stale temp files of the target are removed by the next save or load; live and foreign ones stay', () => {
    const f = path.join(dir, 'stale.safetensors');
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout.trim());
    const host = os.hostname().replace(/[^A-Za-z0-9]/g, '').slice(0, 16);
    const mk = (name: string, ageMs = 0): string => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, 'partial');
      if (ageMs) fs.utimesSync(p, new Date(Date.now() - ageMs), new Date(Date.now() - ageMs));
      return p;
    };
    const deadTemp = mk(`.stale.safetensors.${host}-${deadPid}-0-1-0123456789ab.tmp`);
    const liveTemp = mk(`.stale.safetensors.${host}-${process.pid}-7-1-0123456789ab.tmp`); // a writer in this process
    const oldForeign = mk('.stale.safetensors.otherhost-123-0-1-0123456789ab.tmp', 2 * 3600e3);
    const newForeign = mk('.stale.safetensors.otherhost-124-0-1-0123456789ab.tmp');
    const otherTarget = mk(`.other.safetensors.${host}-${deadPid}-0-1-0123456789ab.tmp`);
    const m = new nn.Linear(2, 2, { seed: 2, device: 'cpu' });
    m.save(f);
    expect(fs.existsSync(deadTemp)).toBe(false);
    expect(fs.existsSync(oldForeign)).toBe(false);
    expect(temps(f).sort()).toEqual([path.basename(liveTemp), path.basename(newForeign)].sort());
    expect(fs.existsSync(otherTarget)).toBe(true);
    const again = mk(`.stale.safetensors.${host}-${deadPid}-3-9-0123456789ab.tmp`);
    m.load(f);
    expect(fs.existsSync(again)).toBe(false);
    [liveTemp, newForeign, otherTarget].forEach((p) => fs.rmSync(p));
    m.parameters().forEach((p) => p.dispose());
  });

  test('saves killed mid-write leave the old file or the new one, and the next save cleans up', async () => {
    const f = path.join(dir, 'killed.safetensors');
    // A child saves 8 MB over and over; it is SIGKILLed 0 or 40 ms after its first save finished,
    // mostly in the middle of a later one (a save takes ~20-60 ms here).
    for (let k = 0; k < 2; ++k) {
      const child = spawn(process.execPath, ['-r', REGISTER, '-e', `
        const ms = require(${JSON.stringify(LIB)});
        const t = ms.randn([2 << 20], { seed: ${k}, device: 'cpu' });
        ms.io.saveSafetensors(${JSON.stringify(f)}, { w: t });
        console.log('saved');
        for (;;) ms.io.saveSafetensors(${JSON.stringify(f)}, { w: t });`], { stdio: ['ignore', 'pipe', 'inherit'] });
      const signal = await new Promise<string | null>((resolve) => {
        child.stdout.once('data', () => setTimeout(() => child.kill('SIGKILL'), 40 * k));
        child.once('exit', (_, sig) => resolve(sig));
      });
      expect(signal).toBe('SIGKILL');
      const back = io.loadSafetensors(f, { device: 'cpu' }).tensors; // whole: the last completed save
      expect(back.w.shape).toEqual([2 << 20]);
      back.w.dispose();
    }
    io.saveSafetensors(f, { w: tensor([1], undefined, { device: 'cpu' }) });
    expect(temps(f)).toEqual([]);
  }, 120000);

  test('concurrent saves to one path from worker threads: no error, never torn or mixed, last writer wins', () => {
    // 4 workers, started together through a barrier, each save their own model 25 times to one
    // file while the main thread loads it over and over: no save may fail and every load must
    // equal exactly one worker's model. (Temp names from pid + Date.now() collided between
    // threads: ENOENT on rename, EBADF, torn and mixed files.)
    const f = path.join(dir, 'race.safetensors');
    const r = runChild(`
      const { Worker } = require('worker_threads');
      const ms = require(LIB);
      const file = ${JSON.stringify(f)};
      const model = (seed) => new ms.nn.Sequential(new ms.nn.Linear(16, 16, { seed, device: 'cpu' }), new ms.nn.Linear(16, 8, { seed: seed + 100, device: 'cpu' }));
      const keyOf = (sd) => Object.keys(sd).sort().map((k) => Array.from(sd[k].dataSync()).join(',')).join(';');
      const refs = [0, 1, 2, 3].map((s) => keyOf(model(s).stateDict()));
      new ms.nn.Linear(1, 1, { device: 'cpu' }).save(file);
      const barrier = new Int32Array(new SharedArrayBuffer(4));
      const src = \`
        const { parentPort, workerData } = require('worker_threads');
        const ms = require(workerData.LIB);
        const m = new ms.nn.Sequential(new ms.nn.Linear(16, 16, { seed: workerData.seed, device: 'cpu' }), new ms.nn.Linear(16, 8, { seed: workerData.seed + 100, device: 'cpu' }));
        Atomics.add(workerData.barrier, 0, 1);
        while (Atomics.load(workerData.barrier, 0) < 4) Atomics.wait(workerData.barrier, 0, Atomics.load(workerData.barrier, 0), 5);
        let errors = 0;
        for (let i = 0; i < 25; ++i) { try { m.save(workerData.file); } catch (e) { errors++; console.error(e.message); } }
        parentPort.postMessage(errors);\`;
      let loads = 0, torn = 0, mixed = 0, running = 4, errors = 0;
      const probe = () => {
        try {
          const { tensors } = ms.io.loadSafetensors(file, { device: 'cpu' });
          const key = keyOf(tensors);
          const n = Object.keys(tensors).length;
          Object.values(tensors).forEach((t) => t.dispose());
          loads++;
          if (n === 4 && !refs.includes(key)) mixed++;
        } catch (e) { torn++; console.error(e.message); }
      };
      const timer = setInterval(probe, 1);
      for (const seed of [0, 1, 2, 3]) {
        const w = new Worker(src, { eval: true, workerData: { LIB, seed, file, barrier } });
        w.on('message', (n) => { errors += n; });
        w.on('exit', () => {
          if (--running) return;
          clearInterval(timer);
          probe();
          const last = keyOf(ms.io.loadSafetensors(file, { device: 'cpu' }).tensors);
          const dirFiles = require('fs').readdirSync(require('path').dirname(file)).filter((n) => n.startsWith('.race.safetensors.'));
          console.log(JSON.stringify({ errors, torn, mixed, loads: loads > 0, lastIsOne: refs.includes(last), temps: dirFiles.length }));
        });
      }`, { timeoutMs: 100000 });
    if (r.status !== 0) throw new Error(describeExit(r));
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual({ errors: 0, torn: 0, mixed: 0, loads: true, lastIsOne: true, temps: 0 });
  }, 120000);
});
