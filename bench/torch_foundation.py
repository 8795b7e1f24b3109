#!/usr/bin/env python3
"""PyTorch reference for bench/foundation.js: the same measurements, same method, same GPU.

Writes JSON {overhead: {cpu, cuda}: seconds per call, copy: {name: GB/s}} to argv[1].
"""
import json
import statistics
import sys
import time

import torch


def per_call(fn, per_batch=1000, batches=100, sync=None):
    times = []
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(per_batch):
            fn()
        t1 = time.perf_counter()
        if sync:
            sync()
        times.append((t1 - t0) / per_batch)
    return statistics.median(times)


out = {"overhead": {}, "copy": {}, "torch": torch.__version__}
for dev in ["cpu", "cuda"]:
    if dev == "cuda" and not torch.cuda.is_available():
        continue
    a = torch.randn(1, device=dev)
    b = torch.randn(1, device=dev)
    f = lambda: torch.add(a, b)
    for _ in range(20000):
        f()
    out["overhead"][dev] = per_call(f, sync=torch.cuda.synchronize if dev == "cuda" else None)

if torch.cuda.is_available():
    n = 256 * 1024 * 1024
    def timed(fn, iters=20, factor=1):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        ts = []
        for i in range(iters + 2):
            s.record(); fn(); e.record(); e.synchronize()
            if i >= 2:
                ts.append(s.elapsed_time(e) / 1e3)
        return factor * n / statistics.median(ts) / 1e9
    host = torch.empty(n, dtype=torch.uint8)
    pinned = torch.empty(n, dtype=torch.uint8, pin_memory=True)
    d0 = torch.empty(n, dtype=torch.uint8, device="cuda")
    d1 = torch.empty(n, dtype=torch.uint8, device="cuda")
    out["copy"]["h2d pageable"] = timed(lambda: d0.copy_(host))
    out["copy"]["h2d pinned"] = timed(lambda: d0.copy_(pinned, non_blocking=True))
    out["copy"]["d2h pinned"] = timed(lambda: pinned.copy_(d0, non_blocking=True))
    out["copy"]["d2d (read+write)"] = timed(lambda: d1.copy_(d0), factor=2)

# The library path of bench/foundation.js, wall clock: a float32 host array into a tensor on the
# device, and a tensor back into a fresh host array (numpy), 256 MiB, median of 5 after one.
import numpy as np

def wall(fn, sync, reps=6):
    ts = []
    for _ in range(reps):
        sync(); t0 = time.perf_counter(); fn(); sync(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts[1:])

nf = 64 * 1024 * 1024
src = np.random.default_rng(0).standard_normal(nf, dtype=np.float32)
for dev in ["cpu", "cuda"]:
    if dev == "cuda" and not torch.cuda.is_available():
        continue
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    s = wall(lambda: torch.tensor(src, device=dev), sync)
    out["copy"][f"tensor(Float32Array) -> {dev}"] = 4 * nf / s / 1e9
    t = torch.tensor(src, device=dev)
    s = wall((lambda: t.cpu().numpy()) if dev == "cuda" else (lambda: t.numpy().copy()), sync)
    out["copy"][f"dataSync() {dev} -> Float32Array"] = 4 * nf / s / 1e9

json.dump(out, open(sys.argv[1], "w"), indent=2)
print(json.dumps(out, indent=2))
