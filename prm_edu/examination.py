"""The examination e_j: how likely an item shown at position j is looked at, estimated from logs.

Logged clicks mix two things: whether the user looked at a slot (e_j, the examination)
and whether what was there appealed to them. A position-bias term beside a re-ranker
(`prm_edu.position_bias.WithPositionBias`) must carry the examination and nothing else:
if it learns more (the list context of a random order, the initial ranker's ordering),
the re-ranker's own logits lose what it stands for (notebook 06, "What a position-bias
term must learn").

Every estimator here shares one contract: it reads `ShownLists` (what a log holds) and
returns log e_j, a float64 array (L,), relative to position 0 (log e_0 = 0). The world's
truth judges them in `benchmarks/examination.py`; it never tunes them.

- `click_rate_curve`: the click rate per displayed position of a randomized bucket
  (lists shown in a random order; Joachims et al., WSDM 2017). Biased wherever anything
  besides the examination falls with the position: here the list context (lower slots
  have more same-category items above them).
- `logit_position_term`: the position logit alpha_j of `selection.ListClickModel`. A term
  added to a logit is not a factor of the probability: P = e_j * sigmoid(z) is not
  sigmoid(alpha_j + z), so alpha_j is steeper than log e_j.
- `PositionBasedModel.fit(lists)`: the position-based click model (Chuklin, Markov and
  de Rijke, Click Models for Web Search, 2015), P(click) = e_j * sigmoid(z), fitted by
  maximum likelihood on a randomized bucket. Its item term z reads what the logs know of
  the item (the pre-trained click model's logit, the initial rank), the list context
  (same-category items displayed above) and the list's composition (same-category items
  anywhere in the list): without that last control, items of a category the user likes
  come in numbers, so "many above" goes with "liked", the context weight comes out too
  weak and e_j takes up the rest of the context's fall. log e_j is a non-increasing
  piecewise-linear function of log(1 + j) with knots at j = 0, 1, 2, 4, 8, ..., L-1: a
  power law (today's world) is one straight line of it, any other curve is followed knot
  by knot, and a small bucket cannot make it zig-zag.
- `PositionBasedModel.fit(lists, reads="score")`: the same model on the logged lists
  alone, no randomized bucket. The item term reads the initial ranker's score instead of
  its rank; the position an item gets for a given score still varies with the other
  items of its list, and that natural variation (harvested interventions, in the spirit
  of Agarwal et al., WSDM 2019) is what tells e_j apart. Weaker: it trusts that the
  score, s and the context explain everything else that falls with the position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from prm_edu.position_bias import examination_from_click_rates
from prm_edu.selection import ListClickModel, same_group_above

READS = ("rank", "score")  # what a PositionBasedModel's item term reads of the initial ranker


@dataclass(frozen=True)
class ShownLists:
    """Lists as a log holds them, (R, L) each, slots in any order (e.g. the initial one)."""

    shown_at: torch.Tensor  # int64, the position each slot was displayed at
    ranks: torch.Tensor  # int64, its initial rank
    scores: torch.Tensor  # float, the initial ranker's score
    pointwise: torch.Tensor  # float, the pre-trained click model's logit of the item for this user
    category: torch.Tensor  # int64, the item's category
    clicks: torch.Tensor  # float, 1 = clicked
    padding_mask: torch.Tensor  # bool, True where padded

    def __post_init__(self) -> None:
        shape = tuple(self.padding_mask.shape)
        for name in ("shown_at", "ranks", "scores", "pointwise", "category", "clicks"):
            t = getattr(self, name)
            if tuple(t.shape) != shape:
                raise ValueError(f"ShownLists: {name} must be (R, L) = {shape}, got {tuple(t.shape)}")
            if t.is_floating_point() and not torch.isfinite(t).all():
                raise ValueError(f"ShownLists: {name} holds NaN or infinite values")
        real = ~self.padding_mask
        if not real.any():
            raise ValueError("ShownLists: every slot is padded")
        if ((self.shown_at[real] < 0) | (self.shown_at[real] >= shape[1])).any():
            raise ValueError(f"ShownLists: shown_at must be positions in [0, {shape[1]}) on real slots")
        if not ((self.clicks[real] == 0) | (self.clicks[real] == 1)).all():
            raise ValueError("ShownLists: clicks must be 0 or 1 on real slots")

    @property
    def length(self) -> int:
        return self.padding_mask.shape[1]

    @property
    def randomized(self) -> bool:
        """True when some list was shown in another order than the initial one."""
        return bool((self.shown_at != self.ranks)[~self.padding_mask].any())

    @property
    def display(self) -> torch.Tensor:
        """(R, L) the slot displayed at each position, padding last."""
        return torch.argsort(self.shown_at.masked_fill(self.padding_mask, self.length), dim=1)

    def in_display_order(self) -> dict[str, torch.Tensor]:
        """Every field (R, L) with the slots sorted by displayed position (padding last), and two more:
        `above`, same-category items displayed above each slot, and `in_list`, same-category items anywhere
        else in its list (the list's composition, the same whatever the order)."""
        display = self.display
        out = {name: getattr(self, name).gather(1, display) for name in
               ("shown_at", "ranks", "scores", "pointwise", "category", "clicks", "padding_mask")}
        out["above"], out["in_list"] = same_category_counts(out["category"], out["padding_mask"])
        return out


def same_category_counts(category: torch.Tensor, padding_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For lists in display order (R, L): same-category items displayed above each slot, and those anywhere
    else in its list."""
    above = same_group_above(category, padding_mask)  # (R, L)
    return above, above + same_group_above(category.flip(1), padding_mask.flip(1)).flip(1)


def _check_positions(lists: ShownLists, where: str) -> None:
    shown = torch.bincount(lists.shown_at[~lists.padding_mask], minlength=lists.length)  # (L,) impressions per position
    if (shown == 0).any():
        raise ValueError(f"{where}: positions {torch.nonzero(shown == 0).flatten().tolist()} were never shown")


def click_rate_curve(lists: ShownLists) -> np.ndarray:
    """log e_j (L,) read off the click rate at each displayed position of a randomized bucket, smoothed to be
    non-increasing (pool adjacent violators; see `position_bias.estimate_examination`)."""
    if not lists.randomized:
        raise ValueError("click_rate_curve: every list was shown in its initial order; it needs a randomized bucket")
    real = ~lists.padding_mask
    shown = torch.bincount(lists.shown_at[real], minlength=lists.length).double().numpy()  # (L,) impressions per position
    clicked = torch.bincount(lists.shown_at[real], weights=lists.clicks[real].double(), minlength=lists.length).numpy()
    return np.log(examination_from_click_rates(shown, clicked, "click_rate_curve"))


def logit_position_term(lists: ShownLists) -> np.ndarray:
    """alpha_j - alpha_0 (L,) of `selection.ListClickModel` fitted on a randomized bucket: a logit, not log e_j."""
    _check_positions(lists, "logit_position_term")
    fitted = ListClickModel.fit(lists.shown_at, lists.ranks, lists.pointwise, lists.category, lists.clicks, lists.padding_mask)
    return (fitted.alpha - fitted.alpha[0]).double().numpy()


def pbm_negative_log_likelihood(log_e: torch.Tensor, z: torch.Tensor, position: torch.Tensor, clicks: torch.Tensor) -> torch.Tensor:
    """The position-based model's loss, the mean over N impressions of
    -[y log(e_j sigmoid(z)) + (1 - y) log(1 - e_j sigmoid(z))]: `log_e` (L,), `z` (N,) the item terms,
    `position` (N,) where each was displayed, `clicks` (N,) 0 or 1. Computed in logs (logsigmoid), so a
    very negative z gives no log(0)."""
    log_p = log_e[position] + F.logsigmoid(z)  # (N,) log P(click)
    log_not = torch.log1p(-torch.exp(log_p).clamp(max=1 - 1e-9))  # (N,) log P(no click)
    return -(clicks * log_p + (1 - clicks) * log_not).mean()


def knots(length: int) -> np.ndarray:
    """The positions where log e_j may bend: 0, 1, 2, 4, 8, ... and the last one, L-1."""
    points = [0] + [2**k for k in range(int(np.log2(max(length - 1, 1))) + 1)] + [length - 1]
    return np.array(sorted({p for p in points if p < length}), dtype=float)


def ramps(length: int) -> torch.Tensor:
    """(L, K-1): how far log(1 + j) reaches into each of the K-1 segments between the knots. log e = -ramps @ slopes,
    slopes >= 0, is non-increasing and linear in log(1 + j) between knots."""
    at = np.log1p(knots(length))
    reach = np.log1p(np.arange(length))[:, None] - at[None, :-1]  # (L, K-1)
    return torch.as_tensor(np.clip(reach, 0.0, (at[1:] - at[:-1])[None, :]), dtype=torch.float64)


@dataclass(frozen=True)
class PositionBasedModel:
    """P(click) = e_j * sigmoid(z): the examination e_j times the item's appeal in its list, with
    z = b + w * s + delta_r + gamma * above + kappa * in_list   (reads="rank"), or
    z = b + w * s + v * score + gamma * above + kappa * in_list (reads="score");
    s the click model's logit, r the initial rank (delta_0 = 0), score the initial ranker's score."""

    log_examination: np.ndarray  # (L,) float64, log e_j, log e_0 = 0
    item_weights: dict[str, float]  # b, w, gamma, kappa, and v (reads="score")
    delta: np.ndarray  # (L,) logit per initial rank (reads="rank"), zeros otherwise
    reads: str

    @classmethod
    def fit(cls, lists: ShownLists, reads: str = "rank", max_iter: int = 500) -> PositionBasedModel:
        """Maximum likelihood (L-BFGS) on every real slot of `lists`. reads="rank" needs a randomized bucket
        (with lists shown in their initial order, position and rank are the same thing)."""
        if reads not in READS:
            raise ValueError(f"PositionBasedModel.fit: reads must be one of {READS}, got {reads!r}")
        if reads == "rank" and not lists.randomized:
            raise ValueError("PositionBasedModel.fit: every list was shown in its initial order; reads='rank' needs a "
                             "randomized bucket (or use reads='score' on logged lists)")
        _check_positions(lists, "PositionBasedModel.fit")
        shown = lists.in_display_order()
        real = ~shown["padding_mask"]
        j, r, y = shown["shown_at"][real], shown["ranks"][real], shown["clicks"][real].double()  # (N,) each
        columns = {"w": shown["pointwise"], "gamma": shown["above"], "kappa": shown["in_list"]}
        if reads == "score":
            columns["v"] = shown["scores"]
        features = torch.stack([c[real].double() for c in columns.values()], dim=1)  # (N, F)
        ramp = ramps(lists.length)  # (L, K-1)
        slopes = torch.zeros(ramp.shape[1], dtype=torch.float64, requires_grad=True)  # softplus(slopes) >= 0
        weights = torch.zeros(features.shape[1] + 1, dtype=torch.float64, requires_grad=True)  # b, then one per column
        delta = torch.zeros(lists.length, dtype=torch.float64, requires_grad=reads == "rank")
        params = [slopes, weights] + ([delta] if reads == "rank" else [])
        optimizer = torch.optim.LBFGS(params, max_iter=max_iter, line_search_fn="strong_wolfe")

        def log_e() -> torch.Tensor:
            return -(ramp @ F.softplus(slopes))  # (L,), 0 at j = 0

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            z = weights[0] + features @ weights[1:] + (delta[r] - delta[0] if reads == "rank" else 0.0)  # (N,)
            loss = pbm_negative_log_likelihood(log_e(), z, j, y)
            loss.backward()
            return loss

        with torch.enable_grad():
            optimizer.step(closure)
        fitted = weights.detach().tolist()
        return cls(log_e().detach().numpy(), dict(zip(["b", *columns], fitted)),
                   (delta - delta[0]).detach().numpy() if reads == "rank" else np.zeros(lists.length), reads)

    def item_logit(self, pointwise: torch.Tensor, ranks: torch.Tensor, scores: torch.Tensor | None, above: torch.Tensor,
                   in_list: torch.Tensor) -> torch.Tensor:
        """z (R, L) of each slot: its click model's logit, initial rank (or the ranker's score), and the counts."""
        k = self.item_weights
        z = k["b"] + k["w"] * pointwise.double() + k["gamma"] * above + k["kappa"] * in_list
        return z + (k["v"] * scores.double() if self.reads == "score" else torch.as_tensor(self.delta)[ranks])

    def click_probability(self, lists: ShownLists) -> torch.Tensor:
        """P(click) (R, L) of every slot of `lists` where it was displayed, in the slots' order; 0 where padded."""
        if lists.length != len(self.log_examination):
            raise ValueError(f"PositionBasedModel.click_probability: lists of {lists.length} slots, the model was fitted "
                             f"on {len(self.log_examination)} positions")
        shown = lists.in_display_order()
        z = self.item_logit(shown["pointwise"], shown["ranks"], shown["scores"], shown["above"], shown["in_list"])
        p = torch.as_tensor(np.exp(self.log_examination))[shown["shown_at"]] * torch.sigmoid(z)  # (R, L) in display order
        p = p.masked_fill(shown["padding_mask"], 0.0)
        return torch.empty_like(p).scatter_(1, lists.display, p)  # back to the slots' order

    def expected_clicks(self, order: torch.Tensor, ranks: torch.Tensor, pointwise: torch.Tensor, category: torch.Tensor,
                        padding_mask: torch.Tensor) -> torch.Tensor:
        """Expected clicks (R,) of each list displayed in `order` (R, L): slot indices, top first, padding last;
        the other tensors (R, L) in slot order. The contract of `selection.ListClickModel.expected_clicks`, so that
        `selection.OrderValue` can judge new orders with this model (reads="rank" only)."""
        if self.reads != "rank":
            raise ValueError("PositionBasedModel.expected_clicks: a model that reads the initial ranker's score cannot judge "
                             "new orders from ranks; fit it with reads='rank'")
        length = order.shape[1]
        if length > len(self.log_examination):
            raise ValueError(f"PositionBasedModel.expected_clicks: lists of {length} slots, the model was fitted on "
                             f"{len(self.log_examination)} positions")
        take = lambda t: t.gather(1, order)  # noqa: E731  (R, L) in display order
        shown_mask = take(padding_mask)
        z = self.item_logit(take(pointwise), take(ranks), None, *same_category_counts(take(category), shown_mask))
        p = torch.as_tensor(np.exp(self.log_examination[:length])) * torch.sigmoid(z)  # (R, L)
        return p.masked_fill(shown_mask, 0.0).sum(dim=1).float()


def position_based_model(lists: ShownLists) -> np.ndarray:
    """log e_j (L,) of the position-based model fitted on a randomized bucket (the demo's estimate)."""
    return PositionBasedModel.fit(lists, reads="rank").log_examination


def position_based_model_on_logs(lists: ShownLists) -> np.ndarray:
    """log e_j (L,) of the position-based model fitted on logged lists alone, reading the initial ranker's score."""
    return PositionBasedModel.fit(lists, reads="score").log_examination


# Every estimator by name, each (ShownLists) -> log e_j (L,); the benchmark and notebook 06 compare them
ESTIMATORS = {
    "click-rate curve": click_rate_curve,
    "logit-additive alpha_j": logit_position_term,
    "position-based model": position_based_model,
    "position-based model, logs only": position_based_model_on_logs,
}
