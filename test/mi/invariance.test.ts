/**
 * invariance.test.ts — MI is unchanged by an invertible map of y (y -> y³), and is 0 for
 * independent x and y: the held-out estimate must be |I| < 0.05 nats there.
 */
import { mi, mul, randn, tidy } from '../../lib';
import { gaussians } from './helpers';

const opts = { estimator: 'smile', steps: 600, lr: 1e-3, smoothing: 3, device: 'cpu' } as const;

test('y -> y³ leaves the estimate within noise (d = 1, 1 nat)', async () => {
  const [x, y] = gaussians(6000, 1, 1, 51);
  const y3 = tidy(() => mul(mul(y, y), y));
  const a = await mi.estimate(x, y, opts);
  const b = await mi.estimate(x, y3, opts);
  process.stdout.write(`[mi] y: ${a.nats.toFixed(3)}, y³: ${b.nats.toFixed(3)} (true 1)\n`);
  expect(Math.abs(a.nats - b.nats)).toBeLessThan(0.15);
  for (const t of [x, y, y3]) t.dispose();
});

test.each(['dv', 'mine', 'nwj', 'smile'] as const)('independent x, y (d = 5): |%s estimate| < 0.05 nats', async (estimator) => {
  const x = randn([6000, 5], { seed: 61 });
  const y = randn([6000, 5], { seed: 62 });
  const r = await mi.estimate(x, y, { ...opts, estimator, steps: 300 });
  process.stdout.write(`[mi] independent ${estimator}: ${r.nats.toFixed(4)}\n`);
  expect(Math.abs(r.nats)).toBeLessThan(0.05);
  x.dispose();
  y.dispose();
});
