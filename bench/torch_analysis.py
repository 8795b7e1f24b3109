#!/usr/bin/env python3
"""PyTorch references for bench/analysis.js, same machine, same shapes (run it in the same call).

paper loop      Tonyyouyou/Mutual-Information-Analysis, analysis/MI_Calculator.py: for each layer
                1..12, for each utterance: Mine(T = one shared 1536-100-100-1 ReLU network,
                loss 'mine_biased').optimize(hs0[u], hs_l[u], iters=100, batch_size=128), i.e. 100
                epochs of shuffled batches of 128 (remainder dropped), DV loss with y shuffled
                within the batch, a fresh Adam(1e-4) per call, then DV on all frames.
corrected,      what analysis.layerwiseMi computes, one critic at a time: per layer (13) PCA to 16
sequential      (torch.pca_lowrank) of X and T, z-scores, T + 1.0 Z; per seed (3) a SMILE (tau 5)
                concat critic 32-100-100-1, batch 256, Adam 2e-4, `steps` steps, derangement
                negatives, 20% held out and evaluated every steps/20.

  python bench/torch_analysis.py out.json [--frames 20000] [--utterances 100] [--steps 3000] [--device cuda]
                                         [--time-layers k]

Writes {"paperSeconds": s, "correctedSeconds": s, "torch": version, "device": ..., "config": {...}}.
--time-layers k runs only the first k layers of each loop (the whole paper loop is minutes of
small steps) and scales the time by 12/k (paper) and 13/k (corrected): every layer does the same
work (same shapes, same step counts), so the scaled figure is what the whole loop takes, up to
run-to-run noise; the JSON keeps the measured seconds and k beside it.
The hidden states are synthetic (hs_l = tanh(hs_{l-1} W_l) + 0.1 eps), as in analysis.js.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--frames", type=int, default=20000)
p.add_argument("--utterances", type=int, default=100)
p.add_argument("--steps", type=int, default=3000)
p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
p.add_argument("--skip-paper", action="store_true")
p.add_argument("--time-layers", type=int, default=0, help="time the first k layers only and scale (0: all)")
a = p.parse_args()
dev, N, U, D, L = a.device, a.frames, a.utterances, 768, 12
K_PAPER = min(L, a.time_layers) if a.time_layers > 0 else L  # layers 1..L of the paper loop timed
K_CORR = min(L + 1, a.time_layers) if a.time_layers > 0 else L + 1  # layers 0..L of the corrected one


def sync():
    if dev == "cuda":
        torch.cuda.synchronize()


torch.manual_seed(0)
hs = [torch.randn(N, D, device=dev)]
for l in range(1, L + 1):
    w = torch.randn(D, D, device=dev) * (2 / math.sqrt(D))
    hs.append(torch.tanh(hs[-1] @ w) + 0.1 * torch.randn(N, D, device=dev))
sync()


def mlp(i):
    return nn.Sequential(nn.Linear(i, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(), nn.Linear(100, 1)).to(dev)


def paper_loop():
    F = N // U
    T = mlp(2 * D)  # the one statistics network of MI_Calculator.py
    out = []
    for l in range(1, K_PAPER + 1):
        vals = []
        for u in range(U):
            x, y = hs[0][u * F:(u + 1) * F], hs[l][u * F:(u + 1) * F]
            opt = torch.optim.Adam(T.parameters(), lr=1e-4)
            for _ in range(100):
                perm = torch.randperm(F, device=dev)
                for i in range(F // 128):
                    idx = perm[i * 128:(i + 1) * 128]
                    xb, yb = x[idx], y[idx]
                    ym = yb[torch.randperm(128, device=dev)]
                    t = T(torch.cat((xb, yb), 1)).mean()
                    tm = T(torch.cat((xb, ym), 1))
                    loss = -(t - (torch.logsumexp(tm, 0) - math.log(128)))
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
            with torch.no_grad():
                t = T(torch.cat((x, y), 1)).mean()
                tm = T(torch.cat((x, y[torch.randperm(F, device=dev)]), 1))
                vals.append((t - (torch.logsumexp(tm, 0) - math.log(F))).item())
        out.append(sum(vals) / len(vals))
        print(f"paper loop: layer {l} done", flush=True)
    return out


def reduce(t, k=16, noise=0.0):
    _, _, v = torch.pca_lowrank(t, q=k, center=True, niter=4)
    z = (t - t.mean(0)) @ v[:, :k]
    z = (z - z.mean(0)) / z.std(0, unbiased=False)
    return z + noise * torch.randn_like(z) if noise > 0 else z


def smile(x, y, seed, steps, B=256, tau=5.0):
    g = torch.Generator(device=dev).manual_seed(seed)
    n = x.shape[0]
    perm = torch.randperm(n, device=dev, generator=g)
    held, train = perm[: n // 5], perm[n // 5:]
    torch.manual_seed(seed)
    T = mlp(x.shape[1] + y.shape[1])
    opt = torch.optim.Adam(T.parameters(), lr=2e-4)
    evals = []

    def scores(idx):
        xb, yb = x[idx], y[idx]
        shift = torch.randint(1, len(idx), (1,), device=dev, generator=g)
        ym = torch.roll(yb, int(shift.item()), 0)  # a cyclic shift: no row keeps its own y
        return T(torch.cat((xb, yb), 1)).squeeze(1), T(torch.cat((xb, ym), 1)).squeeze(1)

    for step in range(1, steps + 1):
        idx = train[torch.randint(0, len(train), (B,), device=dev, generator=g)]
        tj, tm = scores(idx)
        js = -nn.functional.softplus(-tj).mean() - nn.functional.softplus(tm).mean()
        opt.zero_grad()
        (-js).backward()
        opt.step()
        if step % max(1, steps // 20) == 0:
            with torch.no_grad():
                tj, tm = scores(held)
                evals.append((tj.mean() - (torch.logsumexp(tm.clamp(-tau, tau), 0) - math.log(len(held)))).item())
    return sum(evals[-3:]) / len(evals[-3:])


def corrected_sequential():
    x = reduce(hs[0])
    out = []
    for l in range(K_CORR):
        out.append([smile(x, reduce(hs[l], noise=1.0), s, a.steps) for s in range(3)])
        print(f"corrected: layer {l} done", flush=True)
    return out


res = {"torch": torch.__version__, "device": dev, "config": {"frames": N, "utterances": U, "steps": a.steps, "layers": L + 1},
       "paperLayersTimed": K_PAPER, "correctedLayersTimed": K_CORR}
if not a.skip_paper:
    t0 = time.perf_counter()
    res["paperValues"] = paper_loop()
    sync()
    res["paperSecondsMeasured"] = time.perf_counter() - t0
    res["paperSeconds"] = res["paperSecondsMeasured"] * L / K_PAPER
t0 = time.perf_counter()
res["correctedValues"] = corrected_sequential()
sync()
res["correctedSecondsMeasured"] = time.perf_counter() - t0
res["correctedSeconds"] = res["correctedSecondsMeasured"] * (L + 1) / K_CORR
with open(a.out, "w") as f:
    json.dump(res, f, indent=2)
print(json.dumps({k: v for k, v in res.items() if k.endswith("Seconds")}))
