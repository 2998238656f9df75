"""Pre-training a click model on logged impressions, and handing its PV matrix to PRM.

Every shown item is one impression with label clicked (1) or not (0). The model is
trained with binary cross-entropy (`prm_edu.losses.binary_cross_entropy`) through the
shared fit loop, stopping early on validation log-loss. Requests, never single items,
are split between training and validation, so no list is seen half in each.

`pv_for_lists` turns a request log into PV, (R, L, d_pv), aligned with each initial list
S_r: pv_i is the model's hidden vector just before its sigmoid (see each model's doc).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from prm_edu import metrics
from prm_edu.ctr.base import CLICK_MODELS, ClickModel, CTRConfig
from prm_edu.ctr.features import CTRInputs, FeatureSpec, inputs_from_world
from prm_edu.ctr.position_aware import PositionAware, position_aware_bce
from prm_edu.data.world import RequestLog, World
from prm_edu.losses import binary_cross_entropy
from prm_edu.runtime import device as default_device
from prm_edu.train import FitConfig, History, fit

PRETRAIN_FIT = FitConfig(epochs=10, batch_size=4096, lr=5e-3, patience=2)


def build_click_model(spec: FeatureSpec, config: CTRConfig, seed: int = 0) -> ClickModel:
    """A fresh click model named by `config.model`, its weights drawn from `seed`."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return CLICK_MODELS[config.model](spec, config)


@dataclass
class Impressions:
    """N impressions, their labels and the positions they were shown at, indexable by rows."""

    inputs: CTRInputs
    labels: torch.Tensor  # (N,) float32, 1 = clicked
    shown_at: torch.Tensor  # (N,) int64, 0-based position it was displayed at in the logged list

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index) -> Impressions:
        return Impressions(self.inputs[index], self.labels[index], self.shown_at[index])

    def to(self, device) -> Impressions:
        return Impressions(self.inputs.to(device), self.labels.to(device), self.shown_at.to(device))


def impressions_from_log(world: World, spec: FeatureSpec, log: RequestLog) -> Impressions:
    """Every shown (unpadded) item of every request, with its logged click and position."""
    rows, slots = np.nonzero(~log.padding_mask)  # (N,), (N,)
    inputs = inputs_from_world(world, spec, log.users[rows], log.items[rows, slots])
    return Impressions(inputs, torch.as_tensor(log.clicks[rows, slots], dtype=torch.float32), torch.as_tensor(slots))


@torch.no_grad()
def _in_batches(model: ClickModel, compute, inputs: CTRInputs, batch_size: int, empty: tuple[int, ...]) -> torch.Tensor:
    """compute(batch) for many impressions, in batches, in eval mode, on the model's device; the result on the CPU."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = [compute(inputs[start : start + batch_size].to(device)) for start in range(0, len(inputs), batch_size)]
    model.train(was_training)
    return torch.cat(out).cpu() if out else torch.zeros(empty)  # one copy to the host, not one per batch


def predict(model: ClickModel, inputs: CTRInputs, batch_size: int = 8192) -> torch.Tensor:
    """The model's logits (N,) for many impressions, on the CPU (they feed numpy-facing code)."""
    return _in_batches(model, model, inputs, batch_size, (0,))


def predict_pv(model: ClickModel, inputs: CTRInputs, batch_size: int = 8192) -> torch.Tensor:
    """The model's pv (N, d_pv) for many impressions, on the CPU."""
    return _in_batches(model, model.pv, inputs, batch_size, (0, model.d_pv))


def evaluate_click_model(model: nn.Module, impressions: Impressions) -> dict[str, float]:
    """Log-loss (binary cross-entropy) and AUC of the predicted click probabilities on held-out impressions.
    For a `PositionAware` model the prediction includes the position: P(seen | j) * P(click | seen)."""
    if isinstance(model, PositionAware):
        log_p = torch.cat([model.log_click_probability(part.inputs, part.shown_at)
                           for part in (impressions[i : i + 8192] for i in range(0, len(impressions), 8192))])
        return {"logloss": position_aware_bce(log_p, impressions.labels).item(), "auc": metrics.auc(log_p, impressions.labels)}
    logits, labels = predict(model, impressions.inputs), impressions.labels.cpu()  # both on the CPU
    return {"logloss": binary_cross_entropy(logits, labels).item(), "auc": metrics.auc(logits, labels)}


@dataclass
class PretrainResult:
    model: nn.Module  # trained, in eval mode, with the best validation weights
    spec: FeatureSpec
    config: CTRConfig
    history: History  # per epoch: train_loss, logloss, auc, seconds
    valid: dict[str, float]  # logloss and auc on the validation requests
    seconds: float  # wall time of training
    log_examination: torch.Tensor | None = None  # (L,) learned log P(seen | j), when trained position-aware

    @property
    def d_pv(self) -> int:
        return self.model.d_pv


def pretrain(
    world: World,
    log: RequestLog,
    config: CTRConfig | None = None,
    fit_config: FitConfig | None = None,
    spec: FeatureSpec | None = None,
    valid_fraction: float = 0.1,
    device: torch.device | None = None,
    position_aware: bool = False,
) -> PretrainResult:
    """Train the click model `config.model` on `log`'s impressions; validate on held-out requests.

    `position_aware=True` learns a position-bias term beside the model (see `PositionAware`);
    the default is the paper's plain BCE on every shown item.
    """
    fit_config = fit_config or PRETRAIN_FIT
    spec = spec or FeatureSpec.for_world(world)
    if not 0 < valid_fraction < 1:
        raise ValueError(f"pretrain: valid_fraction must be in (0, 1), got {valid_fraction}")
    train_log, valid_log = log.split((1 - valid_fraction, valid_fraction), seed=fit_config.seed)
    train_set, valid_set = impressions_from_log(world, spec, train_log), impressions_from_log(world, spec, valid_log)
    return pretrain_on(train_set, valid_set, spec, config, fit_config, device, log.items.shape[1] if position_aware else None)


def pretrain_on(train_set: Impressions, valid_set: Impressions, spec: FeatureSpec, config: CTRConfig | None = None,
                fit_config: FitConfig | None = None, device: torch.device | None = None,
                position_aware_len: int | None = None) -> PretrainResult:
    """`pretrain` on impressions from any source (the simulated world, MovieLens, ...);
    `position_aware_len` = L learns P(seen | position) for positions 0 .. L-1 beside the model."""
    config = config or CTRConfig()
    fit_config = fit_config or PRETRAIN_FIT
    device = device or default_device()
    train_set, valid_set = train_set.to(device), valid_set.to(device)
    model = build_click_model(spec, config, seed=fit_config.seed).to(device)
    _start_at_click_rate(model, float(train_set.labels.mean()))
    position_aware = position_aware_len is not None
    trained = PositionAware(model, position_aware_len).to(device) if position_aware else model

    def loss_fn(m: nn.Module, batch: Impressions) -> torch.Tensor:
        if position_aware:
            return position_aware_bce(m.log_click_probability(batch.inputs, batch.shown_at), batch.labels)
        return binary_cross_entropy(m(batch.inputs), batch.labels)

    start = time.perf_counter()
    history = fit(trained, train_set, loss_fn=loss_fn, validate=lambda m: evaluate_click_model(m, valid_set),
                  config=fit_config, monitor="logloss", mode="min")
    seconds = time.perf_counter() - start
    valid = {name: history.best[name] for name in ("logloss", "auc")}
    log_examination = trained.log_examination().cpu() if position_aware else None
    model.eval()
    return PretrainResult(model, spec, config, history, valid, seconds, log_examination)


def _start_at_click_rate(model: ClickModel, rate: float) -> None:
    """Set the model's output bias to the log-odds of the training click rate: training then starts
    from the global CTR instead of from p = 0.5."""
    if not 0 < rate < 1:
        raise ValueError(f"pretrain: the training click rate must be in (0, 1), got {rate}")
    with torch.no_grad():
        model.output_bias.fill_(math.log(rate / (1 - rate)))


def _per_slot(compute, model: ClickModel, world: World, spec: FeatureSpec, log: RequestLog, batch_size: int) -> torch.Tensor:
    """compute(model, inputs) (`predict` or `predict_pv`) of every real slot of `log`, laid out (R, L[, d_pv])."""
    rows, slots = np.nonzero(~log.padding_mask)
    inputs = inputs_from_world(world, spec, log.users[rows], log.items[rows, slots])
    values = compute(model, inputs, batch_size)  # (N,) or (N, d_pv)
    out = torch.zeros((*log.items.shape, *values.shape[1:]), dtype=torch.float32)  # (R, L[, d_pv]), zeros at padding
    out[torch.as_tensor(rows), torch.as_tensor(slots)] = values.float()
    return out


def pv_for_lists(model: nn.Module, world: World, spec: FeatureSpec, log: RequestLog, batch_size: int = 8192) -> torch.Tensor:
    """PV (R, L, d_pv): row r, slot j holds pv of user log.users[r] and item log.items[r, j]; zeros where padded."""
    return _per_slot(predict_pv, model, world, spec, log, batch_size)


def click_model_logits(model: nn.Module, world: World, spec: FeatureSpec, log: RequestLog, batch_size: int = 8192) -> torch.Tensor:
    """The click model's logit of every slot, (R, L), zeros where padded: a pointwise re-ranker's scores."""
    return _per_slot(predict, model, world, spec, log, batch_size)
