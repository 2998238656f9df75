"""The class's nbgrader exchange (hub/closed_exchange.py): a submission is collected only from the
account it names. Two system accounts stand in for two students (files owned by them need root);
`make test-hub` runs the same attack on a live class."""

import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("nbgrader", reason="nbgrader is not installed (pip install -e .[dev])")
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="files owned by other accounts need root")
VICTIM, FORGER = "daemon", "bin"  # two accounts every Debian system has; nothing runs as them here


def _submission(inbound: Path, owner: str, student: str, timestamp: str, text: str) -> Path:
    folder = inbound / f"{student}+attention+{timestamp} UTC+{owner}"
    folder.mkdir()
    (folder / "attention.ipynb").write_text(text)
    (folder / "timestamp.txt").write_text(f"{timestamp} UTC")
    account = pwd.getpwnam(owner)
    for path in (folder, *folder.iterdir()):
        os.chown(path, account.pw_uid, account.pw_gid)
    return folder


def _collect(course: Path, exchange: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # nbgrader calls alembic
           "PYTHONPATH": str(ROOT / "hub")}
    args = [sys.executable, "-m", "nbgrader", "collect", "attention", "--update", "--CourseDirectory.course_id=prm-edu",
            f"--CourseDirectory.root={course}", f"--Exchange.root={exchange}",
            "--ExchangeFactory.collect=closed_exchange.OwnedCollect"]
    return subprocess.run(args, cwd=course, env=env, capture_output=True, text=True, timeout=120)


def test_a_forged_submission_is_refused_and_the_students_own_is_collected(tmp_path):
    course, exchange = tmp_path / "course", tmp_path / "exchange"
    inbound = exchange / "prm-edu" / "inbound"
    inbound.mkdir(parents=True)
    course.mkdir()
    forged = _submission(inbound, FORGER, VICTIM, "2099-01-01 00:00:00.000000", "forged")  # newest, in the victim's name
    _submission(inbound, VICTIM, VICTIM, "2026-01-02 10:00:00.000000", "the victim's own")
    _submission(inbound, FORGER, FORGER, "2026-01-02 11:00:00.000000", "the forger's own")
    done = _collect(course, exchange)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"Refused: {forged.name} claims to be submitted by {VICTIM} but is owned by {FORGER}" in done.stderr
    collected = course / "submitted"
    assert (collected / VICTIM / "attention" / "attention.ipynb").read_text() == "the victim's own"
    assert (collected / FORGER / "attention" / "attention.ipynb").read_text() == "the forger's own"
    assert forged.exists()  # kept for the instructor to see

    # the victim submits again, later: collected, the forged one still refused
    _submission(inbound, VICTIM, VICTIM, "2026-01-03 09:00:00.000000", "the victim's second")
    done = _collect(course, exchange)
    assert done.returncode == 0 and "Refused" in done.stderr
    assert (collected / VICTIM / "attention" / "attention.ipynb").read_text() == "the victim's second"


def test_only_forged_submissions_collect_nothing_for_that_student(tmp_path):
    course, exchange = tmp_path / "course", tmp_path / "exchange"
    inbound = exchange / "prm-edu" / "inbound"
    inbound.mkdir(parents=True)
    course.mkdir()
    _submission(inbound, FORGER, VICTIM, "2026-01-02 10:00:00.000000", "forged")
    done = _collect(course, exchange)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Refused" in done.stderr
    assert not (course / "submitted" / VICTIM).exists()
