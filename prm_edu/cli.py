"""The `prm-edu` command.

    prm-edu demo [--setting full|class|fast] [--fast] [--seeds N] [--ablations] [--world personalized|item-only] [--select estimate|loss]
                 [--debias estimated|learned|pretrained|ipw|none] [--out DIR]
    prm-edu movielens [--source PATH] [--seeds N] [--setting full|class|fast] [--fast]
    prm-edu device

`demo` runs the main job on the built-in simulated world (see `prm_edu.experiment.demo`):
pre-train the PV click model, train DLCM, PRM-BASE and PRM-Personalized on logged
clicks, and print one table: the paper's metrics on the logged clicks of the test
requests, expected clicks per list under the true click model, and the share of the
oracle's gain, for the initial order, each re-ranker and the oracles. Figures
(learning curves, one attention heatmap) go to --out. --setting (default
$PRM_EDU_SETTING, else full; `--fast` is `--setting fast`) picks the size: full (the
course site's numbers), class (lists of 15 and a stronger context effect: the same
claims on one core in minutes), fast (seconds; too small for every claim).

`movielens` builds the same table on MovieLens-100K (see `prm_edu.experiment.movielens`),
read from --source (a folder, ml-100k.zip or a recbole wheel), $PRM_EDU_MOVIELENS, or an
installed recbole package, beside the paper's e-commerce table.

`device` prints the device prm-edu computes on ($PRM_EDU_DEVICE, else CUDA when torch
sees it, else the CPU), or says why it cannot (`make test-gpu` starts with it).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from prm_edu.data.world import RANKERS
from prm_edu.experiment.config import DEBIAS, SELECT, demo_config, movielens_config
from prm_edu.experiment.demo import run
from prm_edu.experiment.evaluate import mean_and_spread, paired_differences
from prm_edu.experiment.rerankers import ABLATION_ROWS, MAIN_ROWS
from prm_edu.runtime import SETTINGS, device, setting

DEBIAS_WORDS = {"estimated": "fixed to the examination the position-based click model finds on the randomized bucket",
                "learned": "learned from zero beside each model", "pretrained": "fixed to the pre-training's examination (PAL)",
                "ipw": "none; clicks weighted by 1 / e_j of the pre-training", "none": "none"}
STOPPING_RULES = {"estimate": "the estimated gain of its orders of the validation lists (a click model of the randomized bucket)",
                  "loss": "the list-wise loss on the logged validation lists"}


def format_table(rows: dict[str, dict[str, float]], spreads: dict[str, dict[str, float]] | None = None, digits: int = 4) -> str:
    """A plain-text table: one row per method, one column per measure; `spreads` adds '± std'."""
    columns = list(next(iter(rows.values())).keys())
    name_width = max(len(name) for name in rows)

    def cell(name: str, column: str) -> str:
        text = f"{rows[name][column]:.{digits}f}"
        if spreads is not None:
            text += f"±{spreads[name][column]:.{digits}f}"
        return text

    widths = [max(len(c), *(len(cell(n, c)) for n in rows)) for c in columns]
    lines = [" ".join([" " * name_width] + [c.rjust(w) for c, w in zip(columns, widths)])]
    for name in rows:
        lines.append(" ".join([name.ljust(name_width)] + [cell(name, c).rjust(w) for c, w in zip(columns, widths)]))
    return "\n".join(lines)


def _figures(result: dict, out: Path) -> list[Path]:
    from prm_edu import viz  # matplotlib only when figures are drawn

    paths = [out / "learning_curves.png", out / "attention_prm_personalized.png"]
    viz.plot_learning_curves(result["histories"], paths[0])
    model, test = result["models"]["PRM-Personalized"], result["prepared"].test
    attention = viz.attention_of(model, test, 0)  # every block's (h, n, n) for the first test list
    labels = viz.list_labels(test, result["prepared"].world, 0)
    viz.plot_attention(attention[0][0], labels, "PRM-Personalized, block 1, head 1 (position:category, * clicked)", paths[1])
    return paths


def run_demo(setting: str, seeds: int, ablations: bool, out: Path | None, progress: bool = True, ranker: str = "personalized",
             select: str = "estimate", debias: str = "estimated") -> str:
    rows = {**MAIN_ROWS, **(ABLATION_ROWS if ablations else {})}
    start = time.perf_counter()
    results = [run(replace(demo_config(setting, seed, ranker), select=select, debias=debias), progress=progress, rows=rows)
               for seed in range(seeds)]
    elapsed = time.perf_counter() - start
    mean, spread = mean_and_spread([r["rows"] for r in results])
    spread = spread if seeds > 1 else None
    config = demo_config(setting, 0, ranker)
    lines = [
        f"prm-edu demo ({setting} setting): simulated world of {config.world.n_users} users and {config.world.n_items} items, "
        f"{ranker} initial ranker; "
        f"{config.world.n_requests} logged requests of {config.world.list_len} items (test: {len(results[0]['prepared'].test)}); "
        f"{seeds} seed(s){', mean±std' if seeds > 1 else ''}",
        f"PV click model: {config.click_model.model}, validation AUC {results[0]['pretrain_valid']['auc']:.4f}",
        f"each re-ranker's epoch chosen by {STOPPING_RULES[select]} (never by the true click model)",
        f"position-bias term in training: {DEBIAS_WORDS[debias]}",
        "",
        format_table(mean, spread),
        "",
        "P@k, MAP@k, NDCG@k: logged clicks of the test requests (clicks on the initial order; lists without clicks left out).",
        "clicks/list: expected clicks of the new order under the true click model; oracle gain: its share of the oracle's gain.",
    ]
    if seeds > 1:
        lines += ["", "The paper's claims, seed by seed: mean and std of the per-seed differences; holds = 1 when mean > 2 std.",
                  format_table(paired_differences([r["rows"] for r in results]), digits=3)]
    lines.append(f"Wall time {elapsed:.1f} s.")
    if out is not None:
        paths = _figures(results[0], out)
        lines.append("Figures: " + ", ".join(str(p) for p in paths))
    return "\n".join(lines)


def run_movielens(source: Path | None, seeds: int, setting: str, progress: bool = False) -> str:
    from prm_edu import paper
    from prm_edu.data.movielens import load_movielens
    from prm_edu.experiment import movielens

    start = time.perf_counter()
    data = load_movielens(source)
    results = [movielens.run(data, movielens_config(setting, seed), progress) for seed in range(seeds)]
    elapsed = time.perf_counter() - start
    mean, spread = mean_and_spread([r["rows"] for r in results])
    counts = results[0]["n_requests"]
    return "\n".join([
        f"prm-edu movielens ({setting} setting): MovieLens-100K from {data.source}; {len(data)} ratings, "
        f"{data.n_users} users, {data.n_items} movies; requests per period: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
        f"{seeds} seed(s){', mean±std' if seeds > 1 else ''}; lists of 30, labels: rating >= 4",
        "",
        format_table(mean, spread if seeds > 1 else None),
        "",
        "The paper's e-commerce table (x100), for the shape: PRM-Personalized > PRM-BASE > DLCM.",
        format_table(paper.ECOMMERCE, digits=2),
        f"Wall time {elapsed:.1f} s.",
    ])


def _setting(args: argparse.Namespace) -> str:
    """--setting, or --fast, or the environment's (`prm_edu.runtime.setting`); --fast beside another --setting is an error."""
    if args.fast and args.setting not in (None, "fast"):
        raise ValueError(f"--fast and --setting {args.setting} disagree: give one of them")
    return "fast" if args.fast else args.setting or setting()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prm-edu", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="the main job on the built-in simulated world")
    demo.add_argument("--setting", choices=SETTINGS, default=None,
                      help="full (the course site's numbers), class (the same claims on one core in minutes) or fast "
                           "(seconds); default $PRM_EDU_SETTING, else full")
    demo.add_argument("--fast", action="store_true", help="--setting fast (also PRM_EDU_FAST=1)")
    demo.add_argument("--seeds", type=int, default=1, help="repeat with seeds 0..N-1 and report mean±std (default 1)")
    demo.add_argument("--ablations", action="store_true", help="add the paper's ablation rows")
    demo.add_argument("--world", choices=RANKERS, default="personalized",
                      help="the world's initial ranker: personalized (default, the paper's setting) or item-only")
    demo.add_argument("--select", choices=SELECT, default="estimate",
                      help="how each re-ranker's epoch is chosen: estimate (default; prm_edu.selection) or loss (logged validation loss)")
    demo.add_argument("--debias", choices=DEBIAS, default="estimated",
                      help="the position-bias term in training: estimated (default; fixed to the examination of the randomized "
                           "bucket, prm_edu.examination), learned, pretrained, ipw or none")
    demo.add_argument("--out", type=Path, default=Path("outputs/demo"), help="folder for the figures (default outputs/demo)")
    demo.add_argument("--no-figures", action="store_true", help="draw no figures")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    movielens = commands.add_parser("movielens", help="the same table on MovieLens-100K (real data)")
    movielens.add_argument("--source", type=Path, default=None,
                           help="a folder, ml-100k.zip or a recbole wheel (default: $PRM_EDU_MOVIELENS, then an installed recbole)")
    movielens.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1, mean±std (default 3)")
    movielens.add_argument("--setting", choices=SETTINGS, default=None,
                           help="full (four click models), class (DeepFM only) or fast (seconds); default $PRM_EDU_SETTING, else full")
    movielens.add_argument("--fast", action="store_true", help="--setting fast (also PRM_EDU_FAST=1)")
    movielens.add_argument("--progress", action="store_true", help="show progress bars")
    commands.add_parser("device", help="the device prm-edu computes on ($PRM_EDU_DEVICE, else CUDA when present, else CPU)")
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            if args.seeds < 1:
                raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
            out = None if args.no_figures else args.out
            print(run_demo(_setting(args), args.seeds, args.ablations, out, progress=not args.quiet, ranker=args.world,
                           select=args.select, debias=args.debias))
        elif args.command == "movielens":
            if args.seeds < 1:
                raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
            print(run_movielens(args.source, args.seeds, _setting(args), args.progress))
        elif args.command == "device":
            print(f"prm-edu computes on {device()}")
    except ValueError as err:
        print(f"prm-edu: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
