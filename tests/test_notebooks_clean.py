"""Notebooks are committed clean: no outputs, one cell tagged `parameters`, and they import the library
instead of defining it."""

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_clean(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "outputs must be stripped before commit"
    assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1, "exactly one cell tagged 'parameters'"
    assert any("import prm_edu" in c.source or "from prm_edu" in c.source for c in code)
    assert any("assert " in c.source for c in code), "a notebook asserts what it taught"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_teaches_in_the_same_shape(path):
    """A goal in one line under the title, a summary of what was shown, and 2 to 4 "Try it"
    exercises at the end, each asking for a prediction before the run."""
    nb = nbformat.read(path, as_version=4)
    title = nb.cells[0].source.splitlines()
    assert title[0].startswith("# ") and any(line.startswith("**Goal:** ") for line in title[1:4]), "a goal line under the title"
    assert any(c.cell_type == "markdown" and "**What this notebook showed**" in c.source for c in nb.cells), "a summary"
    last = nb.cells[-1]
    assert last.cell_type == "markdown" and last.source.startswith("## Try it"), "the last cell is the 'Try it' section"
    exercises = [line for line in last.source.splitlines() if line[:3] in {"1. ", "2. ", "3. ", "4. "}]
    assert 2 <= len(exercises) <= 4 and "Predict first" in last.source
