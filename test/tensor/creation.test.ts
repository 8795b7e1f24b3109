// Creation, dtype round trips and device transfers, on every available device.
import { arange, fromTypedArray, full, ones, tensor, Tensor, zeros } from '../../lib';
import { testDevices } from '../helpers/devices';
import { bf16Round, randomArray } from '../helpers/reference';

const sizes = [1, 7, 129, 2049];

describe.each(testDevices)('creation on %s', (device) => {
  test('tensor() from nested arrays infers shape and keeps values', () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]], undefined, { device });
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.device).toBe(device);
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    t.dispose();
  });

  test.each(sizes)('float32 round trip is exact (n = %i)', (n) => {
    const src = Float32Array.from(randomArray(n, 1e3));
    const t = tensor(src, [n], { device });
    const back = t.dataSync();
    // (instanceof fails for arrays made by the addon inside jest's sandbox, so check the tag)
    expect(Object.prototype.toString.call(back)).toBe('[object Float32Array]');
    expect(Array.from(back)).toEqual(Array.from(src));
    t.dispose();
  });

  test.each(sizes)('bfloat16 round trip rounds to nearest even (n = %i)', (n) => {
    const src = Float32Array.from(randomArray(n, 100));
    src[0] = 1 + 2 ** -8; // a tie: rounds down to even (1.0)
    if (n > 1) src[1] = 1 + 3 * 2 ** -8; // a tie: rounds up to even (1 + 2^-6)
    const t = tensor(src, [n], { dtype: 'bfloat16', device });
    expect(t.dtype).toBe('bfloat16');
    const back = t.dataSync();
    for (let i = 0; i < n; ++i) expect(back[i]).toBe(bf16Round(src[i]));
    expect(back[0]).toBe(1);
    if (n > 1) expect(back[1]).toBe(1 + 2 ** -6);
    t.dispose();
  });

  test.each(sizes)('int32 round trip is exact incl. extremes (n = %i)', (n) => {
    const src = new Int32Array(n);
    for (let i = 0; i < n; ++i) src[i] = Math.floor((Math.random() * 2 - 1) * 2 ** 31);
    src[0] = 2147483647;
    if (n > 1) src[n - 1] = -2147483648;
    const t = tensor(src, undefined, { device });
    expect(t.dtype).toBe('int32');
    const back = t.dataSync();
    expect(ArrayBuffer.isView(back)).toBe(true);
    expect(Object.prototype.toString.call(back)).toBe('[object Int32Array]');
    expect(Array.from(back)).toEqual(Array.from(src));
    t.dispose();
  });

  // Past 8 MiB the host side copies on the thread pool (1 MiB blocks) and CUDA reads prefault
  // their ArrayBuffer: n is no multiple of a block, and the source starts mid-page.
  test('large transfers keep every value (float32, int32, float64 -> float32, bfloat16; sync and async)', async () => {
    const n = 2 ** 21 + 2 ** 19 + 7;
    const firstMismatch = (a: ArrayLike<number>, b: ArrayLike<number>, map = (x: number) => x): number => {
      if (a.length !== b.length) return -2;
      for (let i = 0; i < a.length; ++i) if (a[i] !== map(b[i])) return i;
      return -1;
    };
    const buf = new ArrayBuffer((n + 3) * 4);
    const f = new Float32Array(buf, 12, n);
    for (let i = 0; i < n; ++i) f[i] = (Math.random() * 2 - 1) * 1e3;
    const t = tensor(f, [n], { device });
    expect(firstMismatch(t.dataSync(), f)).toBe(-1);
    expect(firstMismatch(await t.data(), f)).toBe(-1);
    t.dispose();

    const ints = new Int32Array(n);
    for (let i = 0; i < n; ++i) ints[i] = Math.floor((Math.random() * 2 - 1) * 2 ** 31);
    const ti = tensor(ints, undefined, { device });
    expect(firstMismatch(ti.dataSync(), ints)).toBe(-1);
    expect(firstMismatch(await ti.data(), ints)).toBe(-1);
    ti.dispose();

    const d = new Float64Array(n);
    for (let i = 0; i < n; ++i) d[i] = (Math.random() * 2 - 1) * 1e3;
    const td = tensor(d, [n], { device });
    expect(firstMismatch(td.dataSync(), d, Math.fround)).toBe(-1);
    td.dispose();

    const tb = tensor(f, [n], { dtype: 'bfloat16', device });
    expect(firstMismatch(tb.dataSync(), f, bf16Round)).toBe(-1);
    expect(firstMismatch(await tb.data(), f, bf16Round)).toBe(-1);
    tb.dispose();
  });

  test('zeros, ones, full, arange', () => {
    expect(Array.from(zeros([2, 3], { device }).dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(ones([3], { device, dtype: 'int32' }).dataSync())).toEqual([1, 1, 1]);
    expect(Array.from(full([2], -2.5, { device, dtype: 'bfloat16' }).dataSync())).toEqual([-2.5, -2.5]);
    const a = arange(2, 11, 3, { device });
    expect(a.dtype).toBe('int32');
    expect(Array.from(a.dataSync())).toEqual([2, 5, 8]);
    const f = arange(0, 1, 0.25, { device });
    expect(f.dtype).toBe('float32');
    expect(Array.from(f.dataSync())).toEqual([0, 0.25, 0.5, 0.75]);
    expect(arange(5, 0, 1, { device }).shape).toEqual([0]);
    expect(Array.from(arange(5).dataSync())).toEqual([0, 1, 2, 3, 4]);
  });

  test('scalars and empty tensors', () => {
    const s = full([], 3, { device });
    expect(s.shape).toEqual([]);
    expect(s.size).toBe(1);
    expect(s.item()).toBe(3);
    const e = zeros([0, 5], { device });
    expect(e.size).toBe(0);
    expect(e.dataSync().length).toBe(0);
    expect(e.toString()).toContain('(0, 5)');
  });

  test('toString is short and shows shape, dtype, device, values', () => {
    const t = arange(0, 100, 1, { device });
    const s = t.toString();
    expect(s).toContain('(100)');
    expect(s).toContain('int32');
    expect(s).toContain(device);
    expect(s).toContain('0, 1, 2, 3, 4, 5, ...');
    expect(s.length).toBeLessThan(120);
  });
});

describe.each(testDevices)('to() between dtypes on %s', (device) => {
  test.each(sizes)('float32 -> bfloat16 -> float32 and float -> int32 truncation (n = %i)', (n) => {
    const src = Float32Array.from(randomArray(n, 1000));
    const t = tensor(src, [n], { device });
    const b = t.to('bfloat16');
    expect(b.dtype).toBe('bfloat16');
    const back = b.to('float32').dataSync();
    for (let i = 0; i < n; ++i) expect(back[i]).toBe(bf16Round(src[i]));
    const ints = t.to('int32').dataSync();
    for (let i = 0; i < n; ++i) expect(ints[i]).toEqual(Math.trunc(src[i]) + 0);
    const again = t.to('int32').to('float32').dataSync();
    for (let i = 0; i < n; ++i) expect(again[i]).toEqual(Math.trunc(src[i]) + 0);
  });

  test('float -> int32 saturates and maps NaN to 0', () => {
    const t = tensor([1e10, -1e10, NaN, 2.9, -2.9], undefined, { device });
    expect(Array.from(t.to('int32').dataSync())).toEqual([2147483647, -2147483648, 0, 2, -2]);
  });

  test('to() with nothing to change returns the same tensor', () => {
    const t = zeros([2], { device });
    expect(t.to(device)).toBe(t);
    expect(t.to({ dtype: 'float32' })).toBe(t);
  });
});

describe('fromTypedArray', () => {
  test('shares memory on the CPU when it can', () => {
    const data = new Float32Array([1, 2, 3, 4]);
    const t = fromTypedArray(data, [2, 2], { device: 'cpu' });
    data[3] = 40;
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 40]);
    expect(t._h!.sharesMemoryWith(data)).toBe(true);
    const c = fromTypedArray(data, [4], { device: 'cpu', copy: true });
    expect(c._h!.sharesMemoryWith(data)).toBe(false);
    data[0] = -1;
    expect(c.dataSync()[0]).toBe(1);
  });

  test('a shared buffer that gets transferred makes the tensor throw, not crash', () => {
    const data = new Float32Array([1, 2, 3]);
    const t = fromTypedArray(data, [3], { device: 'cpu' });
    structuredClone(data.buffer, { transfer: [data.buffer] });
    expect(() => t.dataSync()).toThrow(/\[dataSync\] the ArrayBuffer .* detached/);
    expect(() => t.add(1)).toThrow(/\[add\] the ArrayBuffer .* detached/);
    t.dispose();
  });

  test('a view with an offset shares the right bytes; other dtypes copy', () => {
    const buf = new Float32Array([9, 1, 2, 3]);
    const v = buf.subarray(1);
    const t = fromTypedArray(v, [3], { device: 'cpu' });
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3]);
    const b = fromTypedArray(v, [3], { device: 'cpu', dtype: 'bfloat16' });
    expect(b._h!.sharesMemoryWith(v)).toBe(false);
    const i = fromTypedArray(new Int32Array([5, 6]), undefined, { device: 'cpu' });
    expect(i.dtype).toBe('int32');
  });

  test.each(testDevices)('on %s a Float64Array is converted', (device) => {
    const t = fromTypedArray(new Float64Array([0.1, 0.2]), [2], { device });
    expect(Array.from(t.dataSync())).toEqual([Math.fround(0.1), Math.fround(0.2)]);
  });
});

test('Tensor cannot be constructed directly', () => {
  expect(() => new Tensor({} as never)).toThrow(/\[Tensor\] use tensor\(\)/);
});
