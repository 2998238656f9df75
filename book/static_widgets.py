"""Each widget of an executed notebook drawn as plain HTML from the widget state the execution saved.

A static page runs no kernel, so a widget cannot move; what it showed first can still be
seen: HTML widgets keep their HTML, images their PNG, output widgets their outputs, and
each control (a checkbox, a dropdown, a number) shows its label and its value.
"""

from __future__ import annotations

import copy
import html

import nbformat

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
NOTE = ("<p class='static-widget-note'><em>An explorer, shown in its first state. It moves in "
        "<code>make lab</code> (this notebook) or <code>make app</code> (the re-ranking explorer).</em></p>")


def _children(model: dict) -> list[str]:
    """The model ids of a container widget's children."""
    return [c.removeprefix("IPY_MODEL_") for c in model["state"].get("children", [])]


def _widget(model_id: str, models: dict) -> str:
    model = models.get(model_id)
    if model is None:
        raise ValueError(f"static_widgets: no saved state for widget {model_id}")
    name, state = model["model_name"], model["state"]
    inner = "".join(_widget(c, models) for c in _children(model))
    if name in ("VBoxModel", "BoxModel", "GridBoxModel", "AccordionModel", "TabModel"):
        return f"<div style='display:flex;flex-direction:column;gap:4px'>{inner}</div>"
    if name == "HBoxModel":
        return f"<div style='display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start'>{inner}</div>"
    if name in ("HTMLModel", "HTMLMathModel"):
        return f"<div>{state.get('value', '')}</div>"
    if name == "ImageModel":
        png = next((b["data"] for b in model.get("buffers", []) if b["path"] == ["value"]), None)
        return f"<img alt='widget image' src='data:image/{state.get('format', 'png')};base64,{png}'>" if png else ""
    if name == "OutputModel":
        return "".join(_output(o) for o in state.get("outputs", []))
    if name == "LabelModel":
        return f"<span>{html.escape(str(state.get('value', '')))}</span>"
    if name == "ButtonModel":
        return f"<button disabled>{html.escape(state.get('description', ''))}</button>"
    if name in ("FloatProgressModel", "IntProgressModel"):  # a finished progress bar
        return f"<span>{html.escape(state.get('description', ''))} {state.get('value')}/{state.get('max')}</span>"
    value = state.get("value", state.get("index"))
    if name == "DropdownModel" and state.get("_options_labels") and state.get("index") is not None:
        value = state["_options_labels"][state["index"]]
    label = html.escape(str(state.get("description", "")))
    return f"<span style='border:1px solid #ccc;border-radius:3px;padding:1px 6px'>{label} <b>{html.escape(str(value))}</b></span>"


def _output(output: dict) -> str:
    data = output.get("data", {})
    if "text/html" in data:
        return "".join(data["text/html"])
    if "image/png" in data:
        return f"<img alt='output' src='data:image/png;base64,{data['image/png']}'>"
    text = output.get("text") or "".join(data.get("text/plain", ""))
    return f"<pre>{html.escape(''.join(text))}</pre>"


def static_widgets(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `nb` in which every widget output is plain HTML and no widget state is left to load."""
    nb = copy.deepcopy(nb)
    models = nb.metadata.pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                continue
            drawn = _widget(view["model_id"], models)
            output["data"] = {"text/html": drawn if _is_progress_bar(view["model_id"], models) else NOTE + drawn}
    return nb


def _is_progress_bar(model_id: str, models: dict) -> bool:
    """A progress bar (tqdm's: a row holding a progress widget) moves by itself; it needs no note."""
    return any(models.get(c, {}).get("model_name") in ("FloatProgressModel", "IntProgressModel") for c in _children(models[model_id]))
