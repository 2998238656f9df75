"""The course website's cache of executed notebooks: a notebook runs again exactly when what its
outputs depend on changed, and every page says which setting its outputs come from."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("nbclient", reason="the book's tools (nbconvert, nbclient) are not installed")
_spec = importlib.util.spec_from_file_location("book_build", ROOT / "book" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


@pytest.fixture
def tree(tmp_path):
    """A copy of a notebook, the library's code and the assets, to change one by one."""
    shutil.copytree(ROOT / "prm_edu", tmp_path / "prm_edu", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "assets", tmp_path / "assets")
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "01_problem_and_data.ipynb", tmp_path / "notebooks")
    return tmp_path


def test_the_run_key_follows_the_notebook_the_code_and_the_setting(tree):
    notebook = tree / "notebooks" / "01_problem_and_data.ipynb"
    key = build.run_key(notebook, True, tree)
    assert build.run_key(notebook, True, tree) == key  # nothing changed: reused
    assert build.run_key(notebook, False, tree) != key  # the other setting
    library = tree / "prm_edu" / "metrics.py"
    library.write_text(library.read_text() + "\n# a change\n")
    changed_code = build.run_key(notebook, True, tree)
    assert changed_code != key
    notebook.write_text(notebook.read_text().replace("PRM", "PRM!", 1))
    assert build.run_key(notebook, True, tree) not in (key, changed_code)


def test_a_cached_run_is_reused_and_a_changed_one_runs_again(tree, tmp_path, monkeypatch):
    notebook = tree / "notebooks" / "01_problem_and_data.ipynb"
    monkeypatch.setattr(build, "ROOT", tree)
    runs = []

    def fake_execute(path):
        runs.append(path.name)
        return nbformat.read(path, as_version=4), 75.0

    monkeypatch.setattr(build, "execute", fake_execute)
    cache = tmp_path / "cache"
    first = build.execute_or_reuse(notebook, True, cache)
    assert runs == [notebook.name] and first.metadata[build.RUN_KEY]["setting"] == "full"
    again = build.execute_or_reuse(notebook, True, cache)
    assert runs == [notebook.name] and again.metadata[build.RUN_KEY] == first.metadata[build.RUN_KEY]  # reused
    build.execute_or_reuse(notebook, False, cache)  # the fast setting is another run, kept beside the full one
    assert runs == [notebook.name] * 2 and len(list(cache.glob("01_problem_and_data-*.ipynb"))) == 2
    assert build.last_seconds(notebook.stem, "full", cache) == build.last_seconds(notebook.stem, "fast", cache) == 75.0
    notebook.write_text(notebook.read_text().replace("PRM", "PRM!", 1))  # a change: the full run is replaced, not added
    build.execute_or_reuse(notebook, True, cache)
    assert runs == [notebook.name] * 3 and len(list(cache.glob("01_problem_and_data-full-*.ipynb"))) == 1
    note = build.run_note(again)
    assert "full setting" in note and "1 min 15 s" in note
    fast_note = build.run_note(build.execute_or_reuse(notebook, False, cache))
    assert "fast setting" in fast_note and "PRM_EDU_FAST=1" in fast_note and runs == [notebook.name] * 4  # changed: runs again


def test_the_landing_page_and_the_developers_page():
    landing = __import__("landing")  # book/ is on the path once build.py is loaded
    readme = (ROOT / "README.md").read_text()
    course, developers = landing.split_readme(readme)
    assert "## Tests" in developers and "## Benchmarks" in developers and "### On a GPU" in developers
    assert "## Tests" not in course and "## Quick start" in course and "## Course assignments" in course
    assert len(course) + len(developers) == len(readme)  # nothing dropped
    notebooks = [{"name": "04_self_attention", "title": "04 · Self-attention", "goal": "compute it", "fast": 30.0, "full": None,
                  "exercise": "attention", "words": 1520}]
    page = landing.landing(notebooks, [("attention", "Attention by hand")], readme, True, "m.js")
    assert "<a href='assignments/attention.html'>Attention by hand</a>" in page  # the notebook's assignment, linked
    assert "<td>1 / –</td>" in page and "<a href='03_input_layer.html'>03</a>" in page  # minutes, what to read before
    assert f"<td>{round(1520 / landing.WORDS_A_MINUTE)}</td>" in page and "Before you start" in page  # reading time
    assert "href='developers.html'" in page and "## Tests" not in page
    assert landing.exercise_of("**Exercise** (graded): `assignments/source/attention` has") == "attention"
    linked = landing.link_exercises("see <code>assignments/source/attention</code>")
    assert "<a href='assignments/attention.html'>" in linked
