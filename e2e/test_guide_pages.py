"""The help guide (/bantuan) in a real browser: every page axe-clean with JavaScript on and off, its pictures
(WebP) shown, its narrations (Ogg Opus) playable, and the first visit within the byte budget."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from test_byte_budget import BUDGET, ByteCounter

from eopen.help.pages import page_slugs

PATHS = ["/bantuan/"] + [f"/bantuan/{slug}" for slug in page_slugs()]


def test_every_guide_page_is_axe_clean(phone, axe):
    page: Page = phone.new_page()
    for path in PATHS:
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
        expect(page.get_by_role("link", name="Bantuan")).to_be_visible()
        axe(page, path)
        page.wait_for_load_state("networkidle")  # the lazy pictures near the screen: none left half-loaded


def test_pictures_show_and_narrations_play(fresh_context):
    page = fresh_context("phone").new_page()
    for path in PATHS[1:]:
        page.goto(path)
        images = page.locator("img.guide-shot")
        for i in range(images.count()):
            image = images.nth(i)
            image.scroll_into_view_if_needed()  # lazy: loaded when it comes near the screen
            expect(image).to_have_js_property("complete", True)
            assert image.evaluate("img => img.naturalWidth") > 0, (path, image.get_attribute("src"))
        expect(page.locator("audio[controls][preload=none]")).not_to_have_count(0)
        page.wait_for_load_state("networkidle")

    # Chromium decodes the narrations (Ogg Opus). Fetched whole, not streamed by an <audio>: a media request
    # Chromium drops halfway leaves the test server's file open (werkzeug skips closing it when the peer has
    # reset the connection), which this suite's warnings-as-errors would report.
    assert page.evaluate("() => document.createElement('audio').canPlayType('audio/ogg; codecs=opus')")
    page.goto("/bantuan/akta-kelahiran")
    for src in page.locator("audio").evaluate_all("players => players.map(a => a.src)"):
        seconds = page.evaluate("""src => fetch(src).then(r => r.arrayBuffer())
            .then(data => new OfflineAudioContext(1, 1, 48000).decodeAudioData(data)).then(audio => audio.duration)""",
                                src)
        assert seconds > 2, (src, seconds)


@pytest.mark.parametrize("path", PATHS)
def test_first_visit_of_a_guide_page_fits_in_40_kb(new_context, path):
    """Counted as e2e/test_byte_budget.py counts, except pictures below the first screen: they are
    lazy-loaded and cost nothing until the reader scrolls towards them (Chromium fetches a little ahead,
    so they may already be loaded when the page settles)."""
    page = new_context(java_script_enabled=True).new_page()
    measurement = ByteCounter(page).measure(path, path)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    on_screen = set(page.evaluate("""() => [...document.images]
        .filter(img => img.getBoundingClientRect().top < innerHeight).map(img => img.currentSrc)"""))
    counted = [r for r in measurement.resources if "/static/guide/img/" not in r.url or r.url in on_screen]
    total = sum(r.bytes for r in counted)
    assert measurement.resources[0].encoding == "gzip"
    assert total <= BUDGET, f"{path}: {total} B > {BUDGET} B: " + ", ".join(f"{r.url} {r.bytes}" for r in counted)
