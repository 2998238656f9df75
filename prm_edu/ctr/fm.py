"""Factorization Machine (Rendle, 2010).

    logit = w_0 + sum_f w_f x_f + sum_{f<g} <v_f, v_g>

The pairwise sum costs O(F^2 k) written as a double loop; the identity

    sum_{f<g} <v_f, v_g> = 1/2 * sum_k [ (sum_f v_fk)^2 - sum_f v_fk^2 ]

costs O(F k). pv = the k-dimensional vector inside that sum, before it is summed
over k: 1/2 * ((sum_f v_f)^2 - sum_f v_f^2), so d_pv = embed_dim.
"""

from __future__ import annotations

import torch
from torch import nn

from prm_edu.ctr.base import ClickModel, CTRConfig
from prm_edu.ctr.features import CTRInputs, FeatureEncoder, FeatureSpec


def fm_interaction(embeddings: torch.Tensor) -> torch.Tensor:
    """(N, F, k) field embeddings -> (N, k) interaction vector, by the O(F k) identity."""
    square_of_sum = embeddings.sum(dim=1) ** 2  # (N, k)
    sum_of_squares = (embeddings**2).sum(dim=1)  # (N, k)
    return 0.5 * (square_of_sum - sum_of_squares)


class FM(ClickModel, name="fm"):
    def __init__(self, spec: FeatureSpec, config: CTRConfig) -> None:
        super().__init__()
        self.encoder = FeatureEncoder(spec, config.embed_dim)
        self.bias = nn.Parameter(torch.zeros(()))  # w_0
        self.d_pv = config.embed_dim

    def pv(self, inputs: CTRInputs) -> torch.Tensor:
        """The interaction vector before its sum, (N, k)."""
        return fm_interaction(self.encoder.embed(inputs))

    def forward(self, inputs: CTRInputs) -> torch.Tensor:
        """Logits (N,)."""
        return self.bias + self.encoder.first_order(inputs) + self.pv(inputs).sum(dim=1)

    @property
    def output_bias(self) -> nn.Parameter:
        return self.bias
