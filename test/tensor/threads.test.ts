// The CPU thread pool: results do not depend on the thread count, and resizing it between
// back-to-back jobs (workers that spin for the next job, new workers joining) loses no work.
import { add, buildInfo, ops, setNumThreads, sum, tensor } from '../../lib';
import { randomArray } from '../helpers/reference';

test('CPU results are the same for 1-4 threads, with the pool resized between jobs', () => {
  const before = buildInfo().threads;
  try {
    const [M, K, N] = [65, 300, 101];
    const a = tensor(Float32Array.from(randomArray(M * K)), [M, K]);
    const b = tensor(Float32Array.from(randomArray(K * N)), [K, N]);
    const n = 2 ** 20 + 3;
    const x = tensor(Float32Array.from(randomArray(n)), [n]);
    const y = tensor(Float32Array.from(randomArray(n)), [n]);
    setNumThreads(1);
    const mm = ops.matmul(a, b).dataSync();
    const xy = add(x, y).dataSync();
    const total = sum(x).item();
    const l1 = Array.from(x.dataSync()).reduce((acc, v) => acc + Math.abs(v), 0);
    for (let i = 0; i < 60; ++i) {
      if (i % 3 === 0) setNumThreads(1 + ((i / 3) % 4));
      // Each C element sums over K in the same order whatever the split: bitwise equal.
      const m2 = ops.matmul(a, b).dataSync();
      for (let j = 0; j < m2.length; ++j) if (m2[j] !== mm[j]) throw new Error(`iteration ${i}: matmul element ${j} ${m2[j]} vs ${mm[j]}`);
      const s2 = add(x, y).dataSync();
      for (let j = 0; j < n; j += 997) if (s2[j] !== xy[j]) throw new Error(`iteration ${i}: add element ${j}`);
      // A sum's split may follow the thread count: equal up to float32 rounding of |x|'s total.
      expect(Math.abs(sum(x).item() - total)).toBeLessThanOrEqual(1e-6 * l1);
    }
  } finally {
    setNumThreads(before);
  }
});
