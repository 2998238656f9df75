"""ipywidgets explorers. The logic lives in plain functions (tested on their own); the
widgets only call them and show the result."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch

from prm_edu import viz
from prm_edu.ctr import inputs_from_world
from prm_edu.ctr.pretrain import predict
from prm_edu.data.world import World, WorldConfig


def effect_sizes(config: WorldConfig, n_requests: int = 2000) -> dict[str, float]:
    """Expected clicks per list of the initial order and the two oracles in the world `config`."""
    world = World(config)
    return world.effect_sizes(world.sample_requests(n_requests))


def format_effects(effects: dict[str, float]) -> str:
    return (f"initial order {effects['initial']:.3f} | context-blind oracle {effects['context_blind_oracle']:.3f} | "
            f"oracle {effects['oracle']:.3f} expected clicks per list")


def world_effects_explorer(config: WorldConfig | None = None, n_requests: int = 2000) -> widgets.VBox:
    """Three check boxes, one per click-model effect; each change recomputes the effect sizes."""
    config = config or WorldConfig()
    boxes = {name: widgets.Checkbox(value=getattr(config, name), description=label)
             for name, label in (("position_bias", "position bias"), ("personal", "personal attractiveness"),
                                 ("context", "list context"))}
    out = widgets.HTML()

    def update(_=None) -> None:
        changed = config.replace(**{name: box.value for name, box in boxes.items()})
        out.value = f"<code>{format_effects(effect_sizes(changed, n_requests))}</code>"

    for box in boxes.values():
        box.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox(list(boxes.values())), out])


def favourite_items(model, world: World, spec, user: int, k: int = 10) -> list[dict]:
    """The k items the click model scores highest for `user` (its logit, i.e. the pv's read-out)."""
    if not 0 <= user < world.config.n_users:
        raise ValueError(f"user must be in [0, {world.config.n_users}), got {user}")
    items = np.arange(world.config.n_items)
    logits = predict(model, inputs_from_world(world, spec, np.full(len(items), user), items))
    top = torch.topk(logits, k).indices.numpy()
    return [{"item": int(i), "category": int(world.items.category[i]), "logit": float(logits[i])} for i in top]


def user_explorer(model, world: World, spec, k: int = 10) -> widgets.VBox:
    """Pick a user: see the categories of the items their PV favours beside their true tastes."""
    picker = widgets.BoundedIntText(value=0, min=0, max=world.config.n_users - 1, description="user")
    out = widgets.HTML()

    def update(_=None) -> None:
        user = picker.value
        favourites = favourite_items(model, world, spec, user, k)
        counts = np.bincount([f["category"] for f in favourites], minlength=world.config.n_categories)
        taste = world.truth.taste[user]
        rows = "".join(f"<tr><td>{c}</td><td>{counts[c]}</td><td>{taste[c]:+.2f}</td></tr>" for c in np.argsort(-taste))
        out.value = (f"<table><tr><th>category</th><th>in the top {k}</th><th>true taste (hidden)</th></tr>{rows}</table>")

    picker.observe(update, names="value")
    update()
    return widgets.VBox([picker, out])


def attention_explorer(model, batch, world) -> widgets.VBox:
    """Choose a request, a block and a head: the attention heatmap of that list is redrawn."""
    request = widgets.BoundedIntText(value=0, min=0, max=len(batch) - 1, description="request")
    block = widgets.Dropdown(options=list(range(1, len(model.blocks) + 1)), description="block")
    head = widgets.Dropdown(options=list(range(1, model.config.n_heads + 1)), description="head")
    out = widgets.Output()

    def update(_=None) -> None:
        attention = viz.attention_of(model, batch, request.value)
        labels = viz.list_labels(batch, world, request.value)
        with out:
            out.clear_output(wait=True)
            viz.plot_attention(attention[block.value - 1][head.value - 1], labels,
                               f"request {request.value}, block {block.value}, head {head.value}")
            plt.show()

    for control in (request, block, head):
        control.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([request, block, head]), out])
