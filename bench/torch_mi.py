#!/usr/bin/env python3
"""PyTorch reference for bench/mi.js: the paper's MI training loop, same configuration, same machine.

Concat critic 768 + 768 -> 100 -> 100 -> 1 (ReLU), batch 128, DV loss ('mine_biased' of
Tonyyouyou/Mutual-Information-Analysis) with y shuffled within the batch, Adam lr 1e-4. Batches
are gathered from the device-resident (N, 768) tensors by a random permutation, as mine.optimize
does. 13 pairs = 13 sequential runs, so its pair-steps/s equal the single figure.

  python bench/torch_mi.py out.json [steps] [repeats]

Writes {"stepsPerSecond": {"cpu": s/s, "cuda": s/s}, "runs": {...}, "torch": version}: the median over
`repeats` differences of a 2S- and an S-step run, and each of them.
"""
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn

D, B, N = 768, 128, 2048


def run(device, steps):
    torch.manual_seed(0)
    x = torch.randn(N, D, device=device)
    y = torch.randn(N, D, device=device)
    T = nn.Sequential(nn.Linear(2 * D, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(), nn.Linear(100, 1)).to(device)
    opt = torch.optim.Adam(T.parameters(), lr=1e-4)
    done = 0
    while done < steps:
        perm = torch.randperm(N, device=device)
        for i in range(N // B):
            if done == steps:
                break
            idx = perm[i * B:(i + 1) * B]
            xb, yb = x[idx], y[idx]
            ym = yb[torch.randperm(B, device=device)]
            t = T(torch.cat((xb, yb), 1)).mean()
            tm = T(torch.cat((xb, ym), 1))
            loss = -(t - (torch.logsumexp(tm, 0) - math.log(B)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            done += 1
    if device == "cuda":
        torch.cuda.synchronize()


def steps_per_second(device, steps, repeats):
    """Median over `repeats` of (2S-step run - S-step run), and every difference."""
    run(device, 10)
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter(); run(device, steps); t1 = time.perf_counter()
        run(device, 2 * steps); t2 = time.perf_counter()
        runs.append(steps / max((t2 - t1) - (t1 - t0), 1e-9))
    return statistics.median(runs), runs


steps = int(sys.argv[2]) if len(sys.argv) > 2 else 200
repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
out = {"stepsPerSecond": {}, "runs": {}, "repeats": repeats, "torch": torch.__version__, "threads": torch.get_num_threads()}
for dev in ["cpu", "cuda"]:
    if dev == "cuda" and not torch.cuda.is_available():
        continue
    out["stepsPerSecond"][dev], out["runs"][dev] = steps_per_second(dev, steps if dev == "cuda" else max(20, steps // 5), repeats)
json.dump(out, open(sys.argv[1], "w"), indent=2)
print(json.dumps(out, indent=2))
