#!/usr/bin/env python3
"""Reference for bench/hubert.js (issue 14), the same work in the Python stack:

  kmeans-cpu   numpy float32: greedy k-means++ (2 + ln K trials) on 30000 frames, then --steps
               mini-batch steps of 10000 frames (sklearn's running-mean update), then predict in
               blocks — the algorithm of sklearn.cluster.MiniBatchKMeans, written out so that
               both sides do exactly the same steps (sklearn stops on its own criteria; with
               --sklearn its full fairseq-style fit is timed too, when sklearn is installed)
  kmeans-gpu   the same in PyTorch on CUDA, 1M x 768, K = 500
  pretrain     one HuBERT base step (forward + backward + AdamW) at 8 x 10 s, bf16 autocast:
               torchaudio.models.hubert_pretrain_base() for 'transformer'; for the other types
               the same model with its Transformer layers swapped: torchaudio ConformerLayer
               (conformer), pre-norm residual Mamba / ExtBiMamba (mamba, bimamba), and the
               paper's TransBiMamba / ConBiMamba layers, the Mamba mixers in PyTorch with the
               chunked scan of bench/torch_selective_scan.py

    python3 bench/torch_hubert.py out.json [--rows kmeans-cpu,kmeans-gpu,pretrain] [--steps 100] [--sklearn]

Writes {"kmeans": {row: {fit_s, predict_s, impl}}, "pretrain": {type: ms}, "pretrainParams": {type: n}}.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np


def mixture_np(N, D, K, rng):
    centres = rng.standard_normal((2 * K, D), dtype=np.float32) * 4
    idx = (np.arange(N, dtype=np.int64) * 2654435761) % (2 * K)
    return centres[idx] + rng.standard_normal((N, D), dtype=np.float32)


def kmeanspp_np(X, K, rng):
    n = X.shape[0]
    trials = 2 + int(math.log(K))
    xn2 = (X * X).sum(1)
    ids = [int(rng.integers(n))]
    closest = np.maximum(xn2 - 2 * X @ X[ids[0]] + xn2[ids[0]], 0)
    for _ in range(1, K):
        cum = np.cumsum(closest, dtype=np.float64)
        cand = np.minimum(np.searchsorted(cum, rng.random(trials) * cum[-1]), n - 1)
        c = X[cand]
        d = np.maximum((c * c).sum(1)[:, None] - 2 * c @ X.T + xn2[None, :], 0)
        d = np.minimum(d, closest[None, :])
        best = int(np.argmin(d.sum(1)))
        closest = d[best]
        ids.append(int(cand[best]))
    return X[ids].copy()


def minibatch_np(X, K, steps, batch, rng):
    C = kmeanspp_np(X[rng.integers(0, X.shape[0], 3 * batch)], K, rng)
    counts = np.zeros(K, np.float32)
    for _ in range(steps):
        xb = X[rng.integers(0, X.shape[0], batch)]
        z = xb @ (2 * C).T - (C * C).sum(1)[None, :]
        lab = z.argmax(1)
        sums = np.zeros_like(C)
        np.add.at(sums, lab, xb)
        bc = np.bincount(lab, minlength=K).astype(np.float32)
        tot = counts + bc
        upd = bc > 0
        C[upd] = (C[upd] * counts[upd, None] + sums[upd]) / tot[upd, None]
        counts = tot
    return C


def predict_np(X, C, chunk):
    w, b = 2 * C, -(C * C).sum(1)
    out = np.empty(X.shape[0], np.int64)
    for s in range(0, X.shape[0], chunk):
        out[s:s + chunk] = (X[s:s + chunk] @ w.T + b).argmax(1)
    return out


def kmeans_cpu(steps, use_sklearn):
    rng = np.random.default_rng(0)
    X = mixture_np(100000, 39, 100, rng)
    t0 = time.perf_counter()
    C = minibatch_np(X, 100, steps, 10000, rng)
    fit = time.perf_counter() - t0
    ts = []
    for _ in range(3):
        t0 = time.perf_counter()
        predict_np(X, C, 2621)
        ts.append(time.perf_counter() - t0)
    out = {"fit_s": fit, "predict_s": statistics.median(ts), "impl": f"numpy {np.__version__}"}
    if use_sklearn:
        try:
            from sklearn.cluster import MiniBatchKMeans
            t0 = time.perf_counter()
            km = MiniBatchKMeans(n_clusters=100, init="k-means++", max_iter=100, batch_size=10000, compute_labels=False, tol=0.0,
                                 max_no_improvement=100, n_init=20, reassignment_ratio=0.0).fit(X)
            out["sklearn_fairseq_fit_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            km.predict(X)
            out["sklearn_predict_s"] = time.perf_counter() - t0
        except ImportError:
            out["sklearn"] = "not installed"
    return out


def kmeans_gpu(steps):
    import torch
    g = torch.Generator(device="cuda").manual_seed(0)
    N, D, K, batch = 1000000, 768, 500, 10000
    centres = torch.randn(2 * K, D, device="cuda", generator=g) * 4
    idx = (torch.arange(N, device="cuda", dtype=torch.int64) * 2654435761) % (2 * K)
    X = centres[idx] + torch.randn(N, D, device="cuda", generator=g)

    def pp(Xs):
        n = Xs.shape[0]
        trials = 2 + int(math.log(K))
        xn2 = (Xs * Xs).sum(1)
        first = int(torch.randint(n, (1,), device="cuda", generator=g))
        ids = [first]
        closest = (xn2 - 2 * Xs @ Xs[first] + xn2[first]).clamp_min(0)
        for _ in range(1, K):
            cum = torch.cumsum(closest.double(), 0)
            cand = torch.searchsorted(cum, torch.rand(trials, device="cuda", generator=g, dtype=torch.float64) * cum[-1]).clamp_max(n - 1)
            c = Xs[cand]
            d = torch.minimum(((c * c).sum(1)[:, None] - 2 * c @ Xs.T + xn2[None, :]).clamp_min(0), closest[None, :])
            best = int(d.sum(1).argmin())
            closest = d[best]
            ids.append(int(cand[best]))
        return Xs[ids].clone()

    torch.cuda.synchronize()
    t0 = time.perf_counter()
    C = pp(X[torch.randint(0, N, (3 * batch,), device="cuda", generator=g)])
    counts = torch.zeros(K, device="cuda")
    for _ in range(steps):
        xb = X[torch.randint(0, N, (batch,), device="cuda", generator=g)]
        lab = (xb @ (2 * C).T - (C * C).sum(1)[None, :]).argmax(1)
        oh = torch.nn.functional.one_hot(lab, K).float()
        sums, bc = oh.T @ xb, oh.sum(0)
        tot = counts + bc
        C = torch.where(bc[:, None] > 0, (C * counts[:, None] + sums) / tot.clamp_min(1)[:, None], C)
        counts = tot
        float(bc.sum())  # one host sync per step, as the library's convergence check
    torch.cuda.synchronize()
    fit = time.perf_counter() - t0
    chunk = 2 ** 24 // K
    ts = []
    for _ in range(3):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        w, b = 2 * C, -(C * C).sum(1)
        out = torch.cat([(X[s:s + chunk] @ w.T + b).argmax(1) for s in range(0, N, chunk)]).cpu()
        ts.append(time.perf_counter() - t0)
    return {"fit_s": fit, "predict_s": statistics.median(ts), "impl": f"torch {torch.__version__}"}


PRETRAIN_PARAMS = {}  # type -> parameter count of the PyTorch model (to set beside ours)


def pretrain(types):
    import torch
    import torch.nn as nn
    import torchaudio
    sys.path.insert(0, os.path.dirname(__file__))
    from torch_nn_layers import MambaT  # noqa: E402

    class BiMambaT(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.fwd, self.bwd, self.proj = MambaT(d), MambaT(d), nn.Linear(2 * d, d)

        def forward(self, x):
            return self.proj(torch.cat([self.fwd(x), self.bwd(x.flip(1)).flip(1)], -1))

    class TransBiMambaLayerT(nn.Module):
        """torchaudio EncoderLayer (post-norm) with BiMamba in place of attention."""

        def __init__(self, d, ffn):
            super().__init__()
            self.mixer, self.norm1, self.norm2 = BiMambaT(d), nn.LayerNorm(d), nn.LayerNorm(d)
            self.ff = nn.Sequential(nn.Linear(d, ffn), nn.GELU(), nn.Linear(ffn, d))

        def forward(self, x, attention_mask=None, position_bias=None, key_padding_mask=None):
            x = self.norm1(x + self.mixer(x))
            return self.norm2(x + self.ff(x)), None

    class ConBiMambaLayerT(nn.Module):
        def __init__(self, d, ffn):
            super().__init__()
            base = torchaudio.models.conformer.ConformerLayer(d, ffn, 1, 31, dropout=0.1)
            self.ffn1, self.ln, self.conv, self.ffn2, self.final = base.ffn1, base.self_attn_layer_norm, base.conv_module, base.ffn2, base.final_layer_norm
            self.mixer = BiMambaT(d)

        def forward(self, x, attention_mask=None, position_bias=None, key_padding_mask=None):
            x = x + 0.5 * self.ffn1(x)
            x = x + self.mixer(self.ln(x))
            x = x + self.conv(x)
            x = x + 0.5 * self.ffn2(x)
            return self.final(x), None

    class ConformerLayerT(nn.Module):
        """torchaudio ConformerLayer (d 768, FFN 3072, 12 heads, depthwise k 31) in the encoder's (B, T, C) layout."""

        def __init__(self, d, ffn):
            super().__init__()
            self.base = torchaudio.models.conformer.ConformerLayer(d, ffn, 12, 31, dropout=0.1)

        def forward(self, x, attention_mask=None, position_bias=None, key_padding_mask=None):
            return self.base(x.transpose(0, 1), None).transpose(0, 1), None

    class MambaBlockT(nn.Module):
        """Pre-norm residual Mamba (the library's MambaLayer); with bi, the ExtBiMamba mixer (BiMambaLayer)."""

        def __init__(self, d, bi):
            super().__init__()
            self.norm, self.mixer = nn.LayerNorm(d), (BiMambaT(d) if bi else MambaT(d))

        def forward(self, x, attention_mask=None, position_bias=None, key_padding_mask=None):
            return x + self.mixer(self.norm(x)), None

    B, S, T = 8, 160000, 499  # 10 s at 16 kHz -> 499 CNN frames (torchaudio wants labels at the model rate)
    out, params = {}, PRETRAIN_PARAMS
    for name in types:
        model = torchaudio.models.hubert_pretrain_base()
        if name == "transbimamba":
            model.wav2vec2.encoder.transformer.layers = nn.ModuleList([TransBiMambaLayerT(768, 3072) for _ in range(12)])
        elif name == "conbimamba":
            model.wav2vec2.encoder.transformer.layers = nn.ModuleList([ConBiMambaLayerT(768, 3072) for _ in range(12)])
        elif name == "conformer":
            model.wav2vec2.encoder.transformer.layers = nn.ModuleList([ConformerLayerT(768, 3072) for _ in range(12)])
        elif name in ("mamba", "bimamba"):
            model.wav2vec2.encoder.transformer.layers = nn.ModuleList([MambaBlockT(768, name == "bimamba") for _ in range(12)])
        elif name != "transformer":
            continue
        model = model.cuda().train()
        opt = torch.optim.AdamW(model.parameters(), lr=5e-4)
        wave = torch.randn(B, S, device="cuda") * 0.1
        labels = (torch.arange(T, device="cuda")[None, :] * 7 + torch.arange(B, device="cuda")[:, None]) % 100  # (B, 499): one per 20 ms frame
        lengths = torch.full((B,), S, device="cuda")

        def step():
            with torch.autocast("cuda", dtype=torch.bfloat16):
                logit_m, logit_u, pen = model(wave, labels, lengths)
                tgt = torch.zeros(logit_m.shape[0], dtype=torch.long, device="cuda")
                loss = torch.nn.functional.cross_entropy(logit_m.float(), tgt, reduction="sum") / logit_m.shape[0] + 10 * pen
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        for _ in range(2):
            step()
        ts = []
        for _ in range(5):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record(); step(); e.record(); e.synchronize()
            ts.append(s.elapsed_time(e))
        out[name] = statistics.median(ts)
        params[name] = sum(p.numel() for p in model.parameters())
        print("pretrain", name, out[name], "ms", params[name], "params", flush=True)
        del model, opt
        torch.cuda.empty_cache()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--rows", default="kmeans-cpu,kmeans-gpu,pretrain")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--sklearn", action="store_true")
    a = ap.parse_args()
    rows = a.rows.split(",")
    res = {"kmeans": {}, "pretrain": {}, "numpy": np.__version__}
    if "kmeans-cpu" in rows:
        res["kmeans"]["kmeans-cpu"] = kmeans_cpu(a.steps, a.sklearn)
        print("kmeans-cpu", res["kmeans"]["kmeans-cpu"], flush=True)
    if "kmeans-gpu" in rows or "pretrain" in rows:
        import torch
        res["torch"] = torch.__version__
        if not torch.cuda.is_available():
            print("no CUDA: GPU rows skipped")
        else:
            if "kmeans-gpu" in rows:
                res["kmeans"]["kmeans-gpu"] = kmeans_gpu(a.steps)
                print("kmeans-gpu", res["kmeans"]["kmeans-gpu"], flush=True)
            if "pretrain" in rows:
                res["pretrain"] = pretrain(["transformer", "conformer", "mamba", "bimamba", "conbimamba", "transbimamba"])
                res["pretrainParams"] = PRETRAIN_PARAMS
    with open(a.out, "w") as f:
        json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
