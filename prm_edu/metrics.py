"""Ranking metrics on padded batches of lists, equal to trec_eval's, and the world's own measures.

Every ranking metric takes `scores` (B, L) (higher = ranked higher), `labels` (B, L)
(the logged relevance of each item, e.g. clicks) and an optional `padding_mask` (B, L)
(True where padded). Lists are sorted by score, descending; **ties keep the items'
order in the input** (the earlier slot first), and padded slots go last and never count.
To score the initial order itself, pass `scores = -positions` (see `initial_order_scores`).

Definitions (as trec_eval's `P_k`, `map_cut_k`, `ndcg_cut_k`; a label > 0 is relevant):
- P@k = (relevant items in the top k) / k, always divided by k, even for a shorter list;
- MAP@k = sum over relevant items ranked j <= k of P@j, divided by the number of
  relevant items in the whole list (not by min(R, k));
- NDCG@k = DCG@k / ideal DCG@k, with gain = label and discount 1 / log2(rank + 1).

Lists with no relevant item. Their per-list value is 0 for every metric (as in
trec_eval), but `reduction="mean"` leaves them out of the mean: no ordering of such a
list can do better or worse, so counting them would only shrink every method's number
towards 0 alike and hide the differences between re-rankers. The mean is NaN when no
list in the batch has a relevant item. Use `reduction="none"` for per-list values.

Shapes: B lists, L slots per list.
"""

from __future__ import annotations

import numpy as np
import torch

Array = torch.Tensor | np.ndarray


def _as_tensors(scores: Array, labels: Array, padding_mask: Array | None, k: int, name: str):
    scores = torch.as_tensor(scores)
    labels = torch.as_tensor(labels)
    if scores.ndim != 2 or labels.shape != scores.shape:
        raise ValueError(f"{name}: scores and labels must both be (B, L), got {tuple(scores.shape)} and {tuple(labels.shape)}")
    if padding_mask is None:
        padding_mask = torch.zeros(scores.shape, dtype=torch.bool, device=scores.device)
    padding_mask = torch.as_tensor(padding_mask, device=scores.device)
    if padding_mask.shape != scores.shape or padding_mask.dtype != torch.bool:
        raise ValueError(
            f"{name}: padding_mask must be bool (B, L) = {tuple(scores.shape)}, got {padding_mask.dtype} {tuple(padding_mask.shape)}"
        )
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"{name}: k must be an integer >= 1, got {k!r}")
    labels = labels.to(scores.device, torch.float64)
    real = ~padding_mask
    if torch.isnan(scores[real].float()).any():
        raise ValueError(f"{name}: scores contain NaN at real (unpadded) slots")
    if torch.isnan(labels[real]).any() or (labels[real] < 0).any():
        raise ValueError(f"{name}: labels must be >= 0 and not NaN at real (unpadded) slots")
    return scores, labels.masked_fill(padding_mask, 0.0), padding_mask


def rank_order(scores: Array, padding_mask: Array | None = None) -> torch.Tensor:
    """Order (B, L): slot indices sorted by score descending; ties keep input order; padding last."""
    scores = torch.as_tensor(scores)
    if padding_mask is None:
        padding_mask = torch.zeros(scores.shape, dtype=torch.bool, device=scores.device)
    padding_mask = torch.as_tensor(padding_mask, device=scores.device)
    by_score = torch.sort(scores, dim=1, descending=True, stable=True).indices  # (B, L)
    pad_of = padding_mask.gather(1, by_score).to(torch.int8)  # (B, L) 1 where padded
    real_first = torch.sort(pad_of, dim=1, stable=True).indices  # stable: keeps the score order
    return by_score.gather(1, real_first)


def initial_order_scores(padding_mask: Array) -> torch.Tensor:
    """Scores (B, L) that keep the initial order: the earlier the slot, the higher."""
    padding_mask = torch.as_tensor(padding_mask)
    length = padding_mask.shape[1]
    return -torch.arange(length, dtype=torch.float32, device=padding_mask.device).expand(padding_mask.shape).clone()


def scores_from_order(order: Array) -> torch.Tensor:
    """Scores (B, L), on `order`'s device, under which `rank_order` gives back `order` (B, L): the slot placed j-th gets -j."""
    order = torch.as_tensor(order)
    ranks = -torch.arange(order.shape[1], dtype=torch.float32, device=order.device).expand(order.shape)
    return torch.zeros(order.shape, device=order.device).scatter(1, order, ranks)


def _reduce(per_list: torch.Tensor, labels: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "none":
        return per_list
    if reduction != "mean":
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    has_relevant = (labels > 0).any(dim=1)
    if not has_relevant.any():
        return torch.tensor(float("nan"), dtype=per_list.dtype, device=per_list.device)
    return per_list[has_relevant].mean()


def _top_k_relevance(scores, labels, padding_mask, k):
    """Labels in ranked order, cut to the first k slots: (B, min(k, L))."""
    order = rank_order(scores, padding_mask)
    return labels.gather(1, order)[:, :k]


def precision_at_k(scores: Array, labels: Array, k: int, padding_mask: Array | None = None, reduction: str = "mean") -> torch.Tensor:
    """P@k: the share of the top k slots that hold a relevant item (trec_eval `P_k`)."""
    scores, labels, padding_mask = _as_tensors(scores, labels, padding_mask, k, "precision_at_k")
    top = _top_k_relevance(scores, labels, padding_mask, k) > 0  # (B, k')
    return _reduce(top.sum(dim=1) / k, labels, reduction)


def average_precision_at_k(
    scores: Array, labels: Array, k: int, padding_mask: Array | None = None, reduction: str = "mean"
) -> torch.Tensor:
    """AP@k per list; its mean over lists is MAP@k (trec_eval `map_cut_k`)."""
    scores, labels, padding_mask = _as_tensors(scores, labels, padding_mask, k, "average_precision_at_k")
    top = (_top_k_relevance(scores, labels, padding_mask, k) > 0).double()  # (B, k')
    ranks = torch.arange(1, top.shape[1] + 1, dtype=torch.float64, device=top.device)  # (k',)
    precision_at_rank = top.cumsum(dim=1) / ranks  # (B, k') P@j
    n_relevant = (labels > 0).sum(dim=1).clamp(min=1)  # (B,) all relevant items of the list
    return _reduce((precision_at_rank * top).sum(dim=1) / n_relevant, labels, reduction)


def ndcg_at_k(scores: Array, labels: Array, k: int, padding_mask: Array | None = None, reduction: str = "mean") -> torch.Tensor:
    """NDCG@k with gain = label and discount 1/log2(rank + 1) (trec_eval `ndcg_cut_k`)."""
    scores, labels, padding_mask = _as_tensors(scores, labels, padding_mask, k, "ndcg_at_k")
    gains = _top_k_relevance(scores, labels, padding_mask, k)  # (B, k')
    discount = 1.0 / torch.log2(torch.arange(2, gains.shape[1] + 2, dtype=torch.float64, device=gains.device))  # (k',)
    dcg = (gains * discount).sum(dim=1)
    ideal = torch.sort(labels, dim=1, descending=True).values[:, :k]  # (B, k') best possible order
    idcg = (ideal * discount).sum(dim=1)
    return _reduce(torch.where(idcg > 0, dcg / idcg.clamp(min=1e-12), 0.0), labels, reduction)


def ranking_report(scores: Array, labels: Array, padding_mask: Array | None = None) -> dict[str, float]:
    """The paper's metrics (P@5, P@10, MAP@5, MAP@10, MAP@30) and NDCG@10, as means."""
    return {
        "P@5": precision_at_k(scores, labels, 5, padding_mask).item(),
        "P@10": precision_at_k(scores, labels, 10, padding_mask).item(),
        "MAP@5": average_precision_at_k(scores, labels, 5, padding_mask).item(),
        "MAP@10": average_precision_at_k(scores, labels, 10, padding_mask).item(),
        "MAP@30": average_precision_at_k(scores, labels, 30, padding_mask).item(),
        "NDCG@10": ndcg_at_k(scores, labels, 10, padding_mask).item(),
    }


# ----- measures that need the world's true click model ---------------------------------------


def expected_clicks(world, users: np.ndarray, items: np.ndarray, order: Array | None = None) -> np.ndarray:
    """Expected clicks (R,) of each list `items` (R, L) shown in `order` (R, L) (None: as given)."""
    items = np.asarray(items)
    if order is not None:
        order = np.asarray(torch.as_tensor(order).cpu())
        if order.shape != items.shape:
            raise ValueError(f"expected_clicks: order {order.shape} must have the shape of items {items.shape}")
        items = np.take_along_axis(items, order, axis=1)
    return world.expected_clicks(users, items)


def share_of_oracle_gain(clicks_new: Array, clicks_initial: Array, clicks_oracle: Array) -> float:
    """(clicks(new) - clicks(initial)) / (clicks(oracle) - clicks(initial)), from per-list means.

    A ratio of means, not a mean of per-list ratios: a list where the oracle gains
    almost nothing would make its own ratio explode. 0 = no better than the initial
    order, 1 = as good as the oracle; negative = worse than the initial order.
    """
    new, initial, oracle = (float(np.mean(np.asarray(c))) for c in (clicks_new, clicks_initial, clicks_oracle))
    if not oracle > initial:
        raise ValueError(f"share_of_oracle_gain: the oracle ({oracle:.4f}) must beat the initial order ({initial:.4f})")
    return (new - initial) / (oracle - initial)


# ----- click-model measures ---------------------------------------------------------------------


def auc(scores: Array, labels: Array) -> float:
    """Area under the ROC curve: P(score of a random click > score of a random non-click),
    ties counting one half (the Mann-Whitney statistic with average ranks)."""
    scores = np.asarray(torch.as_tensor(scores).detach().cpu(), dtype=np.float64).ravel()
    positive = np.asarray(torch.as_tensor(labels).detach().cpu()).ravel() > 0
    if scores.shape != positive.shape:
        raise ValueError(f"auc: scores {scores.shape} and labels {positive.shape} differ in shape")
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("auc: needs at least one positive and one negative label")
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    first_rank = np.cumsum(counts) - counts + 1  # 1-based rank of the first of each tied group
    ranks = (first_rank + (counts - 1) / 2)[inverse]  # average rank within ties
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
