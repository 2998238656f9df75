"""One torch thread in tests (two threads on two shared cores were seen far slower than one),
and the `device` fixture: the tests that take it run once per device present, the CPU always
and CUDA where torch sees it."""

import pytest
import torch

torch.set_num_threads(1)

DEVICES = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def pytest_report_header(config):
    if torch.cuda.is_available():
        return f"devices: cpu and cuda ({torch.cuda.get_device_name(0)})"
    return "devices: cpu only (torch sees no CUDA device; the device tests run on the CPU alone)"


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    return torch.device(request.param)
