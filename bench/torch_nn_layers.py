#!/usr/bin/env python3
"""PyTorch reference for bench/nn_layers.js: forward+backward of one layer of each kind at
(B, L, C) = (8, 1000, 768) under torch.autocast(bfloat16), CUDA events, median of 10 after 3
warm-ups. Transformer: torch.nn.TransformerEncoderLayer; Conformer: torchaudio ConformerLayer;
Mamba: a PyTorch Mamba with the fastest scan we have in PyTorch (the chunked parallel scan of
bench/torch_selective_scan.py); ConBiMamba: torchaudio's Conformer blocks with two such Mambas.
Writes {"layers": {name: ms}} to argv[1]."""
import json
import math
import os
import statistics
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from torch_selective_scan import torch_scan  # noqa: E402


class MambaT(nn.Module):
    def __init__(self, d, n=16, w=4, expand=2):
        super().__init__()
        E, R = expand * d, math.ceil(d / 16)
        self.E, self.R, self.N, self.W = E, R, n, w
        self.in_proj = nn.Linear(d, 2 * E, bias=False)
        self.conv1d = nn.Conv1d(E, E, w, groups=E, padding=w - 1)
        self.x_proj = nn.Linear(E, R + 2 * n, bias=False)
        self.dt_proj = nn.Linear(R, E)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, n + 1).float()).repeat(E, 1))
        self.D = nn.Parameter(torch.ones(E))
        self.out_proj = nn.Linear(E, d, bias=False)

    def forward(self, x):
        B, L, _ = x.shape
        xs, z = self.in_proj(x).transpose(1, 2).chunk(2, 1)
        xc = F.silu(self.conv1d(xs)[..., :L])
        dt, Bm, Cm = self.x_proj(xc.transpose(1, 2)).split([self.R, self.N, self.N], -1)
        delta = F.linear(dt, self.dt_proj.weight).transpose(1, 2)
        y = torch_scan(xc, delta, -torch.exp(self.A_log.float()), Bm.transpose(1, 2), Cm.transpose(1, 2), self.D.float(), z, self.dt_proj.bias.float())
        return self.out_proj(y.transpose(1, 2))


class MambaLayerT(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.norm, self.mixer = nn.LayerNorm(d), MambaT(d)

    def forward(self, x):
        return x + self.mixer(self.norm(x))


class ConBiMambaT(nn.Module):
    def __init__(self, d):
        super().__init__()
        import torchaudio
        base = torchaudio.models.conformer.ConformerLayer(d, 4 * d, 1, 31, dropout=0.1)
        self.ffn1, self.ln, self.conv, self.ffn2, self.final = base.ffn1, base.self_attn_layer_norm, base.conv_module, base.ffn2, base.final_layer_norm
        self.fwd, self.bwd, self.proj = MambaT(d), MambaT(d), nn.Linear(2 * d, d)

    def forward(self, x):
        x = x + 0.5 * self.ffn1(x)
        h = self.ln(x)
        x = x + self.proj(torch.cat([self.fwd(h), self.bwd(h.flip(1)).flip(1)], -1))
        x = x + self.conv(x)
        x = x + 0.5 * self.ffn2(x)
        return self.final(x)


def main():
    import torchaudio
    B, L, C = 8, 1000, 768
    conf = torchaudio.models.conformer.ConformerLayer(C, 4 * C, 12, 31, dropout=0.1)
    layers = {
        'transformer': (nn.TransformerEncoderLayer(C, 12, 4 * C, 0.1, batch_first=True), lambda m, x: m(x)),
        'conformer': (conf, lambda m, x: m(x.transpose(0, 1), None).transpose(0, 1)),
        'mamba': (MambaLayerT(C), lambda m, x: m(x)),
        'conbimamba': (ConBiMambaT(C), lambda m, x: m(x)),
    }
    out = {'layers': {}, 'torch': torch.__version__, 'shape': [B, L, C]}
    for name, (m, call) in layers.items():
        m = m.cuda().train()
        x = torch.randn(B, L, C, device='cuda', requires_grad=True)

        def step():
            with torch.autocast('cuda', dtype=torch.bfloat16):
                y = call(m, x)
            y.float().sum().backward()
        for _ in range(3):
            step()
        ts = []
        for _ in range(10):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record(); step(); e.record(); e.synchronize()
            ts.append(s.elapsed_time(e))
        out['layers'][name] = statistics.median(ts)
        print(name, out['layers'][name], 'ms', flush=True)
    json.dump(out, open(sys.argv[1], 'w'), indent=2)


if __name__ == '__main__':
    main()
