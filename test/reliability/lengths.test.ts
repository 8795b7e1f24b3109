// Issue 19, item 6: one lengths parser for every op and layer. Lengths >= 2^32 used to wrap in
// ctcLoss, selectiveScan and causalConv1d ([2^32 + 1] acted as [1]); every host value must now be
// an integer in [0, max], and an int32 tensor of shape (B) is the only tensor form.
import { attention, causalConv1d, ctcLoss, logSoftmax, nn, randn, selectiveScan, tensor, Tensor } from '../../lib';
import { testDevices } from '../helpers/devices';

type Call = (lengths: unknown) => unknown;

describe.each(testDevices)('on %s', (device) => {
  const B = 2, D = 3, L = 5, N = 2, T = 6, C = 4, S = 3;
  const u = randn([B, D, L], { seed: 1, device });
  const delta = randn([B, D, L], { seed: 2, device });
  const A = randn([D, N], { seed: 3, device: device });
  const Bm = randn([B, N, L], { seed: 4, device });
  const Cm = randn([B, N, L], { seed: 5, device });
  const w = randn([D, 3], { seed: 6, device });
  const lp = logSoftmax(randn([B, T, C], { seed: 7, device }), -1);
  const targets = tensor(new Int32Array([1, 2, 3, 2, 1, 0]), [B, S], { device });
  const q = randn([B, 1, L, 4], { seed: 8, device });

  const ops: [string, number, string, Call][] = [
    ['selectiveScan', L, 'L', (l) => selectiveScan(u, delta, A, Bm, Cm, { lengths: l as Int32Array }).out],
    ['causalConv1d', L, 'L', (l) => causalConv1d(u, w, null, { lengths: l as Int32Array })],
    ['ctcLoss', T, 'T', (l) => ctcLoss(lp, targets, l as Int32Array, [1, 1])],
    ['ctcLoss', S, 'S', (l) => ctcLoss(lp, targets, [T, T], l as Int32Array)],
    ['attention', L, '', (l) => attention(q, q, q, { keyLengths: l as Int32Array })],
    ['attention', L, '', (l) => attention(q, q, q, { queryLengths: l as Int32Array })],
  ];

  test.each(ops.map(([op, max, mn, f], i) => [`${op} #${i}`, op, max, mn, f] as const))('%s rejects what is not B integers in [0, max]', (_, op, max, mn, f) => {
    const range = mn ? `\\[0, ${mn} = ${max}\\]` : `\\[0, ${max}\\]`;
    const bad: [unknown, RegExp][] = [
      [[2 ** 32 + 1, 1], new RegExp(`\\[0\\] = 4294967297 is outside ${range}`)],
      [[1, -1], new RegExp(`\\[1\\] = -1 is outside ${range}`)],
      [[1.5, 1], new RegExp(`\\[0\\] = 1\\.5 must be an integer in ${range}`)],
      [[max + 1, 1], new RegExp(`\\[0\\] = ${max + 1} is outside ${range}`)],
      [[NaN, 1], /\[0\] = NaN must be an integer/],
      [['3', 1], /\[0\] = string 3 must be an integer/],
      [[1], /must have B = 2 entries, got 1/],
      [new Float64Array([2 ** 33, 1]), /\[0\] = 8589934592 is outside/],
      [tensor([1, 1], undefined, { device }), /must be int32, got float32/],
      [tensor(new Int32Array([1, 1, 1]), undefined, { device }), /must have shape \(B\) = \(2\), got \(3\)/],
      [{ length: 2 }, /must be an Int32Array, a number array or an int32 Tensor, got Object/],
    ];
    for (const [lengths, msg] of bad) {
      let err: Error | null = null;
      try {
        f(lengths);
      } catch (e) {
        err = e as Error;
      }
      expect(err).not.toBeNull();
      expect(err!.message.startsWith(`[${op}] `)).toBe(true);
      expect(err!.message).toMatch(msg);
    }
    // A host int32 tensor's values are checked by the addon, which names the op too (a CUDA one
    // is read on the device, where the scan and conv kernels clamp instead of syncing to check).
    expect(() => f(tensor(new Int32Array([max + 1, 1]), undefined, { device: 'cpu' }))).toThrow(new RegExp(`^\\[${op}\\] `));
  });

  test.each(ops.map(([op, max, , f], i) => [`${op} #${i}`, max, f] as const))('%s gives one result for every form of valid lengths', (_, max, f) => {
    const forms = [[max, 1], new Int32Array([max, 1]), Float64Array.from([max, 1]), tensor(new Int32Array([max, 1]), undefined, { device })];
    const outs = forms.map((l) => Array.from((f(l) as Tensor).dataSync()));
    for (const o of outs.slice(1)) expect(o).toEqual(outs[0]);
  });

  test('layers share the parser: encoder masks and front ends', () => {
    const layer = new nn.TransformerEncoderLayer({ dModel: 4, nHead: 1, dimFeedforward: 8, dropout: 0, seed: 9, device });
    const x = randn([B, L, 4], { seed: 10, device });
    expect(() => layer.forward(x, [2 ** 32 + 1, 1])).toThrow(/^\[(paddingMask|attention)\] (lengths|keyLengths)\[0\] = 4294967297 is outside \[0, (L = )?5\]/);
    expect(() => layer.forward(x, [L, -2])).toThrow(/\[1\] = -2 is outside \[0, (L = )?5\]/);
    const sub = new nn.Conv2dSubsampling(8, 4, { seed: 11, device });
    expect(() => sub.forward(randn([B, 9, 8], { seed: 12, device }), [2 ** 32 + 9, 9])).toThrow(/^\[Conv2dSubsampling\] lengths\[0\]/);
  });
});
