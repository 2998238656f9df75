"""`make book`: the course website is built (warnings are errors), has every page, and opens
offline in headless Chromium with every math block typeset and no request leaving 127.0.0.1.

Marked `book` (a build runs every notebook, minutes): `make test-book` and CI run it.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.book
ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ASSIGNMENTS = sorted(p.name for p in (ROOT / "assignments" / "source").iterdir())
SCREENSHOTS = ROOT / "outputs" / "book"


def _sources(path: Path, kind: str) -> str:
    return "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == kind)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book") / "site"
    command = [sys.executable, "book/build.py", "--fast", "--no-cache", "--out", str(out)]  # what CI can afford, every notebook run
    build = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1500)
    assert build.returncode == 0, f"make book failed:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def served(site):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


def test_every_notebook_and_assignment_has_its_page_and_the_landing_page_links_them(site):
    index = (site / "index.html").read_text()
    links = set(re.findall(r"href='([^']+)'", index))
    for notebook in NOTEBOOKS:
        assert (site / f"{notebook.stem}.html").exists(), notebook.stem
        assert f"{notebook.stem}.html" in links, f"the landing page does not link {notebook.stem}"
        page = (site / f"{notebook.stem}.html").read_text()
        assert "computed in the <b>fast setting</b>" in page, f"{notebook.stem}: no line saying which setting it ran in"
        assert not re.search(r"\d+/\d+ \[\d\d:\d\d", page), f"{notebook.stem}: a progress bar printed as text"
    for name in ASSIGNMENTS:
        assert (site / "assignments" / f"{name}.html").exists(), name
        assert f"assignments/{name}.html" in links, f"the landing page does not link the assignment {name}"
        student = (site / "assignments" / f"{name}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in student and "NotImplementedError" in student  # the students' version


def test_every_page_that_draws_a_figure_shows_an_image(site):
    for notebook in NOTEBOOKS:
        code = _sources(notebook, "code")
        if re.search(r"plt\.|viz\.plot|_explorer\(", code):
            page = (site / f"{notebook.stem}.html").read_text()
            assert "<img" in page, f"{notebook.stem} draws a figure, but its page shows no image"
    explorer = (site / "07_explorer.html").read_text()
    assert "shown in its first state" in explorer and "widget-view+json" not in explorer  # widgets drawn statically


def test_pages_open_offline_with_their_math_typeset(served, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages = ["index.html", *(f"{n.stem}.html" for n in NOTEBOOKS), *(f"assignments/{a}.html" for a in ASSIGNMENTS)]
    math_pages = [f"{n.stem}.html" for n in NOTEBOOKS if re.search(r"\$[^$\n]+\$", _sources(n, "markdown"))]
    assert len(math_pages) >= 5  # the paper's formulas are in most notebooks
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside, failed = [], []

    def guard(route):
        url = route.request.url
        if url.startswith(("http://", "https://", "ws://", "wss://")) and not url.startswith("http://127.0.0.1:"):
            outside.append(url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("requestfailed", lambda request: failed.append(request.url) if request.url.startswith("http") else None)
    page.on("response", lambda response: failed.append(f"{response.status} {response.url}") if response.status >= 400 else None)
    for name in pages:
        page.goto(f"{served}/{name}", wait_until="load")
        page.wait_for_function("window.MathJax && MathJax.Hub && MathJax.Hub.queue && MathJax.Hub.queue.pending === 0 "
                               "&& !MathJax.Hub.queue.running", timeout=60_000)
        typeset = page.locator(".MathJax, .MathJax_Display").count()
        errors = page.locator(".MathJax_Error, merror").count()
        assert errors == 0, f"{name}: {errors} math blocks failed to typeset"
        if name in math_pages:
            assert typeset > 0, f"{name} has math in its text, but none was typeset"
            raw = page.evaluate("[...document.querySelectorAll('.jp-RenderedMarkdown')].map(e => e.innerText).join(' ')")
            assert "$$" not in raw and not re.search(r"\$\\[a-zA-Z]", raw), f"{name}: raw TeX is left on the page"
        if name in ("index.html", "04_self_attention.html"):
            page.screenshot(path=str(SCREENSHOTS / name.replace(".html", ".png")), full_page=False)
    context.close()
    assert outside == [], f"the site asked the network for {outside[:5]}"
    assert failed == [], f"requests the site could not answer (a missing file): {failed[:5]}"


def test_every_page_has_previous_and_next_at_its_bottom_and_assignments_link_their_notebook(site):
    names = [n.stem for n in NOTEBOOKS]
    for k, name in enumerate(names):
        page = (site / f"{name}.html").read_text()
        bottom = page[page.rindex("</main>") - 2000 : page.rindex("</main>")]
        assert "class='prm-pages prm-bottom'" in bottom, f"{name}: no links at the bottom"
        if k > 0:
            assert f"href='{names[k - 1]}.html' rel='prev'" in bottom, f"{name}: no link to the previous page at the bottom"
        if k + 1 < len(names):
            assert f"href='{names[k + 1]}.html' rel='next'" in bottom, f"{name}: no link to the next page at the bottom"
        assert "class='prm-sidebar'" in page, f"{name}: no sidebar"
    for name in ("00_quickstart", "01_problem_and_data", "04_self_attention"):  # "Next: ..." in the text is a link to the page
        page = (site / f"{name}.html").read_text()
        assert not re.search(r"href=[\"']\d\d_\w+\.ipynb", page), f"{name}: a link to a notebook file, not to its page"
    assert re.search(r"href=[\"']08_movielens\.html", (site / "00_quickstart.html").read_text())  # 00's table reaches 08
    for assignment in ASSIGNMENTS:
        page = (site / "assignments" / f"{assignment}.html").read_text()
        taught = re.search(r"href='\.\./(\d\d_\w+)\.html' class='taught-in'", page)
        assert taught, f"assignment {assignment}: no link to the notebook that teaches it"
        assert f"assignments/source/{assignment}" in (ROOT / "notebooks" / f"{taught.group(1)}.ipynb").read_text()
    index = (site / "index.html").read_text()
    assert "Before you start" in index and "reading, minutes" in index


def test_search_finds_the_position_embedding_offline(site, browser):
    page = browser.new_page()
    outside = []
    page.route("**/*", lambda route: (outside.append(route.request.url), route.abort())
               if route.request.url.startswith(("http://", "https://")) else route.continue_())
    page.goto((site / "search.html").as_uri() + "?q=position+embedding", wait_until="load")  # from disk, no server
    page.wait_for_selector("#prm-search-results .hit", timeout=10_000)
    hits = page.locator("#prm-search-results .hit a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert "03_input_layer.html" in hits[:3], hits  # the notebook that teaches it ranks near the top
    assert page.locator("#prm-search-results .hit").count() <= len(NOTEBOOKS) + len(ASSIGNMENTS)
    page.goto((site / "search.html").as_uri() + "?q=qwertyuiop", wait_until="load")
    assert page.locator("#prm-search-results .hit").count() == 0
    assert "0 page(s)" in page.locator("#prm-search-results").inner_text()
    page.close()
    assert outside == [], outside
