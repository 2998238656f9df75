"""Pre-training a click model on logged impressions, and handing its PV matrix to PRM.

Every shown item is one impression with label clicked (1) or not (0). The model is
trained with binary cross-entropy (`prm_edu.losses.binary_cross_entropy`) through the
shared fit loop, stopping early on validation log-loss. Requests, never single items,
are split between training and validation, so no list is seen half in each.

`pv_for_lists` turns a request log into PV, (R, L, d_pv), aligned with each initial list
S_r: pv_i is the model's hidden vector just before its sigmoid (see each model's doc).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from prm_edu import metrics
from prm_edu.ctr.base import CTRConfig
from prm_edu.ctr.dcn import DCN
from prm_edu.ctr.deepfm import DeepFM
from prm_edu.ctr.features import CTRInputs, FeatureSpec, inputs_from_world
from prm_edu.ctr.fm import FM
from prm_edu.ctr.fnn import FNN
from prm_edu.ctr.logistic import Logistic
from prm_edu.data.world import RequestLog, World
from prm_edu.losses import binary_cross_entropy
from prm_edu.runtime import device as default_device
from prm_edu.train import FitConfig, History, fit

CLICK_MODELS = {"fm": FM, "fnn": FNN, "deepfm": DeepFM, "dcn": DCN, "logistic": Logistic}
PRETRAIN_FIT = FitConfig(epochs=8, batch_size=4096, lr=1e-2, patience=1)


def build_click_model(spec: FeatureSpec, config: CTRConfig, seed: int = 0) -> nn.Module:
    """A fresh click model named by `config.model`, its weights drawn from `seed`."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return CLICK_MODELS[config.model](spec, config)


@dataclass
class Impressions:
    """N impressions and their labels, indexable by rows (what `fit` iterates over)."""

    inputs: CTRInputs
    labels: torch.Tensor  # (N,) float32, 1 = clicked

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index) -> Impressions:
        return Impressions(self.inputs[index], self.labels[index])

    def to(self, device) -> Impressions:
        return Impressions(self.inputs.to(device), self.labels.to(device))


def impressions_from_log(world: World, spec: FeatureSpec, log: RequestLog) -> Impressions:
    """Every shown (unpadded) item of every request, with its logged click."""
    rows, slots = np.nonzero(~log.padding_mask)  # (N,), (N,)
    inputs = inputs_from_world(world, spec, log.users[rows], log.items[rows, slots])
    return Impressions(inputs, torch.as_tensor(log.clicks[rows, slots], dtype=torch.float32))


@torch.no_grad()
def predict(model: nn.Module, inputs: CTRInputs, batch_size: int = 8192, what: str = "logit") -> torch.Tensor:
    """The model's logits (N,) or pv (N, d_pv) for many impressions, in batches, without gradients."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(inputs), batch_size):
        batch = inputs[start : start + batch_size].to(device)
        out.append((model(batch) if what == "logit" else model.pv(batch)).cpu())
    model.train(was_training)
    if not out:
        return torch.zeros((0,) if what == "logit" else (0, model.d_pv))
    return torch.cat(out)


def evaluate_click_model(model: nn.Module, impressions: Impressions) -> dict[str, float]:
    """Log-loss (binary cross-entropy) and AUC on held-out impressions."""
    logits = predict(model, impressions.inputs)
    return {"logloss": binary_cross_entropy(logits, impressions.labels).item(), "auc": metrics.auc(logits, impressions.labels)}


@dataclass
class PretrainResult:
    model: nn.Module  # trained, in eval mode, with the best validation weights
    spec: FeatureSpec
    config: CTRConfig
    history: History  # per epoch: train_loss, logloss, auc, seconds
    valid: dict[str, float]  # logloss and auc on the validation requests
    seconds: float  # wall time of training

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
) -> PretrainResult:
    """Train the click model `config.model` on `log`'s impressions; validate on held-out requests."""
    config = config or CTRConfig()
    fit_config = fit_config or PRETRAIN_FIT
    spec = spec or FeatureSpec.for_world(world)
    if not 0 < valid_fraction < 1:
        raise ValueError(f"pretrain: valid_fraction must be in (0, 1), got {valid_fraction}")
    device = device or default_device()
    train_log, valid_log = log.split((1 - valid_fraction, valid_fraction), seed=fit_config.seed)
    train_set = impressions_from_log(world, spec, train_log).to(device)
    valid_set = impressions_from_log(world, spec, valid_log)
    model = build_click_model(spec, config, seed=fit_config.seed).to(device)
    start = time.perf_counter()
    history = fit(
        model,
        train_set,
        loss_fn=lambda m, batch: binary_cross_entropy(m(batch.inputs), batch.labels),
        validate=lambda m: evaluate_click_model(m, valid_set),
        config=fit_config,
        monitor="logloss",
        mode="min",
    )
    seconds = time.perf_counter() - start
    valid = {name: history.best[name] for name in ("logloss", "auc")}
    return PretrainResult(model, spec, config, history, valid, seconds)


def _per_slot(model: nn.Module, world: World, spec: FeatureSpec, log: RequestLog, what: str, batch_size: int) -> torch.Tensor:
    rows, slots = np.nonzero(~log.padding_mask)
    inputs = inputs_from_world(world, spec, log.users[rows], log.items[rows, slots])
    values = predict(model, inputs, batch_size, what)  # (N,) or (N, d_pv)
    out = torch.zeros((*log.items.shape, *values.shape[1:]), dtype=torch.float32)  # (R, L[, d_pv]), zeros at padding
    out[torch.as_tensor(rows), torch.as_tensor(slots)] = values.float()
    return out


def pv_for_lists(model: nn.Module, world: World, spec: FeatureSpec, log: RequestLog, batch_size: int = 8192) -> torch.Tensor:
    """PV (R, L, d_pv): row r, slot j holds pv of user log.users[r] and item log.items[r, j]; zeros where padded."""
    return _per_slot(model, world, spec, log, "pv", batch_size)


def click_model_logits(model: nn.Module, world: World, spec: FeatureSpec, log: RequestLog, batch_size: int = 8192) -> torch.Tensor:
    """The click model's logit of every slot, (R, L), zeros where padded: a pointwise re-ranker's scores."""
    return _per_slot(model, world, spec, log, "logit", batch_size)
