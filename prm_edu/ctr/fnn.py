"""FNN (Zhang et al., 2016): field embeddings, concatenated, into an MLP.

    logit = w^T h_last + b,   h = MLP([v_1; ...; v_F])

pv = h_last, the MLP's last hidden layer: d_pv = hidden[-1]. (The original FNN
initializes its embeddings from a pre-trained FM; here they are trained end to end.)
"""

from __future__ import annotations

import torch
from torch import nn

from prm_edu.ctr.base import ClickModel, CTRConfig, mlp
from prm_edu.ctr.features import CTRInputs, FeatureEncoder, FeatureSpec


class FNN(ClickModel, name="fnn"):
    def __init__(self, spec: FeatureSpec, config: CTRConfig) -> None:
        super().__init__()
        self.encoder = FeatureEncoder(spec, config.embed_dim)
        self.deep = mlp(spec.n_fields * config.embed_dim, config.hidden, config.dropout)
        self.out = nn.Linear(config.hidden[-1], 1)
        self.d_pv = config.hidden[-1]

    def pv(self, inputs: CTRInputs) -> torch.Tensor:
        """The last hidden layer, (N, hidden[-1])."""
        return self.deep(self.encoder.embed(inputs).flatten(1))  # (N, F k) -> (N, hidden[-1])

    def forward(self, inputs: CTRInputs) -> torch.Tensor:
        return self.out(self.pv(inputs)).squeeze(-1)  # (N,)

    @property
    def output_bias(self) -> nn.Parameter:
        return self.out.bias
