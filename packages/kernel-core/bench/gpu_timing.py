"""Timing and CSV output shared by the Python GPU benchmarks: bench/cuda_harness.py (our CUDA kernels
through ctypes) and tools/sdpa_bench.py (PyTorch SDPA), so both sides of the comparison are measured
the same way: `warmup` untimed runs, then `reps` runs each between two CUDA events on the current
stream, median in milliseconds. CSVs are written to a temp file and renamed, so a reader never sees
a half-written table.
"""
import csv
import os
import statistics

import torch


def median_ms(fn, reps, warmup=5):
    """Median GPU time of fn() in ms (CUDA events around each call, after `warmup` untimed calls)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def write_csv(out, fname, rows):
    """Write rows (dicts with the same keys) to out/fname atomically; nothing when out or rows is empty."""
    if not out or not rows:
        return None
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, fname)
    with open(path + '.tmp', 'w', newline='') as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    os.replace(path + '.tmp', path)
    return path
