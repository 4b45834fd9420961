"""The guide's pages: the index and one page per feature. Public, no forms; they work without JavaScript."""
from __future__ import annotations

from flask import abort, render_template, request, url_for

from . import bp, links, media
from .pages import RESIDENT, RESIDENT_PAGES, STAFF_PAGES, find, service_pages


@bp.app_context_processor
def _help_link():
    def help_url(req=None) -> str:
        """The guide page for the screen being shown (the index when the screen has none)."""
        target = links.target_for(request.endpoint, getattr(req, "service_code", None))
        if target is None or not target.slug:
            return url_for("help.index")
        return url_for("help.page", slug=target.slug, _anchor=target.anchor or None)
    return {"help_url": help_url}


@bp.get("/")
def index():
    return render_template("help/index.html", services=service_pages(), resident_pages=RESIDENT_PAGES,
                           staff_pages=STAFF_PAGES)


@bp.get("/<slug>")
def page(slug):
    guide = find(slug)
    if guide is None:
        abort(404)
    pictures = {name: media.picture(name) for name in guide.shots}
    clips = {name: media.clip(name) for name in guide.clips}
    related = [p for p in map(find, guide.related) if p is not None]
    return render_template("help/page.html", page=guide, pictures=pictures, clips=clips, related=related,
                           for_residents=guide.audience == RESIDENT)
