// Bad input gets a clear Error naming the op; the process survives every one of them.
import { arange, buildInfo, fromTypedArray, full, manualSeed, rand, randn, setDefaultDevice, tensor, zeros } from '../../lib';
import { native } from '../../lib/native';
import { hasCuda, testDevices } from '../helpers/devices';

describe.each(testDevices)('bad input on %s', (device) => {
  test('data length not matching the shape', () => {
    expect(() => tensor([1, 2, 3], [2, 2], { device })).toThrow(
      '[tensor] data has 3 elements but shape (2, 2) needs 4',
    );
    expect(() => fromTypedArray(new Float32Array(5), [2, 3], { device })).toThrow(
      '[fromTypedArray] data has 5 elements but shape (2, 3) needs 6',
    );
  });

  test('negative, fractional and non-number dims', () => {
    expect(() => zeros([2, -1], { device })).toThrow('[zeros] shape dims must be integers >= 0, got number -1 at dim 1 of [2, -1]');
    expect(() => zeros([1.5], { device })).toThrow('[zeros] shape dims must be integers >= 0, got number 1.5 at dim 0');
    expect(() => randn(['3'] as never, { device })).toThrow('[randn] shape dims must be integers >= 0, got string 3 at dim 0');
    expect(() => randn(5 as never, { device })).toThrow('[randn] shape must be an array of integers, got number 5');
    expect(() => tensor([1, 2], [-2], { device })).toThrow('[tensor] shape dims must be integers >= 0');
  });

  test('ragged and non-numeric data', () => {
    expect(() => tensor([[1, 2], [3]], undefined, { device })).toThrow('[tensor] ragged nested array: expected 2 items at [1], got 1');
    expect(() => tensor([1, 'a'] as never, undefined, { device })).toThrow('[tensor] data must hold numbers, got string a at [1]');
    expect(() => tensor([1.5], undefined, { device, dtype: 'int32' })).toThrow(
      '[tensor] int32 data must be integers in the int32 range, got 1.5 at index 0',
    );
  });

  test('unknown dtype and device', () => {
    expect(() => zeros([2], { device, dtype: 'float16' as never })).toThrow(
      "[zeros] unknown dtype 'float16'; expected float32, bfloat16 or int32",
    );
    expect(() => zeros([2], { device: 'tpu' as never })).toThrow("[zeros] unknown device 'tpu'; expected 'cpu' or 'cuda'");
    const t = zeros([2], { device });
    expect(() => t.to('gpu' as never)).toThrow("[to] unknown device or dtype 'gpu'");
    expect(() => t.to({ dtype: 'f32' as never })).toThrow("[to] unknown dtype 'f32'");
  });

  test('bad values and seeds', () => {
    expect(() => full([2], 0.5, { device, dtype: 'int32' })).toThrow('[full] value 0.5 is not an int32');
    expect(() => rand([2], { device, seed: -1 })).toThrow('[rand] seed must be an integer >= 0 (or a BigInt), got number -1');
    expect(() => rand([2], { device, seed: 1n << 64n })).toThrow('[rand] seed must be in [0, 2^64)');
    expect(() => manualSeed(0.5)).toThrow('[manualSeed] seed must be an integer >= 0');
    expect(() => arange(0, 10, 0, { device })).toThrow('[arange] step must not be 0');
    expect(() => arange(0, Infinity, 1, { device })).toThrow('[arange] end must be a finite number');
    expect(() => zeros([2, 3], { device }).item()).toThrow('[item] tensor has 6 elements (2, 3); item() needs exactly 1');
  });

  test('the native layer checks its own arguments too', () => {
    expect(() => native.fill([2], 1, 'float32', 'npu')).toThrow("[full] unknown device string 'npu'; expected 'cpu' or 'cuda'");
    expect(() => native.add({} as never, 1)).toThrow('[add] a must be a Tensor, got another object');
    expect(() => native.fromTypedArray([1, 2] as never, [2], 'float32', 'cpu', true)).toThrow(
      '[tensor] data must be a typed array or an array of numbers, got array',
    );
    expect(() => native.random(0, [2], -3, 0, 'float32', 'cpu')).toThrow('[rand] seed must be an integer >= 0 (or a BigInt)');
    expect(() => native.setNumThreads(0)).toThrow('[setNumThreads] n must be in [1, 1024], got 0');
    expect(() => zeros(new Array(17).fill(1), { device })).toThrow('[zeros] shape has 17 dims; at most 16 are supported');
    expect(() => zeros([2 ** 30, 2 ** 30, 2 ** 30], { device })).toThrow('[zeros] shape (1073741824, 1073741824, 1073741824) has more than 2^53 elements');
  });
});

(hasCuda ? describe.skip : describe)('without a GPU', () => {
  test("'cuda' is refused with the reason and a pointer to buildInfo()", () => {
    const info = buildInfo();
    expect(info.gpus).toEqual([]);
    expect(info.defaultDevice).toBe('cpu');
    expect(() => zeros([2], { device: 'cuda' })).toThrow(/^\[zeros\] device 'cuda' is not available: .*check buildInfo\(\)/);
    expect(() => zeros([2], { device: 'cpu' }).to('cuda')).toThrow(/^\[to\] device 'cuda' is not available/);
    expect(() => setDefaultDevice('cuda')).toThrow(/^\[setDefaultDevice\] device 'cuda' is not available/);
    // Straight to the addon, bypassing the TS checks: still an error, not a crash.
    expect(() => native.fill([2], 1, 'float32', 'cuda')).toThrow(/^\[full\] device 'cuda' is not available/);
  });
});
