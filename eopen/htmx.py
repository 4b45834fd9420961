"""The only place that reads HX-* headers.

A partial is a named block of the full page's template: an htmx request that targets an element
gets that block, everything else gets the whole page. Boosted requests send HX-Request too, so we
never branch on it alone.
"""
from __future__ import annotations

from flask import render_template, request
from jinja2_fragments.flask import render_block


def target() -> str | None:
    if request.headers.get("HX-Request") != "true" or request.headers.get("HX-Boosted"):
        return None
    return request.headers.get("HX-Target")


def render(template: str, blocks: dict[str, str] | None = None, **context) -> str:
    """Render `template`, or only the block that the htmx target id names in `blocks`."""
    wanted = target()
    if wanted and blocks and wanted in blocks:
        return render_block(template, blocks[wanted], **context)
    return render_template(template, **context)
