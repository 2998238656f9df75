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
