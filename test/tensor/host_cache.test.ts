// The host caching allocator: freed CPU blocks of 16 KiB and more are kept per size class
// (quarter octaves) and reused, reported in memory() (cpuCached, cpuReserved, cpuAllocCalls,
// cpuCacheHits) and released by emptyCache(). The cache is process-wide, so every check works on
// differences, with emptyCache() first.
import { emptyCache, memory, randn, tidy, zeros } from '../../lib';

describe('host caching allocator', () => {
  test('a freed large block is cached, reused for a nearby size, and released by emptyCache', () => {
    emptyCache();
    const m0 = memory();
    expect(m0.cpuCached).toBe(0);
    // 1,000,000 and 1,040,000 bytes share the 1 MiB class (2^19 < size <= 8 x 2^17).
    const a = randn([250000], { seed: 1 });
    const m1 = memory();
    expect(m1.cpuReserved - m0.cpuReserved).toBe(1 << 20);
    a.dispose();
    const m2 = memory();
    expect(m2.cpuCached).toBe(1 << 20);
    expect(m2.cpuReserved).toBe(m1.cpuReserved);
    const b = zeros([260000]);
    const m3 = memory();
    expect(m3.cpuCacheHits - m2.cpuCacheHits).toBe(1);
    expect(m3.cpuCached).toBe(0);
    // The reused block holds a's old values until the op writes it: every element must be 0.
    expect((b.dataSync() as Float32Array).every((v) => v === 0)).toBe(true);
    b.dispose();
    expect(memory().cpuCached).toBe(1 << 20);
    emptyCache();
    const m4 = memory();
    expect(m4.cpuCached).toBe(0);
    expect(m4.cpuReserved).toBe(m0.cpuReserved);
  });

  test('small blocks go straight to malloc; a different class is not served from the cache', () => {
    emptyCache();
    const m0 = memory();
    zeros([1000]).dispose(); // 4 KB
    expect(memory().cpuCached).toBe(0);
    randn([250000]).dispose(); // 1 MiB class
    const m1 = memory();
    randn([600000]).dispose(); // 2.4 MB: the 2.5 MiB class, a miss
    const m2 = memory();
    expect(m2.cpuCacheHits).toBe(m1.cpuCacheHits);
    expect(m2.cpuAllocCalls - m0.cpuAllocCalls).toBe(3);
    expect(m2.cpuCached).toBe((1 << 20) + 2.5 * (1 << 20));
    emptyCache();
  });

  test('a training-like loop that repeats its shapes is served from the cache after the first pass', () => {
    emptyCache();
    const pass = () => tidy(() => {
      randn([64, 1024], { seed: 3 }).mul(2).add(1).sum(0); // three 256 KB blocks
    });
    pass();
    const m1 = memory();
    for (let i = 0; i < 5; ++i) pass();
    const m2 = memory();
    expect(m2.cpuReserved).toBe(m1.cpuReserved);
    expect(m2.cpuCacheHits - m1.cpuCacheHits).toBeGreaterThanOrEqual(5 * 3);
    emptyCache();
  });
});
