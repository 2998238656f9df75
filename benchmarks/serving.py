"""Serving latency: re-ranking one request of 30 items (batch 1) and a batch of 256 requests
with the demo's PRM-Personalized sizes, p50 and p99 over many calls, eager and TorchScript;
and the FLOPs of one request, counted by torch, with the floor they imply.

    python benchmarks/serving.py
"""

from __future__ import annotations

import statistics
import time

import torch
from common import machine, markdown_table
from torch.utils.flop_counter import FlopCounterMode

from prm_edu.prm import PRM, PRMConfig

L, D_X, D_PV = 30, 10, 40  # the demo: the world's 10 item features, DeepFM's 40-wide pv


def build(fused: bool) -> PRM:
    torch.manual_seed(0)
    return PRM(PRMConfig(d_x=D_X, d_pv=D_PV, max_len=L, head_dim=32, fused_attention=fused)).eval()


def latencies(fn, calls: int) -> tuple[float, float]:
    for _ in range(20):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    times.sort()
    return statistics.median(times), times[int(0.99 * (len(times) - 1))]


def main() -> None:
    print(f"machine: {machine()}\n")
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for batch, calls in ((1, 2000), (256, 100)):
            x, pv = torch.randn(batch, L, D_X), torch.randn(batch, L, D_PV)
            mask = torch.zeros(batch, L, dtype=torch.bool)
            for fused in (False, True):
                model = build(fused)
                with torch.inference_mode():
                    p50, p99 = latencies(lambda m=model, x=x, pv=pv, mask=mask: m.rerank(x, pv, mask), calls)
                rows.append([f"{batch}", f"{threads}", f"eager{', fused' if fused else ''}", f"{p50:.3f}", f"{p99:.3f}",
                             f"{1000 * p50 / batch:.1f}"])
            with torch.inference_mode():
                traced = torch.jit.trace(build(True), (x, pv, mask), check_trace=False)
                traced = torch.jit.freeze(traced)
                p50, p99 = latencies(lambda t=traced, x=x, pv=pv, mask=mask: torch.argsort(t(x, pv, mask), dim=-1, descending=True), calls)
            rows.append([f"{batch}", f"{threads}", "TorchScript (traced, frozen), fused", f"{p50:.3f}", f"{p99:.3f}",
                         f"{1000 * p50 / batch:.1f}"])
    print(markdown_table(["requests per call", "threads", "mode", "p50 ms", "p99 ms", "µs per request (p50)"], rows))

    model = build(False)
    x, pv, mask = torch.randn(1, L, D_X), torch.randn(1, L, D_PV), torch.zeros(1, L, dtype=torch.bool)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x, pv, mask)
    flops = counter.get_total_flops()
    torch.set_num_threads(1)
    a, b = torch.randn(512, 512), torch.randn(512, 512)
    p50, _ = latencies(lambda: a @ b, 200)
    peak = 2 * 512**3 / (p50 / 1000)  # FLOP/s of a large matrix product on one thread, measured here
    print(f"\nFLOPs per request (torch's counter, matrix products): {flops / 1e6:.2f} M")
    print(f"one thread multiplies 512x512 matrices at {peak / 1e9:.0f} GFLOP/s here: at that rate one request is "
          f"{flops / peak * 1e6:.0f} µs of arithmetic, the floor; the rest is per-call overhead (Python, dispatch, small kernels)")


if __name__ == "__main__":
    main()
