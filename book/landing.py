"""The course website's landing page and its page for developers.

The landing page is for a student: what to know before, a search box, a table of the notebooks
in order (goal, reading minutes, computing minutes in the
fast and the full setting, what to read before, the graded assignment that belongs to each),
the assignments, and the README's course half. The README's developer half (tests,
benchmarks, GPUs, how the site is built) goes to `developers.html`.
"""

from __future__ import annotations

import html
import re

import mistune

# what to read before each notebook (the course's order, with the shortcuts it allows)
PREREQUISITES = {
    "00_quickstart": [],
    "01_problem_and_data": ["00_quickstart"],
    "02_personalized_vectors": ["01_problem_and_data"],
    "03_input_layer": ["02_personalized_vectors"],
    "04_self_attention": ["03_input_layer"],
    "05_prm_end_to_end": ["03_input_layer", "04_self_attention"],
    "06_evaluation_and_ablations": ["05_prm_end_to_end"],
    "07_explorer": ["05_prm_end_to_end"],
    "08_movielens": ["05_prm_end_to_end"],
    "09_prm_on_one_page": ["04_self_attention", "05_prm_end_to_end"],
}
# the README's sections for developers, not students (each with its subsections)
DEVELOPER_SECTIONS = ("### On a GPU", "## Tests", "## The course as a website", "## Benchmarks")
EXERCISE = re.compile(r"`assignments/source/(\w+)`")  # how a notebook names its graded exercise
WORDS_A_MINUTE = 100  # reading speed for a technical text with formulas and code (plain prose reads at about 200)
PREPARATION = ("The course assumes Python and the basics of PyTorch (tensors, <code>nn.Module</code>, a training "
               "loop with an optimizer), logistic regression, the softmax and cross-entropy, and what a ranking "
               "metric is for. Attention and the Transformer encoder are taught from scratch in 04; click models "
               "and position bias in 01 and 06. Notebook 00 runs the whole story in one go: read it first.")


def exercise_of(markdown: str) -> str | None:
    """The assignment a notebook's text points to ("**Exercise** ... `assignments/source/NAME`"), or None."""
    found = EXERCISE.search(markdown)
    return found.group(1) if found else None


def link_exercises(body: str, prefix: str = "") -> str:
    """A page's mentions of `assignments/source/NAME` made links to that assignment's page."""
    return re.sub(r"<code>assignments/source/(\w+)</code>",
                  lambda m: f"<a href='{prefix}assignments/{m.group(1)}.html'><code>assignments/source/{m.group(1)}</code></a>", body)


def split_readme(readme: str) -> tuple[str, str]:
    """The README's course half and its developer half (the sections in DEVELOPER_SECTIONS)."""
    course, developers, target = [], [], None
    for line in readme.splitlines(keepends=True):
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            if line.rstrip() in DEVELOPER_SECTIONS:
                target = level
            elif target is not None and level <= target:
                target = None
        (developers if target is not None else course).append(line)
    return "".join(course), "".join(developers)


def _local_links(markdown: str) -> str:
    return re.sub(r"notebooks/(\d\d_\w+)\.ipynb", r"\1.html", markdown)


def _minutes(seconds: float | None) -> str:
    return "–" if seconds is None else f"{max(1, round(seconds / 60))}"


def _page(title: str, mathjax: str | None, body: str) -> str:
    script = f'<script src="{mathjax}"></script>' if mathjax else ""  # None: a page without math
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{html.escape(title)}</title>
<link rel="stylesheet" href="_static/book.css">
{script}
</head><body><main class="landing">{body}</main></body></html>
"""


def landing(notebooks: list[dict], assignments: list[tuple[str, str]], readme: str, full: bool, mathjax: str) -> str:
    """index.html. `notebooks`: dicts with name, title, goal, exercise, words (of its text and code), and the minutes
    of each setting (None: not run)."""
    titles = {nb["name"]: nb["title"] for nb in notebooks}
    assignment_titles = dict(assignments)
    rows = []
    reading = {nb["name"]: max(1, round(nb["words"] / WORDS_A_MINUTE)) for nb in notebooks}
    for k, nb in enumerate(notebooks):
        before = ", ".join(f"<a href='{p}.html'>{p[:2]}</a>" for p in PREREQUISITES.get(nb["name"], [])) or "none"
        task = (f"<a href='assignments/{nb['exercise']}.html'>{html.escape(assignment_titles.get(nb['exercise'], nb['exercise']))}</a>"
                if nb["exercise"] else "")
        rows.append(f"<tr><td>{k:02d}</td><td><a href='{nb['name']}.html'>{html.escape(titles[nb['name']])}</a>"
                    f"<div class='goal'>{mistune.html(nb['goal'])}</div></td>"
                    f"<td>{reading[nb['name']]}</td><td>{_minutes(nb['fast'])} / {_minutes(nb['full'])}</td>"
                    f"<td>{before}</td><td>{task}</td></tr>")
    tasks = "".join(f"<li><a href='assignments/{name}.html'>{html.escape(title)}</a> "
                    f"(<a href='assignments/{name}.ipynb' download>notebook</a>)</li>" for name, title in assignments)
    setting = "full" if full else "fast (smaller, for tests; the text's numbers are the full setting's)"
    course, _ = split_readme(readme)
    body = f"""<h1>prm-edu: Personalized Re-ranking, piece by piece</h1>
<p>A course on PRM (Pei et al., RecSys 2019) in {len(notebooks)} notebooks, shown here with their outputs, run
in the {setting} setting; each page says where and how long. To run them yourself: <code>make lab</code>
(JupyterLab) or <code>make app</code> (the re-ranking explorer alone); the widgets on these pages show their
first state only. On the class's hub the notebooks run in the <b>class setting</b> (lists of 15 and a stronger
list-context effect, so that the same claims show on one core in minutes): its numbers are its own, not these
pages' (the README's "Settings" says what differs). For instructors and developers:
<a href='developers.html'>tests, benchmarks, GPUs and how this site is built</a>.</p>
<form action="search.html" method="get"><input name="q" type="search" placeholder="search the course"
 aria-label="search the course" size="40"> <button>search</button></form>
<h2>Before you start</h2>
<p>{PREPARATION}</p>
<h2>The notebooks, in order</h2>
<table class="notebooks"><tr><th>#</th><th>notebook and its goal</th><th>reading, minutes</th>
<th>computing, minutes on 2 CPU cores (fast / full)</th><th>read before</th><th>graded assignment</th></tr>{"".join(rows)}</table>
<p class="goal">Reading: the notebook's text and code at {WORDS_A_MINUTE} words a minute (about {sum(reading.values())} minutes for
all {len(reading)}), before its "Try it" exercises and the graded assignment. Computing: how long the notebook ran when this site was
built, in each setting (– : not run for this site); you can read while it runs.</p>
<h2>Assignments (nbgrader, students' versions)</h2><ul>{tasks}</ul>
<hr><div class="readme">{mistune.html(_local_links(course))}</div>"""
    return _page("prm-edu: Personalized Re-ranking, piece by piece", mathjax, body)


def search_page() -> str:
    """search.html: the course's offline search (navigation.py); the query comes in the address, ?q=..."""
    body = """<nav style='margin:1em 0;font-family:sans-serif'><a href='index.html'>contents</a></nav>
<h1>Search the course</h1>
<form action="search.html" method="get"><input id="prm-search-query" name="q" type="search" size="40"
 aria-label="search the course"> <button>search</button></form>
<div id="prm-search-results"></div>
<script src="_static/search-index.js"></script><script src="_static/search.js"></script>"""
    return _page("prm-edu: search", None, body)  # no MathJax: snippets are plain text


def developers(readme: str, mathjax: str) -> str:
    """developers.html: the README's developer half."""
    _, half = split_readme(readme)
    body = f"""<nav style='margin:1em 0;font-family:sans-serif'><a href='index.html'>contents</a></nav>
<h1>prm-edu for developers and instructors</h1>
<div class="readme">{mistune.html(_local_links(half))}</div>"""
    return _page("prm-edu: for developers and instructors", mathjax, body)
