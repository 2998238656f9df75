"""Ceilings: how much of the oracle's gain a re-ranker *could* reach on the simulated world,
given what it can know. Nothing is trained here: each row sorts the lists by a score built
from the world's truth or from a click model's estimates, and reports its share of the
oracle's gain (the demo's measure).

Why these rows. The greedy oracle is exactly "sort by a_ui - lambda * (number of items of
the same category in the list with a higher a_ui)" (`World.rank_in_category`): within a
category the items go down in the order of a, each one lambda lower than the one before,
and greedy merges those runs. So a one-pass, list-aware scorer such as PRM can express
the oracle. What it can *learn* is bounded by two things:

1. How well it knows a_ui. Rows "a_hat ...": a click model's logit (what PV carries),
   context-blind, and with the true context rule applied on top of it.
2. Which context the logs teach. Logged clicks carry the context of the order that was
   shown: same-category items above in the *initial* order, not in the new order. Rows
   "... - lambda * n_above(initial)": a scorer that learned that logged rule perfectly.

Shapes: R lists of L slots; item id PAD (-1) marks padding.
"""

from __future__ import annotations

import numpy as np

from prm_edu.data.world import PAD, World
from prm_edu.metrics import expected_clicks, rank_order, share_of_oracle_gain


def ceiling_rows(world: World, users: np.ndarray, items: np.ndarray, a_hat: np.ndarray) -> dict[str, float]:
    """Share of the oracle's gain of each ceiling score on the lists `items` (R, L) of `users` (R,);
    `a_hat` (R, L) is a click model's logit of every slot (padding ignored).

    `a_hat` is put on a's scale first (a least-squares slope over the real slots), so that
    lambda, a logit penalty of the true click model, means the same for both."""
    items, a_hat = np.asarray(items), np.asarray(a_hat, dtype=np.float64)
    if a_hat.shape != items.shape:
        raise ValueError(f"ceiling_rows: a_hat {a_hat.shape} and items {items.shape} must have the same shape")
    real = items != PAD
    if not np.isfinite(a_hat[real]).all():
        raise ValueError("ceiling_rows: a_hat holds NaN or infinite values at real slots")
    a = world.attractiveness(users, items)  # (R, L), checks users and items
    lam = world.config.context_penalty if world.config.context else 0.0
    slope = np.polyfit(a_hat[real], a[real], 1)[0]  # a ≈ slope * a_hat + c
    a_hat = slope * a_hat
    n_above = world.same_category_above(items)  # (R, L), in the initial order
    initial = expected_clicks(world, users, items)  # (R,)
    oracle = expected_clicks(world, users, items, world.oracle_order(users, items))

    def share(score: np.ndarray) -> float:
        order = rank_order(score, ~real)  # best first, padding last
        return share_of_oracle_gain(expected_clicks(world, users, items, order), initial, oracle)

    return {
        "a, context-blind (the context-blind oracle)": share(a),
        "a - lambda * n_above(initial)": share(a - lam * n_above),
        "a - lambda * rank in category by a (the greedy oracle)": share(a - lam * world.rank_in_category(items, a)),
        "a_hat, context-blind (the pointwise re-ranker)": share(a_hat),
        "a_hat - lambda * n_above(initial)": share(a_hat - lam * n_above),
        "a_hat - lambda * rank in category by a_hat": share(a_hat - lam * world.rank_in_category(items, a_hat)),
    }
