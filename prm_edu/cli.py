"""The `prm-edu` command.

    prm-edu demo [--fast] [--seed N] [--requests N]

`demo` simulates the default world and prints what the initial ranker and the
oracles achieve on it: expected clicks per list under the true click model and the
paper's ranking metrics on the logged clicks.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from prm_edu import metrics
from prm_edu.data.world import World, WorldConfig
from prm_edu.runtime import fast_mode


def format_table(rows: dict[str, dict[str, float]], digits: int = 4) -> str:
    """A plain-text table: one row per method, one column per measure."""
    columns = list(next(iter(rows.values())).keys())
    name_width = max(len(name) for name in rows)
    widths = [max(len(c), digits + 3) for c in columns]
    lines = [" ".join([" " * name_width] + [c.rjust(w) for c, w in zip(columns, widths)])]
    for name, values in rows.items():
        cells = [f"{values[c]:.{digits}f}".rjust(w) if c in values else "-".rjust(w) for c, w in zip(columns, widths)]
        lines.append(" ".join([name.ljust(name_width)] + cells))
    return "\n".join(lines)


def run_demo(fast: bool, seed: int, n_requests: int | None) -> str:
    config = WorldConfig(seed=seed)
    if n_requests is not None:
        config = config.replace(n_requests=n_requests)
    elif fast:
        config = config.replace(n_requests=5000)
    start = time.perf_counter()
    world = World(config)
    log = world.sample_requests()
    elapsed = time.perf_counter() - start

    orders = {
        "initial order": np.tile(np.arange(config.list_len), (len(log), 1)),
        "context-blind oracle": world.context_blind_order(log.users, log.items),
        "oracle (greedy)": world.oracle_order(log.users, log.items),
    }
    clicks = {name: metrics.expected_clicks(world, log.users, log.items, order) for name, order in orders.items()}
    rows = {}
    for name, order in orders.items():
        # a re-ordered list as scores: the slot placed first gets the highest score
        scores = np.empty(order.shape, dtype=np.float32)
        np.put_along_axis(scores, order, -np.arange(config.list_len, dtype=np.float32)[None, :].repeat(len(log), 0), axis=1)
        rows[name] = metrics.ranking_report(scores, log.clicks, log.padding_mask)
        rows[name]["clicks/list"] = float(clicks[name].mean())
        rows[name]["oracle gain"] = metrics.share_of_oracle_gain(clicks[name], clicks["initial order"], clicks["oracle (greedy)"])

    lines = [
        f"Simulated world: {config.n_users} users, {config.n_items} items, {config.n_categories} categories, "
        f"{len(log)} requests of {config.list_len} items (generated in {elapsed:.2f} s)",
        f"Logged clicks per list on the initial order: {log.clicks.sum(axis=1).mean():.3f}",
        "",
        format_table(rows),
        "",
        "P@k, MAP@k, NDCG@k: on the logged clicks (lists without a click left out of the mean).",
        "clicks/list: expected clicks under the true click model; oracle gain: share of the oracle's gain.",
        "The logged clicks come from the initial order, so only clicks/list judges the oracles fairly.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prm-edu", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="the main job on the built-in simulated world")
    demo.add_argument("--fast", action="store_true", help="a small version (also PRM_EDU_FAST=1)")
    demo.add_argument("--seed", type=int, default=0, help="world seed (default 0)")
    demo.add_argument("--requests", type=int, default=None, help="number of logged requests")
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            print(run_demo(fast=args.fast or fast_mode(), seed=args.seed, n_requests=args.requests))
    except ValueError as err:
        print(f"prm-edu: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
