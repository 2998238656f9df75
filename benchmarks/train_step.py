"""Training step, side by side: our PRM against a torch.nn.TransformerEncoder reference and
allRank's context-aware transformer, at the same sizes (lists of 30, 20 item features,
d = 64, 2 blocks, 2 heads, feed-forward 128, dropout 0.1, Adam, list-wise softmax loss).

    python benchmarks/train_step.py            # prints a markdown table

Run in the benchmark environment (`make bench-env`): allRank is not a dependency of prm-edu.
"""

from __future__ import annotations

import torch
from common import interleaved, machine, markdown_table
from torch import nn

from prm_edu.losses import listwise_softmax_nll
from prm_edu.prm import PRM, PRMConfig

L, D_X, D, BLOCKS, HEADS, D_FF = 30, 20, 64, 2, 2, 128


class TorchReference(nn.Module):
    """The same model from torch's own blocks: projection, learned PE, nn.TransformerEncoder, score head."""

    def __init__(self) -> None:
        super().__init__()
        self.project = nn.Linear(D_X, D)
        self.position = nn.Parameter(torch.zeros(L, D))
        layer = nn.TransformerEncoderLayer(D, HEADS, D_FF, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, BLOCKS, enable_nested_tensor=False)
        self.head = nn.Linear(D, 1)

    def forward(self, x, pv, padding_mask):
        h = self.encoder(self.project(x) + self.position, src_key_padding_mask=padding_mask)
        return self.head(h).squeeze(-1)


def allrank_model():
    """allRank's transformer with the same sizes, or None when allrank is not installed."""
    try:
        from allrank.config import PositionalEncoding, TransformerConfig
        from allrank.models.model import make_model
    except ImportError:
        return None
    transformer = TransformerConfig(N=BLOCKS, d_ff=D_FF, h=HEADS, dropout=0.1,
                                    positional_encoding=PositionalEncoding(strategy="learned", max_indices=L))
    model = make_model(fc_model={"sizes": [D], "input_norm": False, "activation": None, "dropout": 0.0},
                       transformer=transformer, post_model={"d_output": 1}, n_features=D_X)

    class Wrapped(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, x, pv, padding_mask):
            indices = torch.arange(L).expand(x.shape[0], L)
            return self.model.score(x, padding_mask, indices)

    return Wrapped()


def models() -> dict[str, nn.Module]:
    base = {"d_x": D_X, "d_model": D, "n_blocks": BLOCKS, "n_heads": HEADS, "d_ff": D_FF, "max_len": L}
    out = {
        "prm-edu PRM, d-wide heads (paper)": PRM(PRMConfig(**base)),
        "prm-edu PRM, split heads": PRM(PRMConfig(**base, head_dim=D // HEADS)),
        "prm-edu PRM, split heads, fused": PRM(PRMConfig(**base, head_dim=D // HEADS, fused_attention=True)),
        "nn.TransformerEncoder reference": TorchReference(),
    }
    allrank = allrank_model()
    if allrank is not None:
        out["allRank transformer"] = allrank
    return out


def step_fn(model: nn.Module, batch: int):
    torch.manual_seed(0)
    x = torch.randn(batch, L, D_X)
    pv = torch.zeros(batch, L, 0)
    padding_mask = torch.zeros(batch, L, dtype=torch.bool)
    padding_mask[: batch // 4, 20:] = True  # a quarter of the lists are shorter
    labels = (torch.rand(batch, L) < 0.1).float().masked_fill(padding_mask, 0.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()

    def step() -> None:
        optimizer.zero_grad()
        loss = listwise_softmax_nll(model(x, pv, padding_mask), labels, padding_mask)
        loss.backward()
        optimizer.step()

    return step


def main() -> None:
    print(f"machine: {machine()}\n")
    header = ["model"]
    results = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for batch in (64, 256):
            built = models()
            ms = interleaved({name: step_fn(m, batch) for name, m in built.items()}, rounds=5, per_round=5 if batch == 256 else 10)
            results[(threads, batch)] = ms
            header.append(f"B={batch}, {threads} thread{'s' if threads > 1 else ''}: ms (ratio)")
    names = list(next(iter(results.values())))
    reference = "prm-edu PRM, split heads, fused"
    rows = [[name] + [f"{r[name]:.1f} ({r[name] / r[reference]:.2f})" for r in results.values()] for name in names]
    print(markdown_table(header, rows))
    print(f"\nratio: time / the time of '{reference}' in the same run (below 1: faster than ours)")


if __name__ == "__main__":
    main()
