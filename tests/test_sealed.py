"""Sealed grading (assignments/sealed.py): an answer runs in a process of its own and what it sends back
is data; nothing it does there reaches the grader's process."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "assignments"))
import sealed  # noqa: E402

ANSWER = '''
import torch

def loss(logits, labels):
    print("computing the loss")
    return -(labels * torch.log_softmax(logits, -1)).sum(-1).mean()

def blank(x):
    raise NotImplementedError()

def library():
    from prm_edu.prm.attention import scaled_dot_product_attention
    return scaled_dot_product_attention

def in_a_thread():
    import importlib
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor() as pool:
        return pool.submit(importlib.import_module, "prm_" + "edu.losses").result()

def unreadable():
    return object()

def patches():
    torch.allclose = lambda *args, **kwargs: True
    return torch.allclose(torch.zeros(1), torch.ones(1))

def hangs():
    while True:
        pass

scale = torch.tensor([2.0, 3.0])
'''


@pytest.fixture(scope="module")
def answer():
    answer = sealed.Answer.start(account="", imports="import math")
    namespace = {}
    answer.run(ANSWER, namespace)
    yield answer, namespace
    answer.close()


def test_functions_are_stand_ins_and_values_copies(answer, capsys):
    proc, names = answer
    assert isinstance(names["loss"], sealed.Function) and torch.equal(names["scale"], torch.tensor([2.0, 3.0]))
    logits, labels = torch.randn(4, 5), torch.eye(5)[:4]
    expected = -(labels * torch.log_softmax(logits, -1)).sum(-1).mean()
    assert torch.allclose(names["loss"](logits, labels), expected)
    assert "computing the loss" in capsys.readouterr().out  # what the answer prints reaches the grader's cell
    assert proc.uid == os.getuid()


def test_gradients_flow_back_through_the_answers_process(answer):
    _, names = answer
    logits = torch.randn(4, 5, requires_grad=True)
    labels = torch.eye(5)[:4]
    names["loss"](logits, labels).backward()
    mine = logits.detach().clone().requires_grad_(True)
    (-(labels * torch.log_softmax(mine, -1)).sum(-1).mean()).backward()
    assert torch.allclose(logits.grad, mine.grad)
    with torch.no_grad():  # without gradients asked for, a plain result
        assert not names["loss"](logits, labels).requires_grad


def test_the_library_is_out_of_the_answers_reach(answer):
    _, names = answer
    for name in ("library", "in_a_thread"):
        with pytest.raises(sealed.AnswerError, match="prm-edu is not available to an answer during grading") as caught:
            names[name]()
        assert type(caught.value).__name__ == "ModuleNotFoundError"


def test_an_answers_error_comes_back_with_its_own_name(answer):
    _, names = answer
    with pytest.raises(NotImplementedError):  # the checks then say "not written yet"
        names["blank"](1)
    with pytest.raises(sealed.AnswerError, match="could not read what your code sent back: return tensors"):
        names["unreadable"]()


def test_patching_torch_there_changes_nothing_here(answer):
    _, names = answer
    assert names["patches"]() is True  # in the answer's process, allclose now agrees with anything
    assert not torch.allclose(torch.zeros(1), torch.ones(1))  # here it does not


def test_a_hanging_answer_is_stopped_and_the_later_calls_fail_at_once():
    answer = sealed.Answer.start(account="", imports="")
    names = {}
    answer.run(ANSWER, names)
    process = answer.process

    def interrupt(*_):
        raise KeyboardInterrupt  # what nbgrader does when a cell runs past its time

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.alarm(2)
    try:
        with pytest.raises(KeyboardInterrupt):
            names["hangs"]()
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert process.poll() is not None  # killed, not left running
    started = time.monotonic()
    with pytest.raises(sealed.AnswerStopped, match="ran past its time limit"):
        names["loss"](torch.zeros(1, 2), torch.zeros(1, 2))
    assert time.monotonic() - started < 1


def test_answer_imports_keep_all_but_the_library():
    cells = ["import math\n\nimport torch\n\nfrom prm_edu import grading\nimport prm_edu.metrics, numpy as np\nx = 1",
             "from dataclasses import replace\nfrom prm_edu.experiment import demo_config"]
    assert sealed.answer_imports(cells).splitlines() == ["import math", "import torch", "import numpy as np",
                                                         "from dataclasses import replace"]


@pytest.mark.skipif(os.geteuid() != 0, reason="the grading service runs as root")
def test_the_grading_service_refuses_everyone_but_its_graders():
    folder = tempfile.mkdtemp()  # not pytest's: another account must reach the socket
    os.chmod(folder, 0o755)
    path = os.path.join(folder, "grading.sock")
    service = subprocess.Popen([sys.executable, sealed.__file__, "serve", f"--socket={path}", "--account=nobody",
                                "--grader=root"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.2)
        reader, writer = os.pipe()
        child = os.fork()
        if child == 0:  # another account (nobody) asks for an answer's process
            os.close(reader)
            os.setgid(65534)
            os.setuid(65534)
            try:
                sealed.Answer.start(socket_path=path)
                message = b"started"
            except Exception as err:  # noqa: BLE001 (the refusal, whatever its type, is the result)
                message = f"{type(err).__name__}: {err}".encode()
            os.write(writer, message)
            os._exit(0)
        os.close(writer)
        os.waitpid(child, 0)
        with os.fdopen(reader, "rb") as got:
            refusal = got.read().decode()
        assert refusal.startswith("PermissionError") and "only the course's instructor may grade" in refusal
    finally:
        service.terminate()
        output = service.communicate(timeout=30)[0]
        shutil.rmtree(folder, ignore_errors=True)
    assert "refused uid 65534" in output


def test_messages_are_framed_and_replies_read_as_data_only():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        sealed._refuse(theirs, "no")  # a reply as the service writes it
        reply = sealed.receive_reply(ours)
        assert reply == {"ok": False, "error": ("PermissionError", "no")}
        import pickle  # a reply that is a pickle of code, not data: refused as the answer's error

        evil = pickle.dumps(os.system, protocol=2)
        theirs.sendall(len(evil).to_bytes(8, "big") + evil)
        assert sealed.receive_reply(ours)["ok"] is False
