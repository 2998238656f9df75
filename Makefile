# Two commands do everything, each on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Which torch to install first. Plain "torch" takes your platform's build;
# CI pins the CPU build (TORCH=torch==2.13.0) so it never downloads CUDA.
TORCH ?= torch
STAMP := $(VENV)/.installed

.PHONY: install demo test lab assets lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the package with its dev tools

demo: $(STAMP)  ## run the main job on the built-in simulated world
	$(BIN)/prm-edu demo $(ARGS)

test: $(STAMP)  ## lint, then the whole test suite (PRM_EDU_FAST=1 shrinks the work)
	$(BIN)/ruff check prm_edu tests conftest.py
	PRM_EDU_FAST=1 $(BIN)/python -m pytest $(ARGS)

lab: $(STAMP)  ## open the notebooks in JupyterLab
	$(BIN)/jupyter lab notebooks

assets: $(STAMP)  ## redraw the pictures in assets/ from the code
	$(BIN)/python -c "from prm_edu.figures import write_assets; write_assets('assets')"

lint: $(STAMP)
	$(BIN)/ruff check prm_edu tests conftest.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
