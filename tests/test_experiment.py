"""The experiments' own checks: what the demo's table means, and bad settings."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from prm_edu import WorldConfig
from prm_edu.experiment import DemoConfig, MovieLensConfig, Reranker, logits_of, train_reranker
from prm_edu.experiment.config import EXAMINATION_OF, RERANK_FIT
from prm_edu.experiment.demo import run
from prm_edu.prm import PRM, PRMConfig

TINY = DemoConfig(world=WorldConfig(n_users=200, n_items=150, n_requests=600, list_len=10, pool_size=20),
                  pretrain_requests=600, fit=replace(RERANK_FIT, epochs=1, progress=False), prm={"d_model": 16, "d_ff": 16})


@pytest.fixture(scope="module")
def result():
    rows = {"PRM-Personalized": Reranker("prm", True), "DLCM, pretrained offsets": Reranker("dlcm", False, debias="pretrained")}
    return run(TINY, progress=False, rows=rows)


def test_table_anchors(result):
    table = result["rows"]
    assert table["initial order"]["oracle gain"] == 0.0 and table["oracle (greedy)"]["oracle gain"] == 1.0
    methods = ["initial order", "pointwise (click model)", "PRM-Personalized", "DLCM, pretrained offsets"]
    assert set(table) == {*methods, "context-blind oracle", "oracle (greedy)"}
    for row in table.values():
        assert set(row) == {"P@5", "P@10", "MAP@5", "MAP@10", "MAP@30", "NDCG@10", "clicks/list", "oracle gain"}
    assert result["prepared"].test.d_pv == result["models"]["PRM-Personalized"].config.d_pv
    assert result["prepared"].log_examination.shape == (10,)
    estimated = result["prepared"].examinations["estimated"]  # the position-based model's, fitted on the randomized bucket
    assert estimated.shape == (10,) and estimated[0] == 0 and (estimated.diff() <= 0).all()


def test_train_reranker_rejects_unknown_modes(result):
    prepared = result["prepared"]
    model = PRM(PRMConfig(d_x=prepared.train.d_x, max_len=10))
    base = prepared.train.without_pv()
    with pytest.raises(ValueError, match="debias must be one of"):
        train_reranker(model, base, base, TINY.fit, "softmax_nll", debias="magic")
    with pytest.raises(ValueError, match="needs log_examination"):
        train_reranker(model, base, base, TINY.fit, "softmax_nll", debias="ipw")
    with pytest.raises(ValueError, match="loss must be one of"):
        train_reranker(model, base, base, TINY.fit, "hinge")
    history = train_reranker(model, base[:100], base[:50], TINY.fit, "listnet", debias="ipw",
                             log_examination=prepared.log_examination)
    assert len(history.epochs) == 1 and torch.isfinite(torch.tensor(history.best["loss"]))


@pytest.mark.parametrize("debias", ["estimated", "learned", "pretrained", "ipw", "none"])
def test_train_reranker_on_every_device(result, device, debias):
    """Training on `device` with each way of handling position bias; logits come back on the CPU."""
    prepared = result["prepared"]
    torch.manual_seed(0)
    model = PRM(PRMConfig(d_x=prepared.train.d_x, d_pv=prepared.train.d_pv, d_model=16, d_ff=16, max_len=10)).to(device)
    curve = prepared.examinations.get(EXAMINATION_OF.get(debias))
    history = train_reranker(model, prepared.train[:200], prepared.valid[:50], TINY.fit, "softmax_nll", debias, curve)
    assert next(model.parameters()).device.type == device.type and np.isfinite(history.best["loss"])
    logits = logits_of(model, prepared.test)
    assert logits.device.type == "cpu" and logits.shape == prepared.test.labels.shape


def test_demo_config_checks_how_position_bias_is_handled():
    with pytest.raises(ValueError, match="DemoConfig.debias must be one of"):
        DemoConfig(debias="magic")
    with pytest.raises(ValueError, match="position-aware pre-training"):
        DemoConfig(pretrain_position_aware=False, debias="pretrained")
    assert DemoConfig(pretrain_position_aware=False).debias == "estimated"  # the default needs no pre-trained e_j
    with pytest.raises(ValueError, match="debias='estimated' fits the examination on the randomized bucket"):
        DemoConfig(explore_share=0.0, select="loss")
    assert DemoConfig(explore_share=0.0, select="loss", debias="learned").debias == "learned"


def test_settings_differ_where_they_say_and_a_bad_one_is_named():
    from prm_edu.experiment import demo_config, movielens_config
    from prm_edu.experiment.config import CLASS_WORLD

    full, klass, fast = (demo_config(s, 0) for s in ("full", "class", "fast"))
    assert (klass.world.list_len, klass.world.pool_size, klass.world.context_penalty) == (15, 30, 3.0) == tuple(CLASS_WORLD.values())
    assert replace(klass.world, **{k: getattr(full.world, k) for k in CLASS_WORLD}) == full.world  # nothing else differs
    assert (klass.prm, klass.fit, klass.pretrain_requests) == (full.prm, full.fit, full.pretrain_requests)
    assert fast.world.n_requests < full.world.n_requests
    assert demo_config("class", 1, "item-only").world.ranker == "item-only"
    assert movielens_config("class", 0).pv_models == ("deepfm",) and movielens_config("class", 0).fit == movielens_config("full", 0).fit
    for make in (demo_config, movielens_config):
        for bad in ("small", True):  # a bool (the old `fast` switch) is named too, not read as a setting
            with pytest.raises(ValueError, match=f"setting must be one of .*got {bad!r}"):
                make(bad, 0)


def test_train_rows_names_a_missing_examination(result):
    from prm_edu.experiment.rerankers import train_rows

    prepared = result["prepared"]
    splits = {"train": prepared.train[:50], "valid": prepared.valid[:20], "test": prepared.test[:20]}
    with pytest.raises(ValueError, match="reads the 'estimated' examination; examinations has \\['pretrained'\\]"):
        train_rows({"PRM": Reranker("prm", True)}, splits, prm=TINY.prm, fit_config=TINY.fit, loss="softmax_nll", debias="estimated",
                   seed=0, examinations={"pretrained": prepared.log_examination})


@pytest.mark.parametrize("make", [
    lambda: DemoConfig(prm={"d_modle": 32}),
    lambda: MovieLensConfig(prm={"heads": 2}),
    lambda: Reranker("prm", True, {"max_len": 40}),  # set by the data, not by a row
])
def test_prm_changes_are_checked_when_the_config_is_made(make):
    with pytest.raises(ValueError, match="not PRMConfig fields one may change"):
        make()


def test_bad_rows_and_losses_are_named():
    with pytest.raises(ValueError, match="Reranker.kind must be one of"):
        Reranker("gru", True)
    with pytest.raises(ValueError, match="Reranker.debias"):
        Reranker("prm", True, debias="magic")
    with pytest.raises(ValueError, match="DemoConfig.loss must be one of"):
        DemoConfig(loss="hinge")
