"""JupyterHub for one prm-edu class on one server. `hub/classroom.py start` runs it as root.

It reads the class that `classroom.py setup` wrote to $PRM_HUB_STATE/class.json: the
students, the instructor, the folders and the ports. Each student's server runs as their
own Unix account from the shared environment; nbgrader's exchange, course id prm-edu.
"""

import asyncio
import json
import os
import pwd
import shutil
from pathlib import Path

c = get_config()  # noqa: F821 (provided by JupyterHub)

STATE = Path(os.environ.get("PRM_HUB_STATE", "/srv/prm-edu-hub"))
CLASS = json.loads((STATE / "class.json").read_text())
PREFIX = Path(CLASS["prefix"])
ENV = PREFIX / "env"
COURSE = "prm-edu"

# --- where it listens: 127.0.0.1; a cloud server puts an HTTPS proxy in front (hub/README.md)
c.JupyterHub.ip = CLASS["ip"]
c.JupyterHub.port = CLASS["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = CLASS["hub_port"]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{CLASS['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [str(PREFIX / "node" / "node_modules" / ".bin" / "configurable-http-proxy")]
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every student's server

# --- who may log in: the roster's accounts with their Unix passwords (PAM)
c.JupyterHub.authenticator_class = CLASS["authenticator"]
c.PAMAuthenticator.open_sessions = False  # no login session per server (containers have none to open)
c.Authenticator.allowed_users = set(CLASS["students"]) | {CLASS["instructor"]}
c.Authenticator.allow_existing_users = False  # a student taken off the roster can no longer log in
c.Authenticator.admin_users = {CLASS["instructor"]}  # the admin page: stop a stuck server, see who is on
# nbgrader's JupyterHub groups: graders of the course, and its members
c.JupyterHub.load_groups = {
    f"formgrade-{COURSE}": {"users": [CLASS["instructor"]]},
    f"nbgrader-{COURSE}": {"users": [CLASS["instructor"], *CLASS["students"]]},
}

# --- each student's server: their own account, the shared environment, one core's worth of threads
SPAWNER = CLASS.get("spawner", "auto")
if SPAWNER == "systemd" or (SPAWNER == "auto" and Path("/run/systemd/system").exists()):
    c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"  # enforces mem_limit with cgroups
    c.SystemdSpawner.unit_name_template = "jupyter-{USERNAME}"
else:
    c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"  # no memory limit: it cannot enforce one
c.Spawner.mem_limit = CLASS["mem_limit"]
c.Spawner.cmd = [str(ENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
# the lab's terminal: a plain bash, not a login shell, so that PATH keeps the shared environment
# (Debian's /etc/profile resets it) and `nbgrader` runs there.
# Kernels talk to their server over Unix sockets, not TCP: with a class starting kernels at once,
# a TCP port picked at random was often taken before the kernel could bind it, and the kernel died.
c.Spawner.args = ["--ServerApp.terminado_settings=shell_command=/bin/bash", "--KernelManager.transport=ipc"]
c.Spawner.notebook_dir = "~"
c.Spawner.http_timeout = 300  # a whole class starting at once shares the cores: give each server time
c.Spawner.start_timeout = 300
c.Spawner.environment = {
    "PATH": f"{ENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    "OMP_NUM_THREADS": "1",  # many students, few cores: torch with one thread each
    "PRM_EDU_WORKERS": "1",
    "PRM_EDU_SETTING": "class",  # lists of 15: every claim of the demo in minutes on that one thread (prm_edu.runtime)
}
MOVIELENS = PREFIX / "data" / "recbole-1.2.1-py3-none-any.whl"  # notebook 08 reads it
if MOVIELENS.exists():
    c.Spawner.environment["PRM_EDU_MOVIELENS"] = str(MOVIELENS)
RUNTIME = Path(CLASS["runtime"])  # each account's runtime folder, RUNTIME/<uid>: its kernels' sockets
GRADING_SOCKET = RUNTIME / "grading.sock"  # the grading service's (below); the course's nbgrader settings name it


def runtime_dir(spawner) -> Path:
    return RUNTIME / str(pwd.getpwnam(spawner.user.name).pw_uid)


c.Spawner.environment["JUPYTER_RUNTIME_DIR"] = lambda spawner: str(runtime_dir(spawner))


async def prepare_account(spawner):
    """Before each start: the account's runtime folder (0700, theirs); at the first start, the
    course's notebooks into their home (never over their own copy). The file work runs in a thread,
    so that a class's first starts at once do not hold up the hub's event loop with it."""
    await asyncio.to_thread(_prepare_account, spawner.user.name)


def _prepare_account(name: str) -> None:
    account = pwd.getpwnam(name)
    RUNTIME.mkdir(mode=0o711, exist_ok=True)  # each account reaches its own folder; none lists the others' uids
    RUNTIME.chmod(0o711)
    runtime = RUNTIME / str(account.pw_uid)  # as runtime_dir(spawner)
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.chown(runtime, account.pw_uid, account.pw_gid)
    os.chmod(runtime, 0o700)
    target = Path(account.pw_dir) / "notebooks"
    if target.exists():
        return
    shutil.copytree(PREFIX / "course" / "notebooks", target)
    for folder, _dirs, files in os.walk(target):  # theirs, without a chown process per student
        os.chown(folder, account.pw_uid, account.pw_gid)
        for file in files:
            os.chown(os.path.join(folder, file), account.pw_uid, account.pw_gid)


c.Spawner.pre_spawn_hook = prepare_account

# --- services: the idle culler; the grading service, which runs each answer as the grading account when the
# instructor autogrades (assignments/sealed.py; it serves the instructor only); the class-admin token
# (classroom.py stop, the class test)
c.JupyterHub.services = [
    {"name": "grading", "command": [str(ENV / "bin" / "python"), str(PREFIX / "grading" / "sealed.py"), "serve",
                                    f"--socket={GRADING_SOCKET}", f"--account={CLASS.get('grader', 'prm-grader')}",
                                    f"--grader={CLASS['instructor']}"]},
    {"name": "idle-culler", "command": [str(ENV / "bin" / "python"), "-m", "jupyterhub_idle_culler",
                                         f"--timeout={CLASS['cull_idle_seconds']}"]},
    {"name": "class-admin", "api_token": (STATE / "class-admin-token").read_text().strip()},
]
c.JupyterHub.load_roles = [
    {"name": "idle-culler", "services": ["idle-culler"],
     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
    {"name": "class-admin", "services": ["class-admin"],
     "scopes": ["admin:users", "admin:servers", "access:servers", "list:users", "read:users", "admin:groups"]},
]
