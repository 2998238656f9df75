# Two commands do everything, each on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Which torch to install first. Plain "torch" takes your platform's build;
# CI pins the CPU build (TORCH=torch==2.13.0) so it never downloads CUDA.
TORCH ?= torch
STAMP := $(VENV)/.installed

.PHONY: install demo app assignments movielens movielens-data test test-gpu test-book test-hub hub hub-stop book lab assets lint bench-env bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the package with its dev tools

demo: $(STAMP)  ## run the main job on the built-in simulated world
	$(BIN)/prm-edu demo $(ARGS)

app: $(STAMP)  ## the re-ranking explorer alone, as a Voila page on localhost (code hidden, nothing loaded from the internet)
	JUPYTER_PATH=$(CURDIR)/app $(BIN)/voila --template=prm-edu --strip_sources=True --Voila.ip=127.0.0.1 notebooks/07_explorer.ipynb


assignments: $(STAMP)  ## the students' versions of the exercises, into assignments/release/ (nbgrader)
	cd assignments && PATH=$(abspath $(BIN)):$$PATH nbgrader generate_assignment --assignment='*' --force

# MovieLens-100K may not be redistributed: it is read from RecBole's wheel (pip download, never installed)
MOVIELENS ?= data/recbole-1.2.1-py3-none-any.whl

movielens-data: $(MOVIELENS)  ## fetch MovieLens-100K, inside RecBole's wheel, into data/

$(MOVIELENS): $(STAMP)
	$(BIN)/python -m pip download --quiet --no-deps recbole==1.2.1 -d $(dir $(MOVIELENS))

movielens: $(MOVIELENS)  ## the table on MovieLens-100K (3 seeds)
	$(BIN)/prm-edu movielens --source $(MOVIELENS) $(ARGS)

# make test's pytest workers: each takes whole files (a notebook's cells run in order in one kernel)
TEST_WORKERS ?= 2

test: $(STAMP) $(MOVIELENS)  ## lint, then the whole test suite on TEST_WORKERS cores (PRM_EDU_FAST=1 shrinks the work)
	$(BIN)/ruff check prm_edu tests benchmarks book hub assignments/*.py conftest.py
	PRM_EDU_FAST=1 PRM_EDU_MOVIELENS=$(abspath $(MOVIELENS)) $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(ARGS)

test-gpu: $(STAMP) $(MOVIELENS)  ## the whole suite and every notebook on CUDA (PRM_EDU_DEVICE=cuda); stops at once without a CUDA device
	@PRM_EDU_DEVICE=cuda $(BIN)/prm-edu device
	PRM_EDU_DEVICE=cuda PRM_EDU_FAST=1 PRM_EDU_MOVIELENS=$(abspath $(MOVIELENS)) $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(ARGS)

book: $(STAMP) $(MOVIELENS)  ## the course as a static website in build/book, every notebook run in the full setting (reused from build/cache when unchanged; BOOK_FAST=1: the fast one)
	PRM_EDU_MOVIELENS=$(abspath $(MOVIELENS)) $(BIN)/python book/build.py $(if $(BOOK_FAST),--fast)

test-book: $(STAMP) $(MOVIELENS)  ## build the website and open it offline in headless Chromium (CI runs it; make test does not)
	PRM_EDU_MOVIELENS=$(abspath $(MOVIELENS)) $(BIN)/python -m pytest -m book tests/browser/test_book.py $(ARGS)

# A class on one server (as root): JupyterHub, one Unix account per student, nbgrader's exchange (hub/README.md)
ROSTER ?= hub/roster.csv
# INSTRUCTOR=name at the first setup (default: instructor); later runs keep the class's
# the system's Python builds the shared environment: students cannot run one that lives under root's home
HUB_PYTHON ?= /usr/bin/python3
# pip's arguments for torch in the shared environment (hub/README.md: the CPU build); empty: the class's own
# (chosen at its first setup, torch==2.13.0 unless told), so a later `make hub` never swaps it
HUB_TORCH ?=

hub:  ## set up the class from ROSTER (accounts, shared environment under /opt) and start its JupyterHub on 127.0.0.1:8000
	$(HUB_PYTHON) hub/classroom.py setup --roster $(ROSTER) --python $(HUB_PYTHON) $(if $(HUB_TORCH),--torch "$(HUB_TORCH)") $(if $(INSTRUCTOR),--instructor $(INSTRUCTOR))
	$(HUB_PYTHON) hub/classroom.py start

hub-stop:  ## stop the class's JupyterHub and every server it started (other accounts are never touched)
	$(HUB_PYTHON) hub/classroom.py stop

test-hub: $(STAMP)  ## a class of 30 students end to end on JupyterHub with nbgrader's exchange, as root (CI runs it; make test does not)
	$(BIN)/python -m pytest -m hub tests/hub $(ARGS)

lab: $(STAMP) $(MOVIELENS)  ## open the notebooks in JupyterLab (no news pop-up: app/jupyterlab-overrides.json)
	mkdir -p $(VENV)/share/jupyter/lab/settings && cp app/jupyterlab-overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	PRM_EDU_MOVIELENS=$(abspath $(MOVIELENS)) $(BIN)/jupyter lab notebooks

assets: $(STAMP)  ## redraw the pictures in assets/ from the code
	$(BIN)/python -c "from prm_edu.figures import write_assets; write_assets('assets')"

# Benchmarks compare against allRank and DeepCTR-Torch, which live in their own environment only.
BENCH := benchmarks/.venv
BENCH_STAMP := $(BENCH)/.installed

$(BENCH_STAMP): pyproject.toml
	$(PYTHON) -m venv $(BENCH)
	$(BENCH)/bin/python -m pip install --quiet "$(TORCH)"
	$(BENCH)/bin/python -m pip install --quiet -e ".[dev]" attrs flatten-dict scikit-learn deepctr-torch==0.3.0
	$(BENCH)/bin/python -m pip install --quiet --no-deps allrank==1.4.3
	touch $(BENCH_STAMP)

bench-env: $(BENCH_STAMP)  ## the benchmark environment (prm-edu plus allRank and DeepCTR-Torch)

bench: $(BENCH_STAMP)  ## every benchmark, one after another (not part of the tests)
	cd benchmarks && for b in train_step serving click_models ceilings; do ../$(BENCH)/bin/python $$b.py; done

lint: $(STAMP)
	$(BIN)/ruff check prm_edu tests benchmarks conftest.py

clean:
	rm -rf $(VENV) $(BENCH) *.egg-info .pytest_cache
