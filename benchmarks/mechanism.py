"""What the position-bias term learns: PRM-Personalized trained past its best, per epoch.

    python mechanism.py run --variant estimated --scale 4 --seed 0 --epochs 30   # writes mechanism/estimated_scale4_seed0.json
    python mechanism.py report                                                   # the tables from every run written

The demo's data and PRM-Personalized, trained as `train_reranker` trains it but without
early stopping. Per epoch: the list-wise loss on the logged validation lists (the old
stopping rule), the same loss on held-out lists shown in a random order (a second
randomized bucket, never trained on), the position-bias term's slope beta_0 - beta_29,
and, from the truth, the test lists' share of the oracle's gain and the rank correlation
within each test list of PRM's logits with the true attractiveness a and with the
initial ranks. Variants of the position-bias term:

- estimated: the demo's: beta fixed to log e_j of the position-based click model fitted on the
  training randomized bucket (`prm_edu.examination`);
- learned: beta learned from zero beside PRM (the demo's default before the examination was estimated);
- true: beta fixed to the world's true log e_j (diagnosis only: a real system does not have it);
- click-rate: beta fixed to the click-rate curve of the training randomized bucket;
- none: no position-bias term.

Per epoch it also records the demo's stopping-rule number (the estimated gain of PRM's
orders of the validation lists, `prm_edu.selection`), so the epoch the demo would keep
(the best estimate, patience 2, at most 15 epochs) is read off the same run: training up
to that epoch is the same whatever the patience.
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

from prm_edu import metrics
from prm_edu.ctr import pv_for_lists
from prm_edu.data.batches import rerank_batch
from prm_edu.data.world import in_initial_order
from prm_edu.examination import click_rate_curve
from prm_edu.experiment import demo_config
from prm_edu.experiment.config import RANDOMIZED_BUCKET_SEED_OFFSET
from prm_edu.experiment.prepare import prepare, shown_lists
from prm_edu.experiment.rerankers import build_prm, list_loss, logits_of
from prm_edu.position_bias import WithPositionBias
from prm_edu.train import fit

HELD_OUT_SEED_OFFSET = 7777  # the held-out randomized bucket's random stream
OUT = Path(__file__).with_name("mechanism")
VARIANTS = ("estimated", "learned", "true", "click-rate", "none")
DEMO_EPOCHS, DEMO_PATIENCE = 15, 2  # the demo's stopping rule when these runs were made (d = 64; RERANK_FIT has 8 epochs now)


def demo_choice(values: list[float], epochs: int = DEMO_EPOCHS, patience: int = DEMO_PATIENCE, mode: str = "max") -> int:
    """The epoch (0-based) a stopping rule keeps: the best value (highest for "max", lowest for "min"), training
    ending once more than `patience` epochs in a row bring no better one (as `train.fit`)."""
    sign = 1.0 if mode == "max" else -1.0
    best, since = 0, 0
    for epoch, value in enumerate(values[:epochs]):
        if epoch > 0 and sign * value > sign * values[best]:
            best, since = epoch, 0
        elif epoch > 0:
            since += 1
            if since > patience:
                break
    return best


def rank_correlation(scores: np.ndarray, target: np.ndarray, padding_mask: np.ndarray) -> float:
    """Mean over lists of the Spearman correlation of `scores` and `target` on the real slots."""
    out = []
    for s, t, m in zip(scores, target, padding_mask):
        rs, rt = np.argsort(np.argsort(s[~m])), np.argsort(np.argsort(t[~m]))
        out.append(np.corrcoef(rs, rt)[0, 1])
    return float(np.nanmean(out))


def main(variant: str, scale: int, seed: int, epochs: int, dropout: float | None = None, weight_decay: float = 0.0) -> None:
    torch.set_num_threads(1)
    config = demo_config("full", seed)
    config = replace(config, world=replace(config.world, n_requests=config.world.n_requests * scale),
                     prm=config.prm | ({} if dropout is None else {"dropout": dropout}), fit=replace(config.fit, weight_decay=weight_decay))
    p = prepare(config, progress=False)
    world, test, log = p.world, p.test, p.test_log
    shown, shown_at = in_initial_order(world.sample_requests(4000, seed=seed + HELD_OUT_SEED_OFFSET, randomize=True))
    held = rerank_batch(world.item_features, shown,
                        p.standardize(pv_for_lists(p.click_model, world, p.spec, shown), torch.as_tensor(shown.padding_mask)), shown_at)
    bucket = world.sample_requests(round(config.explore_share * config.world.n_requests), seed=seed + RANDOMIZED_BUCKET_SEED_OFFSET,
                                   randomize=True)  # the training randomized bucket, as `prepare` draws it
    length = p.train.x.shape[1]
    pbm_value = replace(p.select, click_model=p.examination)  # the same estimate with the position-based model as its judge
    curves = {"estimated": p.examinations["estimated"], "true": torch.as_tensor(np.log(world.examination(length)), dtype=torch.float32),
              "click-rate": torch.as_tensor(click_rate_curve(shown_lists(world, p.click_model, p.spec, bucket)), dtype=torch.float32),
              "none": torch.zeros(length)}
    initial = metrics.expected_clicks(world, log.users, log.items)
    oracle = metrics.expected_clicks(world, log.users, log.items, world.oracle_order(log.users, log.items))
    a = world.attractiveness(log.users, log.items)
    mask = test.padding_mask.numpy()
    loss_fn = list_loss(config.loss)
    torch.manual_seed(seed)
    model = build_prm(p.train, **config.prm)
    wrapped = WithPositionBias(model, length, curves.get(variant))  # "learned": None, learned from zero
    fall = lambda p: float(np.log(p[:, 0].mean() / p[:, -1].mean()))  # noqa: E731  log CTR(top) - log CTR(bottom)
    logged, shown_random = world.sample_requests(20000, seed=seed + 1), world.sample_requests(20000, seed=seed + 5, randomize=True)
    attractive = 1 / (1 + np.exp(-world.attractiveness(logged.users, logged.items)))
    falls = [fall(world.click_probabilities(log_.users, log_.items)) for log_ in (logged, shown_random)]
    print(f"the truth's click probabilities fall from the top to the bottom slot by {falls[0]:.2f} logits in logged lists, "
          f"{falls[1]:.2f} in randomly ordered ones; sigmoid(a) alone falls by {fall(attractive):.2f} in logged lists")
    print(f"{variant}, {scale}x, seed {seed}; log e_29: true {float(curves['true'][-1]):.2f}, "
          f"position-based model {float(curves['estimated'][-1]):.2f}, click-rate curve {float(curves['click-rate'][-1]):.2f}")
    print("| epoch | logged valid. loss | held-out randomized loss | beta_0 - beta_29 | true share | rho(logit, a) | rho(logit, -rank) "
          "| estimated gain | estimated gain (PBM) |")
    print("|---|---|---|---|---|---|---|---|---|")

    def validate(m: WithPositionBias) -> dict[str, float]:
        logits = logits_of(m.model, test)
        order = metrics.rank_order(logits, test.padding_mask)
        row = {"loss": loss_fn(logits_of(m, p.valid), p.valid.labels, p.valid.padding_mask).item(),
               "held": loss_fn(logits_of(m, held), held.labels, held.padding_mask).item(),
               "slope": float(m.beta[0] - m.beta[-1]),
               "share": metrics.share_of_oracle_gain(metrics.expected_clicks(world, log.users, log.items, order), initial, oracle),
               "rho_a": rank_correlation(logits.numpy(), a, mask), "rho_rank": rank_correlation(logits.numpy(), -test.ranks.numpy(), mask),
               "estimate": p.select(valid_logits := logits_of(m.model, p.valid)), "estimate (PBM)": pbm_value(valid_logits)}
        print(f"| {len(rows) + 1} | " + " | ".join(f"{v:.3f}" for v in row.values()) + " |", flush=True)
        rows.append(row)
        return row

    rows: list[dict] = []
    train_loss = lambda m, b: loss_fn(m(b.x, b.pv, b.padding_mask, b.ranks, b.shown_at), b.labels, b.padding_mask)  # noqa: E731
    start = time.perf_counter()
    fit(wrapped, p.train, train_loss, validate, replace(config.fit, epochs=epochs, patience=epochs, seed=seed, progress=False))
    OUT.mkdir(exist_ok=True)
    changes = ("" if dropout is None else f", dropout {dropout}") + (f", weight decay {weight_decay:g}" if weight_decay else "")
    out = {"variant": variant + changes, "scale": scale, "seed": seed, "seconds": time.perf_counter() - start, "epochs": rows,
           "beta": [float(b) for b in wrapped.beta], "true log e": curves["true"].tolist()}
    suffix = ("" if dropout is None else f"_dropout{dropout}") + (f"_wd{weight_decay:g}" if weight_decay else "")
    (OUT / f"{variant}_scale{scale}_seed{seed}{suffix}.json").write_text(json.dumps(out, indent=1))


def report() -> None:
    """Per variant and log size: the true share per epoch (mean over seeds), the no-collapse check (every epoch
    from 5 on within 0.05 of the run's best), and the epoch the demo's rule keeps against the best."""
    runs = [json.loads(p.read_text()) for p in sorted(OUT.glob("*_scale*_seed*.json"))]
    print(f"Measured on {machine()}; {len(runs)} runs\n")
    keys = sorted({(r["variant"], r["scale"]) for r in runs}, key=lambda k: (VARIANTS.index(k[0].split(",")[0]), k[0], k[1]))
    shown = [1, 2, 3, 5, 10, 15, 20, 25, 30]
    rows, checks, rules = [], [], []
    for variant, scale in keys:
        mine = [r for r in runs if (r["variant"], r["scale"]) == (variant, scale)]
        shares = [[e["share"] for e in r["epochs"]] for r in mine]
        n = min(len(s) for s in shares)
        mean = np.mean([s[:n] for s in shares], axis=0)
        rows.append([variant, f"{scale}x", str(len(mine)), *(f"{mean[e - 1]:.2f}" if e <= n else "" for e in shown)])
        rule_names = ["the estimate (the demo)", "the PBM's estimate", "the logged loss", "epoch 5", "epoch 10", "epoch 15", "best (truth)"]
        picks = {name: [] for name in rule_names}
        for r, s in zip(mine, shares):
            best = max(s)
            worst_late = min(s[4:]) if len(s) > 4 else float("nan")
            chosen = demo_choice([e["estimate"] for e in r["epochs"]])
            by_loss = demo_choice([e["loss"] for e in r["epochs"]], mode="min")
            beta_error = np.abs(np.array(r["beta"]) - np.array(r["true log e"])).mean()
            checks.append([variant, f"{scale}x", str(r["seed"]), f"{best:.3f} (epoch {int(np.argmax(s)) + 1})", f"{worst_late:.3f}",
                           "yes" if best - worst_late <= 0.05 else "no", f"{chosen + 1}", f"{s[chosen]:.3f}", f"{s[chosen] - best:+.3f}",
                           "yes" if best - s[chosen] <= 0.03 else "no", f"{beta_error:.3f}"])
            by_pbm = demo_choice([e["estimate (PBM)"] for e in r["epochs"]]) if "estimate (PBM)" in r["epochs"][0] else len(s)
            for name, epoch in zip(rule_names, (chosen, by_pbm, by_loss, 4, 9, 14)):
                if epoch < len(s):
                    picks[name].append(s[epoch])
            picks["best (truth)"].append(best)
        rules.append([variant, f"{scale}x", *(f"{np.mean(v):.3f} ± {np.std(v):.3f}" if v else "" for v in picks.values())])
    print("True share of the oracle's gain per epoch (mean over seeds):\n")
    print(markdown_table(["beta", "log", "seeds", *(f"epoch {e}" for e in shown)], rows))
    print("\nPer run: no collapse (every epoch from 5 on within 0.05 of the best), and the demo's stopping rule:\n")
    print(markdown_table(["beta", "log", "seed", "best share", "lowest share from epoch 5", "within 0.05", "demo's epoch",
                          "its share", "minus best", "within 0.03", "MAE of beta vs true log e"], checks))
    print("\nTrue share of the epoch each rule keeps (mean ± std over seeds; the rules read logs only, 'best' the truth):\n")
    print(markdown_table(["beta", "log", "the estimate (the demo's rule)", "the PBM's estimate (same rule)",
                          "the logged loss (same patience)", "epoch 5", "epoch 10",
                          "epoch 15", "best epoch (truth, not a rule)"], rules))
    scales = sorted({k[1] for k in keys})
    if "estimated" in {k[0] for k in keys} and len(scales) > 1:
        first, last = scales[0], scales[-1]
        by = {(r["scale"], r["seed"]): r for r in runs if r["variant"] == "estimated"}
        diffs = []
        for (scale, seed), r in by.items():
            if scale == last and (first, seed) in by:
                pick = lambda run: run["epochs"][demo_choice([e["estimate"] for e in run["epochs"]])]["share"]  # noqa: E731
                diffs.append(pick(r) - pick(by[(first, seed)]))
        if diffs:
            print(f"\nestimated beta, the demo's rule: {last}x minus {first}x, paired by seed: {np.mean(diffs):+.3f} ± {np.std(diffs):.3f} "
                  f"({len(diffs)} seeds)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("run")
    one.add_argument("--variant", choices=VARIANTS, default="estimated")
    one.add_argument("--scale", type=int, default=1)
    one.add_argument("--seed", type=int, default=0)
    one.add_argument("--epochs", type=int, default=30)
    one.add_argument("--dropout", type=float, default=None, help="PRM's dropout (default: the demo's)")
    one.add_argument("--weight-decay", type=float, default=0.0, help="Adam's weight decay (default: the demo's, 0)")
    sub.add_parser("report")
    args = parser.parse_args()
    main(args.variant, args.scale, args.seed, args.epochs, args.dropout, args.weight_decay) if args.command == "run" else report()
