"""What a reader moves with: links at the top and the bottom of every page, a sidebar of the
course, and a search that works offline.

The search is ours, not a library's: the maintained static-site searches (Pagefind, or
lunr.js as MkDocs ships it) fetch their index at run time, which a browser refuses for a
page opened from disk (`file://`), and this site must work opened from disk. The build
writes the index as a script (`_static/search-index.js`: each page's title and its text);
`_static/search.js` finds the pages that hold every word of the query, ranks them by how
often those words occur (a phrase found as typed counts most), and shows a snippet around
the first hit.
"""

from __future__ import annotations

import html
import json
import re

import nbformat

SIDEBAR_STYLE = """<style>
nav.prm-sidebar { position: fixed; top: 0; left: 0; bottom: 0; width: 15rem; overflow-y: auto; padding: 1rem 0.8rem;
  background: #f6f8fa; border-right: 1px solid #ddd; font: 14px/1.4 system-ui, sans-serif; z-index: 10; }
nav.prm-sidebar a { color: #24507a; text-decoration: none; display: block; padding: 2px 0; }
nav.prm-sidebar a.here { font-weight: bold; color: #000; }
nav.prm-sidebar input { width: 100%; box-sizing: border-box; margin: 0.3rem 0 0.8rem; padding: 3px; }
nav.prm-sidebar h4 { margin: 0.8rem 0 0.2rem; font-size: 12px; text-transform: uppercase; color: #666; }
body { margin-left: 16rem !important; }
@media (max-width: 60rem) { nav.prm-sidebar { position: static; width: auto; border: none; } body { margin-left: 0 !important; } }
</style>"""


def page_links(names: list[str], index: int, prefix: str = "") -> str:
    """The line of links a notebook page carries at its top and its bottom: contents, previous, next."""
    links = [f"<a href='{prefix}index.html'>contents</a>"]
    if index > 0:
        links.append(f"<a href='{prefix}{names[index - 1]}.html' rel='prev'>previous: {names[index - 1]}</a>")
    if index + 1 < len(names):
        links.append(f"<a href='{prefix}{names[index + 1]}.html' rel='next'>next: {names[index + 1]}</a>")
    return nav(links)


def nav(links: list[str], where: str = "top") -> str:
    return f"<nav class='prm-pages prm-{where}' style='margin:1em 0;font-family:sans-serif'>{' | '.join(links)}</nav>"


def sidebar(pages: list[tuple[str, str]], assignments: list[tuple[str, str]], here: str, prefix: str = "") -> str:
    """The course's pages in order, the assignments, and the search box; `here` is the current page's file name."""
    def link(href: str, title: str) -> str:
        mark = " class='here'" if href == here else ""
        return f"<a href='{prefix}{href}'{mark}>{html.escape(title)}</a>"

    return (f"{SIDEBAR_STYLE}<nav class='prm-sidebar'><a href='{prefix}index.html'><b>prm-edu</b></a>"
            f"<form action='{prefix}search.html' method='get'><input name='q' type='search' placeholder='search the course'"
            " aria-label='search the course'></form><h4>notebooks</h4>"
            + "".join(link(f"{name}.html", title) for name, title in pages)
            + "<h4>assignments</h4>" + "".join(link(f"assignments/{name}.html", title) for name, title in assignments)
            + "</nav>")


def with_sidebar(page: str, bar: str) -> str:
    """A page with the sidebar as the first thing in its body."""
    return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + bar, page, count=1)


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """What a search reads of a notebook: its markdown and its code, as plain text (markdown's and TeX's marks dropped,
    so that a snippet reads as text and no page typesets it)."""
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type in ("markdown", "code"))
    return re.sub(r"\s+", " ", re.sub(r"[$*#`]+|\\(?=[A-Za-z])", "", text))


def search_index(entries: list[dict]) -> str:
    """_static/search-index.js: a list of {url, title, text}, loaded by a script tag (no fetch: works from disk)."""
    return "window.PRM_SEARCH_INDEX = " + json.dumps(entries, ensure_ascii=False) + ";\n"


SEARCH_JS = r"""// The course's search: pages holding every word of the query, the most hits first (navigation.py says why ours).
(function () {
  function snippet(text, word) {
    var at = text.toLowerCase().indexOf(word);
    var start = Math.max(0, at - 80);
    return (start > 0 ? "…" : "") + text.slice(start, at + 160) + "…";
  }
  function search(query) {
    var words = query.toLowerCase().split(/\s+/).filter(function (w) { return w.length > 0; });
    if (!words.length) return [];
    var phrase = words.join(" ");
    return window.PRM_SEARCH_INDEX.map(function (page) {
      var text = page.text.toLowerCase(), score = 0;
      for (var i = 0; i < words.length; i++) {
        var hits = text.split(words[i]).length - 1;
        if (!hits) return null;
        score += hits;
      }
      score += 10 * (text.split(phrase).length - 1) + (page.title.toLowerCase().indexOf(phrase) >= 0 ? 50 : 0);
      return {page: page, score: score, snippet: snippet(page.text, words[0])};
    }).filter(Boolean).sort(function (a, b) { return b.score - a.score; });
  }
  window.prmSearch = search;
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("prm-search-results");
    if (!box) return;
    var query = new URLSearchParams(window.location.search).get("q") || "";
    document.getElementById("prm-search-query").value = query;
    var found = search(query);
    box.innerHTML = "";
    var head = document.createElement("p");
    head.textContent = query ? found.length + " page(s) hold every word of “" + query + "”" : "Type words to search the course.";
    box.appendChild(head);
    found.forEach(function (hit) {
      var item = document.createElement("div"), link = document.createElement("a"), text = document.createElement("p");
      item.className = "hit"; link.href = hit.page.url; link.textContent = hit.page.title;
      text.textContent = hit.snippet; text.className = "goal";
      item.appendChild(link); item.appendChild(text); box.appendChild(item);
    });
  });
})();
"""
