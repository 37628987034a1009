"""Device-side harness for the CUDA attention kernels (the GPU hosts have Python + PyTorch but no Node).

Loads the cubins built by `nx run kernel-core:build-cuda` through the CUDA driver API (ctypes, the
same calls the TypeScript koffi binding makes), checks them against a float64 reference with the
project's accuracy rule (within_rule), and times them with CUDA events (gpu_timing.py, shared with
tools/sdpa_bench.py). PyTorch only allocates memory and
computes references; it never runs our kernels.

  python3 packages/kernel-core/bench/cuda_harness.py test   [--out DIR]
  python3 packages/kernel-core/bench/cuda_harness.py bench  [--out DIR] [--reps 30]
  python3 packages/kernel-core/bench/cuda_harness.py tune   [--out DIR]   (tile variants, build/tune.cubin)
"""
import argparse, ctypes, math, os, struct, sys

import torch

from gpu_timing import median_ms, write_csv

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get('SIGATTN_CUDA_BUILD', os.path.join(HERE, '..', 'cuda', 'build'))
cu = ctypes.CDLL('libcuda.so.1')
DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16}
# Unit roundoff of each output dtype: the floor of the accuracy rule (src/testing/accuracy.ts).
UNIT_ROUNDOFF = {torch.bfloat16: 2.0 ** -8, torch.float16: 2.0 ** -11}


def within_rule(err, naive_err, ref, dtype):
    """The project's accuracy rule, as src/testing/accuracy.ts states it for every back end:
    max|kernel - ref64| <= 2 * max(max|naive - ref64|, u * max|ref64|), NaN (unwritten) fails."""
    floor = UNIT_ROUNDOFF[dtype] * ref.abs().max().item()
    return err == err and err <= 2 * max(naive_err, floor)


def check(res, call):
    if res != 0:
        name, msg = ctypes.c_char_p(), ctypes.c_char_p()
        cu.cuGetErrorName(res, ctypes.byref(name))
        cu.cuGetErrorString(res, ctypes.byref(msg))
        raise RuntimeError(f'{call} failed: {name.value.decode()} ({msg.value.decode()})')


class Module:
    def __init__(self, path):
        torch.zeros(1, device='cuda')  # makes the primary context current
        self.data = open(path, 'rb').read()
        self.mod = ctypes.c_void_p()
        check(cu.cuModuleLoadData(ctypes.byref(self.mod), self.data), f'cuModuleLoadData({path})')
        self.funcs = {}

    def kernel(self, name):
        if name not in self.funcs:
            f = ctypes.c_void_p()
            check(cu.cuModuleGetFunction(ctypes.byref(f), self.mod, name.encode()), f'cuModuleGetFunction({name})')
            ptr, size = ctypes.c_uint64(), ctypes.c_size_t()
            check(cu.cuModuleGetGlobal_v2(ctypes.byref(ptr), ctypes.byref(size), self.mod, (name + '_cfg').encode()),
                  f'cuModuleGetGlobal({name}_cfg)')
            cfg = (ctypes.c_int * 4)()
            check(cu.cuMemcpyDtoH_v2(cfg, ptr, ctypes.c_size_t(16)), 'cuMemcpyDtoH(cfg)')
            bm, bn, threads, smem = list(cfg)
            check(cu.cuFuncSetAttribute(f, 8, smem), 'cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)')
            self.funcs[name] = (f, bm, bn, threads, smem)
        return self.funcs[name]


def arch_dir():
    major, _ = torch.cuda.get_device_capability()
    return 'sm_90' if major == 9 else 'sm_80'


MODULES = {}


def module(kind, part='fwd'):
    """Module of cuda/flash_<kind>_<part>.cu (kind 'bwd_aux' loads flash_bwd_aux)."""
    key = f'{kind}_{part}' if kind != 'bwd_aux' else 'bwd_aux'
    if key not in MODULES:
        MODULES[key] = Module(os.path.join(BUILD, arch_dir(), f'flash_{key}.cubin'))
    return MODULES[key]


def plain_kernel(mod, name):
    if name not in mod.funcs:
        f = ctypes.c_void_p()
        check(cu.cuModuleGetFunction(ctypes.byref(f), mod.mod, name.encode()), f'cuModuleGetFunction({name})')
        mod.funcs[name] = f
    return mod.funcs[name]


def raw_launch(f, name, grid, block, args):
    """args: list of (ctypes value) kernel arguments."""
    params = (ctypes.c_void_p * len(args))(*[ctypes.cast(ctypes.pointer(a), ctypes.c_void_p) for a in args])
    s = torch.cuda.current_stream().cuda_stream
    check(cu.cuLaunchKernel(f, grid, 1, 1, block, 1, 1, 0, ctypes.c_void_p(s), params, None), f'cuLaunchKernel({name})')


def backward(kind, dt, q, k, v, o, lse, do, alibi, key_lens, causal, scale, bias, poison=True, variant=None):
    """dq, dk, dv from our kernels: zeroed fp32 accumulators, (softmax) delta pre-pass, bwd, converts."""
    B, H, Nq, D = q.shape
    Hkv, Nk = k.shape[1], k.shape[2]
    aux = module('bwd_aux')
    dq_acc = torch.zeros(B, H, Nq, D, device='cuda')
    dk_acc = torch.zeros(B, Hkv, Nk, D, device='cuda')
    dv_acc = torch.zeros(B, Hkv, Nk, D, device='cuda')
    delta = None
    if kind == 'softmax':
        delta = torch.empty(B, H, Nq, device='cuda')
        rows = B * H * Nq
        raw_launch(plain_kernel(aux, f'flash_bwd_delta_{dt}'), 'delta', (rows * 32 + 255) // 256, 256,
                   [ctypes.c_uint64(o.data_ptr()), ctypes.c_uint64(do.data_ptr()), ctypes.c_uint64(delta.data_ptr()),
                    ctypes.c_long(rows), ctypes.c_int(D)])
    name = f'flash_{kind}_bwd_{dt}_d{D}'
    mod = module(kind, 'bwd')
    if variant is not None:  # (module, kernel name) of a tile variant (tuneb mode)
        mod, name = variant
    f, bm, bn, threads, smem = mod.kernel(name)
    ptr = lambda t: 0 if t is None else t.data_ptr()
    blob = struct.pack('<11Q6i2f', ptr(q), ptr(k), ptr(v), ptr(do), ptr(lse), ptr(delta), ptr(dq_acc), ptr(dk_acc),
                       ptr(dv_acc), ptr(alibi), ptr(key_lens), B, H, Hkv, Nq, Nk, int(causal), scale, bias)
    buf = ctypes.create_string_buffer(blob, len(blob))
    params = (ctypes.c_void_p * 1)(ctypes.cast(buf, ctypes.c_void_p))
    check(cu.cuLaunchKernel(f, (Nk + bn - 1) // bn, H, B, threads, 1, 1, smem,
                            ctypes.c_void_p(torch.cuda.current_stream().cuda_stream), params, None), f'cuLaunchKernel({name})')
    outs = []
    for acc in (dq_acc, dk_acc, dv_acc):
        out = torch.full(acc.shape, float('nan'), device='cuda', dtype=q.dtype) if poison else torch.empty(acc.shape, device='cuda', dtype=q.dtype)
        n = acc.numel()
        raw_launch(plain_kernel(aux, f'flash_bwd_convert_{dt}'), 'convert', min((n + 255) // 256, 4096), 256,
                   [ctypes.c_uint64(acc.data_ptr()), ctypes.c_uint64(out.data_ptr()), ctypes.c_long(n)])
        outs.append(out)
    return outs


def launch(mod, name, q, k, v, o, lse, alibi, key_lens, causal, scale, bias, stream=None):
    f, bm, bn, threads, smem = mod.kernel(name)
    B, H, Nq, D = q.shape
    Hkv, Nk = k.shape[1], k.shape[2]
    ptr = lambda t: 0 if t is None else t.data_ptr()
    # FwdParams: 7 pointers, B H Hkv Nq Nk causal (int32), scale bias (f32) = 88 bytes.
    blob = struct.pack('<7Q6i2f', ptr(q), ptr(k), ptr(v), ptr(o), ptr(lse), ptr(alibi), ptr(key_lens),
                       B, H, Hkv, Nq, Nk, int(causal), scale, bias)
    buf = ctypes.create_string_buffer(blob, len(blob))
    params = (ctypes.c_void_p * 1)(ctypes.cast(buf, ctypes.c_void_p))
    s = stream if stream is not None else torch.cuda.current_stream().cuda_stream
    check(cu.cuLaunchKernel(f, (Nq + bm - 1) // bm, H, B, threads, 1, 1, smem, ctypes.c_void_p(s), params, None),
          f'cuLaunchKernel({name})')


def reference(q, k, v, kind, scale, bias, causal, alibi, key_lens, dtype):
    """Unfused attention in `dtype` (float64 for the reference, the input dtype for the naive twin)."""
    q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
    B, H, Nq, D = q.shape
    Hkv, Nk = k.shape[1], k.shape[2]
    g = H // Hkv
    k = k.repeat_interleave(g, dim=1)
    v = v.repeat_interleave(g, dim=1)
    s = (q @ k.transpose(-1, -2)) * scale
    i = torch.arange(Nq, device=q.device)[:, None] + (Nk - Nq)
    j = torch.arange(Nk, device=q.device)[None, :]
    if alibi is not None:
        s = s - (alibi.to(dtype)[None, :, None, None] * (i - j).abs().to(dtype))
    mask = torch.zeros(B, 1, Nq, Nk, dtype=torch.bool, device=q.device)
    if causal:
        mask = mask | (j > i)
    if key_lens is not None:
        mask = mask | (j[None, None] >= key_lens.view(B, 1, 1, 1))
    if kind == 'sigmoid':
        p = torch.sigmoid(s + bias).masked_fill(mask, 0)
    else:
        s = s.masked_fill(mask, float('-inf'))
        p = torch.softmax(s.float() if dtype != torch.float64 else s, dim=-1).to(dtype)
        p = torch.nan_to_num(p, nan=0.0)  # fully masked rows -> 0
    return p @ v


def test(args):
    torch.manual_seed(1234)
    cases = []
    for kind in ('sigmoid', 'softmax'):
        for dt in ('bf16', 'fp16'):
            for D in (64, 128):
                cases += [
                    dict(kind=kind, dt=dt, D=D, B=2, H=4, Hkv=2, Nq=200, Nk=200, causal=False, alibi=False, kl=None),
                    dict(kind=kind, dt=dt, D=D, B=2, H=4, Hkv=4, Nq=333, Nk=333, causal=True, alibi=True, kl=[333, 150]),
                    dict(kind=kind, dt=dt, D=D, B=2, H=6, Hkv=2, Nq=100, Nk=257, causal=True, alibi=False, kl=[257, 0]),
                    dict(kind=kind, dt=dt, D=D, B=1, H=2, Hkv=1, Nq=300, Nk=129, causal=True, alibi=True, kl=None),
                    dict(kind=kind, dt=dt, D=D, B=1, H=2, Hkv=2, Nq=1000, Nk=1000, causal=False, alibi=True, kl=[777]),
                ]
    rows, failures = [], 0
    for c in cases:
        dev, dtype = 'cuda', DTYPES[c['dt']]
        q = torch.randn(c['B'], c['H'], c['Nq'], c['D'], device=dev).to(dtype)
        k = torch.randn(c['B'], c['Hkv'], c['Nk'], c['D'], device=dev).to(dtype)
        v = torch.randn(c['B'], c['Hkv'], c['Nk'], c['D'], device=dev).to(dtype)
        scale = 0.7 / math.sqrt(c['D'])
        bias = float(torch.empty(1).uniform_(-10, 2)) if c['kind'] == 'sigmoid' else 0.0
        alibi = (torch.rand(c['H'], device=dev) * 0.2 + 0.01).float() if c['alibi'] else None
        kl = torch.tensor(c['kl'], dtype=torch.int32, device=dev) if c['kl'] is not None else None
        o = torch.full_like(q, float('nan'))  # poisoned: unwritten tiles fail loudly
        lse = torch.full((c['B'], c['H'], c['Nq']), float('nan'), device=dev) if c['kind'] == 'softmax' else None
        name = f"flash_{c['kind']}_fwd_{c['dt']}_d{c['D']}"
        launch(module(c['kind']), name, q, k, v, o, lse, alibi, kl, c['causal'], scale, bias)
        torch.cuda.synchronize()
        ref = reference(q, k, v, c['kind'], scale, bias, c['causal'], alibi, kl, torch.float64)
        naive = reference(q, k, v, c['kind'], scale, bias, c['causal'], alibi, kl, dtype)
        err = (o.double() - ref).abs().max().item() if not torch.isnan(o).any() else float('nan')
        nerr = (naive.double() - ref).abs().max().item()
        ok = within_rule(err, nerr, ref, dtype)
        # Backward: gradients of <O, dO> for a random dO, against float64 autograd; the naive twin
        # is autograd through the unfused attention in the input dtype.
        do = torch.randn_like(q)
        grads = backward(c['kind'], c['dt'], q, k, v, o, lse, do, alibi, kl, c['causal'], scale, bias)
        torch.cuda.synchronize()
        def autograd(dtype_):
            ins = [t.detach().to(dtype_).requires_grad_() for t in (q, k, v)]
            out = reference(*ins, c['kind'], scale, bias, c['causal'], alibi, kl, dtype_)
            return torch.autograd.grad(out, ins, do.to(dtype_))
        g64, gn = autograd(torch.float64), autograd(dtype)
        for gname, gk_, g64_, gn_ in zip(('dq', 'dk', 'dv'), grads, g64, gn):
            ge = (gk_.double() - g64_).abs().max().item() if not torch.isnan(gk_).any() else float('nan')
            gne = (gn_.double() - g64_).abs().max().item()
            gok = within_rule(ge, gne, g64_, dtype)
            ok = ok and gok
            c[f'{gname}_err'] = ge
            c[f'{gname}_naive'] = gne
            if not gok:
                print(f'  {gname}: err={ge:.3e} naive={gne:.3e}', flush=True)
        failures += not ok
        row = dict(c, kl=str(c['kl']), bias=round(bias, 3), err=err, naive_err=nerr, ok=ok)
        rows.append(row)
        print(('PASS' if ok else 'FAIL'), name.replace('_fwd', ' fwd+bwd'), {k_: row[k_] for k_ in ('B', 'H', 'Hkv', 'Nq', 'Nk', 'causal', 'alibi', 'kl')},
              f"o {err:.2e}/{nerr:.2e} dq {c['dq_err']:.2e}/{c['dq_naive']:.2e} dk {c['dk_err']:.2e}/{c['dk_naive']:.2e}"
              f" dv {c['dv_err']:.2e}/{c['dv_naive']:.2e} (err/naive)", flush=True)
    write_csv(args.out, 'cuda_test.csv', rows)
    print(f'{len(rows) - failures} passed, {failures} failed')
    return failures == 0


def sweep_shapes(Ns=(512, 1024, 2048, 4096, 8192, 16384)):
    for D in (64, 128):
        for causal in (False, True):
            for N in Ns:
                yield D, causal, N, 16384 // N, 2048 // D


def bench(args):
    rows = []
    card = torch.cuda.get_device_name()
    for D, causal, N, B, H in sweep_shapes():
        q, k, v = (torch.randn(B, H, N, D, device='cuda', dtype=torch.bfloat16) for _ in range(3))
        o = torch.empty_like(q)
        lse = torch.empty(B, H, N, device='cuda')
        flops = 4 * B * H * N * N * D * (0.5 if causal else 1)
        for kind in ('sigmoid', 'softmax'):
            name = f'flash_{kind}_fwd_bf16_d{D}'
            bias = -math.log(N) if kind == 'sigmoid' else 0.0
            ms = median_ms(lambda: launch(module(kind), name, q, k, v, o, lse if kind == 'softmax' else None,
                                            None, None, causal, 1 / math.sqrt(D), bias), args.reps)
            rows.append(dict(card=card, impl=f'ours-{kind}', pass_='fwd', D=D, causal=causal, N=N, B=B, H=H,
                             ms=round(ms, 4), tflops=round(flops / ms / 1e9, 1)))
            print(rows[-1], flush=True)
            if args.bwd:
                do = torch.randn_like(q)
                ms = median_ms(lambda: backward(kind, 'bf16', q, k, v, o, lse if kind == 'softmax' else None, do, None, None,
                                                  causal, 1 / math.sqrt(D), bias, poison=False), args.reps)
                rows.append(dict(card=card, impl=f'ours-{kind}', pass_='bwd', D=D, causal=causal, N=N, B=B, H=H,
                                 ms=round(ms, 4), tflops=round(2.5 * flops / ms / 1e9, 1)))
                print(rows[-1], flush=True)
        del q, k, v, o, lse
    write_csv(args.out, 'cuda_bench.csv', rows)


def tune(args):
    """Time every tile variant in build/tune.cubin (names tune_<kind>_d<D>_<BM>_<BN>_<NW>) at long N."""
    path = os.path.join(BUILD, args.cubin)
    mod = Module(path)
    names = [l.strip() for l in open(os.path.join(BUILD, 'tune.txt'))]
    rows = []
    for name in names:
        _, kind, d, *_ = name.split('_')
        D = int(d[1:])
        for N in (4096, 16384):
            B, H = 16384 // N, 2048 // D
            q, k, v = (torch.randn(B, H, N, D, device='cuda', dtype=torch.bfloat16) for _ in range(3))
            o = torch.empty_like(q)
            lse = torch.empty(B, H, N, device='cuda')
            ms = median_ms(lambda: launch(mod, name, q, k, v, o, lse if kind == 'softmax' else None, None, None,
                                            False, 1 / math.sqrt(D), -math.log(N) if kind == 'sigmoid' else 0.0), 20)
            rows.append(dict(cubin=args.cubin, name=name, N=N, ms=round(ms, 4), tflops=round(4 * B * H * N * N * D / ms / 1e9, 1)))
            print(rows[-1], flush=True)
    write_csv(args.out, f'cuda_{os.path.splitext(args.cubin)[0]}.csv', rows)


def tuneb(args):
    """Time every backward variant in build/tuneb.cubin (names tuneb_<kind>_d<D>_<stages>_<minCTAs>) at N = 16k."""
    mod = Module(os.path.join(BUILD, 'tuneb.cubin'))
    rows = []
    for name in [l.strip() for l in open(os.path.join(BUILD, 'tuneb.txt'))]:
        _, kind, d, *_ = name.split('_')
        D, N = int(d[1:]), 16384
        B, H = 16384 // N, 2048 // D
        q, k, v, do = (torch.randn(B, H, N, D, device='cuda', dtype=torch.bfloat16) for _ in range(4))
        o = torch.randn_like(q)
        lse = torch.randn(B, H, N, device='cuda') + 10
        bias = -math.log(N) if kind == 'sigmoid' else 0.0
        ms = median_ms(lambda: backward(kind, 'bf16', q, k, v, o, lse if kind == 'softmax' else None, do, None, None, False,
                                          1 / math.sqrt(D), bias, poison=False, variant=(mod, name)), 20)
        rows.append(dict(name=name, N=N, ms=round(ms, 4), tflops=round(2.5 * 4 * B * H * N * N * D / ms / 1e9, 1)))
        print(rows[-1], flush=True)
    write_csv(args.out, 'cuda_tuneb.csv', rows)


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description='Our CUDA kernels through ctypes: correctness (test), the sweep (bench), tile variants (tune, tuneb).')
    ap.add_argument('mode', choices=['test', 'bench', 'tune', 'tuneb'])
    ap.add_argument('--out', default=os.environ.get('OUT', ''), help='directory for the CSV (default: $OUT; none: print only)')
    ap.add_argument('--reps', type=int, default=30, help='timed runs per row (median reported)')
    ap.add_argument('--bwd', action='store_true', help='bench mode: also time the backward pass')
    ap.add_argument('--cubin', default='tune.cubin', help='tune mode: cubin under the build dir')
    a = ap.parse_args()
    print('card:', torch.cuda.get_device_name(), 'torch', torch.__version__, 'cuda', torch.version.cuda, flush=True)
    ok = {'test': test, 'bench': bench, 'tune': tune, 'tuneb': tuneb}[a.mode](a)
    sys.exit(0 if ok is not False else 1)
