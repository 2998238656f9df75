"""RerankBatch: what a re-ranker reads of a batch of initial lists.

    x             (B, L, d_x)   item features X, row i = x_i, in the initial order
    pv            (B, L, d_pv)  personalized vectors PV (d_pv = 0 without a click model)
    ranks         (B, L)        each slot's initial rank: 0 = the initial ranker's best item
                                (what PRM's position embedding reads)
    shown_at      (B, L)        where each item was displayed: its rank for lists shown in the
                                initial order, another permutation for lists shown in a random
                                order (what the position-bias term reads)
    labels        (B, L)        logged clicks
    padding_mask  (B, L)        True where padded (padding sits at the end of a row)
    users, items  (B,), (B, L)  ids, for measures under the world's click model

Lists of different lengths are padded to the longest; every padded slot holds zeros.
A whole request log is itself one `RerankBatch`, indexable by rows, which is what the
fit loop iterates over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from prm_edu.data.world import PAD, RequestLog, initial_order


FIELDS = ("x", "pv", "ranks", "shown_at", "labels", "padding_mask", "users", "items")  # RerankBatch's tensors, in order


@dataclass
class RerankBatch:
    x: torch.Tensor  # (B, L, d_x) float32
    pv: torch.Tensor  # (B, L, d_pv) float32
    ranks: torch.Tensor  # (B, L) int64, initial rank of each slot
    shown_at: torch.Tensor  # (B, L) int64, displayed position of each slot
    labels: torch.Tensor  # (B, L) float32
    padding_mask: torch.Tensor  # (B, L) bool
    users: torch.Tensor  # (B,) int64
    items: torch.Tensor  # (B, L) int64, PAD where padded

    def __post_init__(self) -> None:
        b, length = self.padding_mask.shape
        shapes = {"x": self.x.shape[:2], "pv": self.pv.shape[:2], "ranks": self.ranks.shape, "shown_at": self.shown_at.shape,
                  "labels": self.labels.shape, "items": self.items.shape}
        for name, shape in shapes.items():
            if tuple(shape) != (b, length):
                raise ValueError(f"RerankBatch.{name} must start with (B, L) = {(b, length)}, got {tuple(shape)}")
        for name in ("ranks", "shown_at"):
            slots = getattr(self, name)
            if slots.numel() and (slots.min() < 0 or slots.max() >= length):
                raise ValueError(f"RerankBatch.{name} must hold slot numbers in [0, {length}), "
                                 f"got values in [{int(slots.min())}, {int(slots.max())}]")
        if self.x.ndim != 3 or self.pv.ndim != 3:
            raise ValueError(f"RerankBatch.x and .pv must be 3-D (B, L, d), got {self.x.ndim}-D and {self.pv.ndim}-D")
        if torch.isnan(self.x).any() or torch.isnan(self.pv).any():
            raise ValueError("RerankBatch: x or pv contains NaN")

    def __len__(self) -> int:
        return self.padding_mask.shape[0]

    def _tensors(self) -> tuple[torch.Tensor, ...]:
        return tuple(getattr(self, name) for name in FIELDS)

    def _derived(self, tensors) -> RerankBatch:
        """Rows of this batch, or this batch on another device. Its values were checked when it was
        built; checking them again (`isnan(...).any()`) would make the host wait for the device at
        every training step, so the new batch skips `__post_init__`."""
        batch = object.__new__(RerankBatch)
        batch.__dict__.update(zip(FIELDS, tensors))
        return batch

    def __getitem__(self, index) -> RerankBatch:
        return self._derived(t[index] for t in self._tensors())

    def to(self, device: torch.device | str) -> RerankBatch:
        return self._derived(t.to(device) for t in self._tensors())

    @property
    def d_x(self) -> int:
        return self.x.shape[2]

    @property
    def d_pv(self) -> int:
        return self.pv.shape[2]

    def without_pv(self) -> RerankBatch:
        """The same lists with an empty PV (d_pv = 0), as PRM-BASE sees them."""
        empty = self.pv.new_zeros((*self.pv.shape[:2], 0))
        return RerankBatch(self.x, empty, self.ranks, self.shown_at, self.labels, self.padding_mask, self.users, self.items)


def rerank_batch(item_features: np.ndarray, log: RequestLog, pv: torch.Tensor | None = None,
                 shown_at: np.ndarray | None = None) -> RerankBatch:
    """All lists of `log` as one RerankBatch; `item_features` (I, d_x) gives X, `pv` (R, L, d_pv) the PV,
    `shown_at` (R, L) the displayed positions (see `world.in_initial_order`; None: the slot order).
    The ranks come from the log's initial scores: the best-scored real item has rank 0."""
    items = torch.as_tensor(log.items)
    padding_mask = items == PAD  # (R, L)
    features = torch.as_tensor(item_features, dtype=torch.float32)
    x = features[items.clamp(min=0)] * (~padding_mask).unsqueeze(-1)  # (R, L, d_x), zeros at padding
    if pv is None:
        pv = torch.zeros((*items.shape, 0))
    if tuple(pv.shape[:2]) != tuple(items.shape):
        raise ValueError(f"rerank_batch: pv must be (R, L, d_pv) with (R, L) = {tuple(items.shape)}, got {tuple(pv.shape)}")
    if shown_at is None:
        shown_at = torch.arange(items.shape[1]).expand_as(items).clone()  # (R, L)
    else:
        shown_at = torch.as_tensor(shown_at, dtype=torch.int64)
        if tuple(shown_at.shape) != tuple(items.shape):
            raise ValueError(f"rerank_batch: shown_at must be (R, L) = {tuple(items.shape)}, got {tuple(shown_at.shape)}")
    return RerankBatch(x=x, pv=pv.float() * (~padding_mask).unsqueeze(-1), ranks=initial_ranks(log), shown_at=shown_at,
                       labels=torch.as_tensor(log.clicks, dtype=torch.float32), padding_mask=padding_mask,
                       users=torch.as_tensor(log.users), items=items)


def initial_ranks(log: RequestLog) -> torch.Tensor:
    """(R, L) each slot's rank by the log's initial scores: 0 for the best real item, padding last."""
    return torch.as_tensor(np.argsort(initial_order(log), axis=1), dtype=torch.int64)  # the inverse permutation


def concat(batches: list[RerankBatch]) -> RerankBatch:
    """The lists of several RerankBatches (same L and widths) as one."""
    return RerankBatch(*(torch.cat([getattr(b, f) for b in batches]) for f in FIELDS))


def pad_lists(lists: list[torch.Tensor], length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack variable-length lists, each (n_i, ...) , into (B, L, ...) zero-padded, plus the (B, L) padding mask.

    Nothing is truncated: a list longer than `length` raises ValueError.
    """
    if not lists:
        raise ValueError("pad_lists: no lists given")
    longest = max(len(t) for t in lists)
    length = longest if length is None else length
    if longest > length:
        raise ValueError(f"pad_lists: a list has {longest} items, longer than length={length}")
    out = lists[0].new_zeros((len(lists), length, *lists[0].shape[1:]))
    padding_mask = torch.ones((len(lists), length), dtype=torch.bool)
    for row, t in enumerate(lists):
        out[row, : len(t)] = t
        padding_mask[row, : len(t)] = False
    return out, padding_mask
