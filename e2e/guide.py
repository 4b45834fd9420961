"""Screenshots for the help guide (/bantuan), taken while the e2e tour walks the real journeys.

`shot(page, "name")` saves ``$EOPEN_GUIDE_SHOTS/name.png`` (what the screen shows now) when the environment
variable EOPEN_GUIDE_SHOTS names a folder, as `make guide` does; otherwise it only scrolls, so the tour
is a cheap smoke test in the normal suite. `make guide` then compresses the PNGs into
eopen/static/guide/img/ (eopen/help/build.py). The names are the `shot`s of eopen/help/pages.py.

Only the e2e suite's made-up people may appear on a screenshot.
"""
from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Locator, Page

ENV = "EOPEN_GUIDE_SHOTS"


def shots_dir() -> Path | None:
    folder = os.environ.get(ENV)
    return Path(folder) if folder else None


def shot(page: Page, name: str, at: Locator | None = None, block: str = "start") -> None:
    """Save what `page` shows as <name>.png: the top of the page, or with `at` scrolled to the top (block
    "start") or the middle ("center") of the screen. Focus is taken off so no focus ring shows."""
    if at is not None:
        at.first.evaluate("(el, block) => { el.scrollIntoView({block});"
                          " if (block === 'start') window.scrollBy(0, -12); }", block)
    else:
        page.evaluate("() => window.scrollTo(0, 0)")
    page.evaluate("() => document.activeElement && document.activeElement.blur && document.activeElement.blur()")
    folder = shots_dir()
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), animations="disabled", caret="hide")
