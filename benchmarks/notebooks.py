"""The notebooks' run time: each under nbval with PRM_EDU_FAST=1 (as `make test` runs them),
and, with --full, each executed with the full setting (what the course site shows); with --class, each
executed in the class setting on one thread (PRM_EDU_SETTING=class, PRM_EDU_WORKERS=1: a student on the hub).

    python benchmarks/notebooks.py [--full] [--class] [--only 00_quickstart ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine, markdown_table

ROOT = Path(__file__).resolve().parents[1]


def run(command: list[str], setting: str) -> tuple[float, int]:
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "PRM_EDU_SETTING": setting}
    env.pop("PRM_EDU_FAST", None)
    if setting == "class":
        env["PRM_EDU_WORKERS"] = "1"  # the hub's students: one thread, the rows one after another
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", action="store_true", help="also run each notebook with the full setting")
    parser.add_argument("--class", dest="klass", action="store_true", help="also run each in the class setting, one thread")
    parser.add_argument("--only", nargs="+", default=None, help="these notebooks (stems) only")
    args = parser.parse_args()
    print(f"machine: {machine()}\n")
    settings = [s for s, wanted in (("full", args.full), ("class", args.klass)) if wanted]
    rows = []
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        if args.only and notebook.stem not in args.only:
            continue
        fast, code = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(notebook)], "fast")
        row = [notebook.stem, f"{fast:.0f}" + ("" if code == 0 else " (failed)")]
        for setting in settings:  # executed top to bottom; a failing assert fails the run
            with tempfile.TemporaryDirectory() as out:
                seconds, code = run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                                     "--ExecutePreprocessor.timeout=3600", "--output-dir", out, str(notebook)], setting)
            row.append(f"{seconds:.0f}" + ("" if code == 0 else " (failed)"))
        rows.append(row)
        print(row, flush=True)
    header = ["notebook", "nbval, PRM_EDU_FAST=1 (s)"] + [f"{s} setting, executed (s)" for s in settings]
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
