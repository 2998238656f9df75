"""Where the demo's time goes: one seed of `prm-edu demo`, stage by stage, and inside each row's training.

    python profile_demo.py [--fast] [--threads 1] [--seed 0]

Steps 1 and 2 (`prepare`) are timed by their own clock (`Prepared.seconds`); each row is then
trained alone under `cProfile`, and its time is split into what the fit loop does per step:
the forward pass and loss, backward, gradient clipping, the optimizer, taking the batch
(indexing and moving it), and per epoch the validation (the re-ranker on the validation lists,
the loss and the stopping rule's estimate) and the copy of the best weights. The split is
read from cProfile's cumulative times (its overhead inflates the many small Python calls a
little: read it as shares). The test lists' scores and the table come last.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from dataclasses import replace

import torch
from common import machine

from prm_edu import metrics
from prm_edu.experiment import demo_config
from prm_edu.experiment.evaluate import evaluate
from prm_edu.experiment.prepare import prepare
from prm_edu.experiment.rerankers import MAIN_ROWS, train_rows

# the fit loop's parts, by the function that does them (file suffix, function name)
PARTS = {
    "forward + loss": [("rerankers.py", "train_loss")],
    "backward": [("_tensor.py", "backward")],
    "clip": [("clip_grad.py", "clip_grad_norm_")],
    "optimizer": [("optimizer.py", "wrapper"), ("optimizer.py", "zero_grad"), ("lr_scheduler.py", "step")],
    "batch": [("batches.py", "__getitem__"), ("batches.py", "to")],
    "validation": [("rerankers.py", "validate")],
    "best weights": [("copy.py", "deepcopy")],
}


def _cumulative(stats: pstats.Stats, suffix: str, name: str) -> float:
    # cumulative time of a function, counted once where it calls itself (pstats: (cc, nc, tt, ct, callers))
    return sum(ct for (file, _, fn), (_, _, _, ct, _) in stats.stats.items() if file.endswith(suffix) and fn == name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = demo_config("fast" if args.fast else "full", args.seed)
    print(f"{machine()}; {args.threads} torch thread(s); demo{' --fast' if args.fast else ''}, seed {args.seed}")
    start = time.perf_counter()
    torch.manual_seed(config.seed)
    prepared = prepare(config, progress=False)
    prepare_seconds = time.perf_counter() - start
    splits = {"train": prepared.train, "valid": prepared.valid, "test": prepared.test}
    print(f"\nprepare: {prepare_seconds:.1f} s")
    for stage, seconds in prepared.seconds.items():
        print(f"  {stage:<10} {seconds:6.1f} s")
    print(f"  {'the rest':<10} {prepare_seconds - sum(prepared.seconds.values()):6.1f} s (PV, the splits, the randomized bucket, "
          "the stopping rule's click model, the pointwise logits)")

    rows_seconds, logits = {}, {}
    header = f"{'row':<32} {'total':>6} {'epochs':>6} " + " ".join(f"{part:>14}" for part in PARTS)
    lines = [header]
    for name, row in MAIN_ROWS.items():
        profiler = cProfile.Profile()
        row_start = time.perf_counter()
        profiler.enable()
        trained = train_rows({name: row}, splits, prm=config.prm, fit_config=replace(config.fit, seed=config.seed, progress=False),
                             loss=config.loss, debias=config.debias, seed=config.seed, examinations=prepared.examinations,
                             select=prepared.select)
        profiler.disable()
        rows_seconds[name] = time.perf_counter() - row_start
        logits |= trained.test_logits
        stats = pstats.Stats(profiler)
        total = stats.total_tt
        shares = {part: sum(_cumulative(stats, s, f) for s, f in where) for part, where in PARTS.items()}
        lines.append(f"{name:<32} {rows_seconds[name]:6.1f} {len(trained.histories[name].epochs):6d} "
                     + " ".join(f"{100 * v / total:13.0f}%" for v in shares.values()))
    print(f"\nrows: {sum(rows_seconds.values()):.1f} s (shares of each row's profiled time)")
    print("\n".join(lines))

    start = time.perf_counter()
    scores = {"initial order": metrics.initial_order_scores(prepared.test.padding_mask),
              "pointwise (click model)": prepared.pointwise_test_logits, **logits}
    evaluate(prepared.world, prepared.test_log, prepared.test, scores)
    evaluate_seconds = time.perf_counter() - start
    print(f"\nevaluate: {evaluate_seconds:.1f} s")
    print(f"total: {prepare_seconds + sum(rows_seconds.values()) + evaluate_seconds:.1f} s")


if __name__ == "__main__":
    main()
