"""Build the course as a static website: every notebook executed, with its outputs, one page each.

    python book/build.py [--out build/book] [--fast] [--jobs 2] [--no-cache]

The site a student reads runs the notebooks in their full setting (the numbers the prose
and the README state); `--fast` builds the small setting CI tests. An executed notebook is
kept in `build/cache/` under a hash of everything its run depends on (the notebook, the
library's code, the setting, the versions of Python and torch, the MovieLens file), so a
rebuild runs again only what changed. Every page says at the top which setting it ran in,
on which device and how long it took.

Jupyter's own converter (nbconvert, its JupyterLab look) renders each executed notebook;
a landing page gathers the notebooks in order, the assignments (students' versions: the
solutions cleared by nbgrader's own preprocessors) and the README. Nothing on a page
asks the network for anything: math is typeset by a copy of MathJax from the
`jupyter-server-mathjax` package, figures are embedded in the pages, and each widget
shows its first state, drawn from the widget state the execution saved (the live
explorers are `make lab` and `make app`). Any failed cell, warning printed by a cell,
Python warning during the build, or link to a missing page stops the build.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

sys.path.insert(0, str(Path(__file__).parent))
from landing import developers, exercise_of, landing, link_exercises, search_page  # noqa: E402
from navigation import SEARCH_JS, nav, notebook_text, page_links, search_index, sidebar, with_sidebar  # noqa: E402
from static_widgets import static_widgets  # noqa: E402

from prm_edu.runtime import device as compute_device  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MATHJAX_URL = "_static/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe,local/prm-edu"
CELL_TIMEOUT_S = 3600  # catches a hang; a cell may train many models (06's first trains thirty, over 20 minutes beside another notebook)
CACHE = ROOT / "build" / "cache"
RUN_KEY = "prm_edu_book"  # the notebook metadata entry that records how its outputs were made


def kernel_environment(full: bool) -> None:
    """What the notebooks' kernels inherit: the setting, one torch thread each, no progress bars, and no
    MPLBACKEND, so that figures are drawn inline into the outputs. Each notebook may train its rows on every
    core (`PRM_EDU_WORKERS`): when the `jobs` notebooks run at once the system shares the cores, and the
    last, longest notebook still has them all."""
    os.environ.pop("MPLBACKEND", None)
    workers = len(os.sched_getaffinity(0))
    os.environ.pop("PRM_EDU_FAST", None)  # the setting is said once, below
    os.environ.update({"PRM_EDU_SETTING": "full" if full else "fast", "OMP_NUM_THREADS": "1", "PRM_EDU_WORKERS": str(workers),
                       "PRM_EDU_PROGRESS": "0",  # a progress bar would show on the page as a line of text
                       "JUPYTER_RUNTIME_DIR": tempfile.mkdtemp(prefix="prm-edu-book-")})


def execute(path: Path) -> tuple[nbformat.NotebookNode, float]:
    """Run one notebook top to bottom in the project's kernel, as nbval does; returns it and the seconds taken."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                            store_widget_state=True)
    client.execute()
    for i, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("name") == "stderr" and "Warning" in output.get("text", ""):
                raise RuntimeError(f"{path.name}, cell {i}: a warning was printed:\n{output['text']}")
    return nb, time.perf_counter() - start


def run_key(path: Path, full: bool, root: Path | None = None) -> str:
    """A hash of everything a notebook's outputs depend on: the notebook, the library's code and assets,
    the setting, the versions of Python and torch, the device, and the MovieLens file it may read."""
    import torch

    root = root or ROOT
    digest = hashlib.sha256()
    for source in [path, *sorted((root / "prm_edu").rglob("*.py")), *sorted((root / "assets").rglob("*"))]:
        if source.is_file():
            digest.update(str(source.relative_to(root)).encode() + b"\0" + source.read_bytes() + b"\0")
    movielens = Path(os.environ.get("PRM_EDU_MOVIELENS", ""))
    data = f"{movielens.name}:{movielens.stat().st_size}" if movielens.is_file() else "none"
    digest.update(json.dumps([full, platform.python_version(), torch.__version__, os.environ.get("PRM_EDU_DEVICE", ""),
                              torch.cuda.is_available(), data]).encode())
    return digest.hexdigest()[:20]


def execute_or_reuse(path: Path, full: bool, cache: Path | None) -> nbformat.NotebookNode:
    """The executed notebook: from the cache when its run key is there, else run now (and kept in the cache).
    Its metadata records the setting, the device, the seconds the run took and the date."""
    key = run_key(path, full)
    setting = "full" if full else "fast"
    cached = cache / f"{path.stem}-{setting}-{key}.ipynb" if cache is not None else None
    if cached is not None and cached.exists():
        return nbformat.read(cached, as_version=4)
    nb, took = execute(path)
    device = "a CUDA GPU" if compute_device().type == "cuda" else "the CPU"  # what the kernel picked too
    nb.metadata[RUN_KEY] = {"setting": setting, "seconds": round(took, 1), "device": device,
                            "date": time.strftime("%Y-%m-%d"), "key": key}
    if cached is not None:
        cache.mkdir(parents=True, exist_ok=True)
        for old in cache.glob(f"{path.stem}-{setting}-*.ipynb"):  # one run kept per notebook and setting
            old.unlink()
        partial = cached.with_suffix(".partial")
        nbformat.write(nb, partial)
        partial.replace(cached)
    return nb


def last_seconds(stem: str, setting: str, cache: Path | None) -> float | None:
    """How long notebook `stem` ran in `setting` when it last ran into the cache (None: never)."""
    runs = sorted(cache.glob(f"{stem}-{setting}-*.ipynb"), key=lambda p: p.stat().st_mtime) if cache is not None else []
    return nbformat.read(runs[-1], as_version=4).metadata[RUN_KEY]["seconds"] if runs else None


def run_note(nb: nbformat.NotebookNode) -> str:
    """The line atop a page: which setting the outputs below come from, where and how long they took."""
    run = nb.metadata.get(RUN_KEY)
    if run is None:
        return ""
    minutes, seconds = divmod(round(run["seconds"]), 60)
    took = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
    setting = ("the <b>full setting</b> (the numbers the text talks about)" if run["setting"] == "full" else
               "the <b>fast setting</b> (<code>PRM_EDU_FAST=1</code>: a smaller world and shorter training, so numbers "
               "differ from the text's; run it yourself for the full ones)")
    style = ("font-family:sans-serif;font-size:0.95em;background:#f3f6fa;border-left:4px solid #4a7ab5;"
             "padding:0.5em 0.8em;margin:0.5em 0 1em")  # inline: nbconvert's page does not load the site's CSS
    return (f"<p class='run-note' style='{style}'>The outputs on this page were computed in {setting} on {run['device']}, "
            f"in {took} ({run['date']}).</p>")


def page(nb: nbformat.NotebookNode, title: str, links: str, bar: str) -> str:
    """One notebook as a page: widgets replaced by their first state, nbconvert's lab look, local MathJax; `links`
    (contents, previous, next) at its top and its bottom, the course's sidebar `bar` beside it. A markdown link to
    another notebook (`05_prm_end_to_end.ipynb`, which JupyterLab opens) points to that notebook's page."""
    nb = static_widgets(nb)
    exporter = HTMLExporter(template_name="prm-edu-book", extra_template_basedirs=[str(Path(__file__).parent / "templates")],
                            mathjax_url=MATHJAX_URL, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    body = re.sub(r"""href=(["'])(\d\d_\w+)\.ipynb\1""", r"href=\1\2.html\1", body)
    body = body.replace("<main>", f"<main>{links}{run_note(nb)}", 1)
    body = body.replace("</main>", links.replace("prm-top", "prm-bottom") + "</main>", 1)
    return with_sidebar(link_exercises(body), bar)


def student_version(path: Path) -> nbformat.NotebookNode:
    """An assignment as students get it: solutions and hidden tests cleared (nbgrader's preprocessors)."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearSolutions

    nb = nbformat.read(path, as_version=4)
    for preprocessor in (ClearSolutions(), ClearHiddenTests(), ClearMarkScheme()):
        nb, _ = preprocessor.preprocess(nb, {})
    return nb


def title_and_goal(nb: nbformat.NotebookNode) -> tuple[str, str]:
    """The first heading of a notebook and its goal line (the line that starts with **Goal:**)."""
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    heading = re.search(r"^#\s+(.+)$", text, re.M)
    goal = re.search(r"^\*\*Goal:\*\*\s*(.+)$", text, re.M)
    return (heading.group(1).strip() if heading else "untitled"), (goal.group(1).strip() if goal else "")


def check_links(out: Path) -> None:
    """Every local href and src on every page points to a file of the site."""
    for page_path in out.rglob("*.html"):
        text = page_path.read_text()
        for target in re.findall(r"""(?:href|src)=["']([^"'#?]+)""", text):
            if re.match(r"^(https?:|data:|mailto:|javascript:)", target):
                continue
            if not (page_path.parent / target).exists():
                raise RuntimeError(f"{page_path.relative_to(out)} links to {target}, which the site does not have")


def build(out: Path, full: bool, jobs: int, cache: Path | None = CACHE) -> dict[str, float]:
    import jupyter_server_mathjax

    if out.exists():
        shutil.rmtree(out)
    (out / "assignments").mkdir(parents=True)
    shutil.copytree(Path(jupyter_server_mathjax.__file__).parent / "static", out / "_static" / "mathjax")
    (out / "_static" / "mathjax" / "config" / "local").mkdir()
    shutil.copy(Path(__file__).parent / "mathjax-local.js", out / "_static" / "mathjax" / "config" / "local" / "prm-edu.js")
    shutil.copy(Path(__file__).parent / "book.css", out / "_static" / "book.css")
    shutil.copytree(ROOT / "assets", out / "assets")

    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    names = [p.stem for p in paths]
    kernel_environment(full)
    setting, other = ("full", "fast") if full else ("fast", "full")
    before = {(p.stem, s): last_seconds(p.stem, s, cache) for p in paths for s in (setting, other)}  # read once
    last = {p.stem: before[p.stem, setting] or before[p.stem, other] or 0.0 for p in paths}
    longest_first = sorted(paths, key=lambda p: -last[p.stem])  # the ones that ran longest last time start first
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        done = dict(zip(longest_first, pool.map(lambda path: execute_or_reuse(path, full, cache), longest_first)))
    executed = [done[p] for p in paths]
    students = {folder.name: student_version(folder / f"{folder.name}.ipynb")
                for folder in sorted((ROOT / "assignments" / "source").iterdir())}
    tasks = [(name, title_and_goal(nb)[0]) for name, nb in students.items()]
    pages = [(name, title_and_goal(nb)[0]) for name, nb in zip(names, executed)]
    seconds, listing, index = {}, [], []
    for k, (name, nb) in enumerate(zip(names, executed)):
        seconds[name] = nb.metadata[RUN_KEY]["seconds"]
        title, goal = title_and_goal(nb)
        markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        listing.append({"name": name, "title": title, "goal": goal, setting: seconds[name], other: before[name, other],
                        "exercise": exercise_of(markdown), "words": len(re.findall(r"\w+", notebook_text(nb)))})
        bar = sidebar(pages, tasks, f"{name}.html")
        (out / f"{name}.html").write_text(page(nb, title, page_links(names, k), bar))
        index.append({"url": f"{name}.html", "title": title, "text": notebook_text(nb)})

    taught_in = {item["exercise"]: item["name"] for item in listing if item["exercise"]}
    for name, nb in students.items():
        title = dict(tasks)[name]
        nbformat.write(nb, out / "assignments" / f"{name}.ipynb")
        links = ["<a href='../index.html'>contents</a>"]
        if name in taught_in:
            links.append(f"<a href='../{taught_in[name]}.html' class='taught-in'>the notebook that teaches it: {taught_in[name]}</a>")
        bar = sidebar(pages, tasks, f"assignments/{name}.html", prefix="../")
        (out / "assignments" / f"{name}.html").write_text(page(nb, title, nav(links), bar).replace(MATHJAX_URL, "../" + MATHJAX_URL))
        index.append({"url": f"assignments/{name}.html", "title": f"Assignment: {title}", "text": notebook_text(nb)})

    readme = (ROOT / "README.md").read_text()
    (out / "index.html").write_text(landing(listing, tasks, readme, full, MATHJAX_URL))
    (out / "developers.html").write_text(developers(readme, MATHJAX_URL))
    (out / "_static" / "search-index.js").write_text(search_index(index))
    (out / "_static" / "search.js").write_text(SEARCH_JS)
    (out / "search.html").write_text(search_page())
    check_links(out)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "book")
    parser.add_argument("--fast", action="store_true", help="the notebooks' fast setting, as CI tests it (default: the full one)")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks executed at once (default 2)")
    parser.add_argument("--no-cache", action="store_true", help=f"run every notebook, reusing nothing from {CACHE.relative_to(ROOT)}")
    args = parser.parse_args()
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning during the build is an error
        warnings.simplefilter("ignore", ResourceWarning)  # but not the sockets kernel clients leave to the garbage collector
        seconds = build(args.out, not args.fast, args.jobs, None if args.no_cache else CACHE)
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    for name, took in seconds.items():
        print(f"{name}: executed in {took:.0f} s (when it last ran)")
    print(f"The site is in {args.out} ({size / 2**20:.1f} MiB), built in {time.perf_counter() - start:.0f} s; "
          f"open {args.out / 'index.html'} or serve the folder.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
