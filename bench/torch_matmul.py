#!/usr/bin/env python3
"""PyTorch reference for bench/matmul.js: torch.matmul TFLOP/s on the same GPU, same method
(median of 20 after a warm-up, synchronised wall clock as matmul.js measures).
Writes {"matmul": {"float32-1024": TFLOP/s, ...}, "torch": version} to argv[1]."""
import json, statistics, sys, time
import torch

torch.backends.cuda.matmul.allow_tf32 = False  # exact float32, as mamba-speech's default
out = {"matmul": {}, "torch": torch.__version__}
for dtype, name in [(torch.float32, "float32"), (torch.bfloat16, "bfloat16")]:
    for n in [1024, 4096, 8192]:
        a = torch.randn(n, n, device="cuda", dtype=dtype)
        b = torch.randn(n, n, device="cuda", dtype=dtype)
        torch.matmul(a, b); torch.cuda.synchronize()
        ts = []
        for _ in range(20):
            t = time.perf_counter(); torch.matmul(a, b); torch.cuda.synchronize(); ts.append(time.perf_counter() - t)
        out["matmul"][f"{name}-{n}"] = 2 * n**3 / statistics.median(ts) / 1e12
json.dump(out, open(sys.argv[1], "w"), indent=2)
print(json.dumps(out, indent=2))
