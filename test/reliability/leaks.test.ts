// Issue 19, item 10: what the autograd tape saved is freed when nothing can run backward through
// it any more — at once, without a GC. memory() is read inside synchronous code, where V8's
// FinalizationRegistry cannot run: a test that passes here does not pass thanks to a GC.
import {
  add, backward, matmul, memory, mseLoss, nn, ops, randn, record, relu, sum, tanh, tidy,
} from '../../lib';
import { testDevices } from '../helpers/devices';

function live(): { tensors: number; bytes: number } {
  const m = memory();
  return { tensors: m.tensors, bytes: m.bytes.cpu + m.bytes.cuda };
}

describe.each(testDevices)('on %s', (device) => {
  test('a 10,000-step evaluation loop without noGrad keeps memory() flat', () => {
    const lin1 = new nn.Linear(8, 16, { seed: 1, device });
    const lin2 = new nn.Linear(16, 4, { seed: 2, device });
    const x = randn([3, 8], { seed: 3, device });
    const y = randn([3, 4], { seed: 4, device });
    const step = (): number => tidy(() => mseLoss(lin2.forward(tanh(lin1.forward(x))), y).item());
    const first = step();
    for (let i = 0; i < 100; ++i) step();
    const base = live();
    let last = 0;
    for (let i = 0; i < 10000; ++i) last = step();
    expect(live()).toEqual(base);
    expect(last).toBeCloseTo(first, 6);
    [lin1, lin2].forEach((m) => m.parameters().forEach((p) => p.dispose()));
    x.dispose();
    y.dispose();
  });

  test('a Mamba layer evaluated without noGrad frees its saved scan and conv inputs every step', () => {
    const m = new nn.Mamba({ dModel: 8, dState: 4, seed: 5, device });
    const x = randn([2, 7, 8], { seed: 6, device });
    const step = (): number => tidy(() => sum(m.forward(x, [7, 5])).item());
    step();
    const base = live();
    for (let i = 0; i < 200; ++i) step();
    expect(live()).toEqual(base);
    m.parameters().forEach((p) => p.dispose());
    x.dispose();
  });

  test('an exception thrown mid-forward inside tidy frees the partial graph', () => {
    const w = randn([6, 6], { seed: 7, device, requiresGrad: true });
    const x = randn([4, 6], { seed: 8, device });
    const base = live();
    for (let i = 0; i < 50; ++i) {
      expect(() => tidy(() => {
        const h = relu(matmul(x, w)); // saves x, w and h on the tape
        add(h, randn([5], { seed: 9, device })); // shape error
      })).toThrow(/^\[add\] /);
    }
    expect(live()).toEqual(base);
    w.dispose();
    x.dispose();
  });

  test('a failing backward leaves nothing behind', () => {
    const w = randn([5], { seed: 10, device, requiresGrad: true });
    const loss = sum(ops.square(w));
    loss.backward();
    const wrongShape = randn([2], { seed: 11, device });
    const base = live();
    for (let i = 0; i < 20; ++i) {
      expect(() => loss.backward()).toThrow(/^\[backward\] the graph through 'sum' was already freed/);
      expect(() => backward(loss, wrongShape)).toThrow(/^\[backward\] grad shape/);
    }
    expect(live()).toEqual(base);
    [loss, w, wrongShape].forEach((t) => t.dispose());
  });

  test('a backward whose node throws frees the gradients waiting at other nodes', () => {
    const a = randn([3], { seed: 12, device, requiresGrad: true });
    const base = live();
    for (let i = 0; i < 20; ++i) {
      tidy(() => {
        const h = ops.square(a);
        // h feeds sum(h) and a node whose backward throws: when it throws, h's node already holds
        // the gradient that came through sum(h).
        const bad = ops.mul(randn([3], { seed: 13, device }), 1);
        record('boom', [h], [bad], [], () => { throw new Error('[boom] backward failed'); });
        const total = add(sum(h), sum(bad));
        expect(() => total.backward()).toThrow(/^\[boom\] backward failed/);
      });
    }
    expect(a.grad).toBeNull();
    expect(live()).toEqual(base);
    a.dispose();
  });

  test('the .grad of a leaf created inside tidy is disposed with it', () => {
    const base = live();
    for (let i = 0; i < 50; ++i) {
      const v = tidy(() => {
        const w = randn([4, 4], { seed: 14, device, requiresGrad: true });
        sum(ops.square(w)).backward();
        return w.grad!.sum().item();
      });
      expect(Number.isFinite(v)).toBe(true);
    }
    expect(live()).toEqual(base);
  });

  test('a graph kept alive by a returned output still runs backward after its scope ended', () => {
    const w = randn([3, 3], { seed: 15, device, requiresGrad: true });
    const base = live();
    const loss = tidy(() => sum(relu(matmul(randn([2, 3], { seed: 16, device }), w))));
    loss.backward();
    expect(w.grad).not.toBeNull();
    loss.dispose();
    w.grad!.dispose();
    w.grad = null;
    expect(live()).toEqual(base);
    w.dispose();
  });
});
