"""DeepFM (Guo et al., 2017): an FM and an MLP that share the field embeddings.

    logit = w_0 + sum_f w_f x_f + 1^T fm(v) + w^T h_last

pv = [fm(v) ; h_last], the FM's interaction vector (before its sum) beside the MLP's
last hidden layer: d_pv = embed_dim + hidden[-1].
"""

from __future__ import annotations

import torch
from torch import nn

from prm_edu.ctr.base import ClickModel, CTRConfig, mlp
from prm_edu.ctr.features import CTRInputs, FeatureEncoder, FeatureSpec
from prm_edu.ctr.fm import fm_interaction


class DeepFM(ClickModel, name="deepfm"):
    def __init__(self, spec: FeatureSpec, config: CTRConfig) -> None:
        super().__init__()
        self.encoder = FeatureEncoder(spec, config.embed_dim)
        self.bias = nn.Parameter(torch.zeros(()))
        self.deep = mlp(spec.n_fields * config.embed_dim, config.hidden, config.dropout)
        self.deep_out = nn.Linear(config.hidden[-1], 1, bias=False)
        self.embed_dim = config.embed_dim
        self.d_pv = config.embed_dim + config.hidden[-1]

    def pv(self, inputs: CTRInputs) -> torch.Tensor:
        """[FM interaction vector ; MLP last hidden], (N, k + hidden[-1])."""
        v = self.encoder.embed(inputs)  # (N, F, k)
        return torch.cat([fm_interaction(v), self.deep(v.flatten(1))], dim=1)

    def forward(self, inputs: CTRInputs) -> torch.Tensor:
        pv = self.pv(inputs)
        fm_part, deep_part = pv[:, : self.embed_dim], pv[:, self.embed_dim :]
        return self.bias + self.encoder.first_order(inputs) + fm_part.sum(dim=1) + self.deep_out(deep_part).squeeze(-1)

    @property
    def output_bias(self) -> nn.Parameter:
        return self.bias
