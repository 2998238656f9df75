"""Deep & Cross Network (Wang et al., 2017): a cross network beside an MLP.

    x_0 = [v_1; ...; v_F]                          (N, F k)
    x_{l+1} = x_0 * (x_l^T w_l) + b_l + x_l        the cross layers
    logit = w^T [x_L ; h_last] + b

pv = [x_L ; h_last], the two outputs side by side: d_pv = F * embed_dim + hidden[-1].
"""

from __future__ import annotations

import torch
from torch import nn

from prm_edu.ctr.base import ClickModel, CTRConfig, mlp
from prm_edu.ctr.features import CTRInputs, FeatureEncoder, FeatureSpec


class CrossLayer(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(width) / width**0.5)
        self.b = nn.Parameter(torch.zeros(width))

    def forward(self, x0: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return x0 * (x @ self.w).unsqueeze(-1) + self.b + x  # (N, width)


class DCN(ClickModel, name="dcn"):
    def __init__(self, spec: FeatureSpec, config: CTRConfig) -> None:
        super().__init__()
        width = spec.n_fields * config.embed_dim
        self.encoder = FeatureEncoder(spec, config.embed_dim)
        self.cross = nn.ModuleList([CrossLayer(width) for _ in range(config.n_cross)])
        self.deep = mlp(width, config.hidden, config.dropout)
        self.d_pv = width + config.hidden[-1]
        self.out = nn.Linear(self.d_pv, 1)

    def pv(self, inputs: CTRInputs) -> torch.Tensor:
        """[cross output ; MLP last hidden], (N, F k + hidden[-1])."""
        x0 = self.encoder.embed(inputs).flatten(1)  # (N, F k)
        x = x0
        for layer in self.cross:
            x = layer(x0, x)
        return torch.cat([x, self.deep(x0)], dim=1)

    def forward(self, inputs: CTRInputs) -> torch.Tensor:
        return self.out(self.pv(inputs)).squeeze(-1)  # (N,)

    @property
    def output_bias(self) -> nn.Parameter:
        return self.out.bias
