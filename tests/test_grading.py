"""The assignments' checks accept the instructor's solutions, name each typical mistake, and
give nothing to an answer that calls the library's own implementation of its exercise."""

import json
import math
from pathlib import Path

import pytest
import torch

import prm_edu.prm.attention
from prm_edu import grading, metrics
from prm_edu.ctr.fm import fm_interaction
from prm_edu.losses import listwise_softmax_nll
from prm_edu.prm.attention import scaled_dot_product_attention
from prm_edu.prm.model import masked_softmax

SOURCE = Path(__file__).resolve().parents[1] / "assignments" / "source"


def solution(assignment: str) -> dict:
    """The functions defined by the instructor's solution cells of one assignment."""
    nb = json.loads((SOURCE / assignment / f"{assignment}.ipynb").read_text())
    namespace = {"torch": torch, "math": math, "grading": grading}
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            exec("".join(cell["source"]), namespace)
    return namespace


def test_the_solutions_pass_every_check():
    attention = solution("attention")["scaled_dot_product_attention"]
    grading.check_attention(attention, masked=True)
    grading.check_attention(attention, masked=False)
    grading.check_attention_scale(attention)
    grading.check_attention_all_padding(attention)
    ranking = solution("ranking_metrics")
    for name in ("precision", "average_precision", "ndcg"):
        grading.check_metric(ranking[f"{name}_at_k"], name, 5)
    fm = solution("fm_interaction")["fm_interaction"]
    grading.check_fm_interaction(fm)
    grading.check_fm_against_loop(fm)
    layer = solution("input_layer")["input_layer"]
    grading.check_input_layer(layer)
    grading.check_input_layer_weights(layer)
    grading.check_listwise_loss(solution("listwise_loss")["listwise_loss"])


def unscaled(q, k, v, mask=None):
    weights = torch.softmax(q @ k.transpose(-2, -1), dim=-1)
    return weights @ v, weights


def unmasked(q, k, v, mask=None):
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
    return weights @ v, weights


@pytest.mark.parametrize("student, masked, message", [
    (unscaled, False, r"divide the scores by sqrt\(d\) = 4.0"),
    (unmasked, True, "padded keys get a weight above 0"),
    (lambda q, k, v, m=None: unmasked(q, k, v)[1], True, "return two things"),
    (lambda q, k, v, m=None: (v, torch.softmax(q @ k.transpose(-2, -1), dim=-2)), False, "sum to 1"),
    (lambda q, k, v, m=None: 1 / 0, True, "ZeroDivisionError"),
])
def test_attention_mistakes_are_named(student, masked, message):
    with pytest.raises(AssertionError, match=message):
        grading.check_attention(student, masked=masked)


def test_other_mistakes_are_named():
    def pairs(e):  # the right interaction vector, written by hand
        return 0.5 * (e.sum(1) ** 2 - (e ** 2).sum(1))

    def loss_without_padding_mask(z, y, m):
        return -(y * torch.log_softmax(z, -1)).sum(1)[y.sum(1) > 0].mean()

    with pytest.raises(AssertionError, match="summed over k"):
        grading.check_fm_interaction(lambda e: pairs(e).sum(-1))
    with pytest.raises(AssertionError, match="subtract the sum of squares"):
        grading.check_fm_interaction(lambda e: 0.5 * e.sum(1) ** 2)
    with pytest.raises(AssertionError, match="add the position embedding"):
        grading.check_input_layer(lambda x, pv, pe, w, b: torch.cat([x, pv], -1) @ w.T + b)
    with pytest.raises(AssertionError, match="not written yet"):
        grading.check_input_layer(lambda *a: (_ for _ in ()).throw(NotImplementedError()))
    with pytest.raises(AssertionError, match="padded slots take part"):
        grading.check_listwise_loss(loss_without_padding_mask)
    with pytest.raises(AssertionError, match="sign is flipped"):
        grading.check_listwise_loss(lambda z, y, m: -solution("listwise_loss")["listwise_loss"](z, y, m))
    with pytest.raises(AssertionError, match=r"sqrt\(64\) = 8"):
        grading.check_attention_scale(unscaled)
    with pytest.raises(AssertionError, match="NaN"):
        grading.check_attention_all_padding(lambda q, k, v, m: unscaled(q.masked_fill(m[:, None, :, None], float("nan")), k, v))


def library_attention(q, k, v, mask=None):  # a wrapper around the library
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    return out.clone(), weights.clone()


def library_then_raise(q, k, v, mask=None):
    prm_edu.prm.attention.scaled_dot_product_attention(q, k, v, mask)
    raise RuntimeError("a bug after the call")


@pytest.mark.parametrize("check, student, called", [
    (lambda f: grading.check_attention(f), scaled_dot_product_attention, "prm_edu.prm.attention.scaled_dot_product_attention"),
    (lambda f: grading.check_attention(f), library_attention, "prm_edu.prm.attention.scaled_dot_product_attention"),
    (lambda f: grading.check_attention_scale(f), library_then_raise, "prm_edu.prm.attention.scaled_dot_product_attention"),
    (lambda f: grading.check_attention_all_padding(f), library_attention, "scaled_dot_product_attention"),
    (lambda f: grading.check_metric(f, "ndcg", 5), lambda s, y, k, m: metrics.ndcg_at_k(s, y, k, m, reduction="none"), "ndcg_at_k"),
    (lambda f: grading.check_fm_interaction(f), fm_interaction, "prm_edu.ctr.fm.fm_interaction"),
    (lambda f: grading.check_fm_against_loop(f), fm_interaction, "prm_edu.ctr.fm.fm_interaction"),
    (lambda f: grading.check_listwise_loss(f), listwise_softmax_nll, "prm_edu.losses.listwise_softmax_nll"),
])
def test_an_answer_that_calls_the_library_gets_nothing(check, student, called):
    with pytest.raises(AssertionError, match=f"calls prm-edu's own .*{called}.*write it yourself"):
        check(student)


def test_an_input_layer_built_on_the_library_gets_nothing():
    def layer_of_the_library(x, pv, pe, w, b):
        from prm_edu.prm import InputLayer
        layer = InputLayer(d_x=x.shape[-1], d_pv=pv.shape[-1], d_model=w.shape[0], max_len=pe.shape[0])
        with torch.no_grad():
            layer.position_embedding.copy_(pe), layer.proj.weight.copy_(w), layer.proj.bias.copy_(b)
        return layer(x, pv)

    for check in (grading.check_input_layer, grading.check_input_layer_weights):
        with pytest.raises(AssertionError, match="prm_edu.prm.input_layer.InputLayer"):
            check(layer_of_the_library)


def test_the_rest_of_the_library_stays_free_to_use():
    def loss_with_the_library_softmax(z, y, m):  # masked_softmax is not the exercise's loss
        log_score = masked_softmax(z, m).clamp_min(1e-30).log().masked_fill(m, 0.0)
        per_list = -(y * log_score).sum(1)
        clicked = y.sum(1) > 0
        return per_list[clicked].mean()

    grading.check_listwise_loss(loss_with_the_library_softmax)
    trained_loss = grading.own_work(loss_with_the_library_softmax, "listwise_loss")
    z, y, m = torch.randn(2, 3, requires_grad=True), torch.tensor([[1.0, 0, 0], [0, 1, 0]]), torch.zeros(2, 3, dtype=torch.bool)
    trained_loss(z, y, m).backward()  # the wrapper lets gradients flow
    with pytest.raises(AssertionError, match="listwise_softmax_nll"):
        grading.own_work(listwise_softmax_nll, "listwise_loss")(z, y, m)


# --- the examination exercise ------------------------------------------------------------------

@pytest.fixture(scope="module")
def bucket_lists():
    """A randomized bucket of a small world with its click model, as the exercise builds it."""
    from prm_edu.experiment import demo_config
    from prm_edu.experiment.prepare import prepare, shown_lists

    prepared = prepare(demo_config("fast", seed=0), progress=False)
    world = prepared.world
    return shown_lists(world, prepared.click_model, prepared.spec, world.sample_requests(4000, seed=0, randomize=True))


def test_the_examination_solution_passes_and_its_mistakes_are_named(bucket_lists):
    answer = solution("examination")
    nll, fit = answer["pbm_nll"], answer["fit_log_examination"]
    grading.check_pbm_nll(nll)
    grading.check_pbm_nll(nll, seed=5, extreme=True)
    grading.check_examination_fit(fit, bucket_lists)

    def naive(log_e, z, position, clicks):  # log of a product: log(0) for items nobody clicks
        p = torch.exp(log_e[position]) * torch.sigmoid(z)
        return -(clicks * torch.log(p) + (1 - clicks) * torch.log(1 - p)).mean()

    grading.check_pbm_nll(naive)  # right on ordinary inputs ...
    with pytest.raises(AssertionError, match="logsigmoid"):
        grading.check_pbm_nll(naive, seed=5, extreme=True)  # ... not where sigmoid(z) underflows
    additive = lambda e, z, j, y: torch.nn.functional.binary_cross_entropy_with_logits(z + e[j], y)  # noqa: E731
    for student, message in [(additive, "logit-additive"), (lambda *a: -nll(*a), "sign is flipped"),
                             (lambda e, z, j, y: nll(e, z, j, y) * len(z), "mean over impressions"),
                             (lambda e, z, j, y: nll(e, z, j, y).reshape(1), "0-d tensor")]:
        with pytest.raises(AssertionError, match=message):
            grading.check_pbm_nll(student)

    def without_context(bucket, length):  # the item term forgets the list context: e_j takes its fall
        return fit({**bucket, "above": torch.zeros_like(bucket["above"]), "in_list": torch.zeros_like(bucket["in_list"])}, length)

    with pytest.raises(AssertionError, match="steeper. Is the list context in your item term"):
        grading.check_examination_fit(without_context, bucket_lists)
    with pytest.raises(AssertionError, match="log e_0 must be 0"):
        grading.check_examination_fit(lambda b, n: fit(b, n) - 1.0, bucket_lists)
    with pytest.raises(AssertionError, match=r"shape \(30,\)"):
        grading.check_examination_fit(lambda b, n: fit(b, n)[1:], bucket_lists)


def test_an_examination_answer_that_calls_the_library_gets_nothing(bucket_lists):
    from prm_edu.examination import PositionBasedModel, pbm_negative_log_likelihood

    with pytest.raises(AssertionError, match="prm_edu.examination.pbm_negative_log_likelihood"):
        grading.check_pbm_nll(pbm_negative_log_likelihood)
    with pytest.raises(AssertionError, match="your answer calls prm-edu's own prm_edu.examination"):
        grading.check_examination_fit(lambda b, n: torch.as_tensor(PositionBasedModel.fit(bucket_lists).log_examination), bucket_lists)
