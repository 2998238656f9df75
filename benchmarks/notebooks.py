"""The notebooks' run time: each under nbval with PRM_EDU_FAST=1 (as `make test` runs them),
and, with --full, each executed with the full setting (what a student waits for).

    python benchmarks/notebooks.py [--full]
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


def run(command: list[str], fast: bool) -> tuple[float, int]:
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    env.pop("PRM_EDU_FAST", None)
    if fast:
        env["PRM_EDU_FAST"] = "1"
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", action="store_true", help="also run each notebook with the full setting")
    args = parser.parse_args()
    print(f"machine: {machine()}\n")
    rows = []
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        fast, code = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(notebook)], fast=True)
        row = [notebook.stem, f"{fast:.0f}" + ("" if code == 0 else " (failed)")]
        if args.full:
            with tempfile.TemporaryDirectory() as out:
                full, code = run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                                  "--ExecutePreprocessor.timeout=1800", "--output-dir", out, str(notebook)], fast=False)
            row.append(f"{full:.0f}" + ("" if code == 0 else " (failed)"))
        rows.append(row)
        print(row, flush=True)
    header = ["notebook", "nbval, PRM_EDU_FAST=1 (s)"] + (["full setting, executed (s)"] if args.full else [])
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
