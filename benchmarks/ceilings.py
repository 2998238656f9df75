"""Ceilings on the demo's worlds: the share of the oracle's gain that sorting by each score
reaches (`prm_edu.ceilings`), with the click model the demo pre-trains, on the demo's
test requests, for each initial ranker (the default, personalized world and the
item-only one). No re-ranker is trained.

    python benchmarks/ceilings.py [--seeds 3] [--world personalized|item-only] [--pretrain-epochs N] [--pretrain-batch B]

`--pretrain-epochs` and `--pretrain-batch` change how the click model trains (the demo's
default: `prm_edu.experiment.config.DEMO_PRETRAIN_FIT`).
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace

import torch
from common import machine, markdown_table

from prm_edu.ceilings import ceiling_rows
from prm_edu.data.world import RANKERS, WorldConfig
from prm_edu.experiment import DemoConfig
from prm_edu.experiment.prepare import prepare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--pretrain-epochs", type=int, default=None)
    parser.add_argument("--pretrain-batch", type=int, default=None)
    parser.add_argument("--world", choices=RANKERS, default=None, help="one world only (default: both)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"machine: {machine()}")
    for ranker in [args.world] if args.world else RANKERS:
        print(f"\n{ranker} initial ranker")
        print_ceilings(ranker, args)


def print_ceilings(ranker: str, args: argparse.Namespace) -> None:
    results = []
    for seed in range(args.seeds):
        config = DemoConfig(seed=seed, world=WorldConfig(ranker=ranker))
        changes = {"epochs": args.pretrain_epochs, "batch_size": args.pretrain_batch}
        config = replace(config, pretrain_fit=replace(config.pretrain_fit, **{k: v for k, v in changes.items() if v is not None}))
        prepared = prepare(config, progress=False)
        log = prepared.test_log
        results.append(ceiling_rows(prepared.world, log.users, log.items, prepared.pointwise_test_logits.numpy()))
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
