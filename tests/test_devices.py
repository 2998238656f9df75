"""CPU and CUDA agree. Where torch sees no CUDA device these tests skip; `make test-gpu` runs
them on a GPU machine (and the rest of the suite and the notebooks with PRM_EDU_DEVICE=cuda)."""

import os
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from prm_edu import WorldConfig
from prm_edu.experiment import DemoConfig, logits_of, train_reranker
from prm_edu.experiment.config import RERANK_FIT
from prm_edu.experiment.prepare import prepare
from prm_edu.prm import PRM, PRMConfig

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA device")


def test_asking_for_cuda_without_it_is_a_clear_error():
    """`make test-gpu` starts with this check: on a machine without CUDA it stops at once."""
    env = {**os.environ, "PRM_EDU_DEVICE": "cuda"}
    done = subprocess.run([sys.executable, "-m", "prm_edu", "device"], env=env, capture_output=True, text=True, timeout=120)
    if torch.cuda.is_available():
        assert done.returncode == 0 and "cuda" in done.stdout
    else:
        assert done.returncode != 0 and "asks for CUDA, but torch sees no CUDA device" in done.stderr
        assert "Traceback" not in done.stderr


@needs_cuda
@pytest.mark.parametrize("fused_attention", [False, True])
def test_prm_forward_agrees_on_cpu_and_cuda(fused_attention):
    """The same weights give the same logits and attention within 1e-5 (float32)."""
    torch.manual_seed(0)
    model = PRM(PRMConfig(d_x=6, d_pv=4, d_model=32, n_blocks=2, n_heads=2, head_dim=16, max_len=12,
                          fused_attention=fused_attention)).eval()
    x, pv = torch.randn(8, 12, 6), torch.randn(8, 12, 4)
    padding_mask = torch.arange(12)[None, :] >= torch.tensor([12, 9, 5, 1, 12, 3, 7, 0])[:, None]
    with torch.no_grad():
        cpu = model(x, pv, padding_mask)
        gpu = model.to("cuda")(x.cuda(), pv.cuda(), padding_mask.cuda())
        _, weights = model(x.cuda(), pv.cuda(), padding_mask.cuda(), return_attention=True)
        _, cpu_weights = model.cpu()(x, pv, padding_mask, return_attention=True)
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=1e-5)
    for w_gpu, w_cpu in zip(weights, cpu_weights):
        torch.testing.assert_close(w_gpu.cpu(), w_cpu, rtol=1e-5, atol=1e-5)


@needs_cuda
def test_a_short_training_run_agrees_on_cpu_and_cuda():
    """Two epochs of PRM-Personalized, dropout off (so no device draws random numbers after the
    weights are made on the CPU): validation losses within 1e-3, test logits within 1e-2."""
    config = DemoConfig(world=WorldConfig(n_users=200, n_items=150, n_requests=800, list_len=10, pool_size=20),
                        pretrain_requests=800, fit=replace(RERANK_FIT, epochs=2, progress=False))
    prepared = prepare(config, progress=False)  # one click model and PV for both runs
    runs = {}
    for device in ("cpu", "cuda"):
        torch.manual_seed(0)
        model = PRM(PRMConfig(d_x=prepared.train.d_x, d_pv=prepared.train.d_pv, d_model=16, d_ff=32, dropout=0.0, max_len=10))
        history = train_reranker(model.to(device), prepared.train, prepared.valid, config.fit, "softmax_nll", "learned")
        runs[device] = (history.column("loss"), logits_of(model, prepared.test))
    (cpu_loss, cpu_logits), (gpu_loss, gpu_logits) = runs["cpu"], runs["cuda"]
    assert cpu_loss == pytest.approx(gpu_loss, rel=1e-3)
    torch.testing.assert_close(gpu_logits, cpu_logits, rtol=0, atol=1e-2)
