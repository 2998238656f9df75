"""One JupyterHub for a prm-edu class on one server: set it up, start it, stop it (as root).

    python3 hub/classroom.py setup --roster roster.csv --instructor NAME   # idempotent
    python3 hub/classroom.py start                                         # make hub
    python3 hub/classroom.py stop                                          # make hub-stop
    python3 hub/classroom.py status

`setup` builds a shared environment under /opt (every account can run it), makes one Unix
account per roster line with a closed home (0700), gives the instructor a copy of the
course's nbgrader folder, and opens nbgrader's exchange. It checks the whole roster before
it changes anything. Only the standard library is used here: it runs before the shared
environment exists. The hub itself is configured by `jupyterhub_config.py`, which reads the
class that `setup` wrote to `<state>/class.json`.
"""

from __future__ import annotations

import argparse
import csv
import grp
import hashlib
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HUB = REPO / "hub"
COURSE_ID = "prm-edu"
CHP = "configurable-http-proxy@5.3.0"  # from npm: JupyterHub's proxy
MOVIELENS = "recbole-1.2.1-py3-none-any.whl"  # holds MovieLens-100K, which may not be redistributed
NODE_MAJOR = 20  # the proxy's oldest Node
# Debian's default NAME_REGEX, capped at 32 characters (useradd's limit)
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass
class Settings:
    """Where the class lives. `setup` saves these in <state>/class.json; `start` and `stop` read them."""

    prefix: str = "/opt/prm-edu-hub"  # shared environment and course files: readable by every account
    state: str = "/srv/prm-edu-hub"  # the hub's database, secrets, log and class list: root only
    exchange: str = "/srv/nbgrader/exchange"  # nbgrader's exchange (the course's folder inside is prm-edu/)
    homes: str = "/home"  # where the course's home folders are made
    group: str = "prm-edu"  # the Unix group that marks the course's accounts
    instructor: str = "instructor"
    grader: str = "prm-grader"  # the system account that runs the students' answers when the instructor autogrades
    students: list[str] = field(default_factory=list)
    ip: str = "127.0.0.1"  # a cloud server keeps this and puts an HTTPS proxy in front (hub/README.md)
    port: int = 8000
    hub_port: int = 8081  # the hub's internal API (127.0.0.1)
    proxy_api_port: int = 8001  # the proxy's REST API (127.0.0.1)
    mem_limit: str = "2G"  # per student server; enforced by SystemdSpawner (servers with systemd) only
    cull_idle_seconds: int = 3600  # the idle culler stops a server after this long without activity
    # each account's runtime folder, <runtime>/<uid>, holds its kernels' sockets: short on purpose,
    # since a socket's path has at most 107 characters ("<folder>/kernel-<36-character id>-ipc-<n>")
    runtime: str = "/run/prm-edu-hub"
    authenticator: str = "pam"  # the Unix passwords that setup hands out; "dummy" only inside tests
    spawner: str = "auto"  # auto: SystemdSpawner where systemd runs (it enforces mem_limit), else local
    python: str = "/usr/bin/python3"  # the system's (Debian 12: 3.11); one under a home folder cannot be run by students
    torch: str = os.environ.get("TORCH", "torch==2.13.0")  # pip arguments, e.g. "torch --index-url URL" for a CPU build

    @property
    def env(self) -> Path:
        return Path(self.prefix) / "env"

    @property
    def course_files(self) -> Path:
        return Path(self.prefix) / "course"

    def path(self, name: str) -> Path:
        return Path(self.state) / name

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.ip in ("0.0.0.0", "") else self.ip
        return f"http://{host}:{self.port}"

    def save(self) -> None:
        _private_dir(Path(self.state))
        _write_private(self.path("class.json"), json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, state: str) -> Settings:
        path = Path(state) / "class.json"
        if not path.exists():
            raise ValueError(f"{path} does not exist: run `python3 hub/classroom.py setup --roster FILE` first")
        saved = json.loads(path.read_text())
        return cls(**{f.name: saved[f.name] for f in fields(cls) if f.name in saved})


# ---------------------------------------------------------------- the roster


@dataclass(frozen=True)
class Student:
    username: str
    name: str
    line: int  # where it stands in the roster, for error messages


def read_roster(path: str | Path) -> list[Student]:
    """Read and check a roster CSV: a header `username,name`, then one student a line.
    Raises ValueError naming the file and line of the first problem; blank lines are allowed."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such roster file")
    rows = list(csv.reader(_roster_text(path).splitlines()))  # splitlines: LF or CRLF (a spreadsheet's) alike
    lines = [(n, row) for n, row in enumerate(rows, start=1) if any(cell.strip() for cell in row)]
    if not lines:
        raise ValueError(f"{path}: the roster is empty: write the header 'username,name', then one line per student")
    header_line, header = lines[0]
    if [cell.strip().lower() for cell in header] != ["username", "name"]:
        raise ValueError(f"{path}, line {header_line}: the first line must be the header 'username,name', not {','.join(header)!r}")
    if len(lines) == 1:
        raise ValueError(f"{path}: the roster has its header but no student")
    students, seen = [], {}
    for n, row in lines[1:]:
        if len(row) != 2:
            raise ValueError(f"{path}, line {n}: expected 2 fields 'username,name', got {len(row)}: {','.join(row)!r}")
        username, name = row[0].strip(), row[1].strip()
        check_username(username, f"{path}, line {n}")
        if username in seen:
            raise ValueError(f"{path}, line {n}: '{username}' is already on line {seen[username]}")
        if not name or not name.isprintable() or any(ch in name for ch in ":,="):
            raise ValueError(f"{path}, line {n}: the name of '{username}' must be non-empty, printable and without ':', ',' or '='")
        seen[username] = n
        students.append(Student(username, name, n))
    return students


def _roster_text(path: Path) -> str:
    """The roster's text: UTF-8, with or without the byte-order mark a spreadsheet's "CSV UTF-8" writes. Another
    encoding (a spreadsheet's plain "CSV" is often Windows-1252) is refused with the line and column it breaks at."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise ValueError(f"{path}, line {line}: byte 0x{data[err.start]:02x} at column {column} is not UTF-8; save the roster "
                         "as 'CSV UTF-8' (in a spreadsheet: Save As, CSV UTF-8)") from None


def check_username(username: str, where: str) -> None:
    if not (0 < len(username) <= 32 and username[0].isascii() and username[0].isalpha() and set(username) <= USERNAME_CHARS):
        raise ValueError(f"{where}: '{username}' is not a valid username: lower-case letters, digits, '-' and '_', "
                         "starting with a letter, at most 32 characters")


def is_course_account(username: str, group: str) -> bool | None:
    """None: no such account; True: it exists and is in the course's group; False: it is someone else's."""
    try:
        account = pwd.getpwnam(username)
    except KeyError:
        return None
    try:
        course = grp.getgrnam(group)
    except KeyError:
        return False
    return username in course.gr_mem or account.pw_gid == course.gr_gid


def check_class(students: list[Student], instructor: str, group: str, roster: str | Path = "the roster",
                grader: str = "prm-grader") -> None:
    """Everything that must hold before any account is made or changed."""
    check_username(instructor, "--instructor")
    for s in students:
        if s.username == instructor:
            raise ValueError(f"{roster}, line {s.line}: '{s.username}' is the instructor's account, not a student's")
        if s.username == grader:
            raise ValueError(f"{roster}, line {s.line}: '{s.username}' is the grading account, not a student's")
    for username, where in [(instructor, "--instructor")] + [(s.username, f"{roster}, line {s.line}") for s in students]:
        known = is_course_account(username, group)
        if known is False:
            raise ValueError(f"{where}: the account '{username}' already exists on this server and is not one of the "
                             f"course's (group '{group}'): choose another username")
        if username == group or (known is None and _group_exists(username)):  # useradd would stop halfway through
            raise ValueError(f"{where}: a group named '{username}' already exists on this server: choose another username")


# ---------------------------------------------------------------- setup


def setup(settings: Settings, roster: str | Path, log=print) -> dict[str, str]:
    """Idempotent. Returns the passwords of the accounts made this time (also appended to <state>/passwords.csv)."""
    students = read_roster(roster)
    check_class(students, settings.instructor, settings.group, roster, settings.grader)  # nothing has changed yet
    if settings.path("class.json").exists() and (saved := Settings.load(settings.state).instructor) != settings.instructor:
        raise ValueError(f"--instructor: this class's instructor is '{saved}' ({settings.path('class.json')}), "
                         f"not '{settings.instructor}'")
    if settings.spawner not in ("auto", "local", "systemd"):
        raise ValueError(f"--spawner: expected auto, local or systemd, got {settings.spawner!r}")
    if os.geteuid() != 0:
        raise PermissionError("setup makes Unix accounts: run it as root")
    check_node()
    settings.students = [s.username for s in students]
    build_environment(settings, log)
    _run(["groupadd", "--force", settings.group])
    Path(settings.homes).mkdir(parents=True, exist_ok=True)
    os.chmod(settings.homes, 0o711)  # each account reaches its own home; none lists the others' names
    new = {}
    for username, name in [(settings.instructor, "prm-edu instructor")] + [(s.username, s.name) for s in students]:
        password = ensure_account(username, name, settings)
        if password:
            new[username] = password
    settings.save()
    if new:
        with open(settings.path("passwords.csv"), "a", encoding="utf-8") as out:  # 0600: the state folder is root's
            out.writelines(f"{u},{p}\n" for u, p in new.items())
        os.chmod(settings.path("passwords.csv"), 0o600)
    if not settings.path("class-admin-token").exists():  # the API token of the class-admin service (make hub-stop, tests)
        _write_private(settings.path("class-admin-token"), secrets.token_hex(32))
    ensure_grader(settings)
    install_course(settings)
    close_library(settings)
    log(f"class ready: {len(students)} students, instructor '{settings.instructor}', {len(new)} new accounts"
        + (f" (passwords in {settings.path('passwords.csv')})" if new else ""))
    return new


def ensure_account(username: str, name: str, settings: Settings) -> str | None:
    """Make the account if it is missing (returns its first password); close its home either way."""
    home = Path(settings.homes) / username
    password = None
    if is_course_account(username, settings.group) is None:
        _run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash", "--comment", name,
              "--groups", settings.group, username])
        password = secrets.token_urlsafe(9)
        _run(["chpasswd"], input=f"{username}:{password}\n")
    os.chmod(pwd.getpwnam(username).pw_dir, 0o700)  # closed to other students (useradd -m makes 0755 here)
    return password


def ensure_grader(settings: Settings) -> None:
    """The grading account: a system account with no home, no shell and no group of the course's,
    as which the grading service runs the students' answers (assignments/sealed.py)."""
    try:
        account = pwd.getpwnam(settings.grader)
    except KeyError:
        _run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
              "--comment", "prm-edu grading", settings.grader])
        return
    others = [p.pw_name for p in pwd.getpwall() if p.pw_gid == account.pw_gid and p.pw_name != settings.grader]
    if is_course_account(settings.grader, settings.group) or account.pw_uid == 0 or others or grp.getgrgid(account.pw_gid).gr_mem:
        raise ValueError(f"--grader: '{settings.grader}' must be an unprivileged account with a group of its own, not root, "
                         "not one of the course's accounts (the library's files are closed to its group)")


def close_library(settings: Settings) -> None:
    """prm-edu's code in the shared environment: readable by every account but the grading account, so that
    an answer run as that account cannot load the library's implementation of its exercise. The files take
    the grading account's own group with no rights for it: Unix checks the group before "others", so its
    members (that account alone) are refused while everyone else reads them as "others"."""
    purelib = Path(subprocess.run([str(settings.env / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    group = grp.getgrgid(pwd.getpwnam(settings.grader).pw_gid).gr_name
    for path in [purelib / "prm_edu", *purelib.glob("prm_edu-*.dist-info")]:
        _run(["chgrp", "-R", group, str(path)])
        _run(["chmod", "-R", "g-rwx,o+rX", str(path)])


def build_environment(settings: Settings, log=print) -> None:
    """The shared environment: prm-edu with JupyterLab, nbgrader and JupyterHub, plus the proxy.
    Rebuilt only when the package's code, its dependencies or the requirements change."""
    env, prefix = settings.env, Path(settings.prefix)
    key = _source_key(settings)
    stamp = env / ".prm-edu-hub-key"
    if stamp.exists() and stamp.read_text() == key:
        return
    log(f"building the shared environment in {env} (a few minutes the first time)")
    prefix.mkdir(parents=True, exist_ok=True)
    if (env / "pyvenv.cfg").exists() and _venv_python(env) != Path(settings.python).resolve():
        shutil.rmtree(env)  # made from another Python: start again
    if not (env / "bin" / "python").exists():
        _run([settings.python, "-m", "venv", str(env)])
    pip = [str(env / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run(pip + settings.torch.split())  # first, so that the package's plain torch requirement is already met
    _run(pip + ["-r", str(HUB / "requirements.txt"), str(REPO)])
    _run(pip + ["--no-deps", "--force-reinstall", str(REPO)])  # the package's current code, even at the same version
    purelib = subprocess.run([str(env / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    shutil.copy2(HUB / "closed_exchange.py", Path(purelib) / "prm_edu_closed_exchange.py")
    if not (prefix / "node" / "node_modules" / ".bin" / "configurable-http-proxy").exists():
        _run(["npm", "install", "--silent", "--prefix", str(prefix / "node"), CHP])
    _chmod_readable(prefix)
    stamp.write_text(key)


def install_course(settings: Settings) -> None:
    """The course's files: notebooks for new homes, nbgrader's settings and exchange, the instructor's course folder."""
    course = settings.course_files
    if course.exists():
        shutil.rmtree(course)
    shutil.copytree(REPO / "notebooks", course / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    data = Path(settings.prefix) / "data"  # MovieLens-100K for notebook 08, inside RecBole's wheel (never installed)
    if not (data / MOVIELENS).exists():
        if (REPO / "data" / MOVIELENS).exists():
            data.mkdir(exist_ok=True)
            shutil.copy2(REPO / "data" / MOVIELENS, data / MOVIELENS)
        else:
            _run([str(settings.env / "bin" / "python"), "-m", "pip", "download", "--quiet", "--no-deps", "recbole==1.2.1", "-d", str(data)])
    shutil.copy2(HUB / "jupyterhub_config.py", Path(settings.prefix) / "jupyterhub_config.py")
    grading = Path(settings.prefix) / "grading"  # the grading service's code (root runs it; the answers' side is passed to them)
    grading.mkdir(exist_ok=True)
    for name in ("sealed.py", "answer_side.py"):
        shutil.copy2(REPO / "assignments" / name, grading / name)
    _chmod_readable(Path(settings.prefix))
    # nbgrader's settings for everyone who runs the shared environment: the course and its exchange
    etc = settings.env / "etc" / "jupyter"
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "nbgrader_config.py").write_text(
        "# written by hub/classroom.py setup: the course and its exchange, for every account\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.Exchange.root = {settings.exchange!r}\n"
        "c.Exchange.path_includes_course = True  # students fetch into ~/prm-edu/<assignment>/\n"
        "c.ExchangeFactory.submit = 'prm_edu_closed_exchange.ClosedSubmit'  # a submission: its author and the instructor only\n"
        "c.ExchangeFactory.collect = 'prm_edu_closed_exchange.OwnedCollect'  # collected only from the account it names\n"
        "# autograde runs each answer as the grading account, through the hub's grading service (assignments/sealed.py)\n"
        f"c.SealedExecute.socket = {str(Path(settings.runtime) / 'grading.sock')!r}\n")
    os.chmod(etc / "nbgrader_config.py", 0o644)
    account = pwd.getpwnam(settings.instructor)
    exchange = Path(settings.exchange)
    exchange.mkdir(parents=True, exist_ok=True)
    # everyone writes, as nbgrader documents; sticky, so that no student can replace the course's folder,
    # which is the instructor's from the start (nbgrader refuses to release into a folder it does not own)
    os.chmod(exchange, 0o1777)
    (exchange / COURSE_ID).mkdir(exist_ok=True)
    os.chown(exchange / COURSE_ID, account.pw_uid, account.pw_gid)
    # the instructor's course folder: sources, solutions and hidden tests, in a closed home
    root = Path(account.pw_dir) / COURSE_ID
    if not root.exists():
        shutil.copytree(REPO / "assignments", root, ignore=shutil.ignore_patterns(
            "release", "submitted", "autograded", "feedback", "gradebook.db", ".ipynb_checkpoints"))
        _run(["chown", "-R", f"{account.pw_uid}:{account.pw_gid}", str(root)])
    home_config = Path(account.pw_dir) / "nbgrader_config.py"  # formgrader, in the instructor's lab, finds the course
    if not home_config.exists():
        home_config.write_text(f"c = get_config()  # noqa: F821\nc.CourseDirectory.root = {str(root)!r}\n")
        os.chown(home_config, account.pw_uid, account.pw_gid)


# ---------------------------------------------------------------- start, stop, status


def start(settings: Settings, wait: float = 120.0) -> int:
    """Start the hub in the background (its proxy with it); returns its pid once its API answers."""
    if hub_pid(settings):
        raise RuntimeError(f"the hub already runs (pid {hub_pid(settings)}): `make hub-stop` first")
    env = {**os.environ, "PRM_HUB_STATE": settings.state,
           "PATH": f"{settings.env / 'bin'}:{Path(settings.prefix) / 'node' / 'node_modules' / '.bin'}:{os.environ.get('PATH', '')}"}
    log = open(settings.path("jupyterhub.log"), "ab")
    hub = subprocess.Popen([str(settings.env / "bin" / "jupyterhub"), "-f", str(Path(settings.prefix) / "jupyterhub_config.py")],
                           cwd=settings.state, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    settings.path("hub.pid").write_text(str(hub.pid))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            raise RuntimeError(f"the hub stopped at start (exit {hub.returncode}): {_tail(settings.path('jupyterhub.log'))}")
        try:
            api(settings, "GET", "/")
            return hub.pid
        except (OSError, urllib.error.URLError):
            time.sleep(0.5)
    raise RuntimeError(f"the hub did not answer within {wait:.0f} s: {_tail(settings.path('jupyterhub.log'))}")


def stop(settings: Settings, wait: float = 60.0) -> None:
    """Stop every student's server, then the hub and its proxy; then any process of a course
    account still running from the shared environment. Other accounts are never touched."""
    pid = hub_pid(settings)
    if pid:
        try:
            for user in api(settings, "GET", "/users"):
                if user.get("servers"):
                    api(settings, "DELETE", f"/users/{user['name']}/server")
        except (OSError, urllib.error.URLError, ValueError):
            pass  # the hub does not answer: it stops its servers on SIGTERM anyway
        _terminate([pid], wait)
    settings.path("hub.pid").unlink(missing_ok=True)
    _terminate(course_processes(settings) + class_services(settings), wait)


def status(settings: Settings) -> str:
    pid = hub_pid(settings)
    if not pid:
        return "the hub is not running"
    running = [u["name"] for u in api(settings, "GET", "/users") if u.get("servers")]
    return f"the hub runs (pid {pid}) at {settings.url}; {len(running)} servers: {', '.join(running) or 'none'}"


def hub_pid(settings: Settings) -> int | None:
    try:
        pid = int(settings.path("hub.pid").read_text())
        command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError):
        return None
    return pid if str(settings.env / "bin" / "jupyterhub") in command else None  # not a stale pid after a reboot


def course_processes(settings: Settings) -> list[int]:
    """Processes of the course's accounts that run from the shared environment (servers, kernels)."""
    uids = set()
    for username in [settings.instructor, *settings.students, settings.grader]:
        try:
            uids.add(pwd.getpwnam(username).pw_uid)
        except KeyError:
            pass
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if proc.stat().st_uid in uids and settings.prefix in (proc / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(proc.name))
        except OSError:
            pass
    return found


def class_services(settings: Settings) -> list[int]:
    """The hub's own processes of this class (its proxy, the idle culler, the grading service), root's: they
    stop with the hub, and are stopped here if the hub could not stop them (a hub killed while stopping)."""
    marks = ("jupyterhub_idle_culler", str(Path(settings.prefix) / "grading" / "sealed.py"))
    proxy = (str(Path(settings.prefix) / "node"), f"--api-port\0{settings.proxy_api_port}\0")  # this class's port
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and proc.stat().st_uid == 0:
                command = (proc / "cmdline").read_bytes().decode(errors="replace")
                if ((command.startswith(str(settings.env)) and any(mark in command for mark in marks))
                        or all(mark in command for mark in proxy)):
                    found.append(int(proc.name))
        except OSError:
            pass
    return found


def api(settings: Settings, method: str, path: str, body=None, timeout: float = 30):
    """The hub's REST API with the class-admin service's token."""
    token = settings.path("class-admin-token").read_text().strip()
    request = urllib.request.Request(f"{settings.url}/hub/api{path}", method=method, headers={"Authorization": f"token {token}"},
                                     data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=timeout) as response:
        data = response.read()
    return json.loads(data) if data else None


# ---------------------------------------------------------------- helpers


def check_node() -> None:
    """The proxy comes from npm and needs Node 20 or later (Debian 12 and Ubuntu 24.04 ship 18)."""
    try:
        version = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise ValueError("node: not found: install Node.js 20 or later (and npm); the hub's proxy runs on it") from None
    if int(version.lstrip("v").split(".")[0]) < NODE_MAJOR:
        raise ValueError(f"node: {version} is too old for the hub's proxy: install Node.js {NODE_MAJOR} or later (hub/README.md)")


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def _venv_python(env: Path) -> Path | None:
    """The Python a virtual environment was made from (pyvenv.cfg's `executable`, Python >= 3.11 writes it)."""
    for line in (env / "pyvenv.cfg").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "executable":
            return Path(value.strip()).resolve()
    return None


def _run(cmd: list[str], input: str | None = None) -> None:
    done = subprocess.run(cmd, input=input, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` failed ({done.returncode}): {(done.stderr or done.stdout)[-2000:]}")


def _terminate(pids: list[int], wait: float) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.2)
        if not any(_alive(p) for p in pids):
            return


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
    except ChildProcessError:
        pass
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _source_key(settings: Settings) -> str:
    digest = hashlib.sha256(f"{settings.python}\n{settings.torch}\n".encode())
    for path in [HUB / "requirements.txt", HUB / "closed_exchange.py", REPO / "pyproject.toml", *sorted((REPO / "prm_edu").rglob("*.py"))]:
        digest.update(str(path.relative_to(REPO)).encode() + path.read_bytes())
    return digest.hexdigest()


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    os.chmod(path, 0o600)
    path.write_text(text)


def _chmod_readable(root: Path) -> None:
    _run(["chmod", "-R", "a+rX", str(root)])


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["setup", "start", "stop", "status"])
    parser.add_argument("--state", default=Settings.state, help="the class's state folder (default %(default)s)")
    parser.add_argument("--roster", help="setup: the roster CSV, header 'username,name'")
    defaults = Settings()
    for name in ("instructor", "grader", "prefix", "exchange", "homes", "group", "ip", "port", "mem_limit", "cull_idle_seconds", "python",
                 "spawner", "torch"):
        value = getattr(defaults, name)
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=None, help=f"setup (default {value})")
    args = parser.parse_args(argv)
    try:
        if args.command == "setup":
            if not args.roster:
                parser.error("setup needs --roster FILE")
            saved = Settings.load(args.state) if Path(args.state, "class.json").exists() else Settings(state=args.state)
            for name, value in vars(args).items():
                if value is not None and hasattr(saved, name) and name != "state":
                    setattr(saved, name, value)
            setup(saved, args.roster)
            return
        settings = Settings.load(args.state)
    except ValueError as err:
        sys.exit(f"error: {err}")
    try:
        if args.command == "start":
            print(f"the hub runs (pid {start(settings)}) at {settings.url}")
        elif args.command == "stop":
            stop(settings)
            print("the hub and every course server are stopped")
        else:
            print(status(settings))
    except (RuntimeError, OSError, urllib.error.URLError) as err:
        sys.exit(f"error: {err} (the hub's log: {settings.path('jupyterhub.log')})")


if __name__ == "__main__":
    main()
