"""The speed/quality frontier of the demo: what each setting earns against what it costs.

    python frontier.py run --point "d 32, epochs 8" --seed 0   # one job: writes frontier/d_32_epochs_8_seed0.json
    python frontier.py report                                  # the table and frontier.png from every job written

A point is the demo's config with some settings changed (POINTS below). Each job runs the
demo (`prm_edu.experiment.demo.run`: its five rows, its stopping rule) for one seed on one
torch thread, its rows one after another, so its seconds are core-seconds (wall, and the
process's CPU time, which a busy machine inflates far less): run two jobs side by side on
two cores. It records the seconds of each part (the world and its logs, the click model's
pre-training, each row's training), the table, and each row's epochs.
The report gives, per point over its seeds: PRM-Personalized's share of the oracle's gain
(mean ± std), how many of the demo's claims hold (mean > 2 std of the per-seed
differences), and the core-seconds of the rows and of the whole job.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from common import machine, markdown_table

from prm_edu.experiment import demo_config
from prm_edu.experiment.config import DemoConfig
from prm_edu.experiment.demo import run
from prm_edu.experiment.evaluate import paired_differences
from prm_edu.runtime import WORKERS_ENV

OUT = Path(__file__).with_name("frontier")


def _fit(config: DemoConfig, **changes) -> DemoConfig:
    return replace(config, fit=replace(config.fit, **changes))


def _prm(config: DemoConfig, **changes) -> DemoConfig:
    return replace(config, prm={**config.prm, **changes})


def _log(config: DemoConfig, scale: float) -> DemoConfig:
    return replace(config, world=replace(config.world, n_requests=int(config.world.n_requests * scale)))


def _lists(config: DemoConfig, length: int, scale: float = 1.0, categories: int | None = None,
           penalty: float | None = None) -> DemoConfig:
    """Lists of `length` items drawn from a pool twice that size; the re-ranking log `scale` times as long;
    `categories` item categories and `penalty` the context penalty lambda (None: the world's)."""
    world = replace(config.world, list_len=length, pool_size=2 * length, n_requests=int(config.world.n_requests * scale),
                    n_categories=categories or config.world.n_categories,
                    context_penalty=config.world.context_penalty if penalty is None else penalty)
    return replace(config, world=world)


def _size(config: DemoConfig, d: int, epochs: int) -> DemoConfig:
    """PRM d wide (feed-forward 2d, two heads of width d/2) trained for at most `epochs`."""
    return _fit(_prm(config, d_model=d, d_ff=2 * d, head_dim=d // 2), epochs=epochs)


# name -> (what it is, the config); each starts from demo_config("full", seed) and says every size it sets, so that a
# point keeps its meaning when the demo's defaults change
POINTS = {
    "d 64, epochs 15": ("the demo's settings before the frontier: d = 64, at most 15 epochs", lambda c: _size(c, 64, 15)),
    "d 32, epochs 15": ("d = 32, at most 15 epochs", lambda c: _size(c, 32, 15)),
    "d 32, epochs 8": ("d = 32, at most 8 epochs (the demo's settings now)", lambda c: _size(c, 32, 8)),
    "lean": ("d = 32, at most 8 epochs, the click model's log halved (20,000 requests)",
             lambda c: _size(replace(c, pretrain_requests=20000), 32, 8)),
    "small": ("d = 32, at most 8 epochs, the re-ranking log and the click model's halved",
              lambda c: _size(replace(_log(c, 0.5), pretrain_requests=20000), 32, 8)),
    # shorter lists: a step costs about its list length (attention's part its square)
    "lists of 15": ("d = 32, at most 8 epochs, lists of 15 from pools of 30", lambda c: _size(_lists(c, 15), 32, 8)),
    "lists of 10": ("d = 32, at most 8 epochs, lists of 10 from pools of 20", lambda c: _size(_lists(c, 10), 32, 8)),
    "lists of 10, log 2x": ("d = 32, at most 8 epochs, lists of 10 from pools of 20, the re-ranking log doubled",
                            lambda c: _size(_lists(c, 10, 2.0), 32, 8)),
    # fewer categories: more same-category items in a short list, so the list context weighs as it does in lists of 30
    "lists of 10, 4 categories": ("d = 32, at most 8 epochs, lists of 10 from pools of 20, 4 item categories (not 8)",
                                  lambda c: _size(_lists(c, 10, categories=4), 32, 8)),
    # a stronger context penalty: in a short list fewer same-category items sit above an item, so each weighs more
    # (the context-blind oracle's share of the oracle's gain, measured from the truth on 3,000 requests of seeds 0 and 1:
    # 0.47 in lists of 10 at lambda 3, 0.35 in lists of 15 at lambda 3, 0.42 in lists of 30 at the world's 1.2)
    "lists of 10, lambda 3": ("d = 32, at most 8 epochs, lists of 10 from pools of 20, context penalty 3 (not 1.2)",
                              lambda c: _size(_lists(c, 10, penalty=3.0), 32, 8)),
    "lists of 15, lambda 3": ("d = 32, at most 8 epochs, lists of 15 from pools of 30, context penalty 3 (not 1.2)",
                              lambda c: _size(_lists(c, 15, penalty=3.0), 32, 8)),
    "lists of 15, lambda 3, logs halved": ("lists of 15, lambda 3, the re-ranking log and the click model's halved",
                                           lambda c: _size(replace(_lists(c, 15, 0.5, penalty=3.0), pretrain_requests=20000), 32, 8)),
    "lists of 15, lambda 3, epochs 5": ("lists of 15, lambda 3, at most 5 epochs",
                                        lambda c: _size(_lists(c, 15, penalty=3.0), 32, 5)),
}


def job(point: str, seed: int) -> None:
    torch.set_num_threads(1)
    os.environ[WORKERS_ENV] = "1"  # the rows one after another: two jobs share two cores
    config = POINTS[point][1](demo_config("full", seed))
    start, cpu = time.perf_counter(), time.process_time()
    result = run(config, progress=False)
    out = {"point": point, "seed": seed, "seconds": time.perf_counter() - start, "cpu seconds": time.process_time() - cpu,
           "parts": result["seconds"],
           "rows": result["rows"],
           "epochs": {name: {"run": len(h.epochs), "best": h.best_epoch + 1} for name, h in result["histories"].items()}}
    OUT.mkdir(exist_ok=True)
    (OUT / f"{point.replace(' ', '_').replace(',', '')}_seed{seed}.json").write_text(json.dumps(out, indent=1))
    print(f"{point}, seed {seed}: {out['seconds']:.0f} s; PRM-Personalized {result['rows']['PRM-Personalized']['oracle gain']:.3f}")


def report() -> None:
    jobs = [json.loads(p.read_text()) for p in sorted(OUT.glob("*_seed*.json"))]
    print(f"Measured on {machine()}; one torch thread per job, two jobs side by side\n")
    header = ["point", "changes", "seeds", "PRM-Personalized share", "claims holding", "claims failing",
              "rows, s", "whole job, s", "whole job, CPU s", "PRM-P epochs run"]
    table, frontier = [], []
    for point, (what, _) in POINTS.items():
        mine = [j for j in jobs if j["point"] == point]
        if not mine:
            continue
        share = [j["rows"]["PRM-Personalized"]["oracle gain"] for j in mine]
        rows_seconds = [sum(v for k, v in j["parts"].items() if k in j["epochs"]) for j in mine]
        claims = paired_differences([j["rows"] for j in mine]) if len(mine) > 1 else {}
        failing = [c.split(" (")[0] for c, r in claims.items() if not r["oracle gain: holds"]]
        table.append([point, what, str(len(mine)), f"{np.mean(share):.3f} ± {np.std(share):.3f}",
                      f"{len(claims) - len(failing)}/{len(claims)}" if claims else "-", "; ".join(failing) or "-",
                      f"{np.mean(rows_seconds):.0f}", f"{np.mean([j['seconds'] for j in mine]):.0f}",
                      f"{np.mean([j['cpu seconds'] for j in mine]):.0f}",
                      "/".join(str(j["epochs"]["PRM-Personalized"]["run"]) for j in mine)])
        frontier.append((point, np.mean(rows_seconds), np.mean(share), np.std(share)))
    print(markdown_table(header, table))
    parts = {}
    for j in jobs:
        if j["point"] == "d 32, epochs 8":
            for k, v in j["parts"].items():
                parts.setdefault(k, []).append(v)
    if parts:
        print("\nThe demo's seconds by part (d 32, epochs 8; mean over seeds, one thread):\n")
        print(markdown_table(["part", "core-s"], [[k, f"{np.mean(v):.1f}"] for k, v in parts.items()]))
    figure(frontier)


def figure(frontier: list[tuple[str, float, float, float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, seconds, mean, std in frontier:
        ax.errorbar(seconds, mean, yerr=std, fmt="o", capsize=3)
        ax.annotate(name, (seconds, mean), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.set(xlabel="seconds to train the five rows (one thread)", ylabel="PRM-Personalized: share of the oracle's gain",
           title="The demo's speed/quality frontier (mean ± std over seeds)")
    fig.tight_layout()
    fig.savefig(Path(__file__).with_name("frontier.png"), dpi=90)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("run")
    one.add_argument("--point", choices=list(POINTS), default="d 32, epochs 8")
    one.add_argument("--seed", type=int, default=0)
    sub.add_parser("report")
    args = parser.parse_args()
    job(args.point, args.seed) if args.command == "run" else report()
