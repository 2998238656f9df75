"""The paper's own numbers (Pei et al., RecSys 2019), for tables that put ours beside them.

Values are x100, as printed in the paper; columns are P@5, P@10, MAP@5, MAP@10 and MAP
(MAP@30, the whole list). Our tables use the same metric names (see `prm_edu.metrics`).
"""

from __future__ import annotations

COLUMNS = ("P@5", "P@10", "MAP@5", "MAP@10", "MAP@30")


def _rows(table: dict[str, tuple[float, ...]]) -> dict[str, dict[str, float]]:
    return {name: dict(zip(COLUMNS, values)) for name, values in table.items()}


# E-commerce data set, initial lists from a DNN learning-to-rank model.
ECOMMERCE = _rows({
    "DLCM": (12.21, 9.73, 29.32, 30.28, 28.19),
    "PRM-BASE": (12.71, 9.99, 29.80, 30.83, 28.85),
    "PRM-Personalized": (13.58, 10.52, 31.18, 32.12, 30.15),  # "PRM-Personalized-Pretrain" in the paper
})

# Yahoo Letor, initial lists from SVMRank: DLCM, PRM-BASE and the ablations of PRM-BASE.
YAHOO = _rows({
    "DLCM": (52.54, 43.26, 76.52, 70.86, 64.50),
    "PRM-BASE": (53.29, 43.66, 77.62, 72.02, 65.60),
    "no position embedding": (52.55, 43.56, 76.11, 70.74, 64.73),
    "no residual": (53.24, 43.63, 77.52, 71.92, 65.52),
    "no dropout": (53.17, 43.42, 77.41, 71.80, 65.17),
    "blocks=1": (53.12, 43.59, 77.58, 71.91, 65.49),
    "blocks=2": (53.19, 43.58, 77.51, 71.86, 65.49),
    "blocks=6": (53.22, 43.63, 77.64, 72.02, 65.61),
    "blocks=8": (52.85, 43.32, 77.43, 71.65, 65.14),
    "heads=1": (53.17, 43.67, 77.65, 71.96, 65.55),
    "heads=2": (53.29, 43.60, 77.68, 72.00, 65.57),
    "heads=4": (53.20, 43.61, 77.72, 72.00, 65.58),
})

# Online A/B test over the un-re-ranked DNN-LTR list, relative change in %: PV, IPV, CTR, GMV.
ONLINE = {
    "DLCM": {"PV": 0.77, "IPV": 1.75, "CTR": 0.97, "GMV": 0.13},
    "PRM-BASE": {"PV": 1.27, "IPV": 2.44, "CTR": 1.16, "GMV": 0.36},
    "PRM-Personalized": {"PV": 3.01, "IPV": 5.69, "CTR": 2.6, "GMV": 6.65},
}


def relative_to(table: dict[str, dict[str, float]], reference: str, column: str) -> dict[str, float]:
    """Each row's `column` as a change relative to row `reference`, in % (how the paper's gaps read)."""
    if reference not in table:
        raise ValueError(f"relative_to: no row {reference!r}; rows are {sorted(table)}")
    base = table[reference][column]
    return {name: 100.0 * (row[column] / base - 1.0) for name, row in table.items()}
