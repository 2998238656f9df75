"""Logistic regression on the fields: logit = w_0 + sum_f w_f x_f, no interactions.

With `FeatureSpec.for_world(world, profile=False, history=False)` it is the
non-personalized baseline every click model must beat. pv = the logit itself, (N, 1).
"""

from __future__ import annotations

import torch
from torch import nn

from prm_edu.ctr.base import ClickModel, CTRConfig
from prm_edu.ctr.features import CTRInputs, FeatureEncoder, FeatureSpec


class Logistic(ClickModel, name="logistic"):
    def __init__(self, spec: FeatureSpec, config: CTRConfig) -> None:
        super().__init__()
        self.encoder = FeatureEncoder(spec, config.embed_dim)  # only its first-order weights are used
        self.bias = nn.Parameter(torch.zeros(()))
        self.d_pv = 1

    def forward(self, inputs: CTRInputs) -> torch.Tensor:
        return self.bias + self.encoder.first_order(inputs)  # (N,)

    def pv(self, inputs: CTRInputs) -> torch.Tensor:
        return self.forward(inputs).unsqueeze(-1)  # (N, 1)

    @property
    def output_bias(self) -> nn.Parameter:
        return self.bias
