"""The answer's process during grading: it runs a student's answer cells, and nothing else.

Started by `sealed.py` (never imported by it): `python -I -S -c <this file's text> SITE...`, as
the grading account where the grader can switch to one. It reads requests from stdin and writes
replies to stdout, one message at a time (8 bytes of length, then the message):

    ("run", source)                         run an answer cell; reply: its printed output, its error,
                                            the names it defined (functions, or values the grader can read)
    ("call", name, args, kwargs, grad)      call a function the answers defined on the grader's inputs;
                                            grad[i]: args[i] is a tensor that gradients flow back to
    ("grad", call_id, grad_output)          the gradients of that call's result with respect to those inputs

Replies are written with `torch.save` and read by the grader with `torch.load(weights_only=True)`:
tensors, numbers, strings, lists, tuples and dicts, never code. Whatever an answer does in this
process (patch torch, the builtins, its own copy of anything) changes only what it sends back.
"""

import contextlib
import io
import itertools
import os
import pickle  # the grader's requests (the grader is the trusted side; replies never use pickle)
import resource
import struct
import sys
import traceback
import types

# limits the answer cannot lift (an unprivileged process may lower its hard limits, never raise them)
cpu_seconds, file_bytes = (int(n) for n in os.environ.get("PRM_EDU_ANSWER_LIMITS", "600 67108864").split())
resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
sys.path.extend(sys.argv[1:])  # the environment's site-packages: torch and numpy, but see NoLibrary


class NoLibrary:
    """prm-edu is not importable here: an answer is the student's own work, so the library's
    implementation of the exercise is not within its reach (in any form: import, importlib, a thread)."""

    def find_spec(self, name, path=None, target=None):
        if name == "prm_edu" or name.startswith("prm_edu."):
            raise ModuleNotFoundError(f"No module named {name!r}: prm-edu is not available to an answer during grading "
                                      "(the exercise is to write it yourself)", name=name)
        return None


sys.meta_path.insert(0, NoLibrary())

import torch  # noqa: E402 (after the path is set)

torch.set_num_threads(1)
CHANNEL_IN = os.fdopen(os.dup(0), "rb")
CHANNEL_OUT = os.fdopen(os.dup(1), "wb")
with open(os.devnull, "rb") as null_in, open(os.devnull, "wb") as null_out:  # prints go to the reply, not the channel
    os.dup2(null_in.fileno(), 0)
    os.dup2(null_out.fileno(), 1)
    os.dup2(null_out.fileno(), 2)
MAX_OUTPUT = 20_000  # characters of printed output sent back per request
KEEP_GRAPHS = 16  # calls whose gradients may still be asked for


def receive():
    header = CHANNEL_IN.read(8)
    if len(header) < 8:
        return None
    return pickle.loads(CHANNEL_IN.read(struct.unpack(">Q", header)[0]))


def send(reply: dict) -> None:
    buffer = io.BytesIO()
    try:
        torch.save(reply, buffer)
    except Exception as err:  # a result the grader cannot read (a class of the answer's, a generator, ...)
        buffer = io.BytesIO()
        torch.save({"ok": False, "error": ("TypeError", f"the grader cannot read what your code returned ({err})"),
                    "output": reply.get("output", "")}, buffer)
    data = buffer.getvalue()
    CHANNEL_OUT.write(struct.pack(">Q", len(data)) + data)
    CHANNEL_OUT.flush()


def detached(value):
    """The value with every tensor cut from its graph, as plain containers."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, list):
        return [detached(v) for v in value]
    if isinstance(value, tuple):  # a named tuple too, as a plain one
        return tuple(detached(v) for v in value)
    if isinstance(value, dict):
        return {k: detached(v) for k, v in value.items()}
    return value


def error_of(err: BaseException) -> tuple[str, str]:
    """The error's type name and message, with the answer's own lines of its traceback."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename.startswith("<answer")]
    where = "".join(f"\n  line {f.lineno}: {f.line}" for f in frames[-3:] if f.line)
    return type(err).__name__, f"{err}{where}"


namespace = {"__name__": "__answer__", "__builtins__": __builtins__}
graphs: dict[int, tuple] = {}  # call id -> (its result, the inputs that gradients flow back to)
call_ids = itertools.count(1)
cells = 0


def handle(request):
    global cells
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            if request[0] == "run":
                cells += 1
                before = dict(namespace)
                exec(compile(request[1], f"<answer cell {cells}>", "exec"), namespace)
                changed = {k: v for k, v in namespace.items() if not k.startswith("_") and before.get(k, object()) is not v}
                names = {k: "module" if isinstance(v, types.ModuleType) else "function" if callable(v) else "value"
                         for k, v in changed.items()}
                reply = {"ok": True, "names": names,
                         "values": {k: detached(v) for k, v in changed.items() if names[k] == "value"}}
            elif request[0] == "call":
                _, name, args, kwargs, grad = request
                args = [a.detach().requires_grad_(True) if g else a for a, g in zip(args, grad)]
                result = namespace[name](*args, **kwargs)
                reply = {"ok": True, "value": detached(result), "call_id": None}
                if isinstance(result, torch.Tensor) and result.requires_grad and any(grad):
                    reply["call_id"] = next(call_ids)
                    graphs[reply["call_id"]] = (result, [a for a, g in zip(args, grad) if g])
                    while len(graphs) > KEEP_GRAPHS:
                        graphs.pop(min(graphs))
                reply["requires_grad"] = isinstance(result, torch.Tensor) and result.requires_grad
            elif request[0] == "grad":
                result, inputs = graphs.pop(request[1])
                grads = torch.autograd.grad(result, inputs, request[2], allow_unused=True)
                reply = {"ok": True, "value": tuple(None if g is None else g.detach() for g in grads)}
            else:
                reply = {"ok": False, "error": ("ValueError", f"unknown request {request[0]!r}")}
        except BaseException as err:  # the answer's error, SystemExit and KeyboardInterrupt included, goes back as words
            reply = {"ok": False, "error": error_of(err)}
    reply["output"] = output.getvalue()[:MAX_OUTPUT]
    return reply


send({"ok": True, "ready": True, "uid": os.getuid()})
while (request := receive()) is not None:
    send(handle(request))
os._exit(0)  # the grader hung up: gone at once, with any thread the answer started
