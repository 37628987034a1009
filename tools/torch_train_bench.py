#!/usr/bin/env python3
"""PyTorch eager baseline for the cuda backend's training benchmark (issue #12).

Times a training step (forward, backward, AdamW) of the same models, sizes, batch and optimiser as
packages/tfjs-backend-cuda/bench/train-step.ts, on the same GPU, and writes one CSV row per config:
  vit  patch 4, dim 128, depth 6, 4 heads (head dim 32), MLP 256 (GELU), pre-norm LayerNorm, QK LayerNorm,
       learned positions, CLS pool, 28x28x1 input (49 patches + CLS = 50 tokens), 10 classes, batch 256
  lm   dim 512, depth 6, 8 heads (head dim 64), MLP 2048 (GELU), pre-norm LayerNorm, RoPE, tied embeddings,
       no linear biases, causal, vocab 8192; n = 1024 (batch 8) and 4096 (batch 2) tokens per sequence, the
       loss over the n - 1 next-token predictions (as the zoo's LM)
Sigmoid attention: sigmoid(QK^T*scale + b)V with b = -log n, composed (PyTorch has no fused sigmoid
kernel); softmax attention: F.scaled_dot_product_attention (PyTorch's fused FlashAttention/cuDNN path).
Matmuls in TF32 (torch.backends.cuda.matmul.allow_tf32), as the tfjs cuda backend's f32 matmuls.
Numerics are not bit-identical to the zoo's models; sizes, FLOPs and the optimiser are the same.

Usage: python3 tools/torch_train_bench.py --out DIR [--steps 20] [--warmup 10] [--only vit,lm]
"""
import argparse
import csv
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def attention(q, k, v, kind, causal, n_train):
    if kind == 'softmax':
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    scale = q.shape[-1] ** -0.5
    s = torch.matmul(q, k.transpose(-1, -2)) * scale - math.log(n_train)
    p = torch.sigmoid(s)
    if causal:
        n = q.shape[-2]
        p = p * torch.ones(n, n, device=q.device, dtype=torch.bool).tril()
    return torch.matmul(p, v)


class Block(nn.Module):
    def __init__(self, dim, heads, hidden, kind, causal, qk_norm, bias, n_train, rope=None):
        super().__init__()
        self.heads, self.kind, self.causal, self.n_train, self.rope = heads, kind, causal, n_train, rope
        hd = dim // heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim, bias=bias)
        self.proj = nn.Linear(dim, dim, bias=bias)
        self.fc1, self.fc2 = nn.Linear(dim, hidden, bias=bias), nn.Linear(hidden, dim, bias=bias)
        self.qn = nn.LayerNorm(hd) if qk_norm else None
        self.kn = nn.LayerNorm(hd) if qk_norm else None

    def forward(self, x):
        B, N, C = x.shape
        h = self.qkv(self.norm1(x)).view(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = h[0], h[1], h[2]
        if self.qn is not None:
            q, k = self.qn(q), self.kn(k)
        if self.rope is not None:
            q, k = self.rope(q), self.rope(k)
        o = attention(q, k, v, self.kind, self.causal, self.n_train).transpose(1, 2).reshape(B, N, C)
        x = x + self.proj(o)
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x)), approximate='tanh'))


class Vit(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.patch, dim, self.n = 4, 128, 50
        self.embed = nn.Linear(16, dim)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, self.n, dim) * 0.02)
        self.blocks = nn.ModuleList([Block(dim, 4, 256, kind, False, True, True, self.n) for _ in range(6)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, img):  # img [B, 28, 28, 1]
        B = img.shape[0]
        p = img.view(B, 7, 4, 7, 4).permute(0, 1, 3, 2, 4).reshape(B, 49, 16)
        x = torch.cat([self.cls.expand(B, -1, -1), self.embed(p)], 1) + self.pos
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x)[:, 0])


class Rope:
    def __init__(self, n, hd, device):
        inv = 1.0 / (10000 ** (torch.arange(0, hd, 2, device=device).float() / hd))
        ang = torch.outer(torch.arange(n, device=device).float(), inv)
        self.cos, self.sin = ang.cos(), ang.sin()

    def __call__(self, x):
        n = x.shape[-2]
        cos, sin = self.cos[:n], self.sin[:n]
        x1, x2 = x[..., 0::2], x[..., 1::2]
        return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1).flatten(-2)


class Lm(nn.Module):
    def __init__(self, kind, n, device, vocab=8192, dim=512, depth=6, heads=8):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        rope = Rope(n, dim // heads, device)
        self.blocks = nn.ModuleList([Block(dim, heads, 4 * dim, kind, True, False, False, n, rope) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)

    def forward(self, tokens):
        x = self.emb(tokens)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x) @ self.emb.weight.t()


def bench(name, model, make_batch, loss_fn, items_per_step, steps, warmup):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)

    def step():
        batch = make_batch()
        loss = loss_fn(model, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()  # one read-back per step, as the tfjs runner's loop

    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    ms = (time.perf_counter() - t0) / steps * 1e3
    return {'config': name, 'impl': 'pytorch-eager', 'ms_per_step': round(ms, 3),
            'items_per_s': round(items_per_step / ms * 1e3, 1), 'items': 'img' if name.startswith('vit') else 'tokens', 'peak_mib': round(torch.cuda.max_memory_allocated() / 2**20, 1)}


def run_all(a, only, dev):
    rows = []
    if 'vit' in only:
        for kind in ('softmax', 'sigmoid'):
            m = Vit(kind).to(dev)
            rows.append(bench(f'vit-{kind}-b256', m, lambda: (torch.randn(256, 28, 28, 1, device=dev), torch.randint(0, 10, (256,), device=dev)),
                              lambda m, b: F.cross_entropy(m(b[0]), b[1]), 256, a.steps, a.warmup))
            print(rows[-1], flush=True)
    if 'lm' in only:
        for n, batch in ((1024, 8), (4096, 2)):
            for kind in ('softmax', 'sigmoid'):
                m = Lm(kind, n, dev).to(dev)
                rows.append(bench(f'lm-{kind}-n{n}-b{batch}', m, lambda: torch.randint(0, 8192, (batch, n), device=dev),
                                  lambda m, t: F.cross_entropy(m(t[:, :-1]).reshape(-1, 8192), t[:, 1:].reshape(-1)), batch * n, a.steps, a.warmup))
                print(rows[-1], flush=True)
                del m
                torch.cuda.empty_cache()
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=10)
    ap.add_argument('--repeat', type=int, default=2, help='passes over all configs; the last is reported')
    ap.add_argument('--only', default='vit,lm')
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    dev = torch.device('cuda')
    torch.manual_seed(0)
    only = a.only.split(',')
    for _ in range(a.repeat):
        rows = run_all(a, only, dev)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, 'torch_train.csv')
    with open(path, 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()) + ['card', 'torch'])
        w.writeheader()
        for r in rows:
            w.writerow({**r, 'card': torch.cuda.get_device_name(), 'torch': torch.__version__})
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
