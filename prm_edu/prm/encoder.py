"""One encoder block (Pei et al. 2019, the encoding layer; notebook 04), as in the original Transformer (post-LayerNorm):

    A = LayerNorm(E + Dropout(MH(E)))
    F = LayerNorm(A + Dropout(FFN(A))),   FFN(a) = ReLU(a W_1 + b_1) W_2 + b_2

Switches for the paper's ablations: `residual=False` drops the "E +" and "A +";
`dropout=0` removes dropout; `list_attention=False` lets each item attend to itself only
(the attention-free control).
"""

from __future__ import annotations

import torch
from torch import nn

from prm_edu.prm.attention import MultiHeadAttention


class EncoderBlock(nn.Module):
    def __init__(self, d_model: int, n_heads: int, head_dim: int | None, d_ff: int, dropout: float,
                 residual: bool = True, fused_attention: bool = False, list_attention: bool = True) -> None:
        super().__init__()
        self.attention = MultiHeadAttention(d_model, n_heads, head_dim, fused=fused_attention, list_attention=list_attention)
        self.ffn = nn.Sequential(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Linear(d_ff, d_model))
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.residual = residual

    def forward(self, e: torch.Tensor, padding_mask: torch.Tensor | None = None, need_weights: bool = False):
        """e: (B, L, d) -> (B, L, d), and the attention weights (B, h, L, L) or None."""
        attended, weights = self.attention(e, padding_mask, need_weights=need_weights)
        a = self.norm1((e if self.residual else 0) + self.dropout(attended))  # (B, L, d)
        f = self.norm2((a if self.residual else 0) + self.dropout(self.ffn(a)))  # (B, L, d)
        return f, weights
