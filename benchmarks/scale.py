"""Quality across scale: PRM-Personalized's share of the oracle's gain on the simulated world
as the number of logged requests grows and as the lists grow, with the training time.
The demo's settings otherwise (`prm_edu.experiment.DemoConfig`), one seed.

    python benchmarks/scale.py       # a markdown table and benchmarks/scale.png
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from common import machine, markdown_table  # noqa: E402

from prm_edu.experiment import MAIN_ROWS, DemoConfig  # noqa: E402
from prm_edu.experiment.demo import run  # noqa: E402

ROWS = {"PRM-Personalized": MAIN_ROWS["PRM-Personalized"], "PRM-Personalized, no PE": MAIN_ROWS["PRM-Personalized, no PE"]}


def measure(config: DemoConfig) -> dict:
    out = run(config, progress=False, rows=ROWS)
    rows = out["rows"]
    return {"PRM-P": rows["PRM-Personalized"]["oracle gain"], "PRM-P, no PE": rows["PRM-Personalized, no PE"]["oracle gain"],
            "pointwise": rows["pointwise (click model)"]["oracle gain"], "seconds": out["seconds"]["PRM-Personalized"]}


def main() -> None:
    torch.set_num_threads(2)
    print(f"machine: {machine()}\n")
    base = DemoConfig()
    by_requests = {n: measure(replace(base, world=replace(base.world, n_requests=n))) for n in (2000, 5000, 20000, 50000)}
    for n, r in by_requests.items():
        print("requests", n, r, flush=True)
    by_length = {}
    for length in (10, 30, 50):
        world = replace(base.world, list_len=length, pool_size=max(base.world.pool_size, 2 * length))
        by_length[length] = measure(replace(base, world=world))
        print("list length", length, by_length[length], flush=True)

    header = ["setting", "PRM-Personalized", "PRM-P, no PE", "pointwise click model", "PRM-P training (s)"]
    rows = [[f"{n} requests, lists of 30", f"{r['PRM-P']:.3f}", f"{r['PRM-P, no PE']:.3f}", f"{r['pointwise']:.3f}",
             f"{r['seconds']:.0f}"] for n, r in by_requests.items()]
    rows += [[f"20000 requests, lists of {n}", f"{r['PRM-P']:.3f}", f"{r['PRM-P, no PE']:.3f}", f"{r['pointwise']:.3f}",
              f"{r['seconds']:.0f}"] for n, r in by_length.items()]
    print(markdown_table(header, rows))

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    panels = ((axes[0], by_requests, "logged requests (lists of 30)"), (axes[1], by_length, "list length (20,000 requests)"))
    for ax, results, xlabel in panels:
        xs = list(results)
        for key in ("PRM-P", "PRM-P, no PE", "pointwise"):
            ax.plot(xs, [results[x][key] for x in xs], marker="o", label=key)
        ax.set(xlabel=xlabel, ylabel="share of the oracle's gain")
    axes[0].set_xscale("log")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(Path(__file__).with_name("scale.png"), dpi=110)


if __name__ == "__main__":
    main()
