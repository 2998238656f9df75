"""One test request through PRM, and everything the re-ranking explorer shows of it (notebook 07):
the input list and PRM's list, PRM's scores and attention, and the true click probabilities
of each order; what-ifs swap two items, replace the user's history or change the judge.
These are plain functions; `prm_edu.widgets.rerank_explorer` only calls them."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from prm_edu import viz
from prm_edu.data.world import World
from prm_edu.metrics import rank_order


def swap(items: np.ndarray, i: int, j: int) -> np.ndarray:
    """A copy of the list `items` (n,) with the items at positions i and j exchanged."""
    n = len(items)
    if not (0 <= i < n and 0 <= j < n):
        raise ValueError(f"swap: positions must be in [0, {n}), got {i} and {j}")
    out = np.array(items, copy=True)
    out[[i, j]] = out[[j, i]]
    return out


@torch.no_grad()
def explain_request(model, prepared, row: int, items: np.ndarray | None = None, history: np.ndarray | None = None,
                    truth: World | None = None) -> dict:
    """One test request through PRM, everything the explorer shows.

    `items` (n,) replaces the initial list (e.g. after a swap), `history` the user's H_u,
    `truth` the world whose click model judges the orders (e.g. one with list context off).
    Returns the user, the input list, PRM's scores (softmax over the list) and order, each
    order's true P(click) per slot and expected clicks, and PRM's attention per block.
    """
    log = prepared.test_log
    if not 0 <= row < len(log):
        raise ValueError(f"explain_request: row must be in [0, {len(log)}), got {row}")
    world, truth = prepared.world, truth or prepared.world
    user = int(log.users[row])
    items = log.items[row][log.items[row] >= 0] if items is None else np.asarray(items)
    x = torch.as_tensor(world.item_features[items], dtype=torch.float32).unsqueeze(0)  # (1, n, d_x)
    if model.config.d_pv > 0:
        pv = prepared.pv_of(user, items, history)  # (1, n, d_pv)
    else:
        pv = x.new_zeros((1, len(items), 0))
    logits, attention = viz.logits_and_attention(model, x, pv)  # (1, n), each (1, h, n, n)
    score = torch.softmax(logits[0], dim=-1).numpy()  # (n,)
    order = rank_order(logits)[0].numpy()  # PRM's order: indices into `items`
    users = np.array([user])
    oracle = truth.oracle_order(users, items[None])[0]
    p_initial = truth.click_probabilities(users, items[None])[0]
    p_reranked = truth.click_probabilities(users, items[order][None])[0]
    return {"user": user, "items": items, "score": score, "order": order, "p_initial": p_initial, "p_reranked": p_reranked,
            "clicks": {"initial": float(p_initial.sum()), "PRM": float(p_reranked.sum()),
                       "oracle": float(truth.expected_clicks(users, items[oracle][None])[0])},
            "attention": [w[0] for w in attention]}


def _colour(category: int) -> str:
    r, g, b, _ = plt.get_cmap("tab10")(category % 10)
    return f"#{int(255 * r):02x}{int(255 * g):02x}{int(255 * b):02x}"


def lists_html(result: dict, world: World) -> str:
    """The input list and PRM's list side by side: position, item, category (coloured), PRM's
    score and the true P(click) in that order; expected clicks of each order on top."""
    items, score, order = result["items"], result["score"], result["order"]

    def table(title: str, slots: np.ndarray, p_click: np.ndarray) -> str:
        rows = []
        for j, (slot, p) in enumerate(zip(slots, p_click)):
            item = items[slot]
            category = int(world.items.category[item])
            rows.append(f"<tr><td>{j}</td><td>{item}</td><td style='background:{_colour(category)};color:white'>c{category}</td>"
                        f"<td>{score[slot]:.3f}</td><td>{p:.3f}</td></tr>")
        head = "<tr><th>pos</th><th>item</th><th>cat</th><th>PRM score</th><th>P(click)</th></tr>"
        return f"<div style='margin-right:24px'><b>{title}</b><table>{head}{''.join(rows)}</table></div>"

    clicks = result["clicks"]
    summary = (f"user {result['user']}: expected clicks, input order {clicks['initial']:.3f}, "
               f"PRM {clicks['PRM']:.3f}, oracle {clicks['oracle']:.3f}")
    return (f"<p>{summary}</p><div style='display:flex'>"
            + table("input list", np.arange(len(items)), result["p_initial"])
            + table("re-ranked by PRM", order, result["p_reranked"]) + "</div>")
