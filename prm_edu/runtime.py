"""Where tensors live and where randomness comes from.

`device()` picks CUDA when present, else CPU; the environment variable
`PRM_EDU_DEVICE` (e.g. "cpu", "cuda:1") overrides the choice. `seed_everything`
seeds Python, NumPy and torch at once and hands back a `torch.Generator`, so code
that wants explicit randomness can take it instead of relying on global state.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

DEVICE_ENV = "PRM_EDU_DEVICE"
FAST_ENV = "PRM_EDU_FAST"
SETTING_ENV = "PRM_EDU_SETTING"  # "full", "class" or "fast": how big the notebooks' and the demo's runs are
# full: the numbers the course site shows (the paper's lists of 30); class: a world that tells the same story on one
# core in minutes (lists of 15, a stronger context effect: prm_edu.experiment.config); fast: the same steps in seconds,
# to exercise the code (tests and CI), too small to show every claim
SETTINGS = ("full", "class", "fast")
PROGRESS_ENV = "PRM_EDU_PROGRESS"  # "0": no progress bars anywhere (the course website's build sets it)
WORKERS_ENV = "PRM_EDU_WORKERS"  # how many of a table's rows train at once (see prm_edu.experiment.parallel)


def device() -> torch.device:
    """The device to compute on: `$PRM_EDU_DEVICE` if set, else CUDA if present, else CPU."""
    wanted = os.environ.get(DEVICE_ENV, "").strip()
    if wanted:
        try:
            chosen = torch.device(wanted)
        except RuntimeError as err:
            raise ValueError(f"{DEVICE_ENV}={wanted!r} is not a torch device name (try 'cpu' or 'cuda')") from err
        if chosen.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"{DEVICE_ENV}={wanted!r} asks for CUDA, but torch sees no CUDA device here")
        return chosen
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed `random`, NumPy's global state and torch (CPU and CUDA); return a fresh generator.

    The same seed gives the same numbers on the same machine. Library code takes
    explicit `np.random.Generator` / `torch.Generator` objects; this helper is for
    notebooks and scripts that also call code using global state.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    torch.manual_seed(int(seed))
    return torch.Generator().manual_seed(int(seed))


def _switch(name: str, default: bool) -> bool:
    """An on/off environment variable: 1/true/yes/on, 0/false/no/off, anything else (or unset) the default."""
    value = os.environ.get(name, "").strip().lower()
    return True if value in {"1", "true", "yes", "on"} else False if value in {"0", "false", "no", "off"} else default


def setting() -> str:
    """The setting runs take by default, one of SETTINGS: `$PRM_EDU_SETTING` if set, else "fast" when
    `$PRM_EDU_FAST` is true (tests and CI set it), else "full". The class's hub sets "class"."""
    chosen = os.environ.get(SETTING_ENV, "").strip().lower()
    fast = _switch(FAST_ENV, default=False)
    if not chosen:
        return "fast" if fast else "full"
    if chosen not in SETTINGS:
        raise ValueError(f"{SETTING_ENV}={chosen!r} is not a setting; choose one of {SETTINGS}")
    if fast and chosen != "fast":
        raise ValueError(f"{SETTING_ENV}={chosen!r} and {FAST_ENV}=1 disagree: unset one of them")
    return chosen


def fast_mode() -> bool:
    """True in the fast setting (`setting() == "fast"`; `$PRM_EDU_FAST=1` chooses it): shrink the work."""
    return setting() == "fast"


def progress_bars() -> bool:
    """False when `$PRM_EDU_PROGRESS` is set to a false value: training shows no progress bars (a page
    rendered from an executed notebook would print them as text)."""
    return _switch(PROGRESS_ENV, default=True)
