"""Losses: pure functions of raw logits, labels and (for lists) a padding mask.

Models return logits; the sigmoid or softmax lives here, computed in a numerically
stable form (log-sigmoid via softplus, log-softmax via logsumexp).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def binary_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """-mean( y log p + (1 - y) log(1 - p) ), p = sigmoid(logit).

    Written as the sum of y log p + (1 - y) log(1 - p) without the minus sign (as some
    walk-throughs of PRM write the pre-training loss), that is the log-likelihood, which training *maximizes*.
    Binary cross-entropy is its negative, which an optimizer minimizes.
    log p = -softplus(-z) and log(1 - p) = -softplus(z) keep it finite for large |z|.
    """
    if logits.shape != labels.shape:
        raise ValueError(f"binary_cross_entropy: logits {tuple(logits.shape)} and labels {tuple(labels.shape)} differ in shape")
    labels = labels.to(logits.dtype)
    return (labels * F.softplus(-logits) + (1 - labels) * F.softplus(logits)).mean()


def _check_lists(name: str, logits: torch.Tensor, labels: torch.Tensor, padding_mask: torch.Tensor | None) -> torch.Tensor:
    if logits.ndim != 2 or labels.shape != logits.shape:
        raise ValueError(f"{name}: logits and labels must both be (B, L), got {tuple(logits.shape)} and {tuple(labels.shape)}")
    if padding_mask is None:
        return torch.zeros_like(logits, dtype=torch.bool)
    if padding_mask.shape != logits.shape or padding_mask.dtype != torch.bool:
        raise ValueError(f"{name}: padding_mask must be bool (B, L) = {tuple(logits.shape)}")
    return padding_mask


def _masked_log_softmax(logits: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
    """log softmax over each list's real slots; padded slots get 0 (never -inf, so no NaN downstream)."""
    log_p = torch.log_softmax(logits.masked_fill(padding_mask, float("-inf")), dim=-1)
    return log_p.masked_fill(padding_mask, 0.0)


def listwise_softmax_nll(logits: torch.Tensor, labels: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
    """The paper's loss: the negative log-likelihood of the clicked items under the softmax over the list.

        loss = - mean over lists with a click of  sum_i y_i log softmax(logits)_i

    Lists without any click are left out: the softmax always gives the list a total of 1,
    so there is no "none of these" it could learn, and such a list says nothing about
    which of its items is better. (If every list of a batch lacks clicks, the loss is 0.)
    """
    padding_mask = _check_lists("listwise_softmax_nll", logits, labels, padding_mask)
    labels = labels.to(logits.dtype).masked_fill(padding_mask, 0.0)
    per_list = -(labels * _masked_log_softmax(logits, padding_mask)).sum(dim=1)  # (B,)
    has_click = labels.sum(dim=1) > 0
    return per_list[has_click].sum() / has_click.sum().clamp(min=1)


def pointwise_bce(logits: torch.Tensor, labels: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross-entropy of every real slot on its own, the list ignored: a pointwise loss."""
    padding_mask = _check_lists("pointwise_bce", logits, labels, padding_mask)
    real = (~padding_mask).to(logits.dtype)
    labels = labels.to(logits.dtype)
    per_slot = labels * F.softplus(-logits) + (1 - labels) * F.softplus(logits)  # (B, L)
    return (per_slot * real).sum() / real.sum().clamp(min=1)


def listnet(logits: torch.Tensor, labels: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
    """ListNet (Cao et al., 2007), top-one probabilities: the cross-entropy between
    softmax(labels) and softmax(logits) over each list's real slots, mean over lists.

    Unlike the paper's loss, every list counts: a list without clicks has a uniform
    target and pulls its scores towards each other (as in ListNet's own definition).
    """
    padding_mask = _check_lists("listnet", logits, labels, padding_mask)
    target = torch.exp(_masked_log_softmax(labels.to(logits.dtype), padding_mask)).masked_fill(padding_mask, 0.0)  # (B, L)
    per_list = -(target * _masked_log_softmax(logits, padding_mask)).sum(dim=1)  # (B,)
    real_lists = ~padding_mask.all(dim=1)
    return per_list[real_lists].sum() / real_lists.sum().clamp(min=1)


LIST_LOSSES = {"softmax_nll": listwise_softmax_nll, "bce": pointwise_bce, "listnet": listnet}
