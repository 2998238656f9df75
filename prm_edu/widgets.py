"""ipywidgets explorers. The logic lives in plain functions (tested on their own); the
widgets only call them and show the result."""

from __future__ import annotations

import io
from dataclasses import replace

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch

from prm_edu import viz
from prm_edu.ctr import inputs_from_world
from prm_edu.ctr.pretrain import predict
from prm_edu.data.world import World, WorldConfig
from prm_edu.explain import explain_request, lists_html, swap


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
        changed = replace(config, **{name: box.value for name, box in boxes.items()})
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
    out = widgets.Image(format="png")

    def update(_=None) -> None:
        attention = viz.attention_of(model, batch, request.value)
        labels = viz.list_labels(batch, world, request.value)
        _draw(out, viz.plot_attention(attention[block.value - 1][head.value - 1], labels,
                                      f"request {request.value}, block {block.value}, head {head.value}"))

    for control in (request, block, head):
        control.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([request, block, head]), out])


SHOWN_DPI, SHARPNESS = 90, 2  # a figure is shown at 90 dpi's size, drawn with twice the pixels: sharp on any screen


def _draw(image: widgets.Image, fig) -> None:
    """Put `fig` into `image` as a PNG drawn at SHARPNESS x SHOWN_DPI and shown at SHOWN_DPI's width (a PNG's
    width is bytes 16-19 of its header); the figure is closed afterwards."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=SHOWN_DPI * SHARPNESS, bbox_inches="tight")
    plt.close(fig)
    png = buffer.getvalue()
    image.value, image.width = png, str(int.from_bytes(png[16:20], "big") // SHARPNESS)


# ----- the re-ranking explorer (notebook 07; its logic is in prm_edu.explain) ---------------

def rerank_explorer(model, prepared) -> widgets.VBox:
    """Pick a test request: the input list and PRM's list side by side, the attention heatmap,
    and what-ifs: swap two items of the input list, give the user another user's (or no)
    history, switch the world's list-context effect off (the truth that judges the orders)."""
    world = prepared.world
    without_context = World(replace(world.config, context=False))  # same users and items, another click model
    request = widgets.BoundedIntText(value=0, min=0, max=len(prepared.test_log) - 1, description="request")
    first = widgets.BoundedIntText(value=0, min=0, max=world.config.list_len - 1, description="swap")
    second = widgets.BoundedIntText(value=1, min=0, max=world.config.list_len - 1, description="with")
    swap_button = widgets.Button(description="swap")
    history = widgets.Dropdown(options=["own", "none", "another user's"], value="own", description="history")
    other = widgets.BoundedIntText(value=0, min=0, max=world.config.n_users - 1, description="that user")
    # only the judge changes: PRM is the same model, trained on the world with list context
    context = widgets.Checkbox(value=True, description="list context in the judge (PRM unchanged)",
                               style={"description_width": "initial"})
    block = widgets.Dropdown(options=list(range(1, len(model.blocks) + 1)), description="block")
    head = widgets.Dropdown(options=list(range(1, model.config.n_heads + 1)), description="head")
    lists, heatmap = widgets.HTML(), widgets.Image(format="png")
    state = {"items": None, "result": None}

    def update(_=None) -> None:
        chosen = {"own": None, "none": np.array([], dtype=np.int64), "another user's": world.users.history[other.value]}[history.value]
        truth = world if context.value else without_context
        result = explain_request(model, prepared, request.value, state["items"], chosen, truth)
        state["result"] = result
        lists.value = lists_html(result, world)
        labels = [f"{j}:c{world.items.category[i]}" for j, i in enumerate(result["items"])]
        fig = viz.plot_attention(result["attention"][block.value - 1][head.value - 1], labels,
                                 f"request {request.value}, block {block.value}, head {head.value}")
        _draw(heatmap, fig)

    def new_request(_=None) -> None:
        state["items"] = None
        update()

    def do_swap(_=None) -> None:
        items = state["result"]["items"]
        if max(first.value, second.value) >= len(items):
            lists.value = f"<p>this list has {len(items)} items: positions 0 to {len(items) - 1}</p>" + lists.value
            return
        state["items"] = swap(items, first.value, second.value)
        update()

    request.observe(new_request, names="value")
    for control in (history, other, context, block, head):
        control.observe(update, names="value")
    swap_button.on_click(do_swap)
    update()
    controls = widgets.VBox([widgets.HBox([request, history, other]), widgets.HBox([first, second, swap_button]),
                             widgets.HBox([context, block, head])])
    box = widgets.VBox([controls, lists, heatmap])
    box.state = state  # what is shown now, for tests and curious students
    box.controls = {"request": request, "swap": (first, second, swap_button), "history": history, "other": other,
                    "context": context, "block": block, "head": head}
    return box
