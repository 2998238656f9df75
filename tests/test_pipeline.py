"""The main job's own checks: what its table means, and its bad input."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from prm_edu import WorldConfig
from prm_edu.pipeline import RERANK_FIT, DemoConfig, Reranker, logits_of, run, train_reranker
from prm_edu.prm import PRM, PRMConfig

TINY = DemoConfig(world=WorldConfig(n_users=200, n_items=150, n_requests=600, list_len=10, pool_size=20),
                  pretrain_requests=600, fit=replace(RERANK_FIT, epochs=1, progress=False), prm={"d_model": 16, "d_ff": 16})


@pytest.fixture(scope="module")
def result():
    rows = {"PRM-Personalized": Reranker("prm", True), "DLCM, pretrained offsets": Reranker("dlcm", False, position_bias="pretrained")}
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


def test_train_reranker_rejects_unknown_modes(result):
    prepared = result["prepared"]
    model = PRM(PRMConfig(d_x=prepared.train.d_x, max_len=10))
    base = prepared.train.without_pv()
    with pytest.raises(ValueError, match="position_bias must be one of"):
        train_reranker(model, base, base, TINY.fit, "softmax_nll", position_bias="magic")
    with pytest.raises(ValueError, match="needs log_examination"):
        train_reranker(model, base, base, TINY.fit, "softmax_nll", position_bias="ipw")
    with pytest.raises(ValueError, match="loss must be one of"):
        train_reranker(model, base, base, TINY.fit, "hinge")
    history = train_reranker(model, base[:100], base[:50], TINY.fit, "listnet", position_bias="ipw",
                             log_examination=prepared.log_examination)
    assert len(history.epochs) == 1 and torch.isfinite(torch.tensor(history.best["loss"]))


@pytest.mark.parametrize("position_bias", ["learned", "pretrained", "ipw", "none"])
def test_train_reranker_on_every_device(result, device, position_bias):
    """Training on `device` with each position-bias mode; logits come back on the CPU."""
    prepared = result["prepared"]
    torch.manual_seed(0)
    model = PRM(PRMConfig(d_x=prepared.train.d_x, d_pv=prepared.train.d_pv, d_model=16, d_ff=16, max_len=10)).to(device)
    history = train_reranker(model, prepared.train[:200], prepared.valid[:50], TINY.fit, "softmax_nll", position_bias,
                             prepared.log_examination)
    assert next(model.parameters()).device.type == device.type and np.isfinite(history.best["loss"])
    logits = logits_of(model, prepared.test)
    assert logits.device.type == "cpu" and logits.shape == prepared.test.labels.shape


def test_demo_config_checks_the_position_bias():
    with pytest.raises(ValueError, match="DemoConfig.position_bias must be one of"):
        DemoConfig(position_bias="magic")
    with pytest.raises(ValueError, match="position-aware pre-training"):
        DemoConfig(pretrain_position_aware=False, position_bias="pretrained")
    assert DemoConfig(pretrain_position_aware=False).position_bias == "learned"  # the default needs no pre-trained e_j
