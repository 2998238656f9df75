"""Ceilings: how much of the oracle's gain a re-ranker *could* reach on the demo's world,
given what it can know. No re-ranker is trained here; each row sorts the test lists by a
score built from the world's truth or from the pre-trained click model, and reports its
share of the oracle's gain (the demo's measure).

Why these rows. The greedy oracle is exactly "sort by a_ui - lambda * (number of items of
the same category in the list with a higher a_ui)": within a category the items go down
in the order of a, each one lambda lower than the one before, and greedy merges those
runs (`World.rank_in_category`; a test checks it). So a one-pass, list-aware scorer such
as PRM can express the oracle; what it can *learn* is bounded by two things:

1. How well it knows a_ui. Rows "click model ...": the pre-trained click model's logit
   a_hat (what PV carries), context-blind and with the true context rule applied on top.
2. Which context the logs teach. Logged clicks carry the context of the order that was
   shown (same-category items above in the *initial* order), not of the new order. Rows
   "... - k * n_above(initial)": a scorer that learned that logged rule perfectly.

    python benchmarks/ceilings.py [--seeds 3] [--pretrain-epochs N]

`--pretrain-epochs` changes how long the click model trains (the demo's default: 3).
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace

import numpy as np
import torch
from common import machine, markdown_table

from prm_edu.data.world import World, reorder
from prm_edu.pipeline import DemoConfig, prepare


def rows_for(world: World, users: np.ndarray, items: np.ndarray, a_hat: np.ndarray) -> dict[str, float]:
    a = world.attractiveness(users, items)  # (R, L)
    lam = world.config.context_penalty
    n_above = world.same_category_above(items)  # (R, L) in the initial order
    initial = world.expected_clicks(users, items).mean()
    oracle = world.expected_clicks(users, reorder(items, world.oracle_order(users, items))).mean()

    def share(score: np.ndarray) -> float:
        order = np.argsort(-np.where(items < 0, -np.inf, score), axis=1, kind="stable")
        return float((world.expected_clicks(users, reorder(items, order)).mean() - initial) / (oracle - initial))

    slope = np.polyfit(a[items >= 0], a_hat[items >= 0], 1)[0]  # a_hat's scale relative to a
    best_logged = max(share(a_hat - k * slope * lam * n_above) for k in (0.25, 0.5, 0.75, 1.0))
    return {
        "true a, context-blind (the context-blind oracle)": share(a),
        "true a - lambda * n_above(initial)": share(a - lam * n_above),
        "true a - lambda * rank in category (= greedy oracle)": share(a - lam * world.rank_in_category(items, a)),
        "click model a_hat, context-blind (the pointwise row)": share(a_hat),
        "click model a_hat - k * n_above(initial), best k": best_logged,
        "click model a_hat - lambda * rank in category by a_hat": share(a_hat - slope * lam * world.rank_in_category(items, a_hat)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--pretrain-epochs", type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"machine: {machine()}\n")
    results = []
    for seed in range(args.seeds):
        config = DemoConfig(seed=seed)
        if args.pretrain_epochs is not None:
            config = replace(config, pretrain_fit=replace(config.pretrain_fit, epochs=args.pretrain_epochs, patience=2))
        prepared = prepare(config, progress=False)
        log = prepared.test_log
        results.append(rows_for(prepared.world, log.users, log.items, prepared.pointwise_test_logits.double().numpy()))
        print(f"seed {seed}: click model validation AUC {prepared.pretrain_valid['auc']:.4f}", flush=True)
    header = ["score the test lists are sorted by", "share of the oracle's gain (mean ± std)"]
    table = []
    for name in results[0]:
        values = [r[name] for r in results]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        table.append([name, f"{statistics.mean(values):.3f} ± {spread:.3f}"])
    print()
    print(markdown_table(header, table))


if __name__ == "__main__":
    main()
