"""PRM's input layer (Pei et al. 2019, the input layer; notebook 03).

    E'  = [X ; PV]           row i = [x_i ; pv_i]             (B, L, d_x + d_pv)
    E'' = E' + PE[rank]      PE: one learnable row per initial rank (L_max, d_x + d_pv)
    E   = E'' W^E + b^E      one linear layer                  (B, L, d)

Switches: `use_pv=False` leaves PV out (PRM-BASE); `position="none"` adds no PE;
`position="sinusoidal"` adds the fixed sines and cosines of the original Transformer
instead of a learned table (the paper found learned slightly better).

The position PE reads is each item's rank in the initial list S_r. `ranks` (B, L) gives it
explicitly, 0 .. L-1 in each list; without it, slot i holds the item of rank i (lists fed
in the initial order). Either way PE's gradient is summed over the lists the same way.
"""

from __future__ import annotations

import math

import torch
from torch import nn

POSITIONS = ("learned", "sinusoidal", "none")


def sinusoidal_table(max_len: int, width: int) -> torch.Tensor:
    """PE[p, 2i] = sin(p / 10000^(2i/width)), PE[p, 2i+1] = cos(...): (max_len, width)."""
    position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)  # (L_max, 1)
    frequency = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))  # (ceil(width/2),)
    table = torch.zeros(max_len, width)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: width // 2])
    return table


class InputLayer(nn.Module):
    def __init__(self, d_x: int, d_pv: int, d_model: int, max_len: int, position: str = "learned", use_pv: bool = True,
                 position_dropout: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= position_dropout < 1.0:
            raise ValueError(f"InputLayer: position_dropout must be in [0, 1), got {position_dropout}")
        self.position_dropout = position_dropout
        if position not in POSITIONS:
            raise ValueError(f"InputLayer: position must be one of {POSITIONS}, got {position!r}")
        self.d_x, self.d_pv, self.max_len, self.position = d_x, d_pv if use_pv else 0, max_len, position
        width = self.d_x + self.d_pv  # d_x + d_pv, the width of E'
        if position == "learned":
            self.position_embedding = nn.Parameter(torch.randn(max_len, width) * 0.1)  # PE (L_max, d_x + d_pv)
        elif position == "sinusoidal":
            self.register_buffer("position_embedding", sinusoidal_table(max_len, width))
        else:
            self.position_embedding = None
        self.proj = nn.Linear(width, d_model)  # W^E, b^E

    def check(self, x: torch.Tensor, pv: torch.Tensor | None, ranks: torch.Tensor | None = None) -> None:
        if x.ndim != 3 or x.shape[2] != self.d_x:
            raise ValueError(f"InputLayer: x must be (B, L, d_x={self.d_x}), got {tuple(x.shape)}")
        if x.shape[1] > self.max_len:
            raise ValueError(f"InputLayer: lists of {x.shape[1]} slots are longer than the position table (max_len={self.max_len})")
        if self.d_pv and (pv is None or tuple(pv.shape) != (*x.shape[:2], self.d_pv)):
            got = None if pv is None else tuple(pv.shape)
            raise ValueError(f"InputLayer: pv must be (B, L, d_pv) = {(*x.shape[:2], self.d_pv)}, got {got}")
        if ranks is not None:
            if tuple(ranks.shape) != tuple(x.shape[:2]) or ranks.dtype != torch.int64:
                raise ValueError(f"InputLayer: ranks must be int64 (B, L) = {tuple(x.shape[:2])}, got {ranks.dtype} {tuple(ranks.shape)}")
            # free on the CPU; on a GPU it would stall every step, so RerankBatch checks its ranks when it is built
            if not ranks.is_cuda and ranks.numel() and (ranks.min() < 0 or ranks.max() >= x.shape[1]):
                raise ValueError(f"InputLayer: ranks must be each slot's rank within its list, in [0, L={x.shape[1]}), "
                                 f"got values in [{int(ranks.min())}, {int(ranks.max())}]")

    def forward(self, x: torch.Tensor, pv: torch.Tensor | None = None, ranks: torch.Tensor | None = None,
                return_parts: bool = False):
        """E (B, L, d); `ranks` (B, L) each slot's rank in its initial list, in [0, L) (None: the slot order);
        with `return_parts`, also a dict of E' and E''."""
        self.check(x, pv, ranks)
        e_prime = torch.cat([x, pv], dim=-1) if self.d_pv else x  # (B, L, d_x + d_pv)
        e_double_prime = e_prime
        if self.position_embedding is not None:
            pe = self.position_embedding[: x.shape[1]]  # (L, d_x + d_pv), row r for rank r, broadcast over B
            if ranks is not None:  # (B, L, d_x + d_pv): each slot gets the row of its rank
                pe = pe.expand(x.shape[0], -1, -1).gather(1, ranks.unsqueeze(-1).expand(-1, -1, pe.shape[-1]))
            if self.training and self.position_dropout > 0:  # some lists are trained without PE
                keep = torch.rand(x.shape[0], 1, 1, device=x.device) >= self.position_dropout  # (B, 1, 1)
                pe = pe * keep
            e_double_prime = e_prime + pe  # (B, L, d_x + d_pv)
        e = self.proj(e_double_prime)  # (B, L, d)
        return (e, {"e_prime": e_prime, "e_double_prime": e_double_prime}) if return_parts else e
