"""Static figures (matplotlib): learning curves and attention heatmaps.

Each function draws on a new figure and returns it; pass `path` to also save it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from prm_edu.train import History


def _save(fig, path: str | Path | None):
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig


def plot_learning_curves(histories: dict[str, History], path: str | Path | None = None):
    """Training loss and the monitored validation measure per epoch, one line per model."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, history in histories.items():
        epochs = [e["epoch"] + 1 for e in history.epochs]
        axes[0].plot(epochs, history.column("train_loss"), marker="o", label=name)
        axes[1].plot(epochs, history.column(history.monitor), marker="o", label=name)
        axes[1].scatter([history.best_epoch + 1], [history.best[history.monitor]], s=120, facecolors="none", edgecolors="k")
    axes[0].set(title="training loss", xlabel="epoch")
    axes[1].set(title=f"validation {next(iter(histories.values())).monitor} (circle: restored epoch)", xlabel="epoch")
    axes[0].legend()
    fig.tight_layout()
    return _save(fig, path)


def plot_attention(weights: torch.Tensor, labels: list[str] | None = None, title: str = "", path: str | Path | None = None):
    """One head's attention weights (L, L) as a heatmap: row = the item that attends (query)."""
    w = np.asarray(torch.as_tensor(weights).detach().cpu())
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    image = ax.imshow(w, cmap="viridis", vmin=0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    if labels is not None:
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=6)
        ax.set_yticks(range(len(labels)), labels, fontsize=6)
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
        ax.plot(np.arange(1, len(rate) + 1), rate, marker="o", markersize=3, label=name)
    ax.set(xlabel="position", ylabel="clicks per impression", title="logged clicks by position")
    ax.legend()
    fig.tight_layout()
    return _save(fig, path)
