"""Pictures of the built course site as a reader's browser shows them, to look at by eye.

    python book/screenshots.py [--book build/book] [--out build/screenshots] [--width 1280]

Opens every page of the built site (`make book`) from disk in headless Chromium at a
reader's window width, and saves each figure of a page as it is shown there (one PNG a
figure: `<page>-<k>.png`), then prints, per figure, the width the page gives it against
the pixels it was drawn with: a figure shown wider than its pixels is blurred by the
browser, one shown at less than half its pixels has its text shrunk below its drawn size.
Needs Debian's Chromium (/usr/bin/chromium) and the playwright package (`make test-book`
installs both).
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"


def shoot(book: Path, out: Path, width: int) -> list[tuple[str, int, int, int]]:
    """Save every figure of every page; returns (page, k, shown width, drawn width) per figure."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": width, "height": 900})
        for html in sorted(book.glob("*.html")):
            page.goto(html.as_uri())
            page.wait_for_load_state("load")
            for k, image in enumerate(page.query_selector_all("main img, .jp-OutputArea img, .widget-image, img")):
                shown, drawn = image.evaluate("e => [e.getBoundingClientRect().width, e.naturalWidth || 0]")
                if shown < 100:  # icons and empty images
                    continue
                image.scroll_into_view_if_needed()
                image.screenshot(path=str(out / f"{html.stem}-{k}.png"))
                rows.append((html.stem, k, round(shown), int(drawn)))
        browser.close()
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--book", type=Path, default=ROOT / "build" / "book")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "screenshots")
    parser.add_argument("--width", type=int, default=1280, help="the browser window's width in CSS pixels")
    args = parser.parse_args()
    if not (args.book / "index.html").is_file():
        parser.error(f"no built site in {args.book}: run `make book` first")
    print("| page | figure | shown width (px) | drawn width (px) | drawn / shown |")
    print("|---|---|---|---|---|")
    for stem, k, shown, drawn in shoot(args.book, args.out, args.width):
        print(f"| {stem} | {k} | {shown} | {drawn} | {drawn / shown:.2f} |")
    print(f"\nfigures saved in {args.out}")
