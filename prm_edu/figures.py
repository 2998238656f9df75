"""Three pictures of PRM, drawn from the code's own configs: its architecture (the paper's Figure 1), the
encoder block and the PV pre-training model. `make assets` writes them to assets/.

Each function returns a matplotlib figure whose labels come from the config it is given
(sizes, number of blocks and heads), so the pictures cannot drift from the model.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from prm_edu.ctr.base import CTRConfig
from prm_edu.ctr.features import FeatureSpec
from prm_edu.ctr.pretrain import build_click_model
from prm_edu.data.world import World
from prm_edu.prm.model import PRMConfig

COLOURS = {"input": "#dbe9f6", "layer": "#fde7c8", "attention": "#f6d5d5", "output": "#d8efd3", "note": "#eeeeee"}


def _box(ax, x: float, y: float, w: float, h: float, text: str, kind: str = "layer", size: int = 9) -> tuple[float, float, float, float]:
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02", fc=COLOURS[kind], ec="#444444"))
    ax.text(x, y, text, ha="center", va="center", fontsize=size)
    return x, y, w, h


def _arrow(ax, start: tuple, end: tuple) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color="#333333", linewidth=1.2))


def _up(ax, lower: tuple, upper: tuple) -> None:
    """An arrow from the top of box `lower` to the bottom of box `upper`."""
    _arrow(ax, (lower[0], lower[1] + lower[3] / 2), (upper[0], upper[1] - upper[3] / 2))


def _canvas(width: float, height: float, title: str):
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.axis("off")
    ax.set_title(title, fontsize=11)
    return fig, ax


def prm_architecture(config: PRMConfig):
    """Input layer, N_x encoder blocks and the output layer, with the sizes of `config`."""
    d_in = config.d_x + config.d_pv
    pe = {"learned": "learnable PE (L_max, d_x+d_pv)", "sinusoidal": "sinusoidal PE", "none": "no PE"}[config.position]
    fig, ax = _canvas(6, 8, f"PRM: {config.n_blocks} encoder blocks, {config.n_heads} heads, d = {config.d_model}")
    x_box = _box(ax, 2.5, 0.9, 4.2, 0.8, f"item features X\n(B, L, d_x = {config.d_x})", "input")
    pv_box = _box(ax, 7.5, 0.9, 4.2, 0.8, f"personalized vectors PV\n(B, L, d_pv = {config.d_pv})", "input")
    concat = _box(ax, 5, 2.3, 7.6, 0.8, f"E' = [X ; PV]  (B, L, {d_in})\nE'' = E' + {pe}", "layer")
    _up(ax, x_box, concat)
    _up(ax, pv_box, concat)
    project = _box(ax, 5, 3.6, 5.2, 0.7, f"E = E'' W^E + b^E   (B, L, {config.d_model})", "layer")
    _up(ax, concat, project)
    blocks = _box(ax, 5, 5.4, 5.2, 1.6, f"{config.n_blocks} x encoder block\nmulti-head self-attention ({config.n_heads} heads)\n"
                  f"+ feed-forward ({config.d_ff} hidden)\nover the whole list", "attention")
    _up(ax, project, blocks)
    head = _box(ax, 5, 7.3, 5.2, 0.7, "logits = F W^F + b^F   (B, L)", "output")
    _up(ax, blocks, head)
    score = _box(ax, 5, 8.6, 6.4, 0.7, "score(i) = softmax over the list's items", "output")
    _up(ax, head, score)
    return fig


def encoder_block(config: PRMConfig):
    """One encoder block: attention, dropout, residual, LayerNorm; feed-forward, the same."""
    residual = "" if config.residual else " (ablation: no residual)"
    heads = f"{config.n_heads} heads of width {config.head_dim or config.d_model}"
    fig, ax = _canvas(6, 8, f"encoder block{residual}")
    inp = _box(ax, 4.6, 0.8, 4, 0.7, f"F^(b-1)   (B, L, {config.d_model})", "input")
    attn = _box(ax, 4.6, 2.2, 7.2, 0.9, f"multi-head self-attention\n{heads}, padded keys masked", "attention")
    _up(ax, inp, attn)
    norm1 = _box(ax, 4.6, 3.7, 7.2, 0.8, f"dropout ({config.dropout}), + residual, LayerNorm", "layer")
    _up(ax, attn, norm1)
    ffn = _box(ax, 4.6, 5.2, 7.2, 0.8, f"feed-forward: {config.d_model} -> {config.d_ff} -> {config.d_model} (ReLU)", "layer")
    _up(ax, norm1, ffn)
    norm2 = _box(ax, 4.6, 6.7, 7.2, 0.8, f"dropout ({config.dropout}), + residual, LayerNorm", "layer")
    _up(ax, ffn, norm2)
    out = _box(ax, 4.6, 8.2, 4, 0.7, f"F^(b)   (B, L, {config.d_model})", "output")
    _up(ax, norm2, out)
    if config.residual:
        for lane, (lower, upper) in zip((9.0, 9.5), ((inp, norm1), (norm1, norm2))):  # around the sub-layer, into the sum
            start, end = (lower[0] + lower[2] / 2, lower[1]), (upper[0] + upper[2] / 2, upper[1])
            ax.plot([start[0], lane, lane], [start[1], start[1], end[1]], color="#777777", linewidth=1)
            _arrow(ax, (lane, end[1]), end)
        ax.text(9.8, 4.5, "residual", rotation=90, fontsize=8, color="#555555", va="center")
    return fig


def pretrain_model(config: CTRConfig, d_pv: int | None = None):
    """The PV pre-training model: user, behaviour history and item in, click probability out;
    PV is the hidden layer before the sigmoid."""
    fig, ax = _canvas(7, 7, f"pre-training the PV click model ({config.model})")
    user = _box(ax, 1.7, 0.9, 3.0, 0.8, "user profile\n(region, age, ...)", "input")
    history = _box(ax, 5, 0.9, 3.2, 0.8, "behaviour history H_u\n(items clicked)", "input")
    item = _box(ax, 8.3, 0.9, 3.0, 0.8, "item i\n(id, category, price)", "input")
    embed = _box(ax, 5, 2.6, 8.2, 0.8, f"embeddings, k = {config.embed_dim} each (history: mean of its items')", "layer")
    for box in (user, history, item):
        _up(ax, box, embed)
    hidden = "x".join(str(h) for h in config.hidden)
    body = {"fm": "FM: first order + pairwise <v_i, v_j>", "fnn": f"FNN: MLP {hidden} on the embeddings",
            "deepfm": f"DeepFM: FM + MLP {hidden}", "dcn": f"DCN: {config.n_cross} cross layers + MLP {hidden}",
            "logistic": "logistic regression"}.get(config.model, config.model)
    model = _box(ax, 5, 4.3, 8.2, 0.9, body, "attention")
    _up(ax, embed, model)
    last = config.hidden[-1] if config.hidden else 0
    what = {"fm": f"the interaction vector (k = {config.embed_dim})", "fnn": f"the MLP's last hidden layer ({last})",
            "deepfm": f"[FM interaction {config.embed_dim} ; MLP last hidden {last}]",
            "dcn": f"[cross network output ; MLP last hidden {last}]"}.get(config.model, "the hidden vector before the sigmoid")
    pv = _box(ax, 5, 5.8, 7.4, 0.7, f"pv_i = {what}{f', {d_pv} wide' if d_pv else ''}", "output")
    _up(ax, model, pv)
    out = _box(ax, 5, 7.2, 8.2, 0.8, "P(click | u, H_u, i) = sigmoid(...)\nloss: binary cross-entropy (with its minus sign)", "output")
    _up(ax, pv, out)
    return fig


def write_assets(folder: str | Path) -> list[Path]:
    """Draw the three pictures with the demo's configs (`experiment.demo_config`: its PRM, its click model) and save
    them as PNG in `folder`."""
    from prm_edu.experiment import demo_config

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    demo = demo_config("full", seed=0)
    world = World(demo.world)  # the default world: its item features are X, the click model's pv is PV
    click_model = demo.click_model
    d_pv = build_click_model(FeatureSpec.for_world(world), click_model).d_pv
    prm = PRMConfig(d_x=world.item_features.shape[1], d_pv=d_pv, **demo.prm)
    figures = {"prm_architecture.png": prm_architecture(prm), "encoder_block.png": encoder_block(prm),
               "pretrain_model.png": pretrain_model(click_model, d_pv=d_pv)}
    paths = []
    for name, fig in figures.items():
        fig.savefig(folder / name, dpi=110, bbox_inches="tight")
        plt.close(fig)
        paths.append(folder / name)
    return paths
