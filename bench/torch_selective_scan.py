#!/usr/bin/env python3
"""torch_selective_scan.py — the PyTorch comparison for bench/selective_scan.js.

Our own chunked parallel scan in plain PyTorch (no custom kernels), same computation and options
as the bench (z, softplus(delta + deltaBias), D, variable B/C, float32 state): within each chunk of
Q = 128 steps, a Hillis-Steele inclusive scan over (a, b) pairs, h = a * h_prev + b, in log2(Q)
elementwise passes; chunks run one after another carrying the state; each chunk is wrapped in
torch.utils.checkpoint so the backward recomputes it instead of storing (B, D, L, N) tensors.

Timing: CUDA events, median of 30 after 5 warm-ups. Also writes the error of this computation
in bfloat16 inputs vs a float64 sequential reference on a small shape (the bf16 yardstick).

  python3 bench/torch_selective_scan.py [--out bench/results/torch_selective_scan.json] [--iters 30]
"""
import argparse
import json
import os

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint


def chunk_scan(dt, dtu, A, Bc, Cc, h0):
    # dt, dtu (b, d, q); A (d, n); Bc, Cc (b, n, q); h0 (b, d, n) -> y (b, d, q), h_last (b, d, n)
    a = torch.exp(dt.unsqueeze(-1) * A[None, :, None, :])          # (b, d, q, n)
    x = dtu.unsqueeze(-1) * Bc.transpose(1, 2).unsqueeze(1)          # (b, d, q, n)
    x = torch.cat([x[:, :, :1] + a[:, :, :1] * h0.unsqueeze(2), x[:, :, 1:]], dim=2)
    q = a.shape[2]
    off = 1
    while off < q:
        x = torch.cat([x[:, :, :off], a[:, :, off:] * x[:, :, :-off] + x[:, :, off:]], dim=2)
        a = torch.cat([a[:, :, :off], a[:, :, off:] * a[:, :, :-off]], dim=2)
        off *= 2
    y = torch.einsum('bdqn,bnq->bdq', x, Cc)
    return y, x[:, :, -1]


def torch_scan(u, delta, A, B, C, D, z, bias, chunk=128):
    dt = F.softplus(delta.float() + bias[None, :, None])
    dtu = dt * u.float()
    Bf, Cf = B.float(), C.float()
    h = torch.zeros(u.shape[0], u.shape[1], A.shape[1], device=u.device, dtype=torch.float32)
    ys = []
    for c0 in range(0, u.shape[2], chunk):
        c1 = min(c0 + chunk, u.shape[2])
        y, h = checkpoint(chunk_scan, dt[..., c0:c1], dtu[..., c0:c1], A, Bf[..., c0:c1], Cf[..., c0:c1], h,
                          use_reentrant=False)
        ys.append(y)
    y = torch.cat(ys, dim=2) + D[None, :, None] * u.float()
    return (y * F.silu(z.float())).to(u.dtype)


def reference64(u, delta, A, B, C, D, z, bias):
    u, delta, B, C, z = (t.double() for t in (u, delta, B, C, z))
    A, D, bias = A.double(), D.double(), bias.double()
    dt = F.softplus(delta + bias[None, :, None])
    h = torch.zeros(u.shape[0], u.shape[1], A.shape[1], dtype=torch.float64, device=u.device)
    ys = []
    for t in range(u.shape[2]):
        h = torch.exp(dt[..., t, None] * A) * h + (dt[..., t] * u[..., t])[..., None] * B[:, None, :, t]
        ys.append((h * C[:, None, :, t]).sum(-1))
    y = torch.stack(ys, -1) + D[None, :, None] * u
    return y * F.silu(z)


def make(b, d, n, l, dtype, dev):
    g = lambda *s: torch.rand(*s, device=dev)
    return dict(u=(g(b, d, l) * 2 - 1).to(dtype), delta=(g(b, d, l) * 2 - 2).to(dtype), A=g(d, n) * 1.8 - 2,
                B=(g(b, n, l) * 2 - 1).to(dtype), C=(g(b, n, l) * 2 - 1).to(dtype), D=g(d) * 2 - 1,
                z=(g(b, d, l) * 4 - 2).to(dtype), bias=g(d) - 1)


def timed(fn, iters):
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(iters):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        torch.cuda.synchronize()
        ts.append(s.elapsed_time(e))
    ts.sort()
    return ts[len(ts) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=os.path.join(os.path.dirname(__file__), 'results', 'torch_selective_scan.json'))
    ap.add_argument('--iters', type=int, default=30)
    args = ap.parse_args()
    dev = 'cuda'
    res = {'device': torch.cuda.get_device_name(0), 'torch': torch.__version__, 'results': {}}
    for (b, d, n, l) in [(16, 1536, 16, 1024), (16, 1536, 16, 4096), (4, 2048, 16, 16384)]:
        for dtype in (torch.bfloat16, torch.float32):
            name = 'bfloat16' if dtype == torch.bfloat16 else 'float32'
            t = make(b, d, n, l, dtype, dev)
            args_ = [t[k] for k in ('u', 'delta', 'A', 'B', 'C', 'D', 'z', 'bias')]
            with torch.no_grad():
                fwd = timed(lambda: torch_scan(*args_), args.iters)
            leaves = [x.detach().requires_grad_(True) for x in args_]
            g = torch.rand(b, d, l, device=dev, dtype=dtype)

            def fb():
                out = torch_scan(*leaves)
                torch.autograd.grad(out, leaves, g)
            fwdbwd = timed(fb, max(5, args.iters // 3))
            res['results'][f'{b},{d},{n},{l},{name}'] = {'fwdMs': fwd, 'fwdBwdMs': fwdbwd}
            print(f'torch chunked scan ({b}, {d}, {n}, {l}) {name}: fwd {fwd:.3f} ms, fwd+bwd {fwdbwd:.3f} ms', flush=True)
            del t, args_, leaves
            torch.cuda.empty_cache()
    # bf16 yardstick: error of this computation with bf16 inputs vs float64 (max|err| / max|ref|).
    t = make(2, 64, 16, 1024, torch.bfloat16, dev)
    args_ = [t[k] for k in ('u', 'delta', 'A', 'B', 'C', 'D', 'z', 'bias')]
    ref = reference64(*args_)
    out = torch_scan(*args_).double()
    res['bf16Error'] = {'shape': [2, 64, 16, 1024], 'err': ((out - ref).abs().max() / ref.abs().max()).item()}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(res, f, indent=2)
    print('wrote', args.out)


if __name__ == '__main__':
    main()
