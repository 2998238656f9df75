"""Position bias in logged clicks: keeping it out of a re-ranker.

Logged clicks depend on where an item was shown: items at the top are looked at more.
A re-ranker trained to predict logged clicks learns that too, and then re-ranks every
list back towards the order it was logged in. The tools here:

1. `WithPositionBias`: one logit beta_j per displayed position added to the model's
   logits during training only (as PAL, Guo et al., RecSys 2019), so that a softmax over
   the list models P(click) proportional to e_j * exp(model's logit), and the model's own
   logits, used alone to re-rank, are left with what the item is worth in its list.
   beta must hold the examination log e_j and nothing else. Fixed to an estimate of it
   (the demo's default: the position-based click model of `prm_edu.examination`, fitted
   on the randomized bucket), it does. Learned from zero beside the model, it learns
   more: on the randomized bucket (lists shown in a random order, where the displayed
   position differs from the initial rank) everything that falls with the displayed
   position lands in beta, the list context of a random order included, and over epochs
   the model's own logits lose the initial ranks (benchmarks/README.md, "What the
   position-bias term learns"; notebook 06).
2. `estimate_examination`: e_j read off the click rate per position of a randomized
   bucket (Joachims et al., WSDM 2017), smoothed to be non-increasing (pool adjacent
   violators). There the items do not depend on the position, but the list context does
   (lower slots have more same-category items above them), so this curve falls much
   faster than e_j; `prm_edu.examination` has it beside better estimators.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from prm_edu.data.world import RequestLog


def non_increasing(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The weighted least-squares non-increasing fit of `values` (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for v, w in zip(values, weights):
        blocks.append([v, w, 1])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            (m2, w2, c2), (m1, w1, c1) = blocks.pop(), blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    return np.concatenate([np.full(c, m) for m, _, c in blocks])


def estimate_examination(randomized: RequestLog) -> np.ndarray:
    """e_j (L,), relative to position 0, from a log whose lists were shown in random order."""
    real = ~randomized.padding_mask  # (R, L)
    return examination_from_click_rates(real.sum(axis=0), randomized.clicks.sum(axis=0), "estimate_examination")


def examination_from_click_rates(shown: np.ndarray, clicked: np.ndarray, where: str) -> np.ndarray:
    """e_j (L,) relative to position 0 from impressions `shown` and clicks `clicked` per position (L,): the click
    rate, made non-increasing (pool adjacent violators) and floored at a thousandth of the top's."""
    if (shown == 0).any():
        raise ValueError(f"{where}: some position was never shown in the randomized log")
    ctr = clicked / shown  # (L,)
    if ctr[0] <= 0:
        raise ValueError(f"{where}: no clicks at the first position; the randomized log is too small")
    smooth = non_increasing(ctr, shown.astype(float))
    return np.maximum(smooth, 1e-3 * smooth[0]) / smooth[0]


class WithPositionBias(nn.Module):
    """A re-ranker whose training logits get beta[position] added; re-rank with `.model` alone.

    `log_examination` (L,) fixes beta = log e_j (estimated, `prm_edu.examination`); None learns beta from the logs.
    """

    def __init__(self, model: nn.Module, max_len: int, log_examination: torch.Tensor | None = None) -> None:
        super().__init__()
        self.model = model
        if log_examination is None:
            self.beta = nn.Parameter(torch.zeros(max_len))  # learned, one logit per position
        else:
            if log_examination.shape != (max_len,):
                raise ValueError(f"WithPositionBias: log_examination must be ({max_len},), got {tuple(log_examination.shape)}")
            self.register_buffer("beta", log_examination.float().clone())  # fixed

    def forward(self, x: torch.Tensor, pv: torch.Tensor, padding_mask: torch.Tensor, ranks: torch.Tensor,
                shown_at: torch.Tensor) -> torch.Tensor:
        """Training logits (B, L): the model's logits (it reads the initial `ranks`) plus beta at the
        position each item was displayed at (`shown_at`)."""
        return self.model(x, pv, padding_mask, ranks) + self.bias(shown_at, padding_mask)

    def bias(self, shown_at: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        """beta at each slot's displayed position, (B, L), 0 where padded: what training adds to the model's logits."""
        return self.beta[shown_at].masked_fill(padding_mask, 0.0)
