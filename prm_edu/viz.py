"""Static figures (matplotlib): learning curves and attention heatmaps.

Each function draws on a new figure and returns it; pass `path` to also save it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import MaxNLocator

from prm_edu.train import History


def _save(fig, path: str | Path | None):
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig


MONITOR_UNITS = {  # the validation measure an early stop reads -> its axis label, with its unit
    "estimated gain": "estimated gain (clicks per list over the initial order)",
    "loss": "validation loss on logged lists (lower is better)",
}


def plot_learning_curves(histories: dict[str, History], path: str | Path | None = None):
    """Training loss and the monitored validation measure per epoch, one line per model."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")  # the legend below the panels, never over a line
    for name, history in histories.items():
        epochs = [e["epoch"] + 1 for e in history.epochs]
        axes[0].plot(epochs, history.column("train_loss"), marker="o", label=name)
        axes[1].plot(epochs, history.column(history.monitor), marker="o", label=name)
        axes[1].scatter([history.best_epoch + 1], [history.best[history.monitor]], s=120, facecolors="none", edgecolors="k")
    monitor = next(iter(histories.values())).monitor
    axes[0].set(title="training loss", xlabel="epoch", ylabel="training loss (mean over the epoch)")
    axes[1].set(title=f"validation {monitor} (circle: restored epoch)", xlabel="epoch",
                ylabel=MONITOR_UNITS.get(monitor, f"validation {monitor}"))
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=min(5, len(histories)), fontsize=9)
    return _save(fig, path)


SELECTION_PANELS = {  # history column -> what the panel shows (two lines: three panels share a page's width)
    "loss": "validation loss on logged lists\n(lower is better)",
    "estimated gain": "estimated gain, clicks per list\n(the stopping rule)",
    "true share": "true share of the oracle's gain\n(never read by selection)",
}


def plot_selection_curves(histories: dict[str, History], path: str | Path | None = None):
    """Per epoch, side by side: the logged loss, the stopping rule's estimate and the truth, one line per
    model (histories from `demo.run(..., truth_per_epoch=True)`); a circle marks the restored epoch.
    Drawn at about a page's width (10 in), so that its text is shown at the size it was drawn."""
    fig, axes = plt.subplots(1, len(SELECTION_PANELS), figsize=(10, 3.9), layout="constrained")
    for name, history in histories.items():
        epochs = [e["epoch"] + 1 for e in history.epochs]
        for ax, key in zip(axes, SELECTION_PANELS):
            ax.plot(epochs, history.column(key), marker="o", markersize=4, label=name)
            ax.scatter([history.best_epoch + 1], [history.best[key]], s=80, facecolors="none", edgecolors="k")
    for ax, title in zip(axes, SELECTION_PANELS.values()):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    # the legend below the panels, never over a line
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=min(3, len(histories)), fontsize=9)
    return _save(fig, path)


def plot_attention(weights: torch.Tensor, labels: list[str] | None = None, title: str = "", path: str | Path | None = None):
    """One head's attention weights (L, L) as a heatmap: row = the item that attends (query)."""
    w = np.asarray(torch.as_tensor(weights).detach().cpu())
    fig, ax = plt.subplots(figsize=(9, 8))  # 30 labels a side, readable at 8 pt
    image = ax.imshow(w, cmap="viridis", vmin=0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    if labels is not None:
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set(xlabel="attended item (key)", ylabel="attending item (query)", title=title)
    fig.tight_layout()
    return _save(fig, path)


def click_rate_by_position(log) -> np.ndarray:
    """Logged clicks per impression at each position, (L,)."""
    shown = (~log.padding_mask).sum(axis=0)
    return log.clicks.sum(axis=0) / np.maximum(shown, 1)


def plot_click_rate_by_position(logs: dict, path: str | Path | None = None):
    """Click rate at each position, one line per log (e.g. the initial order and a randomized bucket)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for name, log in logs.items():
        rate = click_rate_by_position(log)
        ax.plot(np.arange(len(rate)), rate, marker="o", markersize=3, label=name)
    ax.set(xlabel="position (0: the top slot)", ylabel="clicks per impression", title="logged clicks by position")
    ax.legend()
    fig.tight_layout()
    return _save(fig, path)


def list_labels(batch, world, row: int) -> list[str]:
    """'position:category' for each real item of list `row`, '*' marking a logged click."""
    n = int((~batch.padding_mask[row]).sum())
    items = batch.items[row, :n].tolist()
    return [f"{j}:c{world.items.category[i]}{'*' if batch.labels[row, j] else ''}" for j, i in enumerate(items)]


@torch.no_grad()
@torch.no_grad()
def logits_and_attention(model, x: torch.Tensor, pv: torch.Tensor, padding_mask: torch.Tensor | None = None,
                         ranks: torch.Tensor | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """One PRM forward pass in eval mode on the model's device: the logits (B, L) and every block's
    attention weights (B, h, L, L), both on the CPU."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    to = lambda t: None if t is None else t.to(device)  # noqa: E731
    logits, attention = model(to(x), to(pv), to(padding_mask), to(ranks), return_attention=True)
    model.train(was_training)
    return logits.cpu(), [w.cpu() for w in attention]


def attention_of(model, batch, row: int) -> list[torch.Tensor]:
    """Every block's attention weights (h, n, n) for list `row` of `batch`, real items only."""
    part = batch[row : row + 1]
    _, attention = logits_and_attention(model, part.x, part.pv, part.padding_mask, part.ranks)
    n = int((~batch.padding_mask[row]).sum())
    return [w[0, :, :n, :n] for w in attention]


def plot_attention_grid(attention: list[torch.Tensor], labels: list[str], path: str | Path | None = None):
    """A heatmap per block (rows) and head (columns). The heads of one block share a colour scale (a block's
    weights can be far flatter than another's, and one scale for all would leave it a flat colour); each
    block's bar marks 1/n, the weight of uniform attention over the list's n items (a cell brighter than
    that draws more than its share)."""
    n_blocks, n_heads = len(attention), attention[0].shape[0]
    uniform = 1 / len(labels)
    # about a page's width (10 in for two heads): the labels are shown at the size they were drawn
    fig, axes = plt.subplots(n_blocks, n_heads, figsize=(4.5 * n_heads + 1.2, 4.6 * n_blocks), squeeze=False, layout="constrained")
    for b in range(n_blocks):
        top = max(float(attention[b].max()), 1.5 * uniform)
        for h in range(n_heads):
            ax = axes[b][h]
            image = ax.imshow(attention[b][h].numpy(), cmap="viridis", vmin=0, vmax=top)
            ax.set_title(f"block {b + 1}, head {h + 1}", fontsize=10)
            ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=6.5)
            ax.set_yticks(range(len(labels)), labels, fontsize=6.5)
            ax.set_xlabel("attended item (key)", fontsize=8)
            ax.set_ylabel("attending item (query)", fontsize=8)
        bar = fig.colorbar(image, ax=axes[b].tolist(), fraction=0.03, pad=0.02, label=f"block {b + 1}: attention weight")
        bar.ax.axhline(uniform, color="white", linewidth=2)
        bar.ax.text(1.6, uniform, f"1/n = {uniform:.3f}", transform=bar.ax.get_yaxis_transform(), va="center", fontsize=7)
    return _save(fig, path)


def plot_bars(values: dict[str, float], title: str = "", xlabel: str = "", errors: dict[str, float] | None = None,
              reference: str | None = None, path: str | Path | None = None):
    """One horizontal bar per row (e.g. each method's share of the oracle's gain); `reference`
    draws a dashed line at that row's value, `errors` adds error bars (e.g. std over seeds)."""
    names = list(values)
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(names) + 1.2))
    xerr = None if errors is None else [errors.get(n, 0.0) for n in names]
    ax.barh(names, [values[n] for n in names], xerr=xerr, color="tab:blue", alpha=0.8)
    if reference is not None:
        ax.axvline(values[reference], color="k", linestyle="--", linewidth=1, label=reference)
        ax.legend(loc="lower right")
    ax.invert_yaxis()  # first row on top
    ax.set(title=title, xlabel=xlabel)
    fig.tight_layout()
    return _save(fig, path)


NOT_LEARNED = ("initial order", "context-blind oracle", "oracle (greedy)")  # rows that are not re-rankers


def best_learned(rows: dict[str, dict[str, float]]) -> dict[str, str]:
    """Per column, the learned row (not the initial order, not an oracle) with the highest value."""
    learned = [name for name in rows if name not in NOT_LEARNED]
    columns = next(iter(rows.values())).keys()
    return {c: max(learned, key=lambda name: rows[name][c]) for c in columns} if learned else {}


def table_frame(rows: dict[str, dict[str, float]], spreads: dict[str, dict[str, float]] | None = None, digits: int = 3):
    """A results table (one row per method, as `prm_edu.cli.format_table` prints it) as a styled
    pandas table for a notebook: "mean ± std" cells when `spreads` is given, and in each column
    the best learned row (`best_learned`) in bold."""
    import pandas as pd  # only notebooks need it

    means = pd.DataFrame(rows).T  # (methods, columns)
    def text(frame, template: str):  # every cell formatted (Series.map: any pandas seaborn brings)
        return frame.apply(lambda column: column.map(template.format))

    shown = text(means, f"{{:.{digits}f}}")
    if spreads is not None:
        shown = shown + text(pd.DataFrame(spreads).T.reindex_like(means), f" ± {{:.{digits}f}}")
    best = best_learned(rows)

    def bold(frame):
        return pd.DataFrame([["font-weight: bold" if best.get(c) == r else "" for c in frame.columns] for r in frame.index],
                            index=frame.index, columns=frame.columns)

    return shown.style.apply(bold, axis=None)
