"""The assignments' checks accept the library's own functions and name each typical mistake."""

import pytest
import torch

from prm_edu import grading, metrics
from prm_edu.ctr.fm import fm_interaction
from prm_edu.losses import listwise_softmax_nll
from prm_edu.prm.attention import scaled_dot_product_attention


def test_the_library_passes_every_check():
    grading.check_attention(scaled_dot_product_attention, masked=True)
    grading.check_attention(scaled_dot_product_attention, masked=False)
    library = {"precision": metrics.precision_at_k, "average_precision": metrics.average_precision_at_k, "ndcg": metrics.ndcg_at_k}
    for name, metric in library.items():
        grading.check_metric(lambda s, y, k, m, metric=metric: metric(s, y, k, m, reduction="none"), name, 5)
    grading.check_fm_interaction(fm_interaction)
    grading.check_input_layer(lambda x, pv, pe, w, b: (torch.cat([x, pv], -1) + pe[: x.shape[1]]) @ w.T + b)
    grading.check_listwise_loss(listwise_softmax_nll)


def unscaled(q, k, v, mask=None):
    weights = torch.softmax(q @ k.transpose(-2, -1), dim=-1)
    return weights @ v, weights


def unmasked(q, k, v, mask=None):
    return scaled_dot_product_attention(q, k, v, None)


@pytest.mark.parametrize("student, masked, message", [
    (unscaled, False, r"divide the scores by sqrt\(d\) = 4.0"),
    (unmasked, True, "padded keys get a weight above 0"),
    (lambda q, k, v, m=None: scaled_dot_product_attention(q, k, v, m)[1], True, "return two things"),
    (lambda q, k, v, m=None: (v, torch.softmax(q @ k.transpose(-2, -1), dim=-2)), False, "sum to 1"),
    (lambda q, k, v, m=None: 1 / 0, True, "ZeroDivisionError"),
])
def test_attention_mistakes_are_named(student, masked, message):
    with pytest.raises(AssertionError, match=message):
        grading.check_attention(student, masked=masked)


def test_other_mistakes_are_named():
    with pytest.raises(AssertionError, match="summed over k"):
        grading.check_fm_interaction(lambda e: fm_interaction(e).sum(-1))
    with pytest.raises(AssertionError, match="subtract the sum of squares"):
        grading.check_fm_interaction(lambda e: 0.5 * e.sum(1) ** 2)
    with pytest.raises(AssertionError, match="add the position embedding"):
        grading.check_input_layer(lambda x, pv, pe, w, b: torch.cat([x, pv], -1) @ w.T + b)
    with pytest.raises(AssertionError, match="not written yet"):
        grading.check_input_layer(lambda *a: (_ for _ in ()).throw(NotImplementedError()))
    with pytest.raises(AssertionError, match="padded ones"):
        grading.check_metric(lambda s, y, k, m: metrics.precision_at_k(s, y, k, None, reduction="none"), "precision", 5)
    with pytest.raises(AssertionError, match="sign is flipped"):
        grading.check_listwise_loss(lambda z, y, m: -listwise_softmax_nll(z, y, m))
    with pytest.raises(AssertionError, match="left out of the mean"):
        grading.check_listwise_loss(lambda z, y, m: -(y * torch.log_softmax(z.masked_fill(m, float("-inf")), -1)
                                                      .masked_fill(m, 0.0)).sum(1).mean())
