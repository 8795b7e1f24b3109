#!/usr/bin/env python3
"""PyTorch reference for bench/attention.js: scaled_dot_product_attention, same shapes, same GPU.

Writes JSON {torch, gpu, cases: {"dh64-L1024-full": {"fwd_ms", "fwdbwd_ms", "backend"}, ...}} to argv[1].

Modes (as in bench/attention.js):
  full    no mask                              flash backend
  causal  is_causal=True (Lq = Lk: top-left = bottom-right)   flash backend
  keylen  keys t >= keyLengths[b] masked, keyLengths[b] = floor(L (0.7 + 0.3 b / (B - 1)));
          the flash backend takes no mask, so this is the boolean attn_mask on the
          memory-efficient backend (reported for information; the ratios use flash 'full')
Timing: CUDA events, 3 warm-up calls, median of 20.
"""
import json
import statistics
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

CONFIGS = [(16, 12, 64), (16, 6, 128)]
LENGTHS = [512, 1024, 2048, 4096]


def timed(fn, iters=20, warmup=3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(iters):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        e.synchronize()
        ts.append(s.elapsed_time(e))
    return statistics.median(ts)


def key_lengths(B, L):
    return [int(L * (0.7 + 0.3 * b / (B - 1))) for b in range(B)]


def main():
    out = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0), "cases": {}}
    for B, H, Dh in CONFIGS:
        for L in LENGTHS:
            q, k, v = (torch.randn(B, H, L, Dh, device="cuda", dtype=torch.bfloat16, requires_grad=True) for _ in range(3))
            dout = torch.randn(B, H, L, Dh, device="cuda", dtype=torch.bfloat16)
            for mode in ["full", "causal", "keylen"]:
                kw = {}
                backend = SDPBackend.FLASH_ATTENTION
                if mode == "causal":
                    kw["is_causal"] = True
                if mode == "keylen":
                    kl = torch.tensor(key_lengths(B, L), device="cuda")
                    mask = torch.arange(L, device="cuda")[None, :] < kl[:, None]  # (B, Lk)
                    kw["attn_mask"] = mask[:, None, None, :]
                    backend = SDPBackend.EFFICIENT_ATTENTION

                def fwd():
                    with torch.no_grad(), sdpa_kernel(backend):
                        F.scaled_dot_product_attention(q, k, v, **kw)

                def fwdbwd():
                    with sdpa_kernel(backend):
                        o = F.scaled_dot_product_attention(q, k, v, **kw)
                    torch.autograd.grad(o, (q, k, v), dout)

                name = f"dh{Dh}-L{L}-{mode}"
                try:
                    out["cases"][name] = {"fwd_ms": timed(fwd), "fwdbwd_ms": timed(fwdbwd), "backend": backend.name}
                except RuntimeError as e:  # backend refused the case
                    out["cases"][name] = {"error": str(e)[:200]}
                print(name, out["cases"][name], flush=True)
            del q, k, v, dout
            torch.cuda.empty_cache()
    json.dump(out, open(sys.argv[1], "w"), indent=2)


if __name__ == "__main__":
    main()
