// Learning-rate schedules vs their formulas, and the LRScheduler that applies them to groups.
import { optim, Tensor, tensor } from '../../lib';

const close = (a: number, b: number): void => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(b)));

describe('schedules', () => {
  const W = 10, T = 110;

  test('constant', () => {
    const f = optim.constant();
    for (const s of [0, 1, 1e6]) expect(f(s)).toBe(1);
  });

  test('linear warmup from 0 (s / W), as Hugging Face counts', () => {
    for (const f of [optim.warmupCosine({ warmupSteps: W, totalSteps: T }), optim.warmupLinear({ warmupSteps: W, totalSteps: T }),
      optim.warmupPolynomial({ warmupSteps: W, totalSteps: T, power: 2 })]) {
      for (let s = 0; s < W; ++s) close(f(s), s / W);
      close(f(W), 1);
    }
  });

  test('cosine, linear and polynomial decay to minFactor, then flat', () => {
    const fmin = 0.1;
    const cos = optim.warmupCosine({ warmupSteps: W, totalSteps: T, minFactor: fmin });
    const lin = optim.warmupLinear({ warmupSteps: W, totalSteps: T, minFactor: fmin });
    const poly = optim.warmupPolynomial({ warmupSteps: W, totalSteps: T, minFactor: fmin, power: 3 });
    for (let s = W; s <= T + 20; s += 7) {
      const r = Math.min((s - W) / (T - W), 1);
      close(cos(s), fmin + (1 - fmin) * 0.5 * (1 + Math.cos(Math.PI * r)));
      close(lin(s), fmin + (1 - fmin) * (1 - r));
      close(poly(s), fmin + (1 - fmin) * (1 - r) ** 3);
    }
    close(cos(W + 50), fmin + (1 - fmin) * 0.5); // halfway
    close(cos(T), fmin);
    close(lin(T + 1000), fmin);
    // No warmup: decay starts at 1 on step 0.
    close(optim.warmupCosine({ warmupSteps: 0, totalSteps: 4 })(0), 1);
    close(optim.warmupLinear({ warmupSteps: 0, totalSteps: 4 })(1), 0.75);
  });

  test('noam: d_model^-0.5 · min(n^-0.5, n · W^-1.5) with n = step + 1, peak at n = W', () => {
    const d = 256, w = 4000;
    const f = optim.noam({ dModel: d, warmupSteps: w, scale: 2 });
    for (const s of [0, 1, 100, w - 2, w - 1, w, 10 * w]) {
      const n = s + 1;
      close(f(s), 2 * d ** -0.5 * Math.min(n ** -0.5, n * w ** -1.5));
    }
    close(f(w - 1), 2 * d ** -0.5 * w ** -0.5);
    expect(f(w - 1)).toBeGreaterThan(f(w - 2));
    expect(f(w - 1)).toBeGreaterThan(f(w));
  });

  test('bad options throw with the schedule name', () => {
    expect(() => optim.warmupCosine({ warmupSteps: 10, totalSteps: 5 })).toThrow('[warmupCosine] totalSteps (5) must be >= warmupSteps (10)');
    expect(() => optim.warmupLinear({ warmupSteps: -1, totalSteps: 5 })).toThrow('[warmupLinear] warmupSteps must be an integer >= 0, got -1');
    expect(() => optim.warmupPolynomial({ warmupSteps: 1, totalSteps: 5, power: -1 })).toThrow('[warmupPolynomial] power must be a finite number >= 0');
    expect(() => optim.noam({ dModel: 0, warmupSteps: 10 })).toThrow('[noam] dModel must be an integer >= 1');
    expect(() => optim.warmupCosine({ warmupSteps: 1, totalSteps: 5, minFactor: Number.NaN })).toThrow('[warmupCosine] minFactor must be a finite number >= 0');
  });
});

describe('LRScheduler', () => {
  function opt(): { o: optim.SGD; ps: Tensor[] } {
    const ps = [tensor([1], undefined, { requiresGrad: true }), tensor([2], undefined, { requiresGrad: true })];
    return { o: new optim.SGD([{ params: [ps[0]] }, { params: [ps[1]], lr: 0.5 }], { lr: 0.1 }), ps };
  }

  test('sets every group lr to baseLr · factor(step): step 0 at construction, +1 per step()', () => {
    const { o } = opt();
    const f = optim.warmupLinear({ warmupSteps: 2, totalSteps: 6 });
    const s = new optim.LRScheduler(o, f);
    expect(s.lastLr).toEqual([0, 0]);
    const seen: number[][] = [];
    for (let i = 0; i < 8; ++i) {
      seen.push(s.lastLr);
      s.step();
    }
    seen.forEach((lrs, i) => {
      close(lrs[0], 0.1 * f(i));
      close(lrs[1], 0.5 * f(i));
    });
    expect(s.stepIndex).toBe(8);
  });

  test('the optimizer uses the scheduled lr', () => {
    const { o, ps } = opt();
    const s = new optim.LRScheduler(o, (step) => 1 / (step + 1));
    for (let i = 0; i < 3; ++i) {
      ps.forEach((p) => { p.grad?.dispose(); p.grad = tensor([1]); });
      o.step();
      s.step();
    }
    // p0 -= 0.1 (1 + 1/2 + 1/3), p1 -= 0.5 (1 + 1/2 + 1/3)
    expect(ps[0].item()).toBeCloseTo(1 - 0.1 * (11 / 6), 6);
    expect(ps[1].item()).toBeCloseTo(2 - 0.5 * (11 / 6), 6);
  });

  test('stateDict round trip resumes at the same step and base lrs', () => {
    const f = optim.warmupCosine({ warmupSteps: 3, totalSteps: 20, minFactor: 0.05 });
    const a = new optim.LRScheduler(opt().o, f);
    for (let i = 0; i < 7; ++i) a.step();
    const sd = JSON.parse(JSON.stringify(a.stateDict()));
    expect(sd).toEqual({ step: 7, baseLrs: [0.1, 0.5] });
    const { o } = opt();
    o.paramGroups[0].lr = 42; // the scheduler's base lrs come from the state dict
    const b = new optim.LRScheduler(o, f);
    b.loadStateDict(sd);
    expect(b.lastLr).toEqual(a.lastLr);
    a.step();
    b.step();
    expect(b.lastLr).toEqual(a.lastLr);
    expect(() => b.loadStateDict({ step: 1, baseLrs: [1] })).toThrow('[LRScheduler] loadStateDict: baseLrs must be 2 numbers >= 0');
    expect(() => b.loadStateDict({ step: -1, baseLrs: [1, 1] })).toThrow('[LRScheduler] step must be an integer >= 0');
    expect(() => new optim.LRScheduler(o, () => Number.NaN)).toThrow('[LRScheduler] schedule(0) gave NaN');
  });
});
