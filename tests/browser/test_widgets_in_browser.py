"""The explorers in a real browser: JupyterLab runs the notebook, the widgets appear, and
moving one changes what is drawn. The same for the Voila app. Screenshots go to
outputs/browser/ for a person to look at."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.browser
RUN_TIMEOUT = 240  # seconds for all cells of a notebook under PRM_EDU_FAST=1


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _run_notebook_in_lab(page, lab: tuple[str, str], name: str) -> None:
    url, token = lab
    workspace = name.split(".")[0]  # a fresh workspace per notebook: nothing restored from another test
    page.goto(f"{url}/lab/workspaces/{workspace}/tree/{name}?token={token}&reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.evaluate(f"() => {{ window.prmNotebook = () => Array.from(window.jupyterapp.shell.widgets('main'))"
                  f".find(w => w.context && w.context.path === '{name}'); }}")
    _wait(lambda: page.evaluate("() => { const w = window.prmNotebook();"
                                " return !!(w && w.sessionContext && w.sessionContext.session?.kernel"
                                " && w.sessionContext.session.kernel.status === 'idle'); }"), 90, "the kernel")
    page.evaluate("() => { window.jupyterapp.shell.activateById(window.prmNotebook().id);"
                  " return window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    finished = ("() => { const nb = window.prmNotebook();"
                " const code = nb.content.widgets.filter(c => c.model.type === 'code');"
                " return code.every(c => c.model.executionCount !== null) && nb.sessionContext.session.kernel.status === 'idle'; }")
    _wait(lambda: page.evaluate(finished), RUN_TIMEOUT, f"every cell of {name} to run")


def _errors(page) -> list[str]:
    """The error outputs of the open notebook (from its model: every cell, in view or not)."""
    return page.evaluate("() => window.prmNotebook().content.widgets"
                         ".filter(c => c.model.type === 'code')"
                         ".flatMap(c => c.model.outputs.toJSON().filter(o => o.output_type === 'error')"
                         ".map(o => o.ename + ': ' + o.evalue))")


def _text_input(page, label: str):
    return page.locator(".widget-text", has=page.locator("label", has_text=label)).locator("input").first


def _dropdown(page, label: str):
    return page.locator(".widget-dropdown", has=page.locator("label", has_text=label)).locator("select").first


def _image_src(page, index: int = -1) -> str:
    images = page.locator("img.widget-image")
    return images.nth(index if index >= 0 else images.count() - 1).get_attribute("src")


def _changes(page, read, act, what: str, timeout: float = 60) -> None:
    before = read()
    act()
    _wait(lambda: read() != before, timeout, what)


def _explorer_html(page) -> str:
    return page.locator(".widget-html-content", has_text="expected clicks").last.inner_text()


def _drive_explorer(page) -> None:
    """request, swap, history, head: each changes the lists or the heatmap drawn."""
    _changes(page, lambda: _explorer_html(page),
             lambda: (_text_input(page, "request").fill("3"), _text_input(page, "request").press("Enter")), "a new request's lists")
    first, second = _text_input(page, "swap"), _text_input(page, "with")
    first.fill("0")
    first.press("Enter")
    second.fill("2")
    second.press("Enter")
    _changes(page, lambda: _explorer_html(page), lambda: page.get_by_role("button", name="swap").click(), "the swapped list")
    _changes(page, lambda: _explorer_html(page), lambda: _dropdown(page, "history").select_option("none"), "PRM's scores without history")
    _changes(page, lambda: _image_src(page), lambda: _dropdown(page, "head").select_option("2"), "the heatmap of head 2")


def test_explorer_notebook_in_jupyterlab(page, lab, screenshots):
    _run_notebook_in_lab(page, lab, "07_explorer.ipynb")
    assert _errors(page) == []
    assert page.locator(".widget-image").count() >= 1 and _text_input(page, "request").count() == 1
    _drive_explorer(page)
    page.screenshot(path=str(screenshots / "jupyterlab_07_explorer.png"), full_page=True)
    assert page.outside == [], f"the page asked for addresses outside 127.0.0.1: {page.outside}"


def test_attention_notebook_in_jupyterlab(page, lab, screenshots):
    _run_notebook_in_lab(page, lab, "04_self_attention.ipynb")
    assert _errors(page) == []
    for label, value in (("request", "2"), ("block", "2"), ("head", "2")):
        control = _dropdown(page, label) if label != "request" else _text_input(page, label)
        if label == "request":
            _changes(page, lambda: _image_src(page), lambda c=control, v=value: (c.fill(v), c.press("Enter")), f"the heatmap after {label}")
        else:
            _changes(page, lambda: _image_src(page), lambda c=control, v=value: c.select_option(v), f"the heatmap after {label}")
    page.screenshot(path=str(screenshots / "jupyterlab_04_self_attention.png"), full_page=True)
    assert page.outside == [], f"the page asked for addresses outside 127.0.0.1: {page.outside}"


def test_explorer_as_a_voila_app(page, voila, screenshots):
    page.goto(voila, timeout=RUN_TIMEOUT * 1000)
    page.wait_for_selector("img.widget-image", timeout=RUN_TIMEOUT * 1000)
    assert page.locator(".jp-CodeCell .jp-InputArea, .cm-editor").count() == 0  # no code cell's input is shown
    assert "torch.set_num_threads(1)" not in page.inner_text("body")
    assert "Traceback" not in page.inner_text("body")
    _drive_explorer(page)
    page.screenshot(path=str(screenshots / "voila_07_explorer.png"), full_page=True)
    assert page.outside == [], f"the page asked for addresses outside 127.0.0.1: {page.outside}"
