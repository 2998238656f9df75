"""The table's rows trained side by side, one process per core, with the numbers of a sequential run.

Every row trains on the same prepared data from its own seed, independently of the other rows,
so on a machine with several cores they can train at the same time:

    results = run_jobs({"PRM-BASE": job, ...}, epochs=15, workers=2, progress=True)

A job is a function `job(on_epoch) -> result` that trains one row and calls `on_epoch(row)`
after every epoch (its history row). With `workers > 1` the jobs run in worker processes
forked from this one, each with one torch thread: they inherit the data and the freshly
built models, and only each job's result (its history, its trained weights, its test
logits) travels back. A row's numbers do not depend on which process trained it: its
weights were drawn before the fork and `fit` seeds its dropout masks. What can change them
is the number of torch threads (sums taken in another order): a sequential run with one
thread gives the very same table (`tests/test_parallel.py`).

Forking is for the CPU on Linux only: a CUDA context cannot be forked, and macOS and Windows
do not fork a process that uses torch safely, so there the jobs run one after another in this
process (`workers()` says how many run at once).

Progress: one bar per row, named after the row, under a bar for the whole job that shows
its elapsed and expected time (the expectation shrinks when a row stops early).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from tqdm.auto import tqdm

from prm_edu.runtime import WORKERS_ENV, device, progress_bars

Job = Callable[[Callable[[dict[str, float]], None]], Any]

_JOBS: dict[str, Job] = {}  # set just before the workers are forked: they inherit it, nothing is pickled
_EVENTS = None  # the workers' queue of (row, epoch's history row), inherited the same way


def workers(n_jobs: int) -> int:
    """How many jobs run at once: `$PRM_EDU_WORKERS` if set, else one per core this process may use;
    1 on a GPU and off Linux (macOS and Windows do not fork a process that uses torch safely); never
    more than the jobs."""
    wanted = os.environ.get(WORKERS_ENV, "").strip()
    if wanted:
        if not wanted.isdigit() or int(wanted) < 1:
            raise ValueError(f"{WORKERS_ENV}={wanted!r} must be a whole number >= 1")
        count = int(wanted)
    else:
        count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if device().type != "cpu" or not sys.platform.startswith("linux"):  # fork is safe with torch on Linux only
        count = 1
    return max(1, min(count, n_jobs))


class Progress:
    """One bar per row (epochs run of at most `epochs`) and one for the whole job (elapsed, expected)."""

    def __init__(self, names: list[str], epochs: int, enabled: bool) -> None:
        self.epochs = epochs
        enabled = enabled and progress_bars()
        self.job = tqdm(total=len(names) * epochs, desc=f"{len(names)} rows, epochs", disable=not enabled, leave=False)
        self.bars = {name: tqdm(total=epochs, desc=name, disable=not enabled, leave=False) for name in names}

    def start(self, name: str) -> None:
        """The row starts training: its bar's clock starts now, not when the job began."""
        self.bars[name].reset()

    def epoch(self, name: str, row: dict[str, float] | None) -> None:
        """An epoch of the row ended (`row`, its history row), or the row started (None)."""
        if row is None:
            return self.start(name)
        self.bars[name].update(1)
        self.bars[name].set_postfix({key: f"{value:.4f}" for key, value in row.items() if key not in ("epoch", "seconds")})
        self.job.update(1)

    def done(self, name: str) -> None:
        """The row stopped (early or not): the job expects no more epochs of it."""
        self.job.total -= self.epochs - self.bars[name].n
        self.job.refresh()
        self.bars[name].close()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.job.close()


def _work(name: str) -> tuple[str, Any, float]:
    """Run one job in a worker (one torch thread), sending each epoch to the parent."""
    start = time.perf_counter()
    _EVENTS.put((name, None))
    result = _JOBS[name](lambda row: _EVENTS.put((name, row)))
    return name, result, time.perf_counter() - start


def run_jobs(jobs: dict[str, Job], epochs: int, workers: int = 1, progress: bool = True) -> dict[str, tuple[Any, float]]:
    """Run every job; return {name: (result, seconds)} in the jobs' order. `workers > 1`: in forked processes."""
    global _JOBS, _EVENTS
    shown = Progress(list(jobs), epochs, progress)
    out: dict[str, tuple[Any, float]] = {}
    try:
        if workers <= 1:
            for name, job in jobs.items():
                start = time.perf_counter()
                shown.start(name)
                result = job(lambda row, name=name: shown.epoch(name, row))
                out[name] = (result, time.perf_counter() - start)
                shown.done(name)
        else:
            context = multiprocessing.get_context("fork")
            _JOBS, _EVENTS = jobs, context.SimpleQueue()
            with context.Pool(workers, initializer=torch.set_num_threads, initargs=(1,)) as pool:
                pending = {name: pool.apply_async(_work, (name,)) for name in jobs}
                while pending:
                    finished = [n for n, r in pending.items() if r.ready()]  # before draining: their last epochs are queued
                    while not _EVENTS.empty():
                        shown.epoch(*_EVENTS.get())
                    for name in finished:
                        _, result, seconds = pending.pop(name).get()  # a job's exception is raised here
                        out[name] = (result, seconds)
                        shown.done(name)
                    time.sleep(0.05)
    finally:
        _JOBS, _EVENTS = {}, None
        shown.close()
    return {name: out[name] for name in jobs}
