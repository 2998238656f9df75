"""Sealed grading: a submission's answer cells run in a process of their own, as an unprivileged
grading account, and the test cells that decide its score run in a process the answer never touched.

nbgrader's autograde runs a whole submission in one kernel, with the rights of whoever grades: an
answer there can replace the checks, patch torch, or read the hidden tests and the gradebook. Here
(`course_nbgrader.SealedExecute` wires it into autograde):

- the **answer's process** (`answer_side.py`) runs the answer cells and the students' own cells, as
  the grading account: no access to the instructor's files, prm-edu not importable, a CPU limit;
- the **grader's kernel** (nbgrader's own) runs the instructor's locked cells and the test cells.
  Each name an answer defines is there a stand-in: calling it sends the arguments to the answer's
  process and reads back the result as data (`torch.load(weights_only=True)`: tensors, numbers,
  containers), gradients included, so a test may train a model with the student's loss.

Which account: through the grading service at $PRM_EDU_GRADING_SOCKET where one runs (a class's
hub, `serve` below, run as root: it starts the answer's process as its grading account for the
course's instructor only); else, run as root, `account` (default nobody); else, as yourself, with
a warning (the checks are still out of the answer's reach, your files are not).
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import pickle
import pwd
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import torch

SOCKET_ENV = "PRM_EDU_GRADING_SOCKET"
ANSWER_SIDE = Path(__file__).with_name("answer_side.py")
CPU_SECONDS = 600  # the answer's process, all its cells and calls together
FILE_BYTES = 64 * 2**20  # the largest file the answer may write


class AnswerError(Exception):
    """An error raised in the answer's process, re-raised here under its own type's name."""


class AnswerStopped(AnswerError):
    """The answer's process was stopped (a cell ran past its time) or has ended."""


def error_type(name: str) -> type[Exception]:
    if name == "NotImplementedError":  # the blank answer: the checks say "not written yet"
        return NotImplementedError
    return type(name, (AnswerError,), {}) if name.isidentifier() else AnswerError


# ---------------------------------------------------------------- the answer's process


def answer_command() -> list[str]:
    """The answer's interpreter: this one, isolated (-I) and without site (-S), given only the
    environment's site-packages folders (answer_side.py keeps prm-edu out of reach)."""
    sites = [p for p in sys.path if p.endswith(("site-packages", "dist-packages")) and os.path.isdir(p)]
    return [sys.executable, "-I", "-S", "-c", ANSWER_SIDE.read_text(), *sites]


def spawn(channel: socket.socket, account: str | None, cpu_seconds: int = CPU_SECONDS) -> subprocess.Popen:
    """Start the answer's process with `channel` as its stdin and stdout, in a fresh folder of its own,
    as `account` (None: this process's own), with a clean environment (no token of the grader's)."""
    workdir = tempfile.mkdtemp(prefix="prm-edu-answer-")
    switch = {}
    if account is not None:
        entry = pwd.getpwnam(account)
        os.chown(workdir, entry.pw_uid, entry.pw_gid)
        switch = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "OMP_NUM_THREADS": "1", "LANG": "C.UTF-8",
           "PRM_EDU_ANSWER_LIMITS": f"{cpu_seconds} {FILE_BYTES}"}  # set by answer_side.py before any answer runs
    try:
        process = subprocess.Popen(answer_command(), stdin=channel.fileno(), stdout=channel.fileno(), stderr=subprocess.DEVNULL,
                                   cwd=workdir, env=env, umask=0o077, process_group=0, **switch)
    except PermissionError:
        shutil.rmtree(workdir, ignore_errors=True)
        raise PermissionError(f"the grading account {account} cannot run {sys.executable}: build the environment from a "
                              "Python outside a private home (e.g. /usr/bin/python3 into /opt, as hub/README.md does), "
                              "or grade with no account (SealedExecute.account = '': the answers then run as you)") from None
    process.workdir = workdir
    return process


def stop(process: subprocess.Popen) -> None:
    """Kill the answer's process and whatever it started (its own process group), and remove its folder."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    shutil.rmtree(process.workdir, ignore_errors=True)


# ---------------------------------------------------------------- the messages


def send_message(channel: socket.socket, message) -> None:
    data = pickle.dumps(message)
    channel.sendall(struct.pack(">Q", len(data)) + data)


def _read(channel: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = channel.recv(min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def receive_reply(channel: socket.socket) -> dict:
    """A reply of the answer's process, read as data only: a reply that is not one is the answer's error."""
    (length,) = struct.unpack(">Q", _read(channel, 8))
    try:
        reply = torch.load(io.BytesIO(_read(channel, length)), weights_only=True)
    except EOFError:
        raise
    except Exception:  # torch's message suggests loading it unsafely: not for a student
        return {"ok": False, "error": ("TypeError", "the grader could not read what your code sent back: return tensors, "
                                                    "numbers, strings, or lists, tuples and dicts of them")}
    return reply if isinstance(reply, dict) else {"ok": False, "error": ("TypeError", "the grader got no reply")}


def _refuse(channel: socket.socket, why: str) -> None:
    buffer = io.BytesIO()
    torch.save({"ok": False, "error": ("PermissionError", why)}, buffer)
    channel.sendall(struct.pack(">Q", len(buffer.getvalue())) + buffer.getvalue())


# ---------------------------------------------------------------- the grader's side


class Answer:
    """The grader's handle on one submission's answer process."""

    def __init__(self, channel: socket.socket, process: subprocess.Popen | None):
        self.channel, self.process = channel, process
        self.stopped: str | None = None
        ready = self.request(("hello",), ready=True)
        self.uid = ready.get("uid")

    @classmethod
    def start(cls, account: str = "nobody", socket_path: str = "", imports: str = "",
              cpu_seconds: int = CPU_SECONDS) -> Answer:
        socket_path = socket_path or os.environ.get(SOCKET_ENV, "")
        if socket_path:  # a class's grading service starts it as its grading account
            channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            channel.connect(socket_path)
            answer = cls(channel, None)
        else:
            ours, theirs = socket.socketpair()
            run_as = account if os.geteuid() == 0 and account else None
            if run_as is None:
                how = ("no grading account is set" if os.geteuid() == 0 else
                       "grade as root, or through a class's grading service, to run them as a grading account")
                print(f"warning: the answers run as you ({pwd.getpwuid(os.geteuid()).pw_name}), with your rights: {how}",
                      file=sys.stderr)
            process = spawn(theirs, run_as, cpu_seconds)
            theirs.close()
            answer = cls(ours, process)
        if imports:
            answer.run(imports, {})
        return answer

    def request(self, message, ready: bool = False) -> dict:
        if self.stopped:
            raise AnswerStopped(self.stopped)
        try:
            if not ready:
                send_message(self.channel, message)
            reply = receive_reply(self.channel)
        except KeyboardInterrupt:  # the cell's time is up: nbgrader interrupts the kernel
            self.close("your answer was stopped when a test ran past its time limit; the tests after it get no points")
            raise
        except (EOFError, OSError):
            self.close("your answer's process ended (it exited, crashed or ran past its CPU limit)")
            raise AnswerStopped(self.stopped) from None
        print(reply.get("output", ""), end="")
        if not reply.get("ok"):
            name, message = reply.get("error", ("AnswerError", "the answer's process refused"))
            raise error_type(str(name))(str(message))
        return reply

    def run(self, source: str, namespace: dict) -> None:
        """Run one answer cell there; its functions become stand-ins here, its values copies."""
        reply = self.request(("run", source))
        for name, kind in reply["names"].items():
            if kind == "function":
                namespace[name] = Function(self, name)
            elif kind == "value" and name in reply["values"]:
                namespace[name] = reply["values"][name]

    def close(self, why: str = "the grading of this submission is over") -> None:
        self.stopped = why
        self.channel.close()  # the grading service stops the process when its caller hangs up
        if self.process is not None:
            stop(self.process)


class Function:
    """A function of the answer, called from here: arguments go there, its result comes back as data."""

    def __init__(self, answer: Answer, name: str):
        self.answer, self.name = answer, name
        self.__name__ = self.__qualname__ = name

    def __call__(self, *args, **kwargs):
        grad = [isinstance(a, torch.Tensor) and a.requires_grad and torch.is_grad_enabled() for a in args]
        plain = [a.detach() if isinstance(a, torch.Tensor) else a for a in args]
        kwargs = {k: v.detach() if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
        reply = self.answer.request(("call", self.name, plain, kwargs, grad))
        value = reply["value"]
        if reply.get("call_id") is not None and isinstance(value, torch.Tensor):
            inputs = [a for a, g in zip(args, grad) if g]
            return _Remote.apply(self.answer, reply["call_id"], value, *inputs)
        return value

    def __repr__(self) -> str:
        return f"<the answer's function {self.name}>"


class _Remote(torch.autograd.Function):
    """A result computed in the answer's process: its backward asks that process for the gradients."""

    @staticmethod
    def forward(ctx, answer, call_id, value, *inputs):
        ctx.answer, ctx.call_id, ctx.shapes = answer, call_id, [i.shape for i in inputs]
        return value

    @staticmethod
    def backward(ctx, grad_output):
        grads = ctx.answer.request(("grad", ctx.call_id, grad_output.detach()))["value"]
        if not isinstance(grads, tuple) or len(grads) != len(ctx.shapes) or any(
                g is not None and (not isinstance(g, torch.Tensor) or g.shape != s) for g, s in zip(grads, ctx.shapes)):
            raise AnswerError("your answer sent back gradients of the wrong shape")
        return (None, None, None, *grads)


def answer_imports(sources: list[str]) -> str:
    """The import lines of the instructor's locked cells that an answer may use: all but prm-edu's."""
    lines = []
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                node.names = [a for a in node.names if a.name.split(".")[0] != "prm_edu"]
                if node.names:
                    lines.append(ast.unparse(node))
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] != "prm_edu" and node.level == 0:
                lines.append(ast.unparse(node))
    return "\n".join(lines)


# ---------------------------------------------------------------- the grading service (a class's hub, as root)


def serve(socket_path: str, account: str, graders: list[str]) -> None:
    """Listen on `socket_path`; for each connection from one of `graders` (or root), start an answer's
    process as `account` on it, and stop that process when the caller hangs up. Others are refused."""
    allowed = {0} | {pwd.getpwnam(name).pw_uid for name in graders}
    pwd.getpwnam(account)  # a missing account stops the service here, not at the first grading
    os.makedirs(os.path.dirname(socket_path), mode=0o711, exist_ok=True)  # reached by its path, not listed
    with contextlib.suppress(FileNotFoundError):
        os.unlink(socket_path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    os.chmod(socket_path, 0o666)  # anyone may connect; who it is decides (SO_PEERCRED)
    listener.listen(64)

    def leave(signum, _frame):  # the hub stops its services with SIGINT, then SIGTERM: go at once
        os.unlink(socket_path)
        os._exit(0)  # an answer's process still running has lost its grader too; `classroom.py stop` ends it

    signal.signal(signal.SIGINT, leave)
    signal.signal(signal.SIGTERM, leave)
    print(f"grading service on {socket_path}: answers run as {account}, for {', '.join(graders)}", flush=True)
    while True:
        channel, _ = listener.accept()
        _pid, uid, _gid = struct.unpack("3i", channel.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
        threading.Thread(target=_serve_one, args=(channel, uid, uid in allowed, account), daemon=True).start()


def _serve_one(channel: socket.socket, uid: int, allowed: bool, account: str) -> None:
    with channel:
        if not allowed:
            print(f"refused uid {uid}: not a grader of this course", flush=True)
            _refuse(channel, "only the course's instructor may grade (the grading service refused this account)")
            return
        process = spawn(channel, account)
        hangup = select.poll()
        hangup.register(channel, select.POLLRDHUP)
        while process.poll() is None and not hangup.poll(500):
            pass
        stop(process)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="The grading service: answers run as an unprivileged account.")
    parser.add_argument("serve")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--account", required=True, help="the grading account the answers run as")
    parser.add_argument("--grader", action="append", required=True, help="an account allowed to grade (repeat)")
    options = parser.parse_args()
    serve(options.socket, options.account, options.grader)
