"""What PRM is compared with.

- the initial order: the initial ranker's list as it is (`prm_edu.metrics.initial_order_scores`);
- a pointwise re-ranker: the pre-trained click model's own logit of each item,
  personalized but blind to the other items (`prm_edu.ctr.click_model_logits`);
- DLCM (Ai et al., SIGIR 2018), the paper's baseline: a GRU reads the initial list
  from its last item to its first, so the top items are read last, closest to the
  final state s_n; a local ranking function scores each item from its own GRU output
  o_i and s_n:

      phi(o_i, s_n) = V^T ( o_i * tanh(W s_n + b) )

  DLCM sees the list, but only through one left-to-right memory, not by letting every
  item attend to every other.

All re-rankers share PRM's call: model(x, pv, padding_mask, ranks) -> logits (B, L), where
`ranks` (B, L) is each slot's initial rank (None: slot i holds the item of rank i).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


@dataclass(frozen=True)
class DLCMConfig:
    d_x: int  # item features per item
    d_pv: int = 0  # 0: features only, as in the paper's comparison
    d_hidden: int = 64  # GRU width

    def __post_init__(self) -> None:
        if self.d_x < 1 or self.d_hidden < 1 or self.d_pv < 0:
            raise ValueError(f"DLCMConfig: d_x and d_hidden must be >= 1 and d_pv >= 0, got {self}")


def _reverse_real(t: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse the first lengths[b] slots of each row of t (B, L, ...), leaving the padding in place."""
    length = t.shape[1]
    slots = torch.arange(length, device=t.device).expand(t.shape[0], length)  # (B, L)
    source = torch.where(slots < lengths[:, None], lengths[:, None] - 1 - slots, slots)  # (B, L)
    return _take_slots(t, source)


def _take_slots(t: torch.Tensor | None, order: torch.Tensor) -> torch.Tensor | None:
    """Row b of t (B, L, ...) with its slots in the order order[b] (B, L)."""
    if t is None:
        return None
    return t.gather(1, order.view(*order.shape, *([1] * (t.ndim - 2))).expand_as(t))


class DLCM(nn.Module):
    def __init__(self, config: DLCMConfig) -> None:
        super().__init__()
        self.config = config
        self.gru = nn.GRU(config.d_x + config.d_pv, config.d_hidden, batch_first=True)
        self.w = nn.Linear(config.d_hidden, config.d_hidden)  # W, b
        self.v = nn.Linear(config.d_hidden, 1, bias=False)  # V

    def forward(self, x: torch.Tensor, pv: torch.Tensor | None = None, padding_mask: torch.Tensor | None = None,
                ranks: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, L), 0 at padded slots. The GRU reads the list in the initial order: by `ranks`
        when given, else in the slot order."""
        if x.ndim != 3 or x.shape[2] != self.config.d_x:
            raise ValueError(f"DLCM: x must be (B, L, d_x={self.config.d_x}), got {tuple(x.shape)}")
        if ranks is not None:
            if tuple(ranks.shape) != tuple(x.shape[:2]):
                raise ValueError(f"DLCM: ranks must be (B, L) = {tuple(x.shape[:2])}, got {tuple(ranks.shape)}")
            order = ranks.argsort(dim=1)  # (B, L) the slot holding rank r
            logits = self(_take_slots(x, order), _take_slots(pv, order), _take_slots(padding_mask, order))  # by rank
            return logits.gather(1, ranks)  # back to the slots
        b, length, _ = x.shape
        if padding_mask is None:
            padding_mask = torch.zeros(b, length, dtype=torch.bool, device=x.device)
        inputs = torch.cat([x, pv], dim=-1) if self.config.d_pv else x  # (B, L, d_x + d_pv)
        lengths = (~padding_mask).sum(dim=1)  # (B,)
        reversed_inputs = _reverse_real(inputs, lengths)  # last item first
        packed = pack_padded_sequence(reversed_inputs, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
        outputs, s_n = self.gru(packed)  # s_n: (1, B, d_hidden)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=length)  # (B, L, d_hidden)
        o = _reverse_real(outputs, lengths)  # back to the initial order: o_i belongs to item i
        logits = self.v(o * torch.tanh(self.w(s_n[0])).unsqueeze(1)).squeeze(-1)  # (B, L)
        return logits.masked_fill(padding_mask, 0.0)
