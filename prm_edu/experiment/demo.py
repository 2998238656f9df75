"""The demo, end to end on the simulated world (what `prm-edu demo` runs).

1. Simulate the world and its logs (`prepare`).
2. Pre-train the PV click model (DeepFM by default) and compute PV for every list (`prepare`).
3. Train the re-rankers on the logged clicks with the list-wise loss and a position-bias
   term beside each model, fixed to the examination estimated on the randomized bucket
   (`prm_edu.examination`, `prm_edu.position_bias`); model selection
   (early stopping) reads the logs only, never the true click model: by default the
   estimated gain of each epoch's orders of the validation lists, from a click model
   fitted on the randomized bucket (`prm_edu.selection`; `select="loss"`: the validation
   loss on logged clicks) (`rerankers.train_rows`).
4. On the test requests: the paper's metrics on the logged clicks, the expected clicks of
   every new order and its share of the oracle's gain (`evaluate`).
"""

from __future__ import annotations

from dataclasses import replace

import torch

from prm_edu import metrics
from prm_edu.experiment.config import DemoConfig
from prm_edu.experiment.evaluate import evaluate, truth_watch
from prm_edu.experiment.prepare import prepare
from prm_edu.experiment.rerankers import MAIN_ROWS, Reranker, train_rows


def run(config: DemoConfig, progress: bool = True, rows: dict[str, Reranker] | None = None, truth_per_epoch: bool = False) -> dict:
    """The whole demo for one seed; returns the table rows, the histories, the timings, the trained models
    and the prepared data. `truth_per_epoch` adds each epoch's true share of the oracle's gain on the test
    lists to the histories ("true share"), for learning curves; selection never reads it."""
    rows = MAIN_ROWS if rows is None else rows
    torch.manual_seed(config.seed)
    prepared = prepare(config, progress)
    splits = {"train": prepared.train, "valid": prepared.valid, "test": prepared.test}
    trained = train_rows(rows, splits, prm=config.prm, fit_config=replace(config.fit, seed=config.seed, progress=progress),
                         loss=config.loss, debias=config.debias, seed=config.seed, examinations=prepared.examinations,
                         select=prepared.select, watch=truth_watch(prepared.world, prepared.test_log) if truth_per_epoch else None)
    scores = {"initial order": metrics.initial_order_scores(prepared.test.padding_mask),
              "pointwise (click model)": prepared.pointwise_test_logits, **trained.test_logits}
    table = evaluate(prepared.world, prepared.test_log, prepared.test, scores)
    return {"rows": table, "histories": trained.histories, "seconds": {**prepared.seconds, **trained.seconds},
            "pretrain_valid": prepared.pretrain_valid, "models": trained.models, "prepared": prepared}
