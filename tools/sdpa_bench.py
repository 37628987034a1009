"""Time PyTorch scaled_dot_product_attention with its flash (FlashAttention-2) and cuDNN backends on
the sweep of packages/kernel-core/bench/cuda-bench.ts (batch*N = 16k, bf16, causal and not): D 64/128 at
hidden 2048, N 512..16k (the FlashAttention sweep), and D 32 at hidden 1024 (32 heads, the small models'
head dim), N 256..4096. Forward and backward (backward alone: autograd.grad on a saved graph), CUDA
events, median of --reps after warm-up; TFLOP/s with the standard count (fwd 4*B*H*N^2*D, bwd 2.5x,
causal halves). cuda-report.ts joins these rows to ours on (impl pass, D, N, causal), so the sweep
points must stay the same as cuda-bench.ts's.

Also the card's dense bf16 GEMM rate (torch.matmul, fp32 accumulate, square 4096/8192) in the same process,
the ceiling the attention kernels' TFLOP/s are read against (cuda-report.ts prints it above the tables).

  python3 tools/sdpa_bench.py [--out DIR] [--reps 30] [--head-dims 32 64 128] [--no-gemm]
      -> DIR/sdpa_bench.csv, DIR/gemm_bench.csv
"""
import argparse, os, sys

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
import torch.nn.functional as F

# The timing (CUDA events, median) and CSV writer are the ones bench/cuda_harness.py uses for our kernels.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'packages', 'kernel-core', 'bench'))
from gpu_timing import median_ms, write_csv  # noqa: E402

BACKENDS = {'sdpa-flash2': SDPBackend.FLASH_ATTENTION, 'sdpa-cudnn': SDPBackend.CUDNN_ATTENTION}
TOKENS = 16384  # batch*N, the same for every sweep point
# Per head dim: (hidden = H*D, sequence lengths), as in cuda-bench.ts's `sweeps`.
SWEEPS = {
    32: (1024, (256, 512, 1024, 2048, 4096)),
    64: (2048, (512, 1024, 2048, 4096, 8192, 16384)),
    128: (2048, (512, 1024, 2048, 4096, 8192, 16384)),
}


GEMM_SIZES = (4096, 8192)


def gemm_rows(card, reps):
    """Dense bf16 C = A·B (M = N = K = n, random inputs), median of `reps` after warm-up: the card's matrix rate."""
    rows = []
    for n in GEMM_SIZES:
        a, b = (torch.randn(n, n, device='cuda', dtype=torch.bfloat16) for _ in range(2))
        ms = median_ms(lambda: torch.matmul(a, b), reps)
        rows.append(dict(card=card, impl='torch-matmul-bf16', M=n, N=n, K=n, ms=round(ms, 4), tflops=round(2 * n ** 3 / ms / 1e9, 1)))
        print(rows[-1], flush=True)
        del a, b
    return rows


def main():
    ap = argparse.ArgumentParser(description='PyTorch SDPA (flash = FA2, cuDNN) on the cuda-bench sweep (D 32/64/128), bf16, forward and backward.')
    ap.add_argument('--out', default=os.environ.get('OUT', ''), help='directory for sdpa_bench.csv (default: $OUT; none: print only)')
    ap.add_argument('--reps', type=int, default=30, help='timed runs per row (median reported)')
    ap.add_argument('--head-dims', type=int, nargs='+', default=sorted(SWEEPS), metavar='D',
                    help=f'head dims to sweep (of {", ".join(map(str, sorted(SWEEPS)))})')
    ap.add_argument('--no-gemm', dest='gemm', action='store_false', help='skip the dense bf16 GEMM rows (gemm_bench.csv)')
    args = ap.parse_args()
    bad = [d for d in args.head_dims if d not in SWEEPS]
    if bad:
        ap.error(f'--head-dims: no sweep for {", ".join(map(str, bad))}; pick from {", ".join(map(str, sorted(SWEEPS)))}')
    card = torch.cuda.get_device_name()
    print('card:', card, 'torch', torch.__version__, 'cuda', torch.version.cuda, flush=True)
    rows = []
    for D in dict.fromkeys(args.head_dims):
        hidden, Ns = SWEEPS[D]
        for causal in (False, True):
            for N in Ns:
                B, H = TOKENS // N, hidden // D
                q, k, v = (torch.randn(B, H, N, D, device='cuda', dtype=torch.bfloat16, requires_grad=True) for _ in range(3))
                fwd_flops = 4 * B * H * N * N * D * (0.5 if causal else 1)
                for impl, backend in BACKENDS.items():
                    try:
                        with sdpa_kernel([backend]):
                            f = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                            ms_f = median_ms(lambda: f(), args.reps)
                            out = f()
                            do = torch.randn_like(out)
                            ms_b = median_ms(lambda: torch.autograd.grad(out, (q, k, v), do, retain_graph=True), args.reps)
                    except RuntimeError as e:  # a backend may not support a shape on this build
                        print(f'{impl} D={D} N={N} causal={causal}: unavailable ({str(e).splitlines()[0]})', flush=True)
                        continue
                    for pass_, ms, fl in (('fwd', ms_f, fwd_flops), ('bwd', ms_b, 2.5 * fwd_flops)):
                        rows.append(dict(card=card, impl=impl, pass_=pass_, D=D, causal=causal, N=N, B=B, H=H,
                                         ms=round(ms, 4), tflops=round(fl / ms / 1e9, 1)))
                        print(rows[-1], flush=True)
                del q, k, v
    write_csv(args.out, 'sdpa_bench.csv', rows)
    if args.gemm:
        write_csv(args.out, 'gemm_bench.csv', gemm_rows(card, args.reps))


if __name__ == '__main__':
    main()
