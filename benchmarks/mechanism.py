"""Why the logged loss picks the wrong epoch: PRM-Personalized trained past its best, per epoch.

    python mechanism.py --variant learned --scale 1 --seed 0 --epochs 20

The demo's data and PRM-Personalized, trained as `train_reranker` trains it but without
early stopping. Per epoch: the list-wise loss on the logged validation lists (the old
stopping rule), the same loss on held-out lists shown in a random order (a second
randomized bucket, never trained on), the position-bias term's slope beta_0 - beta_29,
and, from the truth, the test lists' share of the oracle's gain and the rank correlation
within each test list of PRM's logits with the true attractiveness a and with the
initial ranks. Variants of the position-bias term:

- learned: the demo's (beta learned from zero beside PRM);
- fixed: beta fixed to log e_j read off the training randomized bucket (`estimate_examination`);
- none: no position-bias term.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
import torch

from prm_edu import metrics
from prm_edu.ctr import pv_for_lists
from prm_edu.data.batches import rerank_batch
from prm_edu.data.world import in_initial_order
from prm_edu.experiment import demo_config
from prm_edu.experiment.config import RANDOMIZED_BUCKET_SEED_OFFSET
from prm_edu.experiment.prepare import prepare
from prm_edu.experiment.rerankers import build_prm, list_loss, logits_of
from prm_edu.position_bias import WithPositionBias, estimate_examination
from prm_edu.train import fit

HELD_OUT_SEED_OFFSET = 7777  # the held-out randomized bucket's random stream


def rank_correlation(scores: np.ndarray, target: np.ndarray, padding_mask: np.ndarray) -> float:
    """Mean over lists of the Spearman correlation of `scores` and `target` on the real slots."""
    out = []
    for s, t, m in zip(scores, target, padding_mask):
        rs, rt = np.argsort(np.argsort(s[~m])), np.argsort(np.argsort(t[~m]))
        out.append(np.corrcoef(rs, rt)[0, 1])
    return float(np.nanmean(out))


def main(variant: str, scale: int, seed: int, epochs: int) -> None:
    torch.set_num_threads(1)
    config = demo_config(False, seed)
    config = replace(config, world=replace(config.world, n_requests=config.world.n_requests * scale))
    p = prepare(config, progress=False)
    world, test, log = p.world, p.test, p.test_log
    shown, shown_at = in_initial_order(world.sample_requests(4000, seed=seed + HELD_OUT_SEED_OFFSET, randomize=True))
    held = rerank_batch(world.item_features, shown,
                        p.standardize(pv_for_lists(p.click_model, world, p.spec, shown), torch.as_tensor(shown.padding_mask)), shown_at)
    bucket = world.sample_requests(round(config.explore_share * config.world.n_requests), seed=seed + RANDOMIZED_BUCKET_SEED_OFFSET,
                                   randomize=True)  # the training randomized bucket, as `prepare` draws it
    log_e = torch.as_tensor(np.log(estimate_examination(bucket)), dtype=torch.float32)
    initial = metrics.expected_clicks(world, log.users, log.items)
    oracle = metrics.expected_clicks(world, log.users, log.items, world.oracle_order(log.users, log.items))
    a = world.attractiveness(log.users, log.items)
    mask = test.padding_mask.numpy()
    loss_fn = list_loss(config.loss)
    torch.manual_seed(seed)
    model = build_prm(p.train, **config.prm)
    length = p.train.x.shape[1]
    wrapped = {"learned": lambda: WithPositionBias(model, length), "fixed": lambda: WithPositionBias(model, length, log_e),
               "none": lambda: WithPositionBias(model, length, torch.zeros(length))}[variant]()
    fall = lambda p: float(np.log(p[:, 0].mean() / p[:, -1].mean()))  # noqa: E731  log CTR(top) - log CTR(bottom)
    logged, shown_random = world.sample_requests(20000, seed=seed + 1), world.sample_requests(20000, seed=seed + 5, randomize=True)
    attractive = 1 / (1 + np.exp(-world.attractiveness(logged.users, logged.items)))
    falls = [fall(world.click_probabilities(log_.users, log_.items)) for log_ in (logged, shown_random)]
    print(f"the truth's click probabilities fall from the top to the bottom slot by {falls[0]:.2f} logits in logged lists, "
          f"{falls[1]:.2f} in randomly ordered ones; sigmoid(a) alone falls by {fall(attractive):.2f} in logged lists")
    print(f"{variant}, {scale}x, seed {seed}; log e_29: true {np.log(world.examination(length))[-1]:.2f}, "
          f"read off the randomized bucket {float(log_e[-1]):.2f}")
    print("| epoch | logged valid. loss | held-out randomized loss | beta_0 - beta_29 | true share | rho(logit, a) | rho(logit, -rank) |")
    print("|---|---|---|---|---|---|---|")

    def validate(m: WithPositionBias) -> dict[str, float]:
        logits = logits_of(m.model, test)
        order = metrics.rank_order(logits, test.padding_mask)
        row = {"loss": loss_fn(logits_of(m, p.valid), p.valid.labels, p.valid.padding_mask).item(),
               "held": loss_fn(logits_of(m, held), held.labels, held.padding_mask).item(),
               "slope": float(m.beta[0] - m.beta[-1]),
               "share": metrics.share_of_oracle_gain(metrics.expected_clicks(world, log.users, log.items, order), initial, oracle),
               "rho_a": rank_correlation(logits.numpy(), a, mask), "rho_rank": rank_correlation(logits.numpy(), -test.ranks.numpy(), mask)}
        print(f"| {len(rows) + 1} | " + " | ".join(f"{v:.3f}" for v in row.values()) + " |", flush=True)
        rows.append(row)
        return row

    rows: list[dict] = []
    train_loss = lambda m, b: loss_fn(m(b.x, b.pv, b.padding_mask, b.ranks, b.shown_at), b.labels, b.padding_mask)  # noqa: E731
    fit(wrapped, p.train, train_loss, validate, replace(config.fit, epochs=epochs, patience=epochs, seed=seed, progress=False))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", choices=["learned", "fixed", "none"], default="learned")
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    main(args.variant, args.scale, args.seed, args.epochs)
