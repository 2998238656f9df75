"""A class on one server, end to end: JupyterHub, 30 Unix accounts, nbgrader's exchange.

The instructor releases the five assignments; 30 students' servers start at once through
the hub's REST API; every student fetches `attention` through their own server, edits it,
runs it in a kernel of that server and submits (3 of them do all five assignments); the
instructor collects, autogrades and releases feedback, which every student fetches. Then
the checks: nothing lost or swapped, each score as expected from its answer, the homes,
the inbound folder and the instructor's sources closed to students, the hub answering all
along. Run as root (`make test-hub`); it makes its own accounts under a random prefix and
removes them, its folders and its servers afterwards, also when it fails.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.hub

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "hub"))
sys.path.insert(0, str(ROOT / "tests"))
import attacks  # noqa: E402
import classroom  # noqa: E402

if os.geteuid() != 0 or not shutil.which("npm") or not Path(classroom.Settings.python).exists():
    pytest.skip(f"the class test runs as root, with npm and {classroom.Settings.python} (make test-hub)", allow_module_level=True)

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest  # noqa: E402
from tornado.websocket import websocket_connect  # noqa: E402

COURSE = "prm-edu"
ASSIGNMENTS = ("attention", "ranking_metrics", "fm_interaction", "input_layer", "listwise_loss")
SOLUTION_CELL = {"attention": "attention", "ranking_metrics": "metrics", "fm_interaction": "fm",
                 "input_layer": "input_layer", "listwise_loss": "loss"}
MAX_POINTS = {"attention": 10, "ranking_metrics": 9, "fm_interaction": 6, "input_layer": 6, "listwise_loss": 8}
TEST_PREFIX = "zzprm"  # accounts zzprm<4 letters>s01..s30 and zzprm<4 letters>i: no real account is named so
LEFTOVER = re.compile(rf"^{TEST_PREFIX}[a-z]{{4}}(s\d\d|i|x|g)?$")  # x: an account outside the class; g: the grader
PROFILE = os.environ.get("PRM_HUB_TEST_PREFIX", "/opt/prm-edu-hub-test")  # the test's own shared environment
CELL_TIMEOUT = 10  # seconds a student waits on a cell before pressing stop
AUTOGRADE_TIMEOUT = {"attention": 15, "listwise_loss": 300}  # per cell; the course's setting is 120 s

# --- the students' answers -------------------------------------------------------------------

ATTENTION_ANSWERS = {
    "no_scale": '''def scaled_dot_product_attention(q, k, v, padding_mask=None):
    scores = q @ k.transpose(-2, -1)  # forgets 1/sqrt(d)
    if padding_mask is not None:
        scores = scores.masked_fill(padding_mask[:, None, None, :], float("-inf"))
    weights = torch.nan_to_num(torch.softmax(scores, dim=-1), nan=0.0)
    return weights @ v, weights''',
    "no_mask": '''def scaled_dot_product_attention(q, k, v, padding_mask=None):
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)  # forgets the mask
    return weights @ v, weights''',
    "raises": '''def scaled_dot_product_attention(q, k, v, padding_mask=None):
    weights = torch.softmax(q @ k / math.sqrt(q.shape[-1]), dim=-1)  # forgets the transpose: a shape error
    return weights @ v, weights''',
    "hangs": '''def scaled_dot_product_attention(q, k, v, padding_mask=None):
    while True:
        pass''',
    "library": "from prm_edu.prm.attention import scaled_dot_product_attention  # the library's own",
    # students who attack the grading (tests/attacks.py): each earns what its honest part earns
    "library_thread": attacks.LIBRARY_THREAD,
    "library_profiler": attacks.LIBRARY_PROFILER,
    "library_importlib": attacks.LIBRARY_UNGUARDED,  # the library's files are closed to the grading account here
    "patches_checks": attacks.PATCHES_CHECKS,
    "patches_torch": attacks.PATCHES_TORCH,  # on the no_scale answer, below
    "reads_course": attacks.READS_COURSE,
    # a blank answer whose test cells are edited to pass: they are put back and graded
    "edits_locked": None,
}
ATTENTION_ANSWERS["patches_torch"] += ATTENTION_ANSWERS["no_scale"]
LEAK = "/tmp/prm-edu-hub-test-leak.txt"  # where reads_course leaves what it read
# points each kind earns on attention: shapes 2, padding 4, scale 2, all-padding list 2
ATTENTION_POINTS = {"correct": 10, "no_scale": 2 + 2, "no_mask": 2 + 2, "raises": 0, "hangs": 0, "library": 0, "blank": 0,
                    "library_thread": 0, "library_profiler": 0, "library_importlib": 0, "patches_checks": 0,
                    "patches_torch": 2 + 2, "reads_course": 0, "edits_locked": 0}
KINDS = (["correct"] * 8 + ["no_scale"] * 4 + ["no_mask"] * 4 + ["raises"] * 2 + ["hangs"] * 2 + ["blank"] * 2
         + ["library", "library_thread", "library_profiler", "library_importlib", "patches_checks", "patches_torch",
            "reads_course", "edits_locked"])
FORGER, VICTIM = 29, 12  # the student who forges a submission for another (a no_scale one), by index

# the three who do all five assignments: (kind per assignment); the others do attention only
ALL_FIVE = {
    0: {"ranking_metrics": "correct", "fm_interaction": "correct", "input_layer": "correct", "listwise_loss": "correct"},
    1: {"ranking_metrics": "library", "fm_interaction": "correct", "input_layer": "no_bias", "listwise_loss": "correct"},
    2: {"ranking_metrics": "correct", "fm_interaction": "blank", "input_layer": "correct", "listwise_loss": "library"},
}
OTHER_ANSWERS = {
    ("ranking_metrics", "library"): '''from prm_edu import metrics


def precision_at_k(scores, labels, k, padding_mask):
    return metrics.precision_at_k(scores, labels, k, padding_mask, reduction="none")


def average_precision_at_k(scores, labels, k, padding_mask):
    return metrics.average_precision_at_k(scores, labels, k, padding_mask, reduction="none")


def ndcg_at_k(scores, labels, k, padding_mask):
    return metrics.ndcg_at_k(scores, labels, k, padding_mask, reduction="none")''',
    ("input_layer", "no_bias"): '''def input_layer(x, pv, pe, w, b):
    return (torch.cat([x, pv], dim=-1) + pe[: x.shape[1]]) @ w.T  # forgets b''',
    ("listwise_loss", "library"): '''from prm_edu.losses import listwise_softmax_nll


def listwise_loss(logits, labels, padding_mask):
    return listwise_softmax_nll(logits, labels, padding_mask)''',
}
OTHER_POINTS = {"correct": None, "library": 0, "no_bias": 0, "blank": 0}  # None: full marks


# a forged submission: a folder in the exchange's inbound named for another student, dated after everyone's
FORGE = """import json, os, sys
exchange, victim, code = sys.argv[1:]
notebook = {"cells": [{"cell_type": "code", "execution_count": None, "id": "forged", "metadata": {"nbgrader": {
    "grade": False, "grade_id": "attention", "locked": False, "schema_version": 3, "solution": True, "task": False}},
    "outputs": [], "source": code}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
folder = os.path.join(exchange, "prm-edu", "inbound", victim + "+attention+2099-01-01 00:00:00.000000 UTC+forged")
os.mkdir(folder)
with open(os.path.join(folder, "attention.ipynb"), "w") as out:
    json.dump(notebook, out)
with open(os.path.join(folder, "timestamp.txt"), "w") as out:
    out.write("2099-01-01 00:00:00.000000 UTC")
for name in os.listdir(folder):
    os.chmod(os.path.join(folder, name), 0o644)
os.chmod(folder, 0o755)
print("forged", folder)
"""


def solution(assignment: str) -> str:
    nb = nbformat.read(ROOT / "assignments" / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == SOLUTION_CELL[assignment])
    return "\n".join(line for line in cell.source.splitlines() if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def answer(assignment: str, kind: str, settings=None) -> str | dict | None:
    """The code a student writes in the answer cell; None leaves the cell as released (blank); a dict
    sets cells by their grade id."""
    if kind == "blank":
        return None
    if kind == "edits_locked":
        return {"test_full_lists": "pass", "test_padding": "pass", "test_scale": "pass", "test_all_padding": "pass"}
    if kind == "reads_course":
        course = Path(pwd.getpwnam(settings.instructor).pw_dir) / COURSE
        return ATTENTION_ANSWERS[kind].replace("COURSE", repr(str(course))).replace("LEAK", repr(LEAK))
    if kind == "correct":
        return solution(assignment)
    return ATTENTION_ANSWERS[kind] if assignment == "attention" else OTHER_ANSWERS[(assignment, kind)]


def expected_points(assignment: str, kind: str) -> int:
    if assignment == "attention":
        return ATTENTION_POINTS[kind]
    points = OTHER_POINTS[kind]
    return MAX_POINTS[assignment] if points is None else points


# --- the class's accounts and its hub --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def runtime_of(user: str) -> Path:
    """The account's runtime folder, where the hub's config puts its kernels' sockets."""
    return Path(classroom.Settings.runtime) / str(pwd.getpwnam(user).pw_uid)


def remove_leftovers(names=None) -> None:
    """Stop the processes of the test's accounts and remove them (also those of an earlier, killed run)."""
    accounts = [p for p in pwd.getpwall() if LEFTOVER.match(p.pw_name) and (names is None or p.pw_name in names)]
    uids = {p.pw_uid for p in accounts}
    for _ in range(2):
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and proc.stat().st_uid in uids:
                    os.kill(int(proc.name), 9)
            except OSError:
                pass
        time.sleep(0.5)
    for p in accounts:
        shutil.rmtree(runtime_of(p.pw_name), ignore_errors=True)
        subprocess.run(["userdel", "--remove", p.pw_name], capture_output=True)
    for line in Path("/etc/group").read_text().splitlines():
        name = line.split(":")[0]
        if LEFTOVER.match(name):
            subprocess.run(["groupdel", name], capture_output=True)


def as_user(user: str, cmd: list[str], cwd: str | Path, settings, timeout: float = 900) -> subprocess.CompletedProcess:
    account = pwd.getpwnam(user)
    env = {"HOME": account.pw_dir, "USER": user, "LOGNAME": user, "OMP_NUM_THREADS": "1", "PRM_EDU_WORKERS": "1",
           "PATH": f"{settings.env / 'bin'}:/usr/bin:/bin"}
    return subprocess.run(cmd, cwd=cwd, env=env, user=account.pw_uid, group=account.pw_gid, extra_groups=[],
                          capture_output=True, text=True, timeout=timeout)


def nbgrader(settings, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """An nbgrader command as the instructor, in their course folder."""
    course = Path(pwd.getpwnam(settings.instructor).pw_dir) / COURSE
    return as_user(settings.instructor, [str(settings.env / "bin" / "nbgrader"), *args], course, settings, timeout)


def rss_mb(user: str, marker: str) -> list[float]:
    """Resident memory (MB) of each process of `user` whose command line contains `marker`."""
    uid, found = pwd.getpwnam(user).pw_uid, []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and proc.stat().st_uid == uid and marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                kb = next(int(line.split()[1]) for line in (proc / "status").read_text().splitlines() if line.startswith("VmRSS:"))
                found.append(kb / 1024)
        except (OSError, StopIteration):
            pass
    return found


def log_lines(log: Path, user: str, last: int = 30) -> str:
    """The hub's log (its servers write there too): the last lines that name `user` or warn."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else ["(no log)"]
    return "\n".join([line for line in lines if user in line or line.startswith(("[W", "[E"))][-last:])


class Watch(threading.Thread):
    """Asks the hub's API every half second; records what failed and the slowest answer."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.failures, self.slowest, self.asked = url, [], 0.0, 0
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            started = time.monotonic()
            try:
                # 30 s: while thirty servers start at once on two cores, the hub's loop stalls twice for 5 to 7 s
                # (LocalProcessSpawner forks the hub in its loop), so one answer can take 10 to 13 s; an answer
                # later than 30 s, or none, fails. The slowest answer goes into build/hub/report.json.
                with urllib.request.urlopen(f"{self.url}/hub/api/", timeout=30) as r:
                    assert r.status == 200
            except Exception as err:  # noqa: BLE001 (any failure counts)
                self.failures.append(f"{time.strftime('%X')}: {err!r}")
            self.slowest = max(self.slowest, time.monotonic() - started)
            self.asked += 1
            self.done.wait(0.5)


# --- a student's lab, through the hub's proxy ---------------------------------------------------


class Lab:
    """What a student's JupyterLab does, over HTTP and a websocket, as that student: with a token
    they made themselves after logging in. A 403 is tried once more with a fresh token, as a
    student would log in again; `Tokens.retried` keeps what happened, and the checks count it."""

    def __init__(self, settings, user: str, tokens: Tokens):
        self.base, self.user, self.tokens = f"{settings.url}/user/{user}", user, tokens
        self.log = settings.path("jupyterhub.log")
        self.http = AsyncHTTPClient()

    @property
    def auth(self) -> dict:
        return {"Authorization": f"token {self.tokens.of[self.user]}"}

    async def call(self, method: str, path: str, body=None, timeout: float = 300):
        for attempt in (1, 2):
            request = HTTPRequest(self.base + path, method=method, headers=self.auth, request_timeout=timeout,
                                  body=None if body is None else json.dumps(body), allow_nonstandard_methods=True)
            try:
                response = await self.http.fetch(request)
                return json.loads(response.body) if response.body else None
            except HTTPClientError as err:  # say what the server said, and what the hub's log says of this student
                answer = err.response.body.decode(errors="replace")[:500] if err.response is not None else ""
                failure = (f"{self.user}: {method} {path}: HTTP {err.code} {answer}\n"
                           f"the hub's log on {self.user}:\n{log_lines(self.log, self.user)}")
                if err.code != 403 or attempt == 2:
                    raise AssertionError(failure) from err
                self.tokens.retried.append(failure)
                await asyncio.to_thread(self.tokens.renew, self.user)

    async def terminal(self, command: str, expect: str, timeout: float = 60) -> str:
        """Type `command` into a terminal of the lab; returns what it printed once `expect` shows."""
        name = (await self.call("POST", "/api/terminals"))["name"]
        url = f"{self.base.replace('http', 'ws', 1)}/terminals/websocket/{name}"
        ws = await websocket_connect(HTTPRequest(url, headers=self.auth))
        printed = ""
        try:
            ws.write_message(json.dumps(["stdin", command + "\r"]))
            deadline = time.monotonic() + timeout
            while expect not in printed and time.monotonic() < deadline:
                try:
                    raw = await asyncio.wait_for(ws.read_message(), timeout=max(0.1, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    break
                if raw is None:
                    break
                kind, *data = json.loads(raw)
                if kind == "stdout":
                    printed += data[0]
        finally:
            ws.close()
            await self.call("DELETE", f"/api/terminals/{name}")
        return printed

    async def nbgrader(self, action: str, assignment: str):
        done = await self.call("POST", f"/assignments/{action}", {"course_id": COURSE, "assignment_id": assignment})
        assert done.get("success", False) is True, f"{self.user}: nbgrader {action} {assignment}: {done}"
        return done

    async def run_notebook(self, nb, kernel_path: str) -> dict:
        """Run every code cell in a kernel of this server, as a student runs them one by one;
        a cell still busy after CELL_TIMEOUT s is interrupted (the stop button). Returns timings."""
        kernel = await self.call("POST", "/api/kernels", {"name": "python3", "path": kernel_path})
        url = f"{self.base.replace('http', 'ws', 1)}/api/kernels/{kernel['id']}/channels"
        ws = await websocket_connect(HTTPRequest(url, headers=self.auth))
        session, interrupted, kernel_mb = uuid.uuid4().hex, 0, 0.0
        try:
            for cell in nb.cells:
                if cell.cell_type != "code":
                    continue
                msg_id = uuid.uuid4().hex
                ws.write_message(json.dumps({
                    "header": {"msg_id": msg_id, "username": self.user, "session": session, "msg_type": "execute_request",
                               "version": "5.3", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ")},
                    "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                    "content": {"code": cell.source, "silent": False, "store_history": True, "user_expressions": {},
                                "allow_stdin": False, "stop_on_error": False}}))
                cell.outputs, deadline = [], time.monotonic() + CELL_TIMEOUT
                grace = 300 if "train_reranker" in cell.source else 0  # the training run takes its time
                while True:
                    try:
                        raw = await asyncio.wait_for(ws.read_message(), timeout=max(0.1, deadline + grace - time.monotonic()))
                    except asyncio.TimeoutError:
                        await self.call("POST", f"/api/kernels/{kernel['id']}/interrupt")
                        interrupted, deadline = interrupted + 1, time.monotonic() + 60
                        continue
                    assert raw is not None, f"{self.user}: the kernel's websocket closed"
                    msg = json.loads(raw)
                    if msg.get("parent_header", {}).get("msg_id") != msg_id or msg["channel"] != "iopub":
                        continue
                    kind, content = msg["msg_type"], msg["content"]
                    if kind == "stream":
                        cell.outputs.append(nbformat.v4.new_output("stream", name=content["name"], text=content["text"]))
                    elif kind == "error":
                        cell.outputs.append(nbformat.v4.new_output("error", ename=content["ename"], evalue=content["evalue"],
                                                                   traceback=content["traceback"]))
                    elif kind in ("execute_result", "display_data"):
                        cell.outputs.append(nbformat.v4.new_output(kind, data=content["data"],
                                                                   execution_count=content.get("execution_count")))
                    elif kind == "status" and content["execution_state"] == "idle":
                        break
            kernel_mb = max(rss_mb(self.user, "ipykernel_launcher"), default=0.0)
            connection = json.loads((runtime_of(self.user) / f"kernel-{kernel['id']}.json").read_text())
        finally:
            ws.close()
            await self.call("DELETE", f"/api/kernels/{kernel['id']}")
        return {"interrupted": interrupted, "kernel_mb": kernel_mb, "transport": connection["transport"]}

    async def do(self, assignment: str, code: str | dict | None, marker: str, submit_blank_first: bool = False) -> dict:
        """Fetch, edit the answer cell, run the notebook, save it, submit."""
        await self.nbgrader("fetch", assignment)
        path = f"{COURSE}/{assignment}/{assignment}.ipynb"
        nb = nbformat.from_dict((await self.call("GET", f"/api/contents/{path}?content=1"))["content"])
        if submit_blank_first:  # a first, blank submission: the second one must be the one graded
            await self.nbgrader("submit", assignment)
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == SOLUTION_CELL[assignment])
        if isinstance(code, dict):  # cells other than the answer's, by grade id
            for other in nb.cells:
                other.source = code.get(other.metadata.get("nbgrader", {}).get("grade_id"), other.source)
        elif code is not None:
            cell.source = code
        cell.source += f"\n# {marker}"  # whose notebook this is, to find swaps
        run = await self.run_notebook(nb, f"{COURSE}/{assignment}")
        await self.call("PUT", f"/api/contents/{path}", {"type": "notebook", "format": "json", "content": nb})
        await self.nbgrader("submit", assignment)
        return run


@dataclass
class Report:
    settings: object
    students: list[str]
    kinds: dict[str, str]
    work: dict[tuple[str, str], str] = field(default_factory=dict)  # (student, assignment) -> kind
    timings: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)
    messages: dict = field(default_factory=dict)
    runs: dict = field(default_factory=dict)
    watch: Watch | None = None
    logins: dict = field(default_factory=dict)
    tokens: Tokens | None = None  # the accounts' own tokens, for their labs


def log_in(settings, user: str, password: str) -> tuple[int, urllib.request.OpenerDirector, CookieJar]:
    """Log in through the hub's form (PAM); returns the HTTP status (302 on success) and the session."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    page = opener.open(f"{settings.url}/hub/login", timeout=30).read().decode()
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": user, "password": password, "_xsrf": xsrf}).encode()
    try:
        return opener.open(f"{settings.url}/hub/login?next=%2Fhub%2Fhome", data=form, timeout=60).status, opener, jar
    except urllib.error.HTTPError as err:
        return err.code, opener, jar


@dataclass
class Tokens:
    """Each account's own API token, made as the hub's token page makes one: logged in, with the
    session's XSRF cookie. `renew` logs in again for a fresh token."""

    settings: object
    passwords: dict[str, str]
    of: dict[str, str] = field(default_factory=dict)  # account -> its token
    retried: list[str] = field(default_factory=list)  # what a first try answered, when it was a 403

    def renew(self, user: str) -> str:
        status, opener, jar = log_in(self.settings, user, self.passwords[user])
        assert status == 302, f"{user} could not log in: HTTP {status}"
        xsrf = next(c.value for c in jar if c.name == "_xsrf")
        made = opener.open(urllib.request.Request(
            f"{self.settings.url}/hub/api/users/{user}/tokens", method="POST", data=json.dumps({"note": "lab"}).encode(),
            headers={"X-XSRFToken": xsrf, "Content-Type": "application/json"}), timeout=60)
        self.of[user] = json.loads(made.read())["token"]
        return self.of[user]


async def spawn_all(settings, hub_api, students: list[str]) -> dict[str, float]:
    """Start every student's server at once; seconds until each is ready."""
    started = time.monotonic()
    await asyncio.gather(*(hub_api("POST", f"/users/{s}/server") for s in students))
    ready: dict[str, float] = {}
    while len(ready) < len(students):
        assert time.monotonic() - started < 600, f"not ready after 10 min: {sorted(set(students) - set(ready))}"
        for user in await hub_api("GET", "/users?state=ready"):
            if user["name"] in students and user["name"] not in ready:
                ready[user["name"]] = time.monotonic() - started
        await asyncio.sleep(0.5)
    return ready


def notebooks_of(user: str) -> tuple[int, bool]:
    """How many course notebooks the hub copied into the student's home, and whether all are theirs."""
    home = Path(pwd.getpwnam(user).pw_dir) / "notebooks"
    found = list(home.glob("*.ipynb"))
    return len(found), all(p.stat().st_uid == pwd.getpwnam(user).pw_uid for p in found)


def percentile(values, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run_class(report: Report) -> None:
    settings, students = report.settings, report.students
    token = settings.path("class-admin-token").read_text().strip()
    AsyncHTTPClient.configure(None, max_clients=64)
    http = AsyncHTTPClient()

    async def hub_api(method, path, body=None):
        response = await http.fetch(HTTPRequest(f"{settings.url}/hub/api{path}", method=method, request_timeout=300,
                                                headers={"Authorization": f"token {token}"},
                                                body=None if body is None and method != "POST" else json.dumps(body or {})))
        return json.loads(response.body) if response.body else None

    report.messages["groups"] = {g["name"]: sorted(g["users"]) for g in await hub_api("GET", "/groups")}
    # everyone logs in and makes a token for their lab, as the hub's token page does
    await asyncio.gather(*(asyncio.to_thread(report.tokens.renew, user) for user in [*students, settings.instructor]))
    t = time.monotonic()
    ready = await spawn_all(settings, hub_api, students)
    report.timings["spawn"] = ready
    report.timings["all ready"] = time.monotonic() - t
    report.memory["server MB (idle)"] = [max(rss_mb(s, "jupyterhub-singleuser"), default=0.0) for s in students]
    report.messages["notebooks"] = {s: notebooks_of(s) for s in students}
    report.messages["runtime"] = {s: (oct(runtime_of(s).stat().st_mode & 0o777), runtime_of(s).stat().st_uid == pwd.getpwnam(s).pw_uid)
                                  for s in students}
    report.messages["culler"] = rss_mb("root", "jupyterhub_idle_culler")
    report.memory["hub and proxy MB"] = sum(rss_mb("root", "jupyterhub") + rss_mb("root", "configurable-http-proxy"))

    # every student works on attention, a few at a time (the cores are shared); three do all five
    gate = asyncio.Semaphore(8)

    async def student_work(i: int, user: str):
        async with gate:
            lab = Lab(settings, user, report.tokens)
            todo = [("attention", report.kinds[user])] + list(ALL_FIVE.get(i, {}).items())
            for assignment, kind in todo:
                report.work[(user, assignment)] = kind
                started = time.monotonic()
                twice = i == 3 and assignment == "attention"  # one student submits a blank version first
                run = await lab.do(assignment, answer(assignment, kind, settings), f"answer of {user}", submit_blank_first=twice)
                report.runs[(user, assignment)] = {**run, "seconds": time.monotonic() - started}
    t = time.monotonic()
    await asyncio.gather(*(student_work(i, s) for i, s in enumerate(students)))
    report.timings["students' work"] = time.monotonic() - t
    report.memory["server MB (after work)"] = [max(rss_mb(s, "jupyterhub-singleuser"), default=0.0) for s in students]

    # a student forges a submission for another, as a kernel of theirs could: a correct answer under the victim's name
    forger, victim = students[FORGER], students[VICTIM]
    report.messages["forged"] = as_user(forger, [str(settings.env / "bin" / "python"), "-c", FORGE, settings.exchange, victim,
                                                 solution("attention") + f"\n# answer of {victim}"], "/", settings, timeout=60)
    Path(LEAK).unlink(missing_ok=True)

    # the instructor collects, autogrades, writes and releases the feedback
    for assignment in ASSIGNMENTS:
        done = nbgrader(settings, "collect", assignment)
        assert done.returncode == 0, done.stderr[-3000:]
        report.messages[f"collect {assignment}"] = done.stderr
        t = time.monotonic()
        done = nbgrader(settings, "autograde", assignment, "--force",
                        f"--ExecutePreprocessor.timeout={AUTOGRADE_TIMEOUT.get(assignment, 60)}", timeout=1800)
        assert done.returncode == 0, done.stderr[-3000:]
        report.messages[f"autograde {assignment}"] = done.stderr
        submissions = sum(1 for (_, a) in report.work if a == assignment)
        report.timings[f"autograde {assignment}"] = (time.monotonic() - t, submissions)
        for step in ("generate_feedback", "release_feedback"):
            done = nbgrader(settings, step, assignment)
            assert done.returncode == 0, done.stderr[-3000:]

    async def fetch_feedback(user: str):
        async with gate:
            lab = Lab(settings, user, report.tokens)
            for (who, assignment) in report.work:
                if who == user:
                    await lab.nbgrader("fetch_feedback", assignment)
    await asyncio.gather(*(fetch_feedback(s) for s in students))

    # the instructor's lab: its formgrader finds the course, with its assignments and their submissions
    await spawn_all(settings, hub_api, [settings.instructor])
    listed = await Lab(settings, settings.instructor, report.tokens).call("GET", "/formgrader/api/assignments")
    report.messages["formgrader"] = {a["name"]: a["num_submissions"] for a in listed}
    # ... and its terminal runs nbgrader (the guide's commands)
    report.messages["terminal"] = await Lab(settings, settings.instructor, report.tokens).terminal(
        "nbgrader --version; echo TERMINAL-$((40 + 2))", expect="TERMINAL-42")
    # a student's terminal (as their kernels) runs prm-edu in the class setting, on one thread
    report.messages["student's setting"] = await Lab(settings, students[0], report.tokens).terminal(
        "python -c \"import prm_edu, torch; print('SETTING-' + prm_edu.setting(), 'THREADS', torch.get_num_threads())\"",
        expect="SETTING-class")


@pytest.fixture(scope="module")
def report():
    """Sets the class up, runs it, and removes everything it made, whatever happens."""
    started = time.monotonic()
    remove_leftovers()  # an earlier run that was killed before its clean-up
    run = "".join(secrets.choice(string.ascii_lowercase) for _ in range(4))
    prefix = f"{TEST_PREFIX}{run}"
    students = [f"{prefix}s{i:02d}" for i in range(1, 31)]
    base = Path(tempfile.mkdtemp(prefix="prm-hub-test-"))
    os.chmod(base, 0o755)  # students walk through it to their homes and the exchange
    settings = classroom.Settings(prefix=PROFILE, state=str(base / "state"), exchange=str(base / "exchange"),
                                  homes=str(base / "home"), group=prefix, instructor=f"{prefix}i", grader=f"{prefix}g", port=free_port(),
                                  hub_port=free_port(), proxy_api_port=free_port())
    roster = base / "roster.csv"
    roster.write_text("username,name\n" + "".join(f"{s},Student {i + 1}\n" for i, s in enumerate(students)))
    report = Report(settings, students, kinds=dict(zip(students, KINDS)))
    try:
        t = time.monotonic()
        passwords = classroom.setup(settings, roster)
        report.timings["setup"] = time.monotonic() - t
        report.messages["setup passwords"] = len(passwords)
        report.messages["homes"] = {s: oct(os.stat(pwd.getpwnam(s).pw_dir).st_mode & 0o777) for s in [*students, settings.instructor]}
        for assignment in ASSIGNMENTS:
            for step in ("generate_assignment", "release_assignment"):
                done = nbgrader(settings, step, assignment, *(["--force"] if step == "generate_assignment" else []))
                assert done.returncode == 0, done.stderr[-3000:]
        report.messages["release missing"] = nbgrader(settings, "release_assignment", "no_such_assignment")
        report.messages["collect early"] = nbgrader(settings, "collect", "attention")
        classroom.start(settings)
        report.watch = Watch(settings.url)
        report.watch.start()
        report.messages["status before"] = classroom.status(settings)
        report.logins = {"right password": log_in(settings, students[0], passwords[students[0]])[0],
                         "wrong password": log_in(settings, students[0], passwords[students[0]] + "x")[0],
                         "another's password": log_in(settings, students[1], passwords[students[0]])[0]}
        report.tokens = Tokens(settings, passwords)
        # an account outside the course, running the shared environment's Python: make hub-stop must leave it alone
        outside = f"{prefix}x"
        subprocess.run(["useradd", "--no-create-home", outside], check=True, capture_output=True)
        outsider = subprocess.Popen([str(settings.env / "bin" / "python"), "-c", "import time; time.sleep(3600)"],
                                    user=outside, start_new_session=True)
        asyncio.run(run_class(report))
        report.watch.done.set()
        report.messages["status after"] = classroom.status(settings)
        classroom.stop(settings)  # make hub-stop
        report.messages["after stop"] = {"hub": classroom.hub_pid(settings), "course processes": classroom.course_processes(settings),
                                         "outsider alive": outsider.poll() is None}
        outsider.kill()
        outsider.wait()
        report.timings["whole run"] = time.monotonic() - started
        write_report(report)
        keep_grading(report)
        keep_log(settings)
        yield report
    finally:
        if report.watch:
            report.watch.done.set()
        try:
            classroom.stop(settings)
        finally:
            remove_leftovers(set(students) | {settings.instructor, f"{prefix}x", settings.grader})
            Path(LEAK).unlink(missing_ok=True)
            keep_log(settings)
            shutil.rmtree(base, ignore_errors=True)


def keep_grading(report: Report) -> None:
    """What autograde logged and the notebooks it graded, into build/hub/, to read why a score is what it is."""
    out = ROOT / "build" / "hub"
    shutil.rmtree(out / "autograded", ignore_errors=True)
    shutil.copytree(Path(pwd.getpwnam(report.settings.instructor).pw_dir) / COURSE / "autograded", out / "autograded")
    for assignment in ASSIGNMENTS:
        (out / f"autograde-{assignment}.log").write_text(report.messages.get(f"autograde {assignment}", ""))


def keep_log(settings) -> None:
    """The hub's log (its servers' too) into build/hub/, for a look after the run."""
    if settings.path("jupyterhub.log").exists():
        (ROOT / "build" / "hub").mkdir(parents=True, exist_ok=True)
        shutil.copy(settings.path("jupyterhub.log"), ROOT / "build" / "hub" / "jupyterhub.log")


def write_report(report: Report) -> None:
    spawn = list(report.timings["spawn"].values())
    autograde = {a: report.timings[f"autograde {a}"] for a in ASSIGNMENTS}
    kernels = [r["kernel_mb"] for r in report.runs.values() if r["kernel_mb"]]
    summary = {
        "students": len(report.students),
        "setup s": round(report.timings["setup"], 1),
        "spawn s p50": round(statistics.median(spawn), 1), "spawn s p95": round(percentile(spawn, 0.95), 1),
        "all 30 ready s": round(report.timings["all ready"], 1),
        "server MB idle (median)": round(statistics.median(report.memory["server MB (idle)"]), 1),
        "server MB after work (median)": round(statistics.median(report.memory["server MB (after work)"]), 1),
        "kernel MB (median, max)": [round(statistics.median(kernels), 1), round(max(kernels), 1)],
        "hub and proxy MB": round(report.memory["hub and proxy MB"], 1),
        "students' work s": round(report.timings["students' work"], 1),
        "autograde s per submission": {a: round(t / n, 1) for a, (t, n) in autograde.items()},
        "whole run s": round(report.timings["whole run"], 1),
        "hub API asked, failed, slowest s": [report.watch.asked, len(report.watch.failures), round(report.watch.slowest, 2)],
        "labs' requests tried again after a 403": len(report.tokens.retried),
    }
    out = ROOT / "build" / "hub"
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(summary, indent=1))
    print("\nclass run:", json.dumps(summary, indent=1))


# --- the checks ---------------------------------------------------------------------------------


def gradebook_scores(settings) -> dict[tuple[str, str], float]:
    from nbgrader.api import Gradebook

    db = Path(pwd.getpwnam(settings.instructor).pw_dir) / COURSE / "gradebook.db"
    scores = {}
    with Gradebook(f"sqlite:///{db}") as gradebook:
        for assignment in ASSIGNMENTS:
            for submission in gradebook.assignment_submissions(assignment):
                scores[(submission.student_id, assignment)] = submission.score
    return scores


def test_accounts_are_closed_and_grouped(report):
    assert set(report.messages["homes"].values()) == {"0o700"}, report.messages["homes"]
    assert report.messages["setup passwords"] == 31
    groups = report.messages["groups"]
    assert groups["formgrade-prm-edu"] == [report.settings.instructor]
    assert groups["nbgrader-prm-edu"] == sorted([report.settings.instructor, *report.students])


def test_students_log_in_with_their_own_password_only(report):
    assert report.logins == {"right password": 302, "wrong password": 403, "another's password": 403}


def test_students_run_the_class_setting_on_one_thread(report):
    assert "SETTING-class THREADS 1" in report.messages["student's setting"], report.messages["student's setting"]


def test_all_30_servers_start_at_once(report):
    assert len(report.timings["spawn"]) == 30


def test_kernels_talk_over_unix_sockets_in_a_private_folder(report):
    assert set(report.messages["runtime"].values()) == {("0o700", True)}, report.messages["runtime"]
    assert {run["transport"] for run in report.runs.values()} == {"ipc"}
    log = (ROOT / "build" / "hub" / "jupyterhub.log").read_text(errors="replace")
    assert "Address already in use" not in log  # what TCP ports picked at random did to kernels


def test_each_new_home_gets_the_notebooks_and_the_culler_runs(report):
    course = len(list((ROOT / "notebooks").glob("*.ipynb")))
    assert course > 0 and set(report.messages["notebooks"].values()) == {(course, True)}
    assert len(report.messages["culler"]) == 1  # the idle culler, started by the hub as a service


def test_every_submission_is_collected_and_none_swapped(report):
    course = Path(pwd.getpwnam(report.settings.instructor).pw_dir) / COURSE
    for (student, assignment) in report.work:
        text = (course / "submitted" / student / assignment / f"{assignment}.ipynb").read_text()
        markers = set(re.findall(rf"# answer of ({TEST_PREFIX}[a-z]{{4}}s\d\d)", text))
        assert markers == {student}, (student, assignment, markers)
    collected = {(p.parts[-3], p.parts[-2]) for p in (course / "submitted").glob("*/*/*.ipynb")}
    assert collected == set(report.work)
    assert sum(1 for (_, a) in report.work if a == "attention") == 30


def test_each_score_is_the_one_its_answer_earns(report):
    scores = gradebook_scores(report.settings)
    expected = {(s, a): expected_points(a, kind) for (s, a), kind in report.work.items()}
    assert {k: scores.get(k) for k in expected} == expected


def test_the_latest_of_two_submissions_is_graded(report):
    student = report.students[3]
    inbound = Path(report.settings.exchange) / COURSE / "inbound"
    assert len(list(inbound.glob(f"{student}+attention+*"))) == 2  # nothing lost: both are kept
    assert gradebook_scores(report.settings)[(student, "attention")] == ATTENTION_POINTS[report.kinds[student]] > 0


def test_hanging_answers_were_stopped_and_the_run_went_on(report):
    hanging = [s for s, k in report.kinds.items() if k == "hangs"]
    assert hanging and all(report.runs[(s, "attention")]["interrupted"] >= 1 for s in hanging)
    assert all(gradebook_scores(report.settings)[(s, "attention")] == 0 for s in hanging)


def test_feedback_reaches_every_student_and_says_why(report):
    for (student, assignment), kind in report.work.items():
        pages = list((Path(pwd.getpwnam(student).pw_dir) / COURSE / assignment / "feedback").glob(f"*/{assignment}.html"))
        assert len(pages) == 1, (student, assignment)
        text = pages[0].read_text()
        if kind == "library":  # the answer's process has no prm-edu to import
            assert "prm-edu is not available to an answer during grading" in text, (student, assignment)
        if kind == "no_scale":
            assert "sqrt(d)" in text


def test_a_forged_submission_is_refused_and_the_victims_own_graded(report):
    forged = report.messages["forged"]
    assert forged.returncode == 0 and "forged" in forged.stdout, forged.stderr  # the exchange let the student write it
    victim = report.students[VICTIM]
    assert f"Refused: {victim}+attention+2099" in report.messages["collect attention"]
    assert gradebook_scores(report.settings)[(victim, "attention")] == ATTENTION_POINTS[report.kinds[victim]] < 10


def test_answers_that_attack_the_grading_earn_their_honest_part(report):
    scores = gradebook_scores(report.settings)
    attackers = {s: k for s, k in report.kinds.items() if k.startswith(("library", "patches", "reads", "edits"))}
    assert len(attackers) == 8
    assert {s: scores[(s, "attention")] for s in attackers} == {s: ATTENTION_POINTS[k] for s, k in attackers.items()}
    # the answer that read the course's files ran as the grading account, and was refused both
    leaked = ast.literal_eval(Path(LEAK).read_text())
    assert leaked.pop("uid") == pwd.getpwnam(report.settings.grader).pw_uid
    assert sorted(leaked.values()) == ["PermissionError", "PermissionError"], leaked
    # the locked cells edited to pass were put back and graded, and autograde named the edit
    editor = next(s for s, k in attackers.items() if k == "edits_locked")
    assert f"{editor}: cell test_padding is locked but was edited" in report.messages["autograde attention"]


def test_the_grading_account_reads_none_of_the_instructors_files(report):
    settings = report.settings
    course = Path(pwd.getpwnam(settings.instructor).pw_dir) / COURSE
    purelib = next((settings.env / "lib").glob("python3*/site-packages"))
    paths = {"source": str(course / "source" / "attention" / "attention.ipynb"), "gradebook": str(course / "gradebook.db"),
             "submissions": str(course / "submitted"), "the library's attention": str(purelib / "prm_edu" / "prm" / "attention.py")}
    code = ("import json, os, sys\nresult = {}\nfor what, path in json.loads(sys.argv[1]).items():\n"
            "    try:\n        os.listdir(path) if os.path.isdir(path) else open(path).read(1)\n        result[what] = 'read'\n"
            "    except PermissionError:\n        result[what] = 'denied'\nprint(json.dumps(result))")
    done = as_user(settings.grader, [str(settings.env / "bin" / "python"), "-c", code, json.dumps(paths)], "/", settings, timeout=60)
    assert json.loads(done.stdout) == dict.fromkeys(paths, "denied"), done.stdout + done.stderr
    assert Path(paths["gradebook"]).exists()  # it is there; the account cannot read it


def test_students_cannot_read_what_is_not_theirs(report):
    settings, students = report.settings, report.students
    instructor_home = Path(pwd.getpwnam(settings.instructor).pw_dir)
    inbound = Path(settings.exchange) / COURSE / "inbound"
    others = sorted(inbound.glob(f"{students[1]}+attention+*"))
    paths = {
        "inbound listing": str(inbound),
        "another home": str(Path(pwd.getpwnam(students[1]).pw_dir) / COURSE / "attention" / "attention.ipynb"),
        "another submission": str(others[0] / "attention.ipynb"),
        "instructor's source": str(instructor_home / COURSE / "source" / "attention" / "attention.ipynb"),
        "gradebook": str(instructor_home / COURSE / "gradebook.db"),
        "homes listing": str(settings.homes),  # the other accounts' names
        "runtime listing": str(classroom.Settings.runtime),  # the uids of running servers
    }
    code = ("import json, os, sys\npaths = json.loads(sys.argv[1])\nresult = {}\nfor what, path in paths.items():\n"
            "    try:\n        os.listdir(path) if what.endswith('listing') else open(path).read(1)\n        result[what] = 'read'\n"
            "    except PermissionError:\n        result[what] = 'denied'\nprint(json.dumps(result))")
    done = as_user(students[0], [str(settings.env / "bin" / "python"), "-c", code, json.dumps(paths)], "/", settings, timeout=60)
    assert json.loads(done.stdout) == dict.fromkeys(paths, "denied"), done.stdout + done.stderr
    # while the student's own submission and the instructor can read it
    assert Path(paths["another submission"]).exists()


def test_released_notebooks_hold_no_solution_and_no_hidden_test(report):
    outbound = Path(report.settings.exchange) / COURSE / "outbound"
    released = list(outbound.glob("*/*.ipynb"))
    assert len(released) == len(ASSIGNMENTS)
    for path in released:
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "raise NotImplementedError()" in text
    hidden = "seed=7"  # a call only the hidden test of attention makes
    assert hidden not in (outbound / "attention" / "attention.ipynb").read_text()


def test_bad_instructor_commands_say_what_is_wrong(report):
    missing, early = report.messages["release missing"], report.messages["collect early"]
    assert missing.returncode != 0 and "no_such_assignment" in missing.stdout + missing.stderr
    assert "No submissions" in early.stdout + early.stderr


def test_status_says_what_runs(report):
    assert report.messages["status before"].endswith("0 servers: none")
    assert "31 servers" in report.messages["status after"]  # 30 students and the instructor


def test_hub_stop_stops_the_class_and_nothing_else(report):
    assert report.messages["after stop"] == {"hub": None, "course processes": [], "outsider alive": True}


def test_formgrader_in_the_instructors_lab_sees_the_course(report):
    # formgrader lists every assignment of the course's source/, released through this class or not
    sources = [p.name for p in (ROOT / "assignments" / "source").iterdir() if p.is_dir()]
    submissions = {a: sum(1 for (_, b) in report.work if b == a) for a in sources}
    assert set(ASSIGNMENTS) <= set(sources)
    assert report.messages["formgrader"] == submissions


def test_the_instructors_terminal_runs_nbgrader(report):
    printed = report.messages["terminal"]
    assert "TERMINAL-42" in printed and "0.9.6" in printed, printed[-500:]


def test_the_hub_answered_all_along(report):
    assert report.watch.asked > 100 and report.watch.failures == [], report.watch.failures[:5]
    # a lab's request refused once (403), then let through with a fresh token: rare, and each one shown
    assert len(report.tokens.retried) <= 2, "\n\n".join(report.tokens.retried)
