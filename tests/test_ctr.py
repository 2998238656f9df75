"""The personalized module: FM's identity, shapes, the BCE formula, learning, personalization, bad input."""

import itertools
from dataclasses import replace

import numpy as np
import pytest
import torch

from prm_edu import World, WorldConfig, metrics
from prm_edu.ctr import (
    CLICK_MODELS,
    CTRConfig,
    FeatureSpec,
    build_click_model,
    evaluate_click_model,
    fm_interaction,
    impressions_from_log,
    inputs_from_world,
    pretrain,
    pv_for_lists,
)
from prm_edu.losses import binary_cross_entropy
from prm_edu.train import FitConfig

SMALL = WorldConfig(n_users=400, n_items=200, n_requests=2000)
QUICK = FitConfig(epochs=6, batch_size=2048, lr=1e-2, patience=1, progress=False)


@pytest.fixture(scope="module")
def world():
    return World(SMALL)


@pytest.fixture(scope="module")
def log(world):
    return world.sample_requests()


@pytest.fixture(scope="module")
def spec(world):
    return FeatureSpec.for_world(world)


def test_fm_identity_equals_the_double_loop():
    v = torch.randn(5, 7, 4, dtype=torch.float64)  # (N, F, k)
    naive = torch.zeros(5, 4, dtype=torch.float64)
    for f, g in itertools.combinations(range(7), 2):
        naive += v[:, f] * v[:, g]  # elementwise: the k terms of <v_f, v_g>
    torch.testing.assert_close(fm_interaction(v), naive)


@pytest.mark.parametrize("model", sorted(CLICK_MODELS))
@pytest.mark.parametrize("config", [dict(embed_dim=4, hidden=(16,), n_cross=0), dict(embed_dim=8, hidden=(32, 16), n_cross=3)])
def test_logit_and_pv_shapes(world, log, spec, model, config):
    cfg = CTRConfig(model=model, **config)
    net = build_click_model(spec, cfg)
    inputs = inputs_from_world(world, spec, log.users[:10], log.items[:10, 0])
    assert net(inputs).shape == (10,)
    pv = net.pv(inputs)
    assert pv.shape == (10, net.d_pv)
    expected = {"fm": cfg.embed_dim, "fnn": cfg.hidden[-1], "deepfm": cfg.embed_dim + cfg.hidden[-1],
                "dcn": spec.n_fields * cfg.embed_dim + cfg.hidden[-1], "logistic": 1}[model]
    assert net.d_pv == expected


def test_bce_is_the_negative_log_likelihood():
    logits = torch.randn(100, dtype=torch.float64) * 3
    y = (torch.rand(100) < 0.3).double()
    p = torch.sigmoid(logits)
    formula = -torch.mean(y * torch.log(p) + (1 - y) * torch.log(1 - p))
    torch.testing.assert_close(binary_cross_entropy(logits, y), formula)
    assert torch.isfinite(binary_cross_entropy(torch.tensor([200.0, -200.0]), torch.tensor([0.0, 1.0])))
    with pytest.raises(ValueError, match="shape"):
        binary_cross_entropy(torch.zeros(3), torch.zeros(4))


def test_auc_equals_pairwise_count():
    rng = np.random.default_rng(0)
    scores, labels = rng.integers(0, 5, 60).astype(float), rng.random(60) < 0.4
    pos, neg = scores[labels], scores[~labels]
    pairwise = np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])
    assert metrics.auc(scores, labels) == pytest.approx(pairwise)


@pytest.fixture(scope="module")
def trained(world, log):
    return {name: pretrain(world, log, CTRConfig(model=name), fit_config=QUICK) for name in ("fm", "fnn", "deepfm", "dcn")}


def test_every_model_beats_the_global_ctr(world, log, trained):
    _, valid_log = log.split((0.9, 0.1), seed=QUICK.seed)
    train_log, _ = log.split((0.9, 0.1), seed=QUICK.seed)
    ctr = train_log.clicks[~train_log.padding_mask].mean()
    labels = torch.as_tensor(valid_log.clicks[~valid_log.padding_mask])
    constant = binary_cross_entropy(torch.full_like(labels, float(np.log(ctr / (1 - ctr)))), labels).item()
    for name, result in trained.items():
        assert result.valid["logloss"] < constant - 0.002, name
        assert result.valid["auc"] > 0.6, name
        assert len(result.history.epochs) >= 1 and "logloss" in result.history.epochs[0]


def test_personalization_is_real():
    """DeepFM without the user's profile and history (item features only) ranks clicks worse.
    Position bias is switched off here: it moves clicks more than anything an item-and-user
    model can see, and would shrink the gap this test is about (0.06 of AUC here, 0.01 with it)."""
    world = World(replace(SMALL, position_bias=False))
    log = world.sample_requests()
    full = pretrain(world, log, CTRConfig(model="deepfm"), fit_config=QUICK)
    item_only = FeatureSpec.for_world(world, profile=False, history=False)
    blind = pretrain(world, log, CTRConfig(model="deepfm"), fit_config=QUICK, spec=item_only)
    assert full.valid["auc"] > blind.valid["auc"] + 0.03
    assert full.valid["logloss"] < blind.valid["logloss"]


def test_pretraining_is_deterministic(world, log):
    a, b = (pretrain(world, log, CTRConfig(model="fm"), fit_config=replace(QUICK, epochs=2)) for _ in range(2))
    for (name, p), (_, q) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=name)
    assert a.valid == b.valid


def test_pretraining_and_pv_on_every_device(world, log, device):
    """The click model trains on `device` (plain and position-aware); what feeds numpy comes back on the CPU."""
    for position_aware in (False, True):
        result = pretrain(world, log, CTRConfig(model="deepfm"), fit_config=replace(QUICK, epochs=1), device=device,
                          position_aware=position_aware)
        assert next(result.model.parameters()).device.type == device.type
        assert np.isfinite(result.valid["logloss"]) and 0.5 < result.valid["auc"] <= 1.0
        valid = evaluate_click_model(result.model, impressions_from_log(world, result.spec, log).to(device))
        assert valid["auc"] > 0.5
        pv = pv_for_lists(result.model, world, result.spec, log.subset(np.arange(20)))
        assert pv.device.type == "cpu" and pv.shape == (20, log.items.shape[1], result.d_pv)


def test_pv_for_lists_aligns_with_the_initial_lists(trained):
    world = World(replace(SMALL, min_list_len=5))
    log = world.sample_requests(50)
    result = trained["deepfm"]
    pv = pv_for_lists(result.model, world, result.spec, log)
    assert pv.shape == (50, SMALL.list_len, result.d_pv) and not pv.requires_grad
    assert torch.all(pv[torch.as_tensor(log.padding_mask)] == 0)
    r, j = 7, 2
    single = result.model.pv(inputs_from_world(world, result.spec, log.users[r : r + 1], log.items[r, j : j + 1]))
    torch.testing.assert_close(pv[r, j], single[0].detach())


def test_bad_input_names_the_field(world, spec):
    users, items = np.array([0, 1]), np.array([3, 4])
    good = inputs_from_world(world, spec, users, items)
    bad = good[:]
    bad.user = bad.user.clone()
    bad.user[1, 0] = 99
    with pytest.raises(ValueError, match="'region'.*outside its vocabulary"):
        bad.validate(spec)
    bad = good[:]
    bad.dense = bad.dense.clone()
    bad.dense[0, 1] = float("nan")
    with pytest.raises(ValueError, match="'quality_signal' is NaN"):
        bad.validate(spec)
    bad = good[:]
    bad.history = torch.zeros(2, spec.history_len + 1, dtype=torch.long)
    with pytest.raises(ValueError, match="history.*longer than its declared maximum"):
        bad.validate(spec)
    with pytest.raises(ValueError, match="item"):
        inputs_from_world(world, spec, users, np.array([3, -1]))
    with pytest.raises(ValueError, match="CTRConfig.model"):
        CTRConfig(model="xgboost")


def test_evaluate_reports_logloss_and_auc(world, log, trained):
    result = trained["fm"]
    scores = evaluate_click_model(result.model, impressions_from_log(world, result.spec, log.subset(np.arange(100))))
    assert set(scores) == {"logloss", "auc"}
