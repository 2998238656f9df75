"""PRM: the input layer, N_x encoder blocks and the output layer (Pei et al. 2019; notebooks 03 to 05).

    E = InputLayer(X, PV, ranks)               (B, L, d)
    F^(0) = E;  F^(b) = EncoderBlock_b(F^(b-1))  for b = 1 .. N_x
    logits = F^(N_x) W^F + b^F                 (B, L)
    score(i) = softmax(logits) over the real items of the list

The model returns logits (padded slots hold 0); `score` applies the masked softmax;
`rerank` turns scores into a new order of each list. `ranks` (B, L) is each slot's rank
in the initial list, which the position embedding reads; None means slot i holds the
item of rank i.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from prm_edu.metrics import rank_order
from prm_edu.prm.encoder import EncoderBlock
from prm_edu.prm.input_layer import POSITIONS, InputLayer


@dataclass(frozen=True)
class PRMConfig:
    """PRM's sizes and switches. The paper's values are noted beside ours."""

    d_x: int  # item features per item
    d_pv: int = 0  # personalized vector width; 0 = PRM-BASE (no PV)
    d_model: int = 64  # d; paper: 1024 (Yahoo), 64 (e-commerce)
    n_blocks: int = 2  # N_x; paper default 4
    n_heads: int = 2  # h; paper default 3
    head_dim: int | None = None  # None: the paper's d-wide heads; d_model // n_heads: the usual split
    d_ff: int = 128  # hidden width of the feed-forward network
    dropout: float = 0.1  # paper: 0.1
    max_len: int = 30  # L_max, rows of the position table; paper: lists of at most 30
    position: str = "learned"  # "learned" (paper), "sinusoidal" or "none"
    position_dropout: float = 0.0  # share of lists trained without PE (see InputLayer); 0 in the paper
    residual: bool = True  # ablation switch
    fused_attention: bool = False  # torch's fused attention kernel when no weights are asked for
    list_attention: bool = True  # False: the attention-free control, each item attends to itself only

    def __post_init__(self) -> None:
        for name in ("d_x", "d_model", "n_blocks", "n_heads", "d_ff", "max_len"):
            if getattr(self, name) < 1:
                raise ValueError(f"PRMConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.d_pv < 0:
            raise ValueError(f"PRMConfig.d_pv must be >= 0, got {self.d_pv}")
        if self.head_dim is not None and self.head_dim < 1:
            raise ValueError(f"PRMConfig.head_dim must be None or >= 1, got {self.head_dim}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"PRMConfig.dropout must be in [0, 1), got {self.dropout}")
        if self.position not in POSITIONS:
            raise ValueError(f"PRMConfig.position must be one of {POSITIONS}, got {self.position!r}")


def masked_softmax(logits: torch.Tensor, padding_mask: torch.Tensor | None) -> torch.Tensor:
    """softmax over each list's real slots, (B, L); padded slots get 0; an all-padding list gets all 0."""
    if padding_mask is None:
        return torch.softmax(logits, dim=-1)
    p = torch.softmax(logits.masked_fill(padding_mask, float("-inf")), dim=-1)
    return p.masked_fill(padding_mask, 0.0).nan_to_num(0.0)


class PRM(nn.Module):
    def __init__(self, config: PRMConfig) -> None:
        super().__init__()
        self.config = config
        self.input_layer = InputLayer(config.d_x, config.d_pv, config.d_model, config.max_len, config.position, use_pv=config.d_pv > 0,
                                      position_dropout=config.position_dropout)
        self.blocks = nn.ModuleList(
            EncoderBlock(config.d_model, config.n_heads, config.head_dim, config.d_ff, config.dropout, config.residual,
                         config.fused_attention, config.list_attention)
            for _ in range(config.n_blocks)
        )
        self.score_head = nn.Linear(config.d_model, 1)  # W^F, b^F

    def forward(self, x: torch.Tensor, pv: torch.Tensor | None = None, padding_mask: torch.Tensor | None = None,
                ranks: torch.Tensor | None = None, return_attention: bool = False):
        """Logits (B, L) (0 at padded slots); with `return_attention`, also each block's weights (B, h, L, L)."""
        if padding_mask is not None and tuple(padding_mask.shape) != tuple(x.shape[:2]):
            raise ValueError(f"PRM: padding_mask must be (B, L) = {tuple(x.shape[:2])}, got {tuple(padding_mask.shape)}")
        h = self.input_layer(x, pv, ranks)  # F^(0) = E, (B, L, d)
        attention = []
        for block in self.blocks:
            h, weights = block(h, padding_mask, need_weights=return_attention)  # F^(b), (B, L, d)
            attention.append(weights)
        logits = self.score_head(h).squeeze(-1)  # (B, L)
        if padding_mask is not None:
            logits = logits.masked_fill(padding_mask, 0.0)
        return (logits, attention) if return_attention else logits

    def score(self, x: torch.Tensor, pv: torch.Tensor | None = None, padding_mask: torch.Tensor | None = None,
              ranks: torch.Tensor | None = None) -> torch.Tensor:
        """score(i): the softmax of the logits over each list's real items, (B, L)."""
        return masked_softmax(self(x, pv, padding_mask, ranks), padding_mask)

    @torch.no_grad()
    def rerank(self, x: torch.Tensor, pv: torch.Tensor | None = None, padding_mask: torch.Tensor | None = None,
               ranks: torch.Tensor | None = None) -> torch.Tensor:
        """The new order of each list, (B, L): slot indices sorted by score, padding last."""
        return rank_order(self(x, pv, padding_mask, ranks), padding_mask)
