"""The widgets: set their values as a student would, and check what changes on screen."""

from dataclasses import replace

import matplotlib
import numpy as np
import pytest
import torch

from prm_edu import explain, widgets
from prm_edu.ctr.pretrain import PRETRAIN_FIT
from prm_edu.data.world import WorldConfig
from prm_edu.experiment import demo_config
from prm_edu.experiment.prepare import prepare
from prm_edu.experiment.rerankers import build_prm

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def prepared():
    config = demo_config("fast", seed=0)
    world = WorldConfig(n_users=120, n_items=90, pool_size=20, list_len=8, n_requests=300, history_len=6)
    config = replace(config, world=world, pretrain_requests=300, pretrain_fit=replace(PRETRAIN_FIT, epochs=1, progress=False))
    return prepare(config, progress=False)


@pytest.fixture(scope="module")
def model(prepared):
    torch.manual_seed(0)
    return build_prm(prepared.train, d_model=16, d_ff=32)


def test_world_effects_explorer_recomputes_on_each_switch():
    box = widgets.world_effects_explorer(WorldConfig(n_users=100, n_items=60, pool_size=20, list_len=8), n_requests=200)
    html = box.children[1]
    before = html.value
    context = box.children[0].children[2]
    context.value = False
    assert html.value != before
    numbers = [float(t.split()[0]) for t in html.value.split("oracle ")[1:]]
    assert numbers[0] == pytest.approx(numbers[1])  # without context the two oracles agree


def test_swap_exchanges_two_positions_and_checks_them():
    items = np.array([5, 6, 7])
    assert explain.swap(items, 0, 2).tolist() == [7, 6, 5] and items.tolist() == [5, 6, 7]
    with pytest.raises(ValueError, match=r"positions must be in \[0, 3\)"):
        explain.swap(items, 0, 3)


def test_explain_request_is_consistent(prepared, model):
    result = explain.explain_request(model, prepared, 0)
    n = len(result["items"])
    assert result["score"].sum() == pytest.approx(1.0, abs=1e-5)
    assert sorted(result["order"]) == list(range(n))
    assert np.all(np.diff(result["score"][result["order"]]) <= 0)
    assert result["clicks"]["PRM"] == pytest.approx(result["p_reranked"].sum())
    assert result["clicks"]["oracle"] >= max(result["clicks"]["initial"], result["clicks"]["PRM"]) - 1e-9
    assert len(result["attention"]) == len(model.blocks) and result["attention"][0].shape[-1] == n
    with pytest.raises(ValueError, match="row must be in"):
        explain.explain_request(model, prepared, len(prepared.test_log))


def test_pv_of_rejects_a_bad_history(prepared):
    with pytest.raises(ValueError, match="history"):
        prepared.pv_of(0, np.array([1, 2]), history=np.array([prepared.world.config.n_items]))


def test_rerank_explorer_reacts_to_every_control(prepared, model):
    box = widgets.rerank_explorer(model, prepared)
    c, lists = box.controls, box.children[1]

    def shown():
        return lists.value, box.state["result"]

    html0, r0 = shown()
    first, second, button = c["swap"]
    first.value, second.value = 0, 1
    button.click()  # the input list changes: the two items trade places, PRM re-scores
    html1, r1 = shown()
    assert r1["items"].tolist() == explain.swap(r0["items"], 0, 1).tolist() and html1 != html0

    c["history"].value = "none"  # another history: another PV, other PRM scores
    assert not np.allclose(box.state["result"]["score"], r1["score"])
    c["history"].value = "own"
    assert np.allclose(box.state["result"]["score"], r1["score"])

    c["context"].value = False  # another truth judges the same PRM order
    r2 = box.state["result"]
    assert (r2["order"] == r1["order"]).all() and r2["clicks"]["PRM"] != pytest.approx(r1["clicks"]["PRM"])
    c["context"].value = True

    c["request"].value = 1  # a new request starts from its own initial list
    assert box.state["result"]["items"].tolist() == prepared.test_log.items[1][prepared.test_log.items[1] >= 0].tolist()
    heatmap = box.children[2]
    before = bytes(heatmap.value)
    assert before.startswith(b"\x89PNG")
    c["head"].value = 2  # the other head's heatmap is drawn
    assert bytes(heatmap.value) != before


def test_user_and_attention_explorers_redraw(prepared, model):
    users = widgets.user_explorer(prepared.click_model, prepared.world, prepared.spec, k=5)
    picker, table = users.children
    before = table.value
    picker.value = 1
    assert table.value != before and "true taste" in table.value

    attention = widgets.attention_explorer(model, prepared.test, prepared.world)
    (request, block, head), image = attention.children[0].children, attention.children[1]
    shown = [bytes(image.value)]
    for control, value in ((request, 1), (block, 2), (head, 2)):
        control.value = value
        shown.append(bytes(image.value))
    assert len(set(shown)) == 4  # each change drew another heatmap
    # drawn with twice the pixels it is shown with (sharp text): the PNG's width is twice the width the page gives it
    pixels = int.from_bytes(bytes(image.value)[16:20], "big")
    assert bytes(image.value)[1:4] == b"PNG" and pixels // 2 == int(image.width) > 300
