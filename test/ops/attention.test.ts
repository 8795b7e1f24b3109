// attention forward and dq/dk/dv vs the float64 reference, on every device; bfloat16 on CUDA.
import { AttnCase, caseName, normErr, runCase } from './attention_helpers';
import { describeCuda, testDevices } from '../helpers/devices';

// Sizes from the issue: L in {1, 7, 64, 129, 1000, 2049}, Dh in {8, 36, 64, 80, 128, 256}, causal
// on/off, key/query lengths incl. 0 and full, Lq != Lk (both ways). `cpu: false` marks the
// biggest ones, run on CUDA only (the float64 JS reference alone takes seconds there).
const cases: (AttnCase & { cpu?: boolean })[] = [
  { B: 1, H: 1, Lq: 1, Lk: 1, Dh: 8 },
  { B: 2, H: 3, Lq: 7, Lk: 7, Dh: 36, causal: true },
  { B: 2, H: 2, Lq: 64, Lk: 64, Dh: 64, keyLengths: [37, 0] },
  { B: 3, H: 1, Lq: 129, Lk: 129, Dh: 80, causal: true, keyLengths: [129, 100, 5], queryLengths: [129, 0, 77] },
  { B: 1, H: 2, Lq: 129, Lk: 64, Dh: 128, causal: true },
  { B: 1, H: 1, Lq: 7, Lk: 129, Dh: 256, causal: true },
  { B: 2, H: 2, Lq: 1, Lk: 129, Dh: 64, causal: true, keyLengths: [1, 129] },
  { B: 2, H: 1, Lq: 64, Lk: 1000, Dh: 32, keyLengths: [1000, 513], scale: 0.3 },
  { B: 1, H: 2, Lq: 1000, Lk: 1000, Dh: 64, keyLengths: [777], queryLengths: [999] },
  { B: 1, H: 1, Lq: 2049, Lk: 2049, Dh: 36, causal: true },
  { B: 1, H: 1, Lq: 64, Lk: 64, Dh: 8, causal: true, queryLengths: [64] },
  { B: 2, H: 1, Lq: 1000, Lk: 129, Dh: 256, keyLengths: [129, 64], queryLengths: [500, 1000], cpu: false },
  { B: 1, H: 1, Lq: 2049, Lk: 1000, Dh: 256, causal: true, cpu: false },
  { B: 1, H: 2, Lq: 2049, Lk: 2049, Dh: 128, causal: true, keyLengths: [2000], cpu: false },
  { B: 1, H: 1, Lq: 129, Lk: 2049, Dh: 80, keyLengths: [0], cpu: false },
];

// float32 runs exact float32 arithmetic (no TF32): a few float32 roundings per term. Gradients
// get 3x more room: dS = P * (dP - D) cancels, and where a row sees a single key (keyLengths 1)
// the exact dK is 0 while float32 leaves eps * |dP| * |q| of residue; measured against the max
// |dK| of the other batch row, case B2 H2 Lq1 Lk129 causal kl[1,129] measured 1.6e-5 once on the H200.
const F32_TOL = 1e-5;
const F32_GRAD_TOL = 3e-5;
// bfloat16: inputs are bf16 already; P and dS are rounded to bf16 for the tensor cores and out,
// dq, dk, dv to bf16 on output (2^-9 relative each), as FlashAttention does.
const BF16_TOL = { out: 2e-2, grad: 4e-2 };

function check(c: AttnCase, r: ReturnType<typeof runCase>, tolOut: number, tolGrad: number): void {
  const errs = {
    out: normErr(r.out, r.ref.out),
    dq: normErr(r.dq, r.ref.dq),
    dk: normErr(r.dk, r.ref.dk),
    dv: normErr(r.dv, r.ref.dv),
  };
  const bad = Object.entries(errs).filter(([name, e]) => !(e <= (name === 'out' ? tolOut : tolGrad)));
  if (bad.length) throw new Error(`${caseName(c)}: errors ${JSON.stringify(errs)}`);
}

describe.each(testDevices)('attention float32 on %s', (device) => {
  const mine = cases.filter((c) => device === 'cuda' || c.cpu !== false);
  test.each(mine.map((c) => [caseName(c), c] as const))('%s', (_name, c) => {
    check(c, runCase(c, device), F32_TOL, F32_GRAD_TOL);
  });

  test('fully masked rows give 0 and zero gradients, never NaN', () => {
    const c: AttnCase = { B: 2, H: 1, Lq: 9, Lk: 5, Dh: 8, causal: true, keyLengths: [0, 5], queryLengths: [9, 7] };
    const r = runCase(c, device);
    for (const a of [r.out, r.dq, r.dk, r.dv]) for (const x of a) expect(Number.isFinite(x)).toBe(true);
    // b = 0 has no keys: out and every grad 0. b = 1: rows 0..3 see no key (causal, Lq > Lk),
    // rows 7, 8 are padding; rows 4..6 are live.
    const zeroRows = [...Array(9).keys(), 9, 10, 11, 12, 16, 17];
    for (const row of zeroRows) {
      for (let d = 0; d < 8; ++d) {
        expect(r.out[row * 8 + d]).toBe(0);
        expect(r.dq[row * 8 + d]).toBe(0);
      }
    }
    for (let i = 0; i < 5 * 8; ++i) expect(r.dk[i]).toBe(0);
    for (let i = 0; i < 5 * 8; ++i) expect(r.dv[i]).toBe(0);
    expect(normErr(r.out.subarray(13 * 8, 16 * 8), new Float64Array(24))).toBeGreaterThan(0);
    check(c, r, F32_TOL, F32_GRAD_TOL);
  });
});

// Dropout through the tensor-core kernels: the same Philox mask in forward, dK/dV and dQ passes.
const bf16Dropout: AttnCase[] = [
  { B: 2, H: 2, Lq: 129, Lk: 77, Dh: 64, causal: true, dropout: 0.3, keyLengths: [77, 50] },
  { B: 1, H: 2, Lq: 64, Lk: 200, Dh: 36, dropout: 0.1, queryLengths: [40] },
];

// deterministic: kernel 2 runs its dK/dV kernel without the dQ atomics, then the separate dQ pass.
const bf16Deterministic: AttnCase[] = [
  { B: 3, H: 1, Lq: 129, Lk: 129, Dh: 80, causal: true, keyLengths: [129, 100, 5], queryLengths: [129, 0, 77], deterministic: true },
  { B: 2, H: 2, Lq: 129, Lk: 77, Dh: 64, causal: true, dropout: 0.3, keyLengths: [77, 50], deterministic: true },
  { B: 1, H: 2, Lq: 300, Lk: 1000, Dh: 36, keyLengths: [777], deterministic: true },
];

describeCuda('attention bfloat16 on cuda (tensor cores)', () => {
  test.each([...cases, ...bf16Dropout, ...bf16Deterministic].map((c) => [caseName(c), c] as const))('%s', (_name, c) => {
    check(c, runCase(c, 'cuda', 'bfloat16', 1), BF16_TOL.out, BF16_TOL.grad);
  });
});
