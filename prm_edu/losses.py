"""Losses: pure functions of raw logits, labels and (for lists) a padding mask.

Models return logits; the sigmoid or softmax lives here, computed in a numerically
stable form (log-sigmoid via softplus, log-softmax via logsumexp).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def binary_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """-mean( y log p + (1 - y) log(1 - p) ), p = sigmoid(logit).

    The seed writes the pre-training loss as the sum of y log p + (1 - y) log(1 - p)
    without the minus sign: that is the log-likelihood, which training *maximizes*.
    Binary cross-entropy is its negative, which an optimizer minimizes.
    log p = -softplus(-z) and log(1 - p) = -softplus(z) keep it finite for large |z|.
    """
    if logits.shape != labels.shape:
        raise ValueError(f"binary_cross_entropy: logits {tuple(logits.shape)} and labels {tuple(labels.shape)} differ in shape")
    labels = labels.to(logits.dtype)
    return (labels * F.softplus(-logits) + (1 - labels) * F.softplus(logits)).mean()
