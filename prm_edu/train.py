"""One fit loop for every model in the package (click models, PRM, DLCM).

    history = fit(model, train_data, loss_fn, validate, FitConfig(...))

- `train_data` is anything with `len()` and indexing by a tensor of row indices that
  returns a batch with `.to(device)` (e.g. `CTRInputs`-based sets, `RerankBatch`).
- `loss_fn(model, batch) -> scalar tensor`.
- `validate(model) -> dict[str, float]`, called each epoch in eval mode without
  gradients; `monitor` names the entry that decides early stopping.

Each epoch shuffles with a generator seeded from `FitConfig.seed`, so the same seed
gives the same numbers. The best epoch's weights are restored at the end. A progress
bar (tqdm.auto: a widget in notebooks, text in a terminal), named after what is trained,
shows the losses; `on_epoch(row)` hands each epoch's history row to a caller that shows
progress its own way (`prm_edu.experiment.parallel` does, for rows trained side by side).
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from prm_edu.runtime import progress_bars


@dataclass(frozen=True)
class FitConfig:
    """How to train. The paper: Adam with the Transformer warm-up schedule, dropout 0.1."""

    epochs: int = 10  # passes over the training data, at most
    batch_size: int = 512  # lists (or impressions) per step
    lr: float = 1e-3  # Adam's learning rate (the peak, with warm-up)
    weight_decay: float = 0.0
    warmup_steps: int = 0  # > 0: linear warm-up to lr, then lr * sqrt(warmup / step) (the Transformer schedule)
    patience: int = 2  # stop once more than this many epochs in a row bring no better validation `monitor`
    grad_clip: float | None = 1.0  # max gradient norm; None: no clipping
    seed: int = 0
    progress: bool = True  # show a progress bar

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"FitConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"FitConfig.lr must be > 0, got {self.lr}")
        for name in ("weight_decay", "warmup_steps", "patience"):
            if getattr(self, name) < 0:
                raise ValueError(f"FitConfig.{name} must be >= 0, got {getattr(self, name)}")


@dataclass
class History:
    """What happened in `fit`: one dict per epoch (train_loss, validation metrics, seconds)."""

    monitor: str
    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = -1  # 0-based index into `epochs` of the restored weights

    def column(self, name: str) -> list[float]:
        return [epoch[name] for epoch in self.epochs]

    @property
    def best(self) -> dict[str, float]:
        return self.epochs[self.best_epoch]


def _schedule(config: FitConfig) -> Callable[[int], float]:
    if config.warmup_steps == 0:
        return lambda step: 1.0
    warm = config.warmup_steps
    return lambda step: min((step + 1) / warm, math.sqrt(warm / (step + 1)))


def fit(
    model: nn.Module,
    train_data: Any,
    loss_fn: Callable[[nn.Module, Any], torch.Tensor],
    validate: Callable[[nn.Module], dict[str, float]],
    config: FitConfig | None = None,
    monitor: str = "loss",
    mode: str = "min",
    name: str | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> History:
    """Train `model` in place; return its `History`. The best epoch's weights are restored.
    `name` labels the progress bar (default: the model's class); `on_epoch` gets each epoch's history row."""
    config = config or FitConfig()
    if mode not in ("min", "max"):
        raise ValueError(f"fit: mode must be 'min' or 'max', got {mode!r}")
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)  # dropout masks
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(config))
    history = History(monitor=monitor)
    best_value, best_state, stale = None, None, 0
    n = len(train_data)
    bar = tqdm(range(config.epochs), desc=name or type(model).__name__, disable=not (config.progress and progress_bars()), leave=False)
    for epoch in bar:
        start = time.perf_counter()
        model.train()
        total, count = torch.zeros((), device=device), 0  # the loss summed on the device: no host sync per step
        for index in torch.randperm(n, generator=generator).split(config.batch_size):
            batch = train_data[index].to(device)
            loss = loss_fn(model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            total, count = total + loss.detach() * len(index), count + len(index)
        total = total.item()  # once per epoch
        model.eval()
        with torch.no_grad():
            scores = validate(model)
        if monitor not in scores:
            raise ValueError(f"fit: validate() returned {sorted(scores)}, without the monitored {monitor!r}")
        history.epochs.append({"epoch": epoch, "train_loss": total / count, **scores, "seconds": time.perf_counter() - start})
        bar.set_postfix(train_loss=f"{total / count:.4f}", **{monitor: f"{scores[monitor]:.4f}"})
        if on_epoch is not None:
            on_epoch(history.epochs[-1])
        value = scores[monitor]
        if best_value is None or (value < best_value if mode == "min" else value > best_value):
            best_value, best_state, stale = value, copy.deepcopy(model.state_dict()), 0
            history.best_epoch = epoch
        else:
            stale += 1
            if stale > config.patience:
                break
    bar.close()
    model.load_state_dict(best_state)
    model.eval()
    return history


# ----- checkpoints ---------------------------------------------------------------------------


def save_checkpoint(path: str | Path, model: nn.Module, config: Any, extra: dict | None = None) -> None:
    """Write the weights (`state_dict`) and the config (a dataclass, as JSON) to `path`."""
    payload = {"config": json.dumps(asdict(config)), "config_type": type(config).__name__, "extra": json.dumps(extra or {}),
               "state_dict": model.state_dict()}
    torch.save(payload, Path(path))


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint written by `save_checkpoint`, with `weights_only=True`: tensors and
    plain data only, so a file holding arbitrary pickled objects is refused (ValueError)."""
    try:
        payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError for anything but tensors and plain data
        raise ValueError(f"{path}: not a prm-edu checkpoint of weights and plain data ({type(err).__name__}: {err})") from err
    if not isinstance(payload, dict) or not {"config", "config_type", "state_dict"} <= set(payload):
        raise ValueError(f"{path}: not a prm-edu checkpoint (expected keys config, config_type, state_dict)")
    return {"config": json.loads(payload["config"]), "config_type": payload["config_type"],
            "extra": json.loads(payload.get("extra", "{}")), "state_dict": payload["state_dict"]}
