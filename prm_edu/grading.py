"""Checks for the course assignments: compare a student's function with the library's on
random inputs and say, in words a student understands, what differs.

Used by the test cells of `assignments/`; they run in plain JupyterLab too (no nbgrader).
Every check raises `AssertionError` with a message; it never lets a student's exception
or a wrong shape escape as anything else.

An answer that calls the library's own implementation of its exercise (say
`prm_edu.prm.attention.scaled_dot_product_attention` in the attention exercise) fails every
check of that exercise, with a message saying why. Everything else in the library stays
free to use.
"""

from __future__ import annotations

import importlib
import math
import sys
from contextlib import contextmanager
from pathlib import Path

import torch

from prm_edu import metrics
from prm_edu.prm.attention import scaled_dot_product_attention

# Each exercise and the library module that implements it: an answer may not call into that module.
EXERCISES = {
    "attention": "prm_edu.prm.attention",
    "ranking_metrics": "prm_edu.metrics",
    "fm_interaction": "prm_edu.ctr.fm",
    "input_layer": "prm_edu.prm.input_layer",
    "listwise_loss": "prm_edu.losses",
    "examination": "prm_edu.examination",
}


@contextmanager
def _own_work(exercise: str):
    """Fail with a message when the code run inside calls the library's implementation of `exercise`.
    It watches every Python call (sys.setprofile), so an alias or a wrapper is caught too."""
    module = importlib.import_module(EXERCISES[exercise])
    source = str(Path(module.__file__).resolve())
    called: list[str] = []

    def watch(frame, event, arg):
        if event == "call" and not called and frame.f_code.co_filename == source:
            called.append(f"{module.__name__}.{getattr(frame.f_code, 'co_qualname', frame.f_code.co_name)}")

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        yield
    finally:
        sys.setprofile(previous)
        if called:  # reported even when the answer then failed for another reason
            raise AssertionError(f"your answer calls prm-edu's own {called[0]}: this exercise is to write it yourself, "
                                 "so this test gives no points for it (the rest of the library is yours to use)") from None


def _call(student, *args, exercise: str):
    with _own_work(exercise):
        try:
            return student(*args)
        except NotImplementedError:
            raise AssertionError("this function is not written yet (it raises NotImplementedError)") from None
        except Exception as err:  # a student's bug: report it as a failed check, with its type and message
            raise AssertionError(f"your function raised {type(err).__name__}: {err}") from None


def own_work(student, exercise: str):
    """`student` wrapped so that each call fails when it calls the library's implementation of
    `exercise` (for a test that hands the answer to library code, as the training run does)."""
    def checked(*args):
        with _own_work(exercise):
            return student(*args)
    return checked


def _as_tensor(value, what: str) -> torch.Tensor:
    try:
        return torch.as_tensor(value, dtype=torch.float64)
    except Exception:
        raise AssertionError(f"{what} should be a tensor, got {type(value).__name__}") from None


def _same_shape(got: torch.Tensor, expected: torch.Tensor, what: str) -> None:
    if tuple(got.shape) != tuple(expected.shape):
        raise AssertionError(f"{what} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}")


def attention_inputs(seed: int, batch: int = 3, heads: int = 2, length: int = 6, d: int = 16, padded: bool = True):
    """Random q, k, v (B, h, L, d) and a padding mask (B, L) whose first list is full, the others padded."""
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(batch, heads, length, d, generator=g) for _ in range(3))
    mask = torch.zeros(batch, length, dtype=torch.bool)
    if padded:
        for b in range(1, batch):
            mask[b, length - b :] = True
    return q, k, v, mask


def _attention_result(student, q, k, v, mask) -> tuple[torch.Tensor, torch.Tensor]:
    """The student's (outputs, weights) as tensors, or a failed check saying what came back instead."""
    result = _call(student, q, k, v, mask, exercise="attention")
    if not (isinstance(result, tuple) and len(result) == 2):
        raise AssertionError("return two things: the outputs and the attention weights, as (outputs, weights)")
    return _as_tensor(result[0], "outputs"), _as_tensor(result[1], "weights")


def check_attention(student, seed: int = 0, masked: bool = True, exact: bool = True) -> None:
    """`student(q, k, v, padding_mask)` must return (outputs, weights) equal to the library's;
    `exact=False` checks only the shapes and that each row of weights sums to 1."""
    q, k, v, mask = attention_inputs(seed, padded=masked)
    expected_out, expected_w = scaled_dot_product_attention(q, k, v, mask if masked else None)
    out, weights = _attention_result(student, q, k, v, mask if masked else None)
    _same_shape(weights, expected_w, "the weights")
    _same_shape(out, expected_out, "the outputs")
    if torch.isnan(weights).any() or torch.isnan(out).any():
        raise AssertionError("your result contains NaN")
    if not torch.allclose(weights.sum(-1), torch.ones(weights.shape[:-1], dtype=weights.dtype), atol=1e-5):
        raise AssertionError("each row of the weights should sum to 1: apply the softmax over the last axis (the keys)")
    if not exact:
        return
    if masked and (weights.masked_select(mask[:, None, None, :].expand_as(weights)).abs() > 1e-6).any():
        raise AssertionError("padded keys get a weight above 0: set their scores to -inf before the softmax (the padding mask)")
    if not torch.allclose(weights, expected_w.double(), atol=1e-5):
        unscaled = scaled_dot_product_attention(q * math.sqrt(q.shape[-1]), k, v, mask if masked else None)[1]  # no 1/sqrt(d)
        if torch.allclose(weights, unscaled.double(), atol=1e-5):
            raise AssertionError("the weights are the softmax of QK^T without the scale: "
                                 f"divide the scores by sqrt(d) = {math.sqrt(q.shape[-1]):.1f}")
        raise AssertionError("the weights differ from softmax(QK^T / sqrt(d)): check the product, the scale and the axis")
    if not torch.allclose(out, expected_out.double(), atol=1e-5):
        raise AssertionError("the weights are right but the outputs are not: the outputs are weights @ V")


def check_metric(student, name: str, k: int, seed: int = 0) -> None:
    """`student(scores, labels, k, padding_mask)` (B,) per list must equal `prm_edu.metrics`' `name`."""
    reference = {"precision": metrics.precision_at_k, "average_precision": metrics.average_precision_at_k,
                 "ndcg": metrics.ndcg_at_k}[name]
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(8, 10, generator=g)
    labels = (torch.rand(8, 10, generator=g) < 0.3).float()
    labels[0, 0] = 1.0  # at least one relevant item
    mask = torch.zeros(8, 10, dtype=torch.bool)
    mask[4:, 7:] = True
    labels = labels.masked_fill(mask, 0.0)
    expected = reference(scores, labels, k, mask, reduction="none")
    got = _as_tensor(_call(student, scores, labels, k, mask, exercise="ranking_metrics"), f"{name}@{k}")
    _same_shape(got, expected, f"{name}@{k}")
    if not torch.allclose(got, expected.double(), atol=1e-6):
        unmasked = reference(scores, labels, k, None, reduction="none")  # as if every slot were real
        if torch.allclose(got, unmasked.double(), atol=1e-6) and not torch.allclose(unmasked, expected):
            raise AssertionError(f"{name}@{k} is right on full lists but wrong on padded ones: padded slots must go last and never count")
        raise AssertionError(f"{name}@{k} differs from the definition on {int((~torch.isclose(got, expected.double())).sum())} "
                             f"of {len(got)} lists: e.g. list 0, yours {got[0]:.4f}, expected {expected[0]:.4f}")


def check_fm_interaction(student, seed: int = 0) -> None:
    """`student(embeddings (N, F, k))` must return FM's interaction vector (N, k): the sum over
    pairs i < j of v_i * v_j, element-wise (its sum over k is FM's pairwise term)."""
    from prm_edu.ctr.fm import fm_interaction

    g = torch.Generator().manual_seed(seed)
    embeddings = torch.randn(5, 4, 3, generator=g)
    expected = fm_interaction(embeddings)
    got = _as_tensor(_call(student, embeddings, exercise="fm_interaction"), "the interaction vector")
    if got.shape == (5,) and torch.allclose(got, expected.sum(-1).double(), atol=1e-5):
        raise AssertionError("you summed over k: return the vector (N, k) before that sum (it is the pv FM hands to PRM)")
    _same_shape(got, expected, "the interaction vector")
    if torch.allclose(got, 2 * expected.double(), atol=1e-5):
        raise AssertionError("twice the expected value: each pair counts once, so halve (square of sum - sum of squares)")
    pairs_with_self = (embeddings.sum(1) ** 2).double()
    if torch.allclose(got, pairs_with_self, atol=1e-5) or torch.allclose(got, 0.5 * pairs_with_self, atol=1e-5):
        raise AssertionError("the square of the sum also counts each field with itself: subtract the sum of squares")
    if not torch.allclose(got, expected.double(), atol=1e-5):
        raise AssertionError("the values differ from the sum over pairs i < j of v_i * v_j")


def check_input_layer(student, seed: int = 0) -> None:
    """`student(x, pv, pe, w, b)` must return E = ([X ; PV] + PE[:L]) W^T + b, shape (B, L, d)."""
    g = torch.Generator().manual_seed(seed)
    b_, length, d_x, d_pv, d, max_len = 2, 5, 3, 4, 6, 8
    x, pv = torch.randn(b_, length, d_x, generator=g), torch.randn(b_, length, d_pv, generator=g)
    pe = torch.randn(max_len, d_x + d_pv, generator=g)
    w, b = torch.randn(d, d_x + d_pv, generator=g), torch.randn(d, generator=g)
    expected = (torch.cat([x, pv], dim=-1) + pe[:length]) @ w.T + b
    got = _as_tensor(_call(student, x, pv, pe, w, b, exercise="input_layer"), "E")
    _same_shape(got, expected, "E")
    if torch.allclose(got, (torch.cat([x, pv], dim=-1) @ w.T + b).double(), atol=1e-5):
        raise AssertionError("E does not change with PE: add the position embedding (its first L rows) before the projection")
    if torch.allclose(got, (torch.cat([x, pv], dim=-1) + pe[:length]).double() @ w.T.double(), atol=1e-5):
        raise AssertionError("the bias b^E is missing")
    if not torch.allclose(got, expected.double(), atol=1e-5):
        raise AssertionError("E differs from ([X ; PV] + PE) W^E + b^E: check the order [X ; PV] and the transpose of W")


def check_listwise_loss(student, seed: int = 0) -> None:
    """`student(logits, labels, padding_mask)` must equal the paper's list-wise loss
    (`prm_edu.losses.listwise_softmax_nll`), a scalar that gradients flow through."""
    from prm_edu.losses import listwise_softmax_nll

    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(6, 8, generator=g, requires_grad=True)
    labels = (torch.rand(6, 8, generator=g) < 0.25).float()
    labels[0] = 0.0  # a list without clicks
    labels[1, 0] = 1.0
    mask = torch.zeros(6, 8, dtype=torch.bool)
    mask[3:, 6:] = True
    labels = labels.masked_fill(mask, 0.0)
    expected = listwise_softmax_nll(logits, labels, mask)
    got = _call(student, logits, labels, mask, exercise="listwise_loss")
    if not isinstance(got, torch.Tensor) or got.ndim != 0:
        raise AssertionError("return one number, a 0-d tensor (the mean over lists), so that .backward() works")
    if not got.requires_grad:
        raise AssertionError("the loss does not depend on the logits through torch operations: gradients cannot flow")
    if torch.isclose(got, -expected, atol=1e-5):
        raise AssertionError("the sign is flipped: the loss is the NEGATIVE log-likelihood")
    kept_all = -(labels * torch.log_softmax(logits.masked_fill(mask, float("-inf")), -1).masked_fill(mask, 0.0)).sum(1).mean()
    if torch.isclose(got, kept_all, atol=1e-5):
        raise AssertionError("lists without any click should be left out of the mean (they say nothing about which item is better)")
    unmasked = -(labels * torch.log_softmax(logits, -1)).sum(1)[labels.sum(1) > 0].mean()
    if torch.isclose(got, unmasked, atol=1e-5):
        raise AssertionError("padded slots take part in the softmax: set their logits to -inf first")
    if not torch.isclose(got, expected, atol=1e-5):
        raise AssertionError(f"the loss is {got.item():.4f}, expected {expected.item():.4f}: "
                             "- mean over clicked lists of sum_i y_i log softmax(logits)_i")


def check_attention_scale(student, d: int = 64) -> None:
    """With d = 64 the weights must be softmax(QK^T / 8): the scale, on its own."""
    q, k, v, _ = attention_inputs(seed=2, d=d, padded=False)
    _, weights = _attention_result(student, q, k, v, None)
    expected = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d), dim=-1).double()
    if weights.shape != expected.shape or not torch.allclose(weights, expected, atol=1e-5):
        raise AssertionError(f"with d = {d} the scores must be divided by sqrt({d}) = {math.sqrt(d):g} before the softmax")


def check_attention_all_padding(student) -> None:
    """A list that is all padding gets weights 0, not NaN."""
    q, k, v, mask = attention_inputs(seed=3)
    mask[0] = True
    out, weights = _attention_result(student, q, k, v, mask)
    if torch.isnan(out).any() or torch.isnan(weights).any():
        raise AssertionError("an all-padding list gives NaN: replace those weights by 0")
    if not (weights[0] == 0).all():
        raise AssertionError("an all-padding list should get weight 0 everywhere")


def check_fm_against_loop(student, seed: int = 0) -> None:
    """FM's interaction vector equals the double loop over pairs i < j."""
    v = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(seed))
    loop = sum(v[:, i] * v[:, j] for i in range(4) for j in range(i + 1, 4))
    got = _as_tensor(_call(student, v, exercise="fm_interaction"), "the interaction vector")
    if got.shape != loop.shape or not torch.allclose(got, loop.double(), atol=1e-5):
        raise AssertionError("the result differs from the double loop over pairs i < j")


def check_input_layer_weights(student, seed: int = 0) -> None:
    """The student's E equals the library's `InputLayer` given the same weights."""
    from prm_edu.prm import InputLayer

    torch.manual_seed(seed)
    layer = InputLayer(d_x=3, d_pv=2, d_model=4, max_len=6)
    x, pv = torch.randn(2, 5, 3), torch.randn(2, 5, 2)
    with torch.no_grad():
        expected = layer(x, pv)
        got = _as_tensor(_call(student, x, pv, layer.position_embedding, layer.proj.weight, layer.proj.bias,
                               exercise="input_layer"), "E")
    if got.shape != expected.shape or not torch.allclose(got, expected.double(), atol=1e-5):
        raise AssertionError("your E differs from prm_edu's InputLayer with the same weights")


def examination_bucket(lists) -> dict[str, torch.Tensor]:
    """A randomized bucket (`prm_edu.examination.ShownLists`) as the examination exercise hands it to
    students: flat (N,) tensors over its real slots, float64 where a float: "position" (where each was
    displayed), "rank" (its initial rank), "pointwise" (the click model's logit s), "above" (same-category
    items displayed above), "in_list" (same-category items anywhere else in the list), "clicks"."""
    shown = lists.in_display_order()
    real = ~shown["padding_mask"]
    out = {"position": shown["shown_at"][real], "rank": shown["ranks"][real]}
    return out | {name: shown[key][real].double() for name, key in
                  (("pointwise", "pointwise"), ("above", "above"), ("in_list", "in_list"), ("clicks", "clicks"))}


def _pbm_inputs(seed: int, extreme: bool):
    """log e (L,) non-increasing from 0, z (N,), positions (N,) and clicks (N,) drawn from the model."""
    g = torch.Generator().manual_seed(seed)
    length, n = 8, 300
    log_e = -torch.cat([torch.zeros(1, dtype=torch.float64), torch.rand(length - 1, generator=g, dtype=torch.float64).cumsum(0)])
    z = 2 * torch.randn(n, generator=g, dtype=torch.float64)
    if extreme:  # items nobody clicks: sigmoid(z) underflows to 0 in float64, log(sigmoid(z)) must not
        z[: n // 10] = -800.0
    position = torch.randint(length, (n,), generator=g)
    clicks = (torch.rand(n, generator=g, dtype=torch.float64) < torch.exp(log_e[position]) * torch.sigmoid(z)).double()
    return log_e, z, position, clicks


def check_pbm_nll(student, seed: int = 0, extreme: bool = False) -> None:
    """`student(log_e, z, position, clicks)` must equal the position-based model's negative log-likelihood
    (`prm_edu.examination.pbm_negative_log_likelihood`), a mean over impressions."""
    from prm_edu.examination import pbm_negative_log_likelihood

    log_e, z, position, clicks = _pbm_inputs(seed, extreme)
    expected = pbm_negative_log_likelihood(log_e, z, position, clicks)
    got = _as_tensor(_call(student, log_e, z, position, clicks, exercise="examination"), "the loss")
    if got.ndim != 0:
        raise AssertionError(f"return one number, a 0-d tensor (the mean over impressions), got shape {tuple(got.shape)}")
    if not torch.isfinite(got):
        raise AssertionError("the loss is not finite: for items with a very negative z, sigmoid(z) is 0 and log(0) = -inf; "
                             "use torch.nn.functional.logsigmoid(z) for log sigmoid(z)")
    if torch.isclose(got, -expected, atol=1e-6):
        raise AssertionError("the sign is flipped: the loss is the NEGATIVE log-likelihood")
    if torch.isclose(got, expected * len(z), atol=1e-6):
        raise AssertionError("take the mean over impressions, not the sum")
    additive = torch.nn.functional.binary_cross_entropy_with_logits(z + log_e[position], clicks)
    if torch.isclose(got, additive, atol=1e-6):
        raise AssertionError("that is sigmoid(z + log e_j), a logit-additive position term; the model is e_j * sigmoid(z)")
    if not torch.isclose(got, expected, atol=1e-6):
        raise AssertionError(f"the loss is {got.item():.5f}, expected {expected.item():.5f}: the mean over impressions of "
                             "-[y log(e_j sigmoid(z)) + (1 - y) log(1 - e_j sigmoid(z))]")


def check_examination_fit(student, lists, tolerance: float = 0.25) -> None:
    """`student(bucket, length)` fits the examination on a randomized bucket (`examination_bucket(lists)`) and
    returns log e_j (L,), 0 at the top; it must lie within `tolerance` (mean absolute difference over the
    positions) of the library's position-based model fitted on the same bucket."""
    from prm_edu.examination import PositionBasedModel

    length = lists.length
    got = _as_tensor(_call(student, examination_bucket(lists), length, exercise="examination"), "your log e_j")
    if tuple(got.shape) != (length,):
        raise AssertionError(f"return log e_j for the {length} positions, shape ({length},), got {tuple(got.shape)}")
    if not torch.isfinite(got).all():
        raise AssertionError("your log e_j has NaN or infinite values")
    if abs(float(got[0])) > 1e-6:
        raise AssertionError(f"log e_0 must be 0 (the examination is relative to the top position), got {float(got[0]):.3f}")
    reference = torch.as_tensor(PositionBasedModel.fit(lists).log_examination)
    gap = float((got - reference).abs().mean())
    if gap > tolerance:
        steeper = float(got[-1]) < float(reference[-1])
        raise AssertionError(f"your log e_j is {gap:.2f} from the position-based model's on average (at most {tolerance} passes); "
                             f"at the bottom yours is {float(got[-1]):.2f}, the model's {float(reference[-1]):.2f}"
                             + (": steeper. Is the list context in your item term z, both the same-category items above "
                                "and those in the list?" if steeper else ""))
