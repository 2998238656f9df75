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
    monkeypatch.delenv("PRM_EDU_SETTING", raising=False)
    monkeypatch.setenv("PRM_EDU_FAST", "1")
    assert prm_edu.fast_mode() and prm_edu.setting() == "fast"
    monkeypatch.setenv("PRM_EDU_FAST", "0")
    assert not prm_edu.fast_mode() and prm_edu.setting() == "full"


def test_setting_reads_its_variable_and_refuses_a_contradiction(monkeypatch):
    monkeypatch.delenv("PRM_EDU_FAST", raising=False)
    monkeypatch.setenv("PRM_EDU_SETTING", "class")
    assert prm_edu.setting() == "class" and not prm_edu.fast_mode()
    monkeypatch.setenv("PRM_EDU_SETTING", " Fast ")
    assert prm_edu.setting() == "fast"
    monkeypatch.setenv("PRM_EDU_SETTING", "classroom")
    with pytest.raises(ValueError, match="PRM_EDU_SETTING='classroom'"):
        prm_edu.setting()
    monkeypatch.setenv("PRM_EDU_SETTING", "class")
    monkeypatch.setenv("PRM_EDU_FAST", "1")
    with pytest.raises(ValueError, match="disagree"):
        prm_edu.setting()


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
