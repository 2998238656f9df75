"""Model selection from logs: what a new order would earn, estimated from lists shown in a random order.

A re-ranker is chosen (its epoch, its settings) by a number a real system can compute.
The loss on logged validation lists is the obvious one, and it measures how well a model
predicts clicks on the initial order, not what a new order earns. Beside a position-bias
term learned from zero it was wrong: on lists shown in the initial order the displayed
position *is* the initial rank, so the term and PRM's position embedding traded the
position effect between them without changing that loss, while the re-ranking, which uses
PRM's logits alone, changed a lot (benchmarks/README.md, "Model selection"; notebook 06).
Beside a term fixed to the examination (the demo's default) it stops about as well as the
estimate here.

The estimate here is the direct method of off-policy evaluation: fit a click model on
the randomized bucket, where the displayed position, the initial rank, the item and the
items above it vary independently, then ask it what each new order of the validation
lists would earn. Its logit for an item displayed at position j is

    alpha_j + delta_r + w * s + gamma * n_same_above

- alpha_j: one logit per displayed position (examination);
- delta_r: one logit per initial rank r (what the initial ranker knew);
- s: the pointwise click model's logit of the item for this user (what PV knows), weight w;
- n_same_above: items of the same category displayed above it, weight gamma (list context).

It is a model, so it is biased where its form is wrong; it needs no true click model.
The simulated world's own click model judges these estimates in the benchmark and the
notebook; it never selects.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import torch
import torch.nn.functional as F

from prm_edu.metrics import rank_order


def same_group_above(groups: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
    """For each slot, how many real slots above it (lower index) share its group: (R, L) float32."""
    onehot = F.one_hot(groups.clamp(min=0), int(groups.max().clamp(min=0)) + 1).float()  # (R, L, G)
    onehot = onehot.masked_fill(padding_mask.unsqueeze(-1), 0.0)
    above = onehot.cumsum(dim=1) - onehot  # (R, L, G) counts strictly above
    return (above * onehot).sum(dim=2)  # (R, L)


def _check(where: str, padding_mask: torch.Tensor, **tensors: torch.Tensor) -> None:
    for name, t in tensors.items():
        if tuple(t.shape) != tuple(padding_mask.shape):
            raise ValueError(f"{where}: {name} must be (R, L) = {tuple(padding_mask.shape)}, got {tuple(t.shape)}")
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise ValueError(f"{where}: {name} holds NaN or infinite values")


@dataclass(frozen=True)
class ListClickModel:
    """P(click) of an item by its displayed position, initial rank, pointwise logit and same-category items above."""

    alpha: torch.Tensor  # (L,) logit per displayed position
    delta: torch.Tensor  # (L,) logit per initial rank
    w: float  # weight of the pointwise click model's logit
    gamma: float  # logit per same-category item displayed above

    @classmethod
    def fit(cls, shown_at: torch.Tensor, ranks: torch.Tensor, pointwise: torch.Tensor, category: torch.Tensor,
            clicks: torch.Tensor, padding_mask: torch.Tensor, l2: float = 1e-4) -> ListClickModel:
        """Logistic regression on the real slots of randomized lists, (R, L) each, given in any slot order:
        `shown_at` the displayed position of each slot, `ranks` its initial rank. A small `l2` keeps
        rarely seen ranks finite."""
        _check("ListClickModel.fit", padding_mask, shown_at=shown_at, ranks=ranks, pointwise=pointwise, category=category, clicks=clicks)
        if not (shown_at != ranks)[~padding_mask].any():
            raise ValueError("ListClickModel.fit: every list was shown in its initial order; it needs lists shown in a random order")
        length = padding_mask.shape[1]
        display = torch.argsort(shown_at.masked_fill(padding_mask, length), dim=1)  # (R, L) the slot shown at each position
        take = lambda t: t.gather(1, display)  # noqa: E731  (R, L) in display order
        n_above = same_group_above(take(category), take(padding_mask))
        real = ~take(padding_mask)
        j, r, s, y = take(shown_at)[real], take(ranks)[real], take(pointwise).float()[real], take(clicks).float()[real]
        k = n_above[real]
        alpha, delta, weights = torch.zeros(length), torch.zeros(length), torch.zeros(2)
        params = [alpha.requires_grad_(), delta.requires_grad_(), weights.requires_grad_()]
        optimizer = torch.optim.LBFGS(params, max_iter=500, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            logit = alpha[j] + delta[r] + weights[0] * s + weights[1] * k
            loss = F.binary_cross_entropy_with_logits(logit, y) + l2 * (delta**2).sum()
            loss.backward()
            return loss

        with torch.enable_grad():
            optimizer.step(closure)
        w, gamma = weights.detach().tolist()
        return cls(alpha.detach(), delta.detach(), w, gamma)

    def expected_clicks(self, order: torch.Tensor, ranks: torch.Tensor, pointwise: torch.Tensor, category: torch.Tensor,
                        padding_mask: torch.Tensor) -> torch.Tensor:
        """Expected clicks (R,) of each list displayed in `order` (R, L): slot indices, top first, padding last."""
        _check("ListClickModel.expected_clicks", padding_mask, order=order, ranks=ranks, pointwise=pointwise, category=category)
        if padding_mask.shape[1] > len(self.alpha):
            raise ValueError(f"ListClickModel.expected_clicks: lists of {padding_mask.shape[1]} slots are longer than the "
                             f"{len(self.alpha)} positions the model was fitted on")
        take = lambda t: t.gather(1, order)  # noqa: E731  (R, L) in display order
        real = ~take(padding_mask)
        n_above = same_group_above(take(category), take(padding_mask))
        logit = self.alpha[: order.shape[1]] + self.delta[take(ranks)] + self.w * take(pointwise) + self.gamma * n_above
        return (torch.sigmoid(logit) * real).sum(dim=1)


@dataclass(frozen=True)
class OrderValue:
    """The stopping rule's number: estimated clicks per list of a re-ranker's orders of some lists, minus
    those of the initial order (> 0: the re-ranking is estimated to earn more than the initial order)."""

    click_model: ListClickModel  # or anything with its `expected_clicks` (e.g. examination.PositionBasedModel)
    ranks: torch.Tensor  # (R, L) of the lists judged
    pointwise: torch.Tensor  # (R, L)
    category: torch.Tensor  # (R, L)
    padding_mask: torch.Tensor  # (R, L)

    def clicks(self, order: torch.Tensor) -> torch.Tensor:
        return self.click_model.expected_clicks(order, self.ranks, self.pointwise, self.category, self.padding_mask)

    @cached_property
    def initial_clicks(self) -> torch.Tensor:
        """Estimated clicks (R,) of the initial order, computed once."""
        return self.clicks(torch.argsort(self.ranks.masked_fill(self.padding_mask, self.ranks.shape[1]), dim=1))  # slots by rank

    def __call__(self, logits: torch.Tensor) -> float:
        """Estimated gain in clicks per list of sorting each list by `logits` (R, L) over the initial order."""
        new = rank_order(logits.cpu(), self.padding_mask)
        return float((self.clicks(new) - self.initial_clicks).mean())
