"""Metrics agree with trec_eval (through pytrec_eval) on random padded lists with ties."""

import numpy as np
import pytest
import torch

from prm_edu import metrics

pytrec_eval = pytest.importorskip("pytrec_eval")


def random_batch(seed: int, n_lists: int = 60, length: int = 30, graded: bool = False):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, length + 1, size=n_lists)
    padding_mask = np.arange(length)[None, :] >= lengths[:, None]
    scores = rng.integers(0, 8, size=(n_lists, length)).astype(np.float32)  # few values: many ties
    labels = rng.integers(0, 3 if graded else 2, size=(n_lists, length)) * (rng.random((n_lists, length)) < 0.3)
    labels[:5] = 0  # some lists without any relevant item
    labels[padding_mask] = 0
    scores[padding_mask] = 99.0  # padded slots must be ignored even with the highest scores
    return torch.tensor(scores), torch.tensor(labels, dtype=torch.float32), torch.tensor(padding_mask)


def trec_eval(scores, labels, padding_mask, measures):
    """Per-list values from trec_eval. trec_eval breaks ties by docno, descending, so the
    docno of slot j is chosen to fall with j: ties keep the input order, as ours do."""
    qrels, run = {}, {}
    for q in range(scores.shape[0]):
        real = np.flatnonzero(~padding_mask[q].numpy())
        qrels[f"q{q}"] = {f"d{999 - j:03d}": int(labels[q, j]) for j in real}
        run[f"q{q}"] = {f"d{999 - j:03d}": float(scores[q, j]) for j in real}
    result = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    return result


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [5, 10, 30])
def test_metrics_equal_trec_eval(seed, k):
    scores, labels, padding_mask = random_batch(seed)
    ours = {
        f"P_{k}": metrics.precision_at_k(scores, labels, k, padding_mask, reduction="none"),
        f"map_cut_{k}": metrics.average_precision_at_k(scores, labels, k, padding_mask, reduction="none"),
        f"ndcg_cut_{k}": metrics.ndcg_at_k(scores, labels, k, padding_mask, reduction="none"),
    }
    theirs = trec_eval(scores, labels, padding_mask, {"P", "map_cut", "ndcg_cut"})
    for measure, values in ours.items():
        expected = np.array([theirs[f"q{q}"][measure] for q in range(len(values))])
        np.testing.assert_allclose(values.numpy(), expected, atol=1e-4, err_msg=measure)


def test_graded_ndcg_equals_trec_eval():
    scores, labels, padding_mask = random_batch(7, graded=True)
    ours = metrics.ndcg_at_k(scores, labels, 10, padding_mask, reduction="none")
    theirs = trec_eval(scores, labels, padding_mask, {"ndcg_cut"})
    np.testing.assert_allclose(ours.numpy(), [theirs[f"q{q}"]["ndcg_cut_10"] for q in range(len(ours))], atol=1e-4)


def test_lists_without_relevant_items_are_zero_and_left_out_of_the_mean():
    scores, labels, padding_mask = random_batch(3)
    empty = ~(labels > 0).any(dim=1)
    assert empty.sum() >= 5
    for metric in (metrics.precision_at_k, metrics.average_precision_at_k, metrics.ndcg_at_k):
        per_list = metric(scores, labels, 10, padding_mask, reduction="none")
        assert torch.all(per_list[empty] == 0)
        assert metric(scores, labels, 10, padding_mask).item() == pytest.approx(per_list[~empty].mean().item())
    no_clicks = torch.zeros_like(labels)
    assert torch.isnan(metrics.precision_at_k(scores, no_clicks, 5, padding_mask))


def test_ties_keep_input_order_and_padding_goes_last():
    scores = torch.tensor([[1.0, 3.0, 3.0, 5.0, 0.0]])
    padding_mask = torch.tensor([[False, False, False, True, False]])
    assert metrics.rank_order(scores, padding_mask).tolist() == [[1, 2, 0, 4, 3]]


def test_hand_computed_example(device):
    # ranked labels 1 0 1 0 (one more relevant item is ranked 5th)
    scores = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0]], device=device)
    labels = torch.tensor([[1.0, 0.0, 1.0, 0.0, 1.0]], device=device)
    assert metrics.precision_at_k(scores, labels, 4).item() == pytest.approx(2 / 4)
    assert metrics.average_precision_at_k(scores, labels, 4).item() == pytest.approx((1 / 1 + 2 / 3) / 3)
    dcg = 1 + 1 / np.log2(4)
    idcg = 1 + 1 / np.log2(3) + 1 / np.log2(4)
    assert metrics.ndcg_at_k(scores, labels, 4).item() == pytest.approx(dcg / idcg)


def test_scores_from_order_round_trip(device):
    order = torch.tensor([[2, 0, 1, 3], [3, 2, 1, 0]], device=device)
    scores = metrics.scores_from_order(order)
    assert scores.device == order.device and metrics.rank_order(scores).tolist() == order.tolist()
    no_click = torch.zeros(2, 4, device=device)
    assert torch.isnan(metrics.precision_at_k(scores, no_click, 2))  # no list with a click: NaN, on any device


def test_initial_order_scores_reproduce_the_input_order():
    padding_mask = torch.tensor([[False, False, True]])
    scores = metrics.initial_order_scores(padding_mask)
    assert metrics.rank_order(scores, padding_mask).tolist() == [[0, 1, 2]]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: metrics.precision_at_k(torch.zeros(2, 3), torch.zeros(2, 4), 1), "scores and labels"),
        (lambda: metrics.precision_at_k(torch.zeros(3), torch.zeros(3), 1), "scores and labels"),
        (lambda: metrics.average_precision_at_k(torch.zeros(2, 3), torch.zeros(2, 3), 0), "k must be"),
        (lambda: metrics.ndcg_at_k(torch.zeros(2, 3), torch.zeros(2, 3), 2.5), "k must be"),
        (lambda: metrics.ndcg_at_k(torch.zeros(2, 3), torch.zeros(2, 3), 1, torch.zeros(2, 2, dtype=torch.bool)), "padding_mask"),
        (lambda: metrics.ndcg_at_k(torch.zeros(2, 3), -torch.ones(2, 3), 1), "labels must be"),
        (lambda: metrics.ndcg_at_k(torch.full((2, 3), float("nan")), torch.ones(2, 3), 1), "NaN"),
        (lambda: metrics.precision_at_k(torch.zeros(2, 3), torch.zeros(2, 3), 1, reduction="sum"), "reduction"),
    ],
)
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_share_of_oracle_gain():
    assert metrics.share_of_oracle_gain([2.0, 2.0], [1.0, 1.0], [3.0, 3.0]) == pytest.approx(0.5)
    assert metrics.share_of_oracle_gain([0.5], [1.0], [2.0]) == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="oracle"):
        metrics.share_of_oracle_gain([1.0], [1.0], [1.0])
