"""The course assignments, from both sides: the instructor's solutions pass every test, the
released blank versions fail every graded test, and autograding two sample submissions
gives full marks and the expected partial marks; a submission that hangs or raises costs
only its own tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import attacks
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = tuple(sorted(p.name for p in (ROOT / "assignments" / "source").iterdir() if p.is_dir()))  # one folder per exercise
nbgrader_api = pytest.importorskip("nbgrader.api", reason="nbgrader is not installed (pip install -e .[dev])")

BROKEN_ATTENTION = '''def scaled_dot_product_attention(q, k, v, padding_mask=None):
    scores = q @ k.transpose(-2, -1)  # forgets 1/sqrt(d) and the padding mask
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights'''
# answers that try to earn what they did not (tests/attacks.py): each gets what its honest part earns
ATTACKS = {"patches_checks": attacks.PATCHES_CHECKS, "patches_torch": attacks.PATCHES_TORCH + BROKEN_ATTENTION,
           "library_thread": attacks.LIBRARY_THREAD, "library_profiler": attacks.LIBRARY_PROFILER,
           "library_importlib": attacks.LIBRARY_IMPORTLIB, "reads_course": attacks.READS_COURSE}
HANGING_ATTENTION = '''def scaled_dot_product_attention(q, k, v, padding_mask=None):
    while True:
        pass'''


def _grader_account() -> str:
    """The account the answers run as in these tests: nobody, as root, where it can run this Python; else
    this account (a Python under root's home, as here in CI, is closed to it; make test-hub grades as one)."""
    if os.geteuid() != 0:
        return ""
    try:
        subprocess.run([sys.executable, "-c", "pass"], user="nobody", check=True, capture_output=True, timeout=60)
    except (PermissionError, subprocess.CalledProcessError):
        return ""
    return "nobody"


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # nbgrader calls alembic
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True, text=True, timeout=600)


def _with_solution_cell(notebook: Path, grade_id: str, source: str, target: Path) -> None:
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = source
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)


def _solution(grade_id: str, assignment: str) -> str:
    nb = nbformat.read(ROOT / "assignments" / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    return next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of assignments/ with every assignment released (nothing is written into the repository)."""
    course = Path(shutil.copytree(ROOT / "assignments", tmp_path_factory.mktemp("course") / "assignments",
                                  ignore=shutil.ignore_patterns("release", "submitted", "autograded", "feedback", "gradebook.db")))
    done = _nbgrader(course, "generate_assignment", "--assignment=*", "--force")  # every one, in one process
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in (course / "release").iterdir()) == sorted(ASSIGNMENTS)
    return course


def test_every_source_notebook_passes_its_tests(course):
    sources = [str(course / "source" / n / f"{n}.ipynb") for n in ASSIGNMENTS]
    done = _nbgrader(course, "validate", *sources)
    assert done.returncode == 0 and done.stdout.count("Success! Your notebook passes all the tests.") == len(ASSIGNMENTS), done.stdout


def test_every_graded_test_fails_on_the_blank_release(course):
    released = [str(course / "release" / n / f"{n}.ipynb") for n in ASSIGNMENTS]
    done = _nbgrader(course, "validate", "--invert", *released)
    assert done.stdout.count("Success! The notebook does not pass any tests.") == len(ASSIGNMENTS), done.stdout
    for path in released:  # the students' version has no solution and no hidden test
        text = Path(path).read_text()
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "raise NotImplementedError()" in text


def test_autograding_two_sample_submissions_and_two_bad_ones(course):
    release = course / "release" / "attention" / "attention.ipynb"
    submissions = {"correct": _solution("attention", "attention"), "broken": f"import torch\n\n{BROKEN_ATTENTION}",
                   "hangs": HANGING_ATTENTION, "raises": "raise RuntimeError('not today')"}
    for student, source in submissions.items():
        _with_solution_cell(release, "attention", source, course / "submitted" / student / "attention" / "attention.ipynb")
    edited = course / "submitted" / "edits_a_test" / "attention" / "attention.ipynb"  # the broken answer, a test cell emptied
    _with_solution_cell(release, "attention", f"import torch\n\n{BROKEN_ATTENTION}", edited)
    _with_solution_cell(edited, "test_padding", "pass", edited)
    submissions["edits_a_test"] = None
    leak = Path(tempfile.mkdtemp()) / "leak.txt"
    os.chmod(leak.parent, 0o777)
    for student, source in ATTACKS.items():
        source = source.replace("COURSE", repr(str(course))).replace("LEAK", repr(str(leak)))
        _with_solution_cell(release, "attention", source, course / "submitted" / student / "attention" / "attention.ipynb")
        submissions[student] = source
    account = _grader_account()
    done = _nbgrader(course, "autograde", "attention", "--force", "--SealedExecute.timeout=10",
                     f"--SealedExecute.account={account}")
    assert done.returncode == 0, done.stderr[-3000:]
    # a locked cell's edit is named, and only that: the hidden tests put back are no edit
    assert "edits_a_test: cell test_padding is locked but was edited" in done.stderr
    assert "Attribute 'checksum'" not in done.stderr and done.stderr.count("was edited") == 1, done.stderr[-3000:]
    assert "over TCP" not in done.stderr  # the grading kernels talk over Unix sockets (KernelManager.transport)
    with nbgrader_api.Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {s: gradebook.find_submission("attention", s).score for s in submissions}
        max_score = gradebook.find_assignment("attention").max_score
    assert max_score == 10
    assert scores["correct"] == 10
    assert scores["broken"] == scores["edits_a_test"] == 2  # shapes and row sums only: no scale, no mask
    assert scores["hangs"] == 0 and scores["raises"] == 0
    assert {s: scores[s] for s in ATTACKS} == {s: 2 if s == "patches_torch" else 0 for s in ATTACKS}
    if account:  # the answers ran as the grading account: the course's files were closed to them
        assert "PermissionError" in leak.read_text() and "source" in leak.read_text(), leak.read_text()
    else:  # they ran as this account: the score is still theirs only, the files were not closed
        assert "the answers run as you" in done.stderr
    graded = nbformat.read(course / "autograded" / "broken" / "attention" / "attention.ipynb", as_version=4)
    messages = " ".join(o.get("evalue", "") for c in graded.cells for o in c.get("outputs", []) if o.get("output_type") == "error")
    assert "padding mask" in messages and "sqrt(64) = 8" in messages  # feedback in words a student understands

    # the feedback says which test failed and why, and shows none of the hidden tests' code
    done = _nbgrader(course, "generate_feedback", "attention", "--force")
    assert done.returncode == 0, done.stderr[-3000:]
    source = (course / "source" / "attention" / "attention.ipynb").read_text()
    assert "seed=7" in source  # what the hidden test reads, in the instructor's version
    assert "seed=7" in (course / "autograded" / "broken" / "attention" / "attention.ipynb").read_text()  # put back to grade
    for student in ("broken", "correct"):
        html = (course / "feedback" / student / "attention" / "attention.html").read_text()
        assert "HIDDEN TESTS" not in html and "seed=7" not in html, f"{student}'s feedback shows the hidden tests"
        assert "hidden tests ran here" in html
    html = (course / "feedback" / "broken" / "attention" / "attention.html").read_text()
    assert "padding mask" in html and "sqrt(64) = 8" in html  # why it failed, in words
