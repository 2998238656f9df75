"""Losses against numpy formulas; DLCM's shapes and padding; the fit loop; checkpoints; position bias."""

import pickle

import numpy as np
import pytest
import torch

from prm_edu import World, WorldConfig, losses
from prm_edu.baselines import DLCM, DLCMConfig, _reverse_real
from prm_edu.data.batches import pad_lists, rerank_batch
from prm_edu.position_bias import WithPositionBias, estimate_examination, non_increasing
from prm_edu.prm import PRM, PRMConfig
from prm_edu.train import FitConfig, fit, load_checkpoint, save_checkpoint


def lists(seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(6, 5))
    labels = (rng.random((6, 5)) < 0.3).astype(float)
    labels[0] = 0  # a list without a click
    padding_mask = np.arange(5)[None, :] >= np.array([5, 5, 4, 3, 2, 5])[:, None]
    labels[padding_mask] = 0
    return logits, labels, padding_mask


def np_log_softmax(z, mask):
    z = np.where(mask, -np.inf, z)
    out = z - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)) - z.max(1, keepdims=True)
    return np.where(mask, 0.0, out)


def on(device, *arrays):
    return tuple(torch.tensor(a, device=device) for a in arrays)


def test_listwise_softmax_nll_equals_numpy(device):
    logits, labels, mask = lists()
    per_list = -(labels * np_log_softmax(logits, mask)).sum(1)
    expected = per_list[labels.sum(1) > 0].mean()
    ours = losses.listwise_softmax_nll(*on(device, logits, labels, mask))
    assert ours.device.type == device.type and ours.item() == pytest.approx(expected)
    none = losses.listwise_softmax_nll(*on(device, logits, np.zeros((6, 5)), mask))
    assert none.item() == 0.0


def test_pointwise_bce_equals_numpy(device):
    logits, labels, mask = lists()
    p = 1 / (1 + np.exp(-logits))
    expected = -(labels * np.log(p) + (1 - labels) * np.log(1 - p))[~mask].mean()
    assert losses.pointwise_bce(*on(device, logits, labels, mask)).item() == pytest.approx(expected)


def test_listnet_equals_numpy(device):
    logits, labels, mask = lists()
    target = np.where(mask, 0.0, np.exp(np_log_softmax(labels, mask)))
    expected = -(target * np_log_softmax(logits, mask)).sum(1).mean()
    assert losses.listnet(*on(device, logits, labels, mask)).item() == pytest.approx(expected)


@pytest.mark.parametrize("loss", list(losses.LIST_LOSSES.values()))
def test_losses_reject_bad_shapes_and_stay_finite_on_padding(loss):
    with pytest.raises(ValueError, match="logits and labels"):
        loss(torch.zeros(2, 3), torch.zeros(2, 4))
    all_padded = torch.ones(2, 3, dtype=torch.bool)
    assert torch.isfinite(loss(torch.zeros(2, 3, requires_grad=True), torch.zeros(2, 3), all_padded))


def test_dlcm_shapes_padding_and_order(device):
    torch.manual_seed(0)
    net = DLCM(DLCMConfig(d_x=4, d_hidden=8)).eval().to(device)
    x = torch.randn(3, 6, 4, device=device)
    lengths = torch.tensor([6, 4, 1], device=device)
    mask = torch.arange(6, device=device)[None, :] >= lengths[:, None]
    logits = net(x, None, mask)
    assert logits.shape == (3, 6) and torch.all(logits[mask] == 0)
    garbage = x.clone()
    garbage[mask] = 99.0
    torch.testing.assert_close(net(garbage, None, mask), logits)  # padding never matters
    assert _reverse_real(torch.arange(6.0, device=device).expand(3, 6), lengths)[1].tolist() == [3, 2, 1, 0, 4, 5]
    # DLCM reads the list: moving the last item changes the others' logits
    swapped = x.clone()
    swapped[0, [4, 5]] = x[0, [5, 4]]
    assert not torch.allclose(net(swapped, None, mask)[0, :4], logits[0, :4])
    # with the initial ranks given, DLCM reads the list in rank order whatever the slot order
    perm = torch.tensor([2, 0, 5, 1, 3, 4], device=device)
    ranks = torch.arange(6, device=device).expand(1, 6)
    torch.testing.assert_close(net(x[:1, perm], None, mask[:1], ranks[:, perm]), logits[:1, perm])


def test_fit_restores_the_best_epoch_and_is_deterministic():
    world = World(WorldConfig(n_users=100, n_items=100, n_requests=600, list_len=10, pool_size=20))
    log = world.sample_requests()
    data = rerank_batch(world.item_features, log)
    train, valid = data[:500], data[500:]
    def run():
        seen = []

        def validate(m):
            logits = m(valid.x, valid.pv, valid.padding_mask)
            value = losses.listwise_softmax_nll(logits, valid.labels, valid.padding_mask).item()
            seen.append({k: v.clone() for k, v in m.state_dict().items()})
            return {"loss": value if len(seen) != 2 else -1.0}  # epoch 1 is declared the best

        torch.manual_seed(0)
        m = PRM(PRMConfig(d_x=data.d_x, d_model=8, n_blocks=1, d_ff=8, max_len=10))
        loss = lambda m, b: losses.listwise_softmax_nll(m(b.x, b.pv, b.padding_mask), b.labels, b.padding_mask)  # noqa: E731
        h = fit(m, train, loss, validate, FitConfig(epochs=4, batch_size=64, patience=5, progress=False))
        return m, h, seen

    m, history, seen = run()
    assert history.best_epoch == 1 and len(history.epochs) == 4
    for name, value in m.state_dict().items():
        torch.testing.assert_close(value, seen[1][name])
    m2, _, _ = run()
    for (name, a), b in zip(m.state_dict().items(), m2.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)


def test_checkpoint_round_trip_and_refusal(tmp_path):
    config = PRMConfig(d_x=4, d_pv=2, d_model=8, max_len=5)
    torch.manual_seed(0)
    net = PRM(config).eval()
    save_checkpoint(tmp_path / "prm.pt", net, config)
    loaded = load_checkpoint(tmp_path / "prm.pt")
    again = PRM(PRMConfig(**loaded["config"])).eval()
    again.load_state_dict(loaded["state_dict"])
    x, pv = torch.randn(2, 5, 4), torch.randn(2, 5, 2)
    torch.testing.assert_close(again(x, pv), net(x, pv), rtol=0, atol=0)

    class Evil:
        def __reduce__(self):
            return (print, ("this ran while loading",))

    with open(tmp_path / "evil.pt", "wb") as f:
        pickle.dump(  # protocol 2, as torch.save writes
            {"config": "{}", "config_type": "PRMConfig", "state_dict": Evil()}, f, protocol=2
        )
    with pytest.raises(ValueError, match="not a prm-edu checkpoint"):
        load_checkpoint(tmp_path / "evil.pt")


def test_position_bias_estimate_and_wrapper():
    assert non_increasing(np.array([3.0, 1.0, 2.0, 0.5]), np.ones(4)).tolist() == [3.0, 1.5, 1.5, 0.5]
    world = World(WorldConfig(n_users=200, n_items=200, context=False))
    randomized = world.sample_requests(4000, randomize=True)
    estimate = estimate_examination(randomized)
    assert estimate[0] == 1.0 and np.all(np.diff(estimate) <= 0)
    np.testing.assert_allclose(estimate[::5], world.examination(30)[::5], rtol=0.3)  # without context, CTR follows e_j
    net = PRM(PRMConfig(d_x=3, d_model=8, max_len=4)).eval()
    fixed = WithPositionBias(net, 4, torch.log(torch.tensor([1.0, 0.5, 0.25, 0.125])))
    x, mask = torch.randn(2, 4, 3), torch.zeros(2, 4, dtype=torch.bool)
    ranks, shown_at = torch.arange(4).expand(2, 4), torch.tensor([[2, 0, 1, 3], [3, 2, 1, 0]])
    torch.testing.assert_close(fixed(x, None, mask, ranks, shown_at) - net(x, None, mask), fixed.beta[shown_at])  # beta by display
    assert "beta" not in dict(fixed.named_parameters()) and "beta" in dict(WithPositionBias(net, 4).named_parameters())


def test_pad_lists_never_truncates():
    stacked, mask = pad_lists([torch.ones(2, 3), torch.ones(4, 3)])
    assert stacked.shape == (2, 4, 3) and mask.tolist() == [[False, False, True, True], [False] * 4]
    with pytest.raises(ValueError, match="longer than length"):
        pad_lists([torch.ones(5, 3)], length=4)
