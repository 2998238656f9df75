import numpy as np
import pytest
import torch

import prm_edu


def test_device_defaults_and_override(monkeypatch):
    monkeypatch.delenv("PRM_EDU_DEVICE", raising=False)
    assert prm_edu.device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setenv("PRM_EDU_DEVICE", "cpu")
    assert prm_edu.device() == torch.device("cpu")
    monkeypatch.setenv("PRM_EDU_DEVICE", "toaster")
    with pytest.raises(ValueError, match="PRM_EDU_DEVICE"):
        prm_edu.device()


def test_seed_everything_repeats_numbers():
    g1 = prm_edu.seed_everything(5)
    a = (torch.rand(3, generator=g1), torch.rand(3), np.random.rand(3))
    g2 = prm_edu.seed_everything(5)
    b = (torch.rand(3, generator=g2), torch.rand(3), np.random.rand(3))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    with pytest.raises(ValueError, match="seed"):
        prm_edu.seed_everything(-1)


def test_fast_mode(monkeypatch):
    monkeypatch.setenv("PRM_EDU_FAST", "1")
    assert prm_edu.fast_mode()
    monkeypatch.setenv("PRM_EDU_FAST", "0")
    assert not prm_edu.fast_mode()


def test_progress_bars_can_be_switched_off(monkeypatch, capsys):
    from prm_edu.runtime import PROGRESS_ENV, progress_bars
    from prm_edu.train import FitConfig, fit

    model = torch.nn.Linear(2, 1)
    data = torch.randn(8, 2)
    train = lambda: fit(model, data, lambda m, b: m(b).pow(2).mean(), lambda m: {"loss": 0.0},  # noqa: E731
                        FitConfig(epochs=1, progress=True), name="tiny row")
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    assert progress_bars()
    train()
    assert "tiny row" in capsys.readouterr().err  # the bar is named after what is trained
    monkeypatch.setenv(PROGRESS_ENV, "0")
    assert not progress_bars()
    train()
    assert "tiny row" not in capsys.readouterr().err
