"""Judging the re-rankers: one row per method, and the summaries over seeds.

On the simulated world the test lists are judged twice: by the paper's metrics on the
logged clicks (which saw the initial order only), and, because this world knows its
click model, by the expected clicks of each new order and its share of the oracle's gain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from prm_edu import metrics
from prm_edu.data.batches import RerankBatch
from prm_edu.data.world import RequestLog, World
from prm_edu.experiment.rerankers import logits_of


def evaluate(world: World, log: RequestLog, test: RerankBatch, scores: dict[str, torch.Tensor]) -> dict[str, dict[str, float]]:
    """One row per method: metrics on the logged clicks, expected clicks per list, share of the oracle's gain."""
    orders = {name: metrics.rank_order(s, test.padding_mask).numpy() for name, s in scores.items()}
    orders["context-blind oracle"] = world.context_blind_order(log.users, log.items)
    orders["oracle (greedy)"] = world.oracle_order(log.users, log.items)
    initial = metrics.expected_clicks(world, log.users, log.items)
    oracle = metrics.expected_clicks(world, log.users, log.items, orders["oracle (greedy)"])
    rows = {}
    for name, order in orders.items():
        new_scores = metrics.scores_from_order(order)  # so that the logged-click metrics see the new order
        clicks = metrics.expected_clicks(world, log.users, log.items, order)
        rows[name] = {**metrics.ranking_report(new_scores, test.labels, test.padding_mask),
                      "clicks/list": float(clicks.mean()), "oracle gain": metrics.share_of_oracle_gain(clicks, initial, oracle)}
    return rows


def truth_watch(world: World, log: RequestLog):
    """A `watch` for `train_rows`: after each epoch, the share of the oracle's gain of the model's orders of
    the test lists `log`, from the true click model. A diagnostic for the benchmark and notebook 06; the
    stopping rule never reads it."""
    initial = metrics.expected_clicks(world, log.users, log.items)
    oracle = metrics.expected_clicks(world, log.users, log.items, world.oracle_order(log.users, log.items))

    def watch(model, test: RerankBatch) -> dict[str, float]:
        order = metrics.rank_order(logits_of(model, test), test.padding_mask)
        return {"true share": metrics.share_of_oracle_gain(metrics.expected_clicks(world, log.users, log.items, order), initial, oracle)}

    return watch


# The paper's claims as pairs of rows: (better, worse), each with what the difference measures
CLAIMS = [
    ("PRM-Personalized", "PRM-Personalized, no attention", "list context (attention) pays"),
    ("PRM-Personalized", "PRM-BASE", "PV pays"),
    ("PRM-Personalized", "PRM-Personalized, no PE", "PE pays"),
    ("PRM-BASE", "DLCM", "PRM-BASE beats DLCM"),
    ("DLCM", "initial order", "DLCM beats the initial order"),
    ("PRM-Personalized", "pointwise (click model)", "PRM-Personalized beats the pointwise click model"),
    ("PRM-Personalized", "context-blind oracle", "PRM-Personalized beats the context-blind oracle"),
]


MIN_SEEDS = 3  # a comparison is judged over at least this many seeds


@dataclass(frozen=True)
class Comparison:
    """`better - worse` over seeds: the mean of the per-seed differences and their standard deviation.
    A comparison is called only when the mean lies beyond twice the spread, over at least `MIN_SEEDS` seeds."""

    better: str
    worse: str
    differences: tuple[float, ...]  # one per seed, paired: the two rows of a seed share its world and test lists

    @property
    def mean(self) -> float:
        return float(np.mean(self.differences))

    @property
    def std(self) -> float:
        return float(np.std(self.differences))

    @property
    def holds(self) -> bool:
        """`better` is better: over at least MIN_SEEDS seeds, the mean difference exceeds twice its spread."""
        return len(self.differences) >= MIN_SEEDS and self.mean > 2 * self.std

    @property
    def reversed(self) -> bool:
        """`worse` is better, by the same rule."""
        return len(self.differences) >= MIN_SEEDS and -self.mean > 2 * self.std

    def __str__(self) -> str:
        n = len(self.differences)
        size = f"{self.mean:+.3f} ± {self.std:.3f} over {n} seeds" if n > 1 else f"{self.mean:+.3f} on one seed"
        if n < MIN_SEEDS:
            return f"{self.better} - {self.worse}: {size} (too few seeds to judge)"
        verdict = "higher" if self.holds else "lower" if self.reversed else "not distinguishable here"
        # the mean in units of the spread, from the unrounded numbers: what the verdict reads
        ratio = f"{abs(self.mean) / self.std:.2f} std" if self.std > 0 else "no spread"
        return f"{self.better} - {self.worse}: {size} ({ratio}): {verdict}"


def compare(tables: list[dict[str, dict[str, float]]], better: str, worse: str, column: str = "oracle gain") -> Comparison:
    """Row `better` against row `worse` in `column`, paired by seed (`tables`: one table per seed)."""
    if not tables:
        raise ValueError("compare: no tables given (one table per seed is needed)")
    for name in (better, worse):
        if name not in tables[0]:
            raise ValueError(f"compare: no row {name!r} in the tables; rows: {sorted(tables[0])}")
    return Comparison(better, worse, tuple(float(t[better][column] - t[worse][column]) for t in tables))


def paired_differences(tables: list[dict[str, dict[str, float]]], columns: tuple[str, ...] = ("oracle gain", "MAP@10"),
                       claims: list[tuple[str, str, str]] = CLAIMS) -> dict[str, dict[str, float]]:
    """For each claim whose two rows are in `tables` (one table per seed): per column, the mean over seeds
    of (better - worse), the std of those per-seed differences, and whether the claim holds (`Comparison.holds`:
    mean > 2 std over at least MIN_SEEDS seeds)."""
    out = {}
    for better, worse, claim in claims:
        if better not in tables[0] or worse not in tables[0]:
            continue
        row = {}
        for column in columns:
            c = compare(tables, better, worse, column)
            row |= {f"{column}: mean": c.mean, f"{column}: std": c.std, f"{column}: holds": float(c.holds)}
        out[f"{claim} ({better} - {worse})"] = row
    return out


def mean_and_spread(tables: list[dict[str, dict[str, float]]]) -> tuple[dict, dict]:
    """Per row and column: the mean and the standard deviation over `tables` (one per seed)."""
    mean = {name: {c: float(np.mean([t[name][c] for t in tables])) for c in tables[0][name]} for name in tables[0]}
    spread = {name: {c: float(np.std([t[name][c] for t in tables])) for c in tables[0][name]} for name in tables[0]}
    return mean, spread
