"""The examination estimators: each recovers a known log e_j from clicks drawn by a position-based
model with list context, or says why it cannot; bad inputs raise ValueError."""

import numpy as np
import pytest
import torch

from prm_edu.examination import (
    ESTIMATORS,
    PositionBasedModel,
    ShownLists,
    click_rate_curve,
    knots,
    logit_position_term,
    ramps,
)

L = 10
# a true log e_j that is not a power law: steep at the top, then flat, then steep again
TRUE_LOG_E = np.array([0.0, -0.5, -0.8, -0.9, -1.0, -1.1, -1.2, -1.3, -1.6, -1.9])


def clicks_of(log_e: np.ndarray, z: torch.Tensor, shown_at: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    p = torch.exp(torch.as_tensor(log_e)[shown_at]) * torch.sigmoid(z)  # (R, L) P = e_j * sigmoid(z)
    return (torch.rand(p.shape, generator=generator, dtype=torch.float64) < p).float()


def synthetic(randomized: bool, n_lists: int = 6000, seed: int = 0) -> ShownLists:
    """Lists of L items in 3 categories; the initial ranker's score is the item's appeal plus noise; the
    appeal falls by 1 per same-category item displayed above. Randomized: shown in a random order."""
    g = torch.Generator().manual_seed(seed)
    appeal = torch.randn(n_lists, L, generator=g, dtype=torch.float64)  # (R, L)
    scores = appeal + 0.3 * torch.randn(n_lists, L, generator=g, dtype=torch.float64)
    ranks = torch.argsort(torch.argsort(-scores, dim=1), dim=1)  # (R, L) initial rank of each slot
    shown_at = torch.argsort(torch.rand(n_lists, L, generator=g), dim=1) if randomized else ranks
    category = torch.randint(3, (n_lists, L), generator=g)
    order = torch.argsort(shown_at, dim=1)  # (R, L) the slot at each displayed position
    cat_shown = category.gather(1, order)
    onehot = torch.nn.functional.one_hot(cat_shown, 3)
    above_shown = ((onehot.cumsum(1) - onehot) * onehot).sum(2)  # (R, L) in display order
    above = torch.empty_like(above_shown).scatter_(1, order, above_shown)  # back to slot order
    z = -0.5 + 0.8 * scores - 1.0 * above
    clicks = clicks_of(TRUE_LOG_E, z, shown_at, g)
    return ShownLists(shown_at=shown_at, ranks=ranks, scores=scores.float(), pointwise=(0.8 * appeal).float(), category=category,
                      clicks=clicks, padding_mask=torch.zeros(n_lists, L, dtype=torch.bool))


def mae(estimate: np.ndarray) -> float:
    return float(np.abs(estimate - TRUE_LOG_E).mean())


def test_ramps_give_a_non_increasing_curve_linear_in_log_position_between_knots():
    assert knots(30).tolist() == [0, 1, 2, 4, 8, 16, 29]
    assert knots(1).tolist() == [0]
    log_e = -(ramps(30) @ torch.tensor([0.5, 0.1, 0.0, 1.0, 0.2, 0.3], dtype=torch.float64)).numpy()
    assert log_e[0] == 0 and (np.diff(log_e) <= 0).all()
    x = np.log1p(np.arange(30))
    segment = slice(4, 9)  # knots 4 and 8: a straight line in log(1 + j) between them
    slope = np.diff(log_e[segment]) / np.diff(x[segment])
    assert np.allclose(slope, -1.0)


def test_position_based_model_finds_the_examination_on_a_randomized_bucket():
    lists = synthetic(randomized=True)
    fitted = PositionBasedModel.fit(lists)
    assert mae(fitted.log_examination) < 0.08, fitted.log_examination
    assert fitted.item_weights["gamma"] == pytest.approx(-1.0, abs=0.25)
    # it reproduces the clicks at every displayed position, within their Poisson noise (chi-square per position)
    p = fitted.click_probability(lists)
    predicted = torch.zeros(L, dtype=torch.float64).index_add_(0, lists.shown_at.flatten(), p.flatten())
    observed = torch.zeros(L, dtype=torch.float64).index_add_(0, lists.shown_at.flatten(), lists.clicks.double().flatten())
    assert ((observed - predicted) ** 2 / predicted).mean() < 2.5
    # the click-rate curve also takes in the list context (lower slots have more same-category items above)
    assert mae(click_rate_curve(lists)) > 2 * mae(fitted.log_examination)
    # a logit-additive position term is not log e_j: steeper at the bottom
    assert logit_position_term(lists)[-1] < fitted.log_examination[-1] - 0.2


def test_position_based_model_on_logs_alone_reads_the_score():
    lists = synthetic(randomized=False, n_lists=12000, seed=1)
    fitted = PositionBasedModel.fit(lists, reads="score")
    assert mae(fitted.log_examination) < 0.12, fitted.log_examination
    with pytest.raises(ValueError, match="randomized bucket"):
        PositionBasedModel.fit(lists)  # reads="rank": position and rank are the same thing here


def test_every_estimator_keeps_the_contract():
    lists = synthetic(randomized=True, n_lists=1500)
    for name, estimate in ESTIMATORS.items():
        log_e = estimate(lists)
        assert log_e.shape == (L,) and log_e.dtype == np.float64 and log_e[0] == 0, name
        assert np.isfinite(log_e).all(), name


def test_bad_inputs_raise_value_errors():
    lists = synthetic(randomized=True, n_lists=200)
    fields = {name: getattr(lists, name) for name in ShownLists.__dataclass_fields__}
    with pytest.raises(ValueError, match="scores must be"):
        ShownLists(**{**fields, "scores": fields["scores"][:, :5]})
    with pytest.raises(ValueError, match="pointwise holds NaN"):
        ShownLists(**{**fields, "pointwise": fields["pointwise"].masked_fill(torch.eye(200, L, dtype=torch.bool), float("nan"))})
    with pytest.raises(ValueError, match="clicks must be 0 or 1"):
        ShownLists(**{**fields, "clicks": fields["clicks"] * 2})
    with pytest.raises(ValueError, match="shown_at must be positions"):
        ShownLists(**{**fields, "shown_at": fields["shown_at"] + 1})
    with pytest.raises(ValueError, match="every slot is padded"):
        ShownLists(**{**fields, "padding_mask": torch.ones(200, L, dtype=torch.bool)})
    with pytest.raises(ValueError, match="reads must be one of"):
        PositionBasedModel.fit(lists, reads="magic")
    never_last = ShownLists(**{**fields, "padding_mask": fields["shown_at"] == L - 1})
    with pytest.raises(ValueError, match=r"positions \[9\] were never shown"):
        PositionBasedModel.fit(never_last)
    with pytest.raises(ValueError, match="initial order"):
        click_rate_curve(ShownLists(**{**fields, "shown_at": fields["ranks"]}))


def test_expected_clicks_of_an_order_follow_the_fitted_model():
    """`expected_clicks` (selection.OrderValue's contract) of the order the lists were shown in is the sum of
    `click_probability`; moving every item of a category down changes what the context costs."""
    lists = synthetic(randomized=True, n_lists=2000)
    fitted = PositionBasedModel.fit(lists)
    shown_order = torch.argsort(lists.shown_at, dim=1)  # (R, L) the slot displayed at each position
    got = fitted.expected_clicks(shown_order, lists.ranks, lists.pointwise, lists.category, lists.padding_mask)
    assert torch.allclose(got.double(), fitted.click_probability(lists).sum(dim=1), atol=1e-5)
    by_rank = torch.argsort(lists.ranks, dim=1)  # the initial order: higher scores first, and the scores carry the appeal
    better = fitted.expected_clicks(by_rank, lists.ranks, lists.pointwise, lists.category, lists.padding_mask)
    assert better.mean() > got.mean() + 0.05
    with pytest.raises(ValueError, match="reads='rank'"):
        PositionBasedModel.fit(lists, reads="score").expected_clicks(by_rank, lists.ranks, lists.pointwise, lists.category,
                                                                     lists.padding_mask)
