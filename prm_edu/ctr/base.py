"""What the click models share: the contract PRM and pre-training rely on, their config and the MLP tower."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

CLICK_MODELS: dict[str, type[ClickModel]] = {}  # name -> class, filled by each model's class statement


class ClickModel(nn.Module):
    """The contract of a click model, built as Model(spec, config) and named in its class statement,
    `class FM(ClickModel, name="fm")`, which adds it to CLICK_MODELS:

    - `forward(inputs)` -> logits (N,) of P(click);
    - `pv(inputs)` -> (N, d_pv), the hidden vector PRM reads as PV;
    - `d_pv`, the width of pv;
    - `output_bias`, the constant term of the logit (pre-training starts it at the click rate).
    """

    d_pv: int

    def __init_subclass__(cls, name: str, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        CLICK_MODELS[name] = cls

    def pv(self, inputs) -> torch.Tensor:
        raise NotImplementedError

    @property
    def output_bias(self) -> nn.Parameter:
        raise NotImplementedError


@dataclass(frozen=True)
class CTRConfig:
    """One config for the click models; each model reads the fields it needs."""

    model: str = "deepfm"  # one of CLICK_MODELS
    embed_dim: int = 8  # k, width of every field embedding (and of FM's pv)
    hidden: tuple[int, ...] = (64, 32)  # MLP widths of FNN, DeepFM and DCN; the last is the deep part of pv
    n_cross: int = 2  # DCN's cross layers
    dropout: float = 0.0  # after each hidden layer

    def __post_init__(self) -> None:
        if self.model not in CLICK_MODELS:
            raise ValueError(f"CTRConfig.model must be one of {sorted(CLICK_MODELS)}, got {self.model!r}")
        if self.embed_dim < 1:
            raise ValueError(f"CTRConfig.embed_dim must be >= 1, got {self.embed_dim}")
        if len(self.hidden) < 1 or any(h < 1 for h in self.hidden):
            raise ValueError(f"CTRConfig.hidden must be a non-empty tuple of widths >= 1, got {self.hidden}")
        if self.n_cross < 0:
            raise ValueError(f"CTRConfig.n_cross must be >= 0, got {self.n_cross}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"CTRConfig.dropout must be in [0, 1), got {self.dropout}")


def mlp(d_in: int, hidden: tuple[int, ...], dropout: float) -> nn.Sequential:
    """Linear -> ReLU -> Dropout for each width in `hidden`; output width hidden[-1]."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(d_in, width), nn.ReLU(), nn.Dropout(dropout)]
        d_in = width
    return nn.Sequential(*layers)
