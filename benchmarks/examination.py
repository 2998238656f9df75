"""How well each estimator of the examination finds log e_j, against the world's truth.

    python examination.py run --seed 0 --eta 0.7     # one world: writes examination/eta0.7_seed0.json
    python examination.py report                     # the tables from every run written

For each world (the demo's, with `position_eta` as given, so that no estimator can lean
on today's curve) the click model is pre-trained as the demo does it (`prepare`); then
randomized buckets of 5 %, 10 % and 20 % of the log (20 %: the demo's) are drawn, and
every estimator of `prm_edu.examination.ESTIMATORS` reads them; the logs-only one reads
the demo's logged training lists instead, whatever the bucket. The pre-training's own
position term (PAL, `DemoConfig.pretrain_position_aware`) is a row too. The truth only
judges: mean absolute error of log e_j over the 30 positions.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from common import machine, markdown_table

from prm_edu.examination import ESTIMATORS
from prm_edu.experiment import demo_config
from prm_edu.experiment.config import RANDOMIZED_BUCKET_SEED_OFFSET
from prm_edu.experiment.prepare import prepare, shown_lists

OUT = Path(__file__).with_name("examination")
SHARES = (0.05, 0.1, 0.2)
LOGS_ONLY = "position-based model, logs only"
SHOWN = (1, 2, 5, 10, 20, 29)  # positions printed


def job(seed: int, eta: float) -> None:
    torch.set_num_threads(1)
    config = demo_config("full", seed)
    config = replace(config, world=replace(config.world, position_eta=eta))
    p = prepare(config, progress=False)
    world = p.world
    out = {"seed": seed, "eta": eta, "true": np.log(world.examination(30)).tolist(),
           "pre-training (PAL)": (p.log_examination - p.log_examination[0]).tolist(), "buckets": {}, "seconds": {}}
    log = world.sample_requests()
    logged = log.subset(log.split_indices(config.split, seed=seed)[0])  # the demo's logged training lists
    start = time.perf_counter()
    out[LOGS_ONLY] = ESTIMATORS[LOGS_ONLY](shown_lists(world, p.click_model, p.spec, logged)).tolist()
    out["seconds"][LOGS_ONLY] = time.perf_counter() - start
    for share in SHARES:
        bucket = world.sample_requests(round(share * config.world.n_requests), seed=seed + RANDOMIZED_BUCKET_SEED_OFFSET, randomize=True)
        lists = shown_lists(world, p.click_model, p.spec, bucket)
        out["buckets"][str(share)] = {}
        for name, estimate in ESTIMATORS.items():
            if name != LOGS_ONLY:
                start = time.perf_counter()
                out["buckets"][str(share)][name] = estimate(lists).tolist()
                out["seconds"][name] = time.perf_counter() - start
    OUT.mkdir(exist_ok=True)
    (OUT / f"eta{eta}_seed{seed}.json").write_text(json.dumps(out, indent=1))
    print(f"eta {eta} seed {seed}: done")


def report() -> None:
    runs = [json.loads(p.read_text()) for p in sorted(OUT.glob("eta*_seed*.json"))]
    print(f"Measured on {machine()}; {len(runs)} worlds\n")
    etas = sorted({r["eta"] for r in runs})
    names = [*(n for n in ESTIMATORS if n != LOGS_ONLY), LOGS_ONLY, "pre-training (PAL)"]
    header = ["estimator", *(f"eta {eta}, bucket {share:.0%}" for eta in etas for share in SHARES)]
    rows = []
    for name in names:
        cells = []
        for eta in etas:
            mine = [r for r in runs if r["eta"] == eta]
            for share in SHARES:
                curves = [r["buckets"][str(share)][name] if name in ESTIMATORS and name != LOGS_ONLY else r[name] for r in mine]
                errors = [np.abs(np.array(c) - np.array(r["true"])).mean() for c, r in zip(curves, mine)]
                cells.append(f"{np.mean(errors):.3f} ± {np.std(errors):.3f} ({len(mine)})")
        rows.append([name, *cells])
    print("Mean absolute error of log e_j over the 30 positions (mean ± std over seeds, number of seeds); "
          "the logs-only and pre-training rows read no bucket:\n")
    print(markdown_table(header, rows))
    for eta in etas:
        mine = [r for r in runs if r["eta"] == eta]
        print(f"\nlog e_j at positions {', '.join(map(str, SHOWN))}, eta {eta}, bucket 20 % (mean over {len(mine)} seeds):\n")
        lines = [["truth", *(f"{np.mean([r['true'][j] for r in mine]):.2f}" for j in SHOWN)]]
        for name in names:
            curves = [r["buckets"]["0.2"][name] if name in ESTIMATORS and name != LOGS_ONLY else r[name] for r in mine]
            lines.append([name, *(f"{np.mean([c[j] for c in curves]):.2f}" for j in SHOWN)])
        print(markdown_table(["", *(f"j = {j}" for j in SHOWN)], lines))
    seconds = {name: np.mean([r["seconds"][name] for r in runs if name in r["seconds"]]) for name in ESTIMATORS}
    print("\nSeconds per fit (mean): " + ", ".join(f"{name} {s:.1f}" for name, s in seconds.items()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("run")
    one.add_argument("--seed", type=int, default=0)
    one.add_argument("--eta", type=float, default=0.7)
    sub.add_parser("report")
    args = parser.parse_args()
    job(args.seed, args.eta) if args.command == "run" else report()
