"""Servers and a headless Chromium for the browser tests.

Skipped, with one line saying why, where Debian's Chromium or the playwright package is
missing. Every server started here is stopped after its tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "outputs" / "browser"  # for a person to look at; outputs/ is not committed
TOKEN = "prm-edu-browser-test"
APP_ARGS = ["--template=prm-edu", "--strip_sources=True"]  # as `make app` serves it
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run"]

if not Path(CHROMIUM).exists():
    pytest.skip(f"browser tests: {CHROMIUM} not found (apt-get install chromium)", allow_module_level=True)
try:
    from playwright.sync_api import sync_playwright
except ImportError:
    pytest.skip("browser tests: the playwright package is not installed", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A Jupyter server process on 127.0.0.1 with temporary JUPYTER_* folders."""

    def __init__(self, args: list[str], port: int, ready_path: str, tmp: Path, extra_env: dict | None = None) -> None:
        env = {**os.environ, **(extra_env or {}), "PRM_EDU_FAST": "1", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1",
               "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "JUPYTER_DATA_DIR": str(tmp / "data"),
               "JUPYTER_CONFIG_DIR": str(tmp / "config"), "IPYTHONDIR": str(tmp / "ipython"),
               "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces")}
        # render every cell (JupyterLab otherwise draws only the cells in view), so widgets can be found
        tracker = tmp / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
        tracker.parent.mkdir(parents=True, exist_ok=True)
        tracker.write_text('{"windowingMode": "none"}')
        self.port = port
        self.log = open(tmp / "server.log", "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early; see {tmp / 'server.log'}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{ready_path}", timeout=2)
                return
            except urllib.error.HTTPError:  # any answer means the server is up
                return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"server did not answer within 90 s; see {tmp / 'server.log'}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def _notebooks_copy(tmp: Path) -> Path:
    """A copy of notebooks/ to serve: the servers may save what they ran, never into the repository."""
    return Path(shutil.copytree(ROOT / "notebooks", tmp / "notebooks"))


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab")
    notebooks = _notebooks_copy(tmp)
    port = _free_port()
    server = Server([sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
                     f"--IdentityProvider.token={TOKEN}", "--LabApp.expose_app_in_browser=True",
                     f"--ServerApp.root_dir={notebooks}"], port, f"/api/status?token={TOKEN}", tmp)
    yield f"http://127.0.0.1:{port}", TOKEN
    server.stop()


@pytest.fixture(scope="session")
def voila(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("voila")
    notebooks = _notebooks_copy(tmp)
    port = _free_port()
    server = Server([sys.executable, "-m", "voila", *APP_ARGS, "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
                     str(notebooks / "07_explorer.ipynb")], port, "/voila/static/", tmp, {"JUPYTER_PATH": str(ROOT / "app")})
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser):
    """A page that refuses and records every request leaving 127.0.0.1 (offline classrooms)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.outside = []

    def guard(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("http://", "https://", "ws://", "wss://")) and host not in ("127.0.0.1", "localhost"):
            page.outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", guard)
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS
