"""Position-aware pre-training of a click model (PAL, Guo et al., RecSys 2019; notebook 02).

Logged clicks depend on where the item was shown, so the click model is trained to predict

    P(click at position j) = P(seen | j) * P(click | seen) = sigmoid(beta_j) * sigmoid(logit)

with one learned beta_j per position beside it, used in pre-training only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from prm_edu.ctr.features import CTRInputs


class PositionAware(nn.Module):
    """A click model trained position-aware (PAL, Guo et al., RecSys 2019):

        P(click at position j) = P(seen | j) * P(click | seen) = sigmoid(beta_j) * sigmoid(logit)

    beta_j is learned beside the model during pre-training only; afterwards the model's
    own logit (and pv) describe the item for the user, free of where it used to be shown.
    """

    def __init__(self, model: nn.Module, max_len: int) -> None:
        super().__init__()
        self.model = model
        self.beta = nn.Parameter(torch.full((max_len,), 2.0))  # examination logits, start near "always seen"

    def log_click_probability(self, inputs: CTRInputs, shown_at: torch.Tensor) -> torch.Tensor:
        """log P(click) (N,) = log sigmoid(beta_j) + log sigmoid(logit)."""
        return F.logsigmoid(self.beta[shown_at]) + F.logsigmoid(self.model(inputs))

    def log_examination(self) -> torch.Tensor:
        """log P(seen | j) relative to position 0, (max_len,)."""
        log_seen = F.logsigmoid(self.beta.detach())
        return log_seen - log_seen[0]


def position_aware_bce(log_p: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """-mean( y log p + (1 - y) log(1 - p) ) for p given by its log (p < 1)."""
    log_not_p = torch.log1p(-torch.exp(log_p).clamp(max=1 - 1e-6))
    return -(labels * log_p + (1 - labels) * log_not_p).mean()
