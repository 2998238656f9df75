"""Shared helpers of the benchmarks: timing side by side, and the machine's description."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable

import torch


def machine() -> str:
    cpus = os.cpu_count()
    return f"{platform.processor() or platform.machine()}, {cpus} CPU cores, Python {platform.python_version()}, torch {torch.__version__}"


def interleaved(steps: dict[str, Callable[[], None]], rounds: int = 5, per_round: int = 10, warmup: int = 3) -> dict[str, float]:
    """Median milliseconds per call of each function, measured in alternating rounds so that
    every function sees the same machine load (the figures are meant as ratios)."""
    for fn in steps.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, fn in steps.items():
            start = time.perf_counter()
            for _ in range(per_round):
                fn()
            samples[name].append(1000 * (time.perf_counter() - start) / per_round)
    return {name: statistics.median(values) for name, values in samples.items()}


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
