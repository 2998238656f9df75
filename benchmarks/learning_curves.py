"""Learning curves: the demo's rows trained on 1x, 2x, 4x the re-ranking log, each epoch's
stopping-rule numbers beside the truth's verdict.

    python learning_curves.py run --scale 4 --seed 0        # one job: writes learning_curves/scale4_seed0.json
    python learning_curves.py run --scale 4 --select loss   # the same, stopped on the logged loss (..._loss.json)
    python learning_curves.py report                        # the table and the figure from every job written

Each job runs the demo (`prm_edu.experiment.demo.run`, its default settings, its five
rows) on a world whose logged requests are `scale` times the demo's, the randomized bucket
scaled with them; the click model's earlier log stays the same. Per epoch the histories
hold the validation loss on logged lists, the estimated gain that the demo's stopping
rule reads (`prm_edu.selection`) and, for diagnosis only, the true share of the oracle's
gain on the test lists. One torch thread per job, its rows one after another
(PRM_EDU_WORKERS=1): run two jobs side by side on two cores.
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
from prm_edu.experiment.config import SELECT
from prm_edu.experiment.demo import run
from prm_edu.experiment.evaluate import mean_and_spread, paired_differences
from prm_edu.runtime import WORKERS_ENV

OUT = Path(__file__).with_name("learning_curves")
CURVE_ROWS = ("PRM-Personalized", "PRM-BASE", "PRM-Personalized, no attention")


def job(scale: int, seed: int, select: str) -> None:
    torch.set_num_threads(1)
    os.environ[WORKERS_ENV] = "1"  # the rows one after another: two jobs share two cores
    config = demo_config("full", seed)
    config = replace(config, world=replace(config.world, n_requests=config.world.n_requests * scale), select=select)
    start = time.perf_counter()
    result = run(config, progress=False, truth_per_epoch=True)
    out = {"scale": scale, "seed": seed, "select": select, "seconds": time.perf_counter() - start, "rows": result["rows"],
           "histories": {name: {"best_epoch": h.best_epoch, "epochs": h.epochs} for name, h in result["histories"].items()}}
    OUT.mkdir(exist_ok=True)
    (OUT / f"scale{scale}_seed{seed}{'' if select == 'estimate' else '_' + select}.json").write_text(json.dumps(out, indent=1))
    print(f"scale {scale} seed {seed} select {select}: {out['seconds']:.0f} s")


def spearman(a: list[float], b: list[float]) -> float:
    rank = lambda v: np.argsort(np.argsort(v))  # noqa: E731
    return float(np.corrcoef(rank(a), rank(b))[0, 1]) if len(a) > 2 else float("nan")


def report() -> None:
    every = [json.loads(p.read_text()) for p in sorted(OUT.glob("scale*_seed*.json"))]
    jobs = [j for j in every if j.get("select", "estimate") == "estimate"]
    scales = sorted({j["scale"] for j in jobs})
    print(f"Measured on {machine()}; {len(jobs)} jobs\n")
    header = ["rows trained on", "row", "seeds", "true share at the chosen epoch", "best epoch's share", "chosen - best",
              "rank corr.(estimate, truth)", "rank corr.(-loss, truth)", "epochs run", "chosen epoch"]
    table = []
    for scale in scales:
        mine = [j for j in jobs if j["scale"] == scale]
        for name in CURVE_ROWS:
            h = [j["histories"][name] for j in mine]
            truth = [[e["true share"] for e in x["epochs"]] for x in h]
            chosen = [t[x["best_epoch"]] for t, x in zip(truth, h)]
            best = [max(t) for t in truth]
            rho_est = [spearman([e["estimated gain"] for e in x["epochs"]], t) for x, t in zip(h, truth)]
            rho_loss = [spearman([-e["loss"] for e in x["epochs"]], t) for x, t in zip(h, truth)]
            pm = lambda v: f"{np.nanmean(v):.3f} ± {np.nanstd(v):.3f}"  # noqa: E731
            table.append([f"{scale}x ({20000 * scale:,} requests)", name, str(len(mine)), pm(chosen), pm(best),
                          pm(np.subtract(chosen, best)), pm(rho_est), pm(rho_loss),
                          "/".join(str(len(x["epochs"])) for x in h), "/".join(str(x["best_epoch"] + 1) for x in h)])
    print(markdown_table(header, table))
    for scale in scales:
        mean, spread = mean_and_spread([j["rows"] for j in jobs if j["scale"] == scale])
        columns = ["P@5", "MAP@10", "NDCG@10", "clicks/list", "oracle gain"]
        print(f"\nThe demo's table at {scale}x (mean ± std over seeds):\n")
        print(markdown_table(["", *columns], [[name, *(f"{mean[name][c]:.3f} ± {spread[name][c]:.3f}" for c in columns)] for name in mean]))
    print("\nThe demo's claims (oracle gain, then MAP@10; mean difference over seeds ± std; holds = mean > 2 std):\n")
    for scale in scales:
        tables = [j["rows"] for j in jobs if j["scale"] == scale]
        print(f"{scale}x:")
        for claim, row in paired_differences(tables).items():
            print(f"  {claim}: {row['oracle gain: mean']:+.3f} ± {row['oracle gain: std']:.3f}  holds={bool(row['oracle gain: holds'])}; "
                  f"MAP@10 {row['MAP@10: mean']:+.3f} ± {row['MAP@10: std']:.3f}")
    if len(scales) > 1:
        first, last = scales[0], scales[-1]
        by_seed = {j["seed"]: j for j in jobs if j["scale"] == first}
        diffs = [j["rows"]["PRM-Personalized"]["oracle gain"] - by_seed[j["seed"]]["rows"]["PRM-Personalized"]["oracle gain"]
                 for j in jobs if j["scale"] == last and j["seed"] in by_seed]
        print(f"\nPRM-Personalized, {last}x minus {first}x (paired by seed): {np.mean(diffs):+.3f} ± {np.std(diffs):.3f}")
    others = [j for j in every if j.get("select", "estimate") != "estimate"]
    if others:
        print("\nStopped on the logged validation loss instead (select='loss'):\n")
        rows = []
        for j in others:
            for name in CURVE_ROWS:
                h = j["histories"][name]
                truth = [e["true share"] for e in h["epochs"]]
                rows.append([f"{j['scale']}x, seed {j['seed']}", name, f"{truth[h['best_epoch']]:.3f}", f"{max(truth):.3f}",
                             str(h["best_epoch"] + 1), str(len(truth))])
        header = ["log, seed", "row", "true share at the chosen epoch", "best epoch's share", "chosen epoch", "epochs run"]
        print(markdown_table(header, rows))
    figure(jobs, scales)


def figure(jobs: list[dict], scales: list[int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(scales), 3, figsize=(14, 4 * len(scales)), squeeze=False)
    for i, scale in enumerate(scales):
        for job_ in (j for j in jobs if j["scale"] == scale):
            h = job_["histories"]["PRM-Personalized"]
            epochs = np.arange(1, len(h["epochs"]) + 1)
            for ax, key in zip(axes[i], ["loss", "estimated gain", "true share"]):
                ax.plot(epochs, [e[key] for e in h["epochs"]], marker=".", label=f"seed {job_['seed']}")
                ax.plot(h["best_epoch"] + 1, h["epochs"][h["best_epoch"]][key], "ko", fillstyle="none")
        titles = ["validation loss on logged lists\n(lower is better)", "estimated gain, clicks per list\n(the stopping rule)",
                  "true share of the oracle's gain\n(diagnosis only)"]
        for ax, title in zip(axes[i], titles):
            ax.set(title=f"{scale}x the log: {title}", xlabel="epoch")
            ax.xaxis.get_major_locator().set_params(integer=True)
        axes[i][0].legend(fontsize=8)
    fig.suptitle("PRM-Personalized per epoch (circle: the epoch the estimate chose)")
    fig.tight_layout()
    fig.savefig(Path(__file__).with_name("learning_curves.png"), dpi=90)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("run")
    one.add_argument("--scale", type=int, default=1)
    one.add_argument("--seed", type=int, default=0)
    one.add_argument("--select", choices=SELECT, default="estimate")
    sub.add_parser("report")
    args = parser.parse_args()
    job(args.scale, args.seed, args.select) if args.command == "run" else report()
