"""Scaled dot-product attention and multi-head self-attention (Pei et al. 2019, the encoding
layer; notebook 04).

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_head)) V
    MH(E) = Concat(head_1 ... head_h) W^O,  head_i = Attention(E W^Q_i, E W^K_i, E W^V_i)

(Some walk-throughs of PRM write head_i = Attention(E W^Q W^K W^V); it means three separate
projections of E, one each for queries, keys and values, as above.)

Head width: the paper makes every head d wide (W^Q_i in R^{d x d}, W^O in R^{hd x d}):
`head_dim=None`. Most libraries split d across heads (`head_dim = d // h`), which keeps
the cost of h heads equal to one. Either way the scores are divided by sqrt(d_head).

The attention-free control (`list_attention=False`): every item attends to itself only,
so the weights are the identity and MH(E) = E W^V W^O. The block keeps everything else
(feed-forward, residuals, LayerNorm), so the model sees no other item of the list: the
fair test of what list context adds.

Padding: a padded slot is never attended to (its key gets weight exactly 0). A list
that is padding only gives zero weights everywhere, not NaN. Weights are returned,
never stored on the module.

Shapes: B lists, L slots, d model width, h heads, d_head head width.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, padding_mask: torch.Tensor | None = None):
    """q, k, v: (B, h, L, d_head); padding_mask (B, L), True = padded key.

    Returns the outputs (B, h, L, d_head) and the weights (B, h, L, L) (rows: queries).
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, h, L, L)
    if padding_mask is not None:
        scores = scores.masked_fill(padding_mask[:, None, None, :], float("-inf"))  # padded keys: -inf
    weights = torch.softmax(scores, dim=-1)  # (B, h, L, L), rows sum to 1
    if padding_mask is not None:
        weights = weights.masked_fill(padding_mask.all(dim=1)[:, None, None, None], 0.0)  # all-padding list: 0, not NaN
    return weights @ v, weights  # (B, h, L, d_head), (B, h, L, L)


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, head_dim: int | None = None, fused: bool = False,
                 list_attention: bool = True) -> None:
        super().__init__()
        if n_heads < 1 or d_model < 1:
            raise ValueError(f"MultiHeadAttention: d_model and n_heads must be >= 1, got {d_model} and {n_heads}")
        self.n_heads = n_heads
        self.head_dim = d_model if head_dim is None else head_dim  # the paper's d-wide heads by default
        inner = n_heads * self.head_dim  # h * d_head
        self.q = nn.Linear(d_model, inner)  # W^Q for all heads at once
        self.k = nn.Linear(d_model, inner)  # W^K
        self.v = nn.Linear(d_model, inner)  # W^V
        self.o = nn.Linear(inner, d_model)  # W^O
        self.fused = fused  # use torch's fused kernel (returns no weights)
        self.list_attention = list_attention  # False: each item attends to itself only (W^Q, W^K unused)

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        b, length, _ = t.shape
        return t.view(b, length, self.n_heads, self.head_dim).transpose(1, 2)  # (B, L, h*d_head) -> (B, h, L, d_head)

    def forward(self, e: torch.Tensor, padding_mask: torch.Tensor | None = None, need_weights: bool = True):
        """e: (B, L, d). Returns MH(E) (B, L, d) and the weights (B, h, L, L) (None on the fused path)."""
        v = self._heads(self.v(e))  # (B, h, L, d_head)
        if not self.list_attention:  # the attention-free control: each item's own value
            out, weights = v, (_self_only_weights(v, padding_mask) if need_weights else None)
        else:
            q, k = self._heads(self.q(e)), self._heads(self.k(e))  # each (B, h, L, d_head)
            if self.fused and not need_weights:
                out, weights = _fused_attention(q, k, v, padding_mask), None
            else:
                out, weights = scaled_dot_product_attention(q, k, v, padding_mask)
        b, _, length, _ = out.shape
        out = out.transpose(1, 2).reshape(b, length, self.n_heads * self.head_dim)  # (B, h, L, d_head) -> (B, L, h*d_head)
        return self.o(out), weights  # (B, L, d)


def _self_only_weights(v: torch.Tensor, padding_mask: torch.Tensor | None) -> torch.Tensor:
    """The attention-free control's weights, (B, h, L, L): the identity, 0 on padded slots."""
    b, h, length, _ = v.shape
    weights = torch.eye(length, device=v.device, dtype=v.dtype).expand(b, h, length, length)
    if padding_mask is not None:
        weights = weights.masked_fill(padding_mask[:, None, None, :], 0.0)
    return weights


def _fused_attention(q, k, v, padding_mask):
    """The same computation through torch's fused kernel. An all-padding list would give
    NaN there; it attends to every slot instead, and its outputs are then zeroed."""
    if padding_mask is None:
        return F.scaled_dot_product_attention(q, k, v)
    empty = padding_mask.all(dim=1)  # (B,)
    allowed = ~(padding_mask & ~empty[:, None])  # (B, L) keys each list may attend to
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed[:, None, None, :])
    return out.masked_fill(empty[:, None, None, None], 0.0)
