"""Model selection from logs (`prm_edu.selection`): the list click model of the randomized bucket,
the estimate the demo's stopping rule reads, and the stopping rule itself."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from prm_edu.data.world import World, WorldConfig
from prm_edu.experiment import DemoConfig, train_reranker
from prm_edu.experiment.config import RERANK_FIT
from prm_edu.experiment.rerankers import ESTIMATE
from prm_edu.prm import PRM, PRMConfig
from prm_edu.selection import ListClickModel, OrderValue, same_group_above


def test_same_group_above_matches_the_world():
    world = World(WorldConfig(n_users=50, n_items=80, n_requests=40, list_len=12, pool_size=20, min_list_len=5))
    log = world.sample_requests()
    mask = torch.as_tensor(log.padding_mask)
    category = torch.as_tensor(world.items.category[np.maximum(log.items, 0)])
    expected = np.where(log.padding_mask, 0, world.same_category_above(log.items))
    assert np.array_equal(same_group_above(category, mask).numpy() * ~log.padding_mask, expected)


def _synthetic(n: int = 6000, length: int = 8, seed: int = 0):
    """Randomized lists drawn from the click model's own form, with known parameters."""
    g = torch.Generator().manual_seed(seed)
    alpha = -1.0 - 0.3 * torch.arange(length, dtype=torch.float32)
    delta = -0.2 * torch.arange(length, dtype=torch.float32)
    ranks = torch.arange(length).expand(n, length).clone()  # slots in the initial order
    shown_at = torch.argsort(torch.rand(n, length, generator=g), dim=1)  # a random display position per slot
    pointwise = torch.randn(n, length, generator=g)
    category = torch.randint(0, 3, (n, length), generator=g)
    mask = torch.zeros(n, length, dtype=torch.bool)
    display = torch.argsort(shown_at, dim=1)
    n_above = torch.empty(n, length)
    n_above.scatter_(1, display, same_group_above(category.gather(1, display), mask))  # back to slot order
    logit = alpha[shown_at] + delta[ranks] + 0.8 * pointwise - 0.6 * n_above
    clicks = (torch.rand(n, length, generator=g) < torch.sigmoid(logit)).float()
    return shown_at, ranks, pointwise, category, clicks, mask


def test_list_click_model_recovers_its_parameters():
    shown_at, ranks, pointwise, category, clicks, mask = _synthetic()
    fitted = ListClickModel.fit(shown_at, ranks, pointwise, category, clicks, mask)
    assert fitted.w == pytest.approx(0.8, abs=0.1) and fitted.gamma == pytest.approx(-0.6, abs=0.1)
    # alpha and delta share one constant; their slopes are identified
    assert float(fitted.alpha[0] - fitted.alpha[-1]) == pytest.approx(2.1, abs=0.35)
    assert float(fitted.delta[0] - fitted.delta[-1]) == pytest.approx(1.4, abs=0.35)


def test_order_value_prefers_the_better_order():
    shown_at, ranks, pointwise, category, clicks, mask = _synthetic()
    value = OrderValue(ListClickModel.fit(shown_at, ranks, pointwise, category, clicks, mask), ranks, pointwise, category, mask)
    good = 0.8 * pointwise - 0.2 * ranks  # each item's own worth under the fitted form
    assert value(good) > 0 > value(-good)  # better than the initial order, and its reverse worse


def test_list_click_model_refuses_bad_lists():
    shown_at, ranks, pointwise, category, clicks, mask = _synthetic(n=50)
    with pytest.raises(ValueError, match="shown in a random order"):
        ListClickModel.fit(ranks, ranks, pointwise, category, clicks, mask)
    with pytest.raises(ValueError, match="pointwise must be"):
        ListClickModel.fit(shown_at, ranks, pointwise[:, :3], category, clicks, mask)
    fitted = ListClickModel.fit(shown_at, ranks, pointwise, category, clicks, mask)
    longer = torch.zeros(50, 9, dtype=torch.int64)
    with pytest.raises(ValueError, match="longer than the 8 positions"):
        fitted.expected_clicks(longer, longer, longer.float(), longer, longer.bool())
    with pytest.raises(ValueError, match="NaN"):
        ListClickModel.fit(shown_at, ranks, pointwise.masked_fill(mask.logical_not(), float("nan")), category, clicks, mask)


def test_the_stopping_rule_reads_the_estimate_and_watch_cannot_feed_it():
    shown_at, ranks, pointwise, category, clicks, mask = _synthetic(n=300)
    from prm_edu.data.batches import RerankBatch

    batch = RerankBatch(x=torch.randn(300, 8, 4), pv=torch.zeros(300, 8, 0), ranks=ranks, shown_at=shown_at, labels=clicks,
                        padding_mask=mask, users=torch.zeros(300, dtype=torch.int64), items=torch.zeros(300, 8, dtype=torch.int64))
    value = OrderValue(ListClickModel.fit(shown_at, ranks, pointwise, category, clicks, mask), ranks, pointwise, category, mask)
    fit_config = replace(RERANK_FIT, epochs=3, patience=5, warmup_steps=0, progress=False)
    torch.manual_seed(0)
    model = PRM(PRMConfig(d_x=4, d_model=8, d_ff=8, max_len=8))
    history = train_reranker(model, batch, batch, fit_config, "softmax_nll", select=value, watch=lambda m: {"seen": 1.0})
    estimates = history.column(ESTIMATE)
    assert history.monitor == ESTIMATE and history.best_epoch == int(np.argmax(estimates))
    assert history.column("seen") == [1.0] * 3
    with pytest.raises(ValueError, match="watch"):
        train_reranker(model, batch, batch, fit_config, "softmax_nll", watch=lambda m: {"loss": 0.0})


def test_demo_config_checks_the_stopping_rule():
    with pytest.raises(ValueError, match="DemoConfig.select must be one of"):
        DemoConfig(select="truth")
    with pytest.raises(ValueError, match="explore_share"):
        DemoConfig(explore_share=0.0)
    assert DemoConfig(explore_share=0.0, select="loss", debias="learned").select == "loss"  # the default debias needs the bucket too
