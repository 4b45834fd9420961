"""The help guide (/bantuan): every page renders without JavaScript, its pictures and narrations exist, are
small and say what the page says, the service pages follow the catalogue, and every screen's "Bantuan" link
leads to an existing guide page."""
from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import pytest

from eopen.help import build, links, media
from eopen.help.pages import STAFF_PAGES, all_pages, page_slugs, service_slug
from eopen.services.catalogue import get_catalogue

IMAGE_MAX_BYTES = 80 * 1024
AUDIO_MAX_BYTES = 200 * 1024


class Tags(HTMLParser):
    """The attributes of every start tag, by tag name."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: dict[str, list[dict]] = {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.setdefault(tag, []).append(dict(attrs))

    def __getitem__(self, tag):
        return self.tags.get(tag, [])


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture
def pages(app):
    with app.test_request_context():
        return all_pages()


def test_the_index_lists_every_page_residents_first(client, pages):
    r = client.get("/bantuan/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    hrefs = [a["href"] for a in Tags(html)["a"] if a.get("href", "").startswith("/bantuan/")
             and a["href"] != "/bantuan/"]
    assert hrefs == [f"/bantuan/{page.slug}" for page in pages]
    staff = html.index("Untuk petugas")
    assert all(html.index(f'href="/bantuan/{page.slug}"') > staff for page in STAFF_PAGES)
    assert all(html.index(f'href="/bantuan/{page.slug}"') < staff for page in pages if page not in STAFF_PAGES)


def test_every_page_renders_its_steps_pictures_and_narration_without_javascript(client, pages):
    assert len(pages) == len(get_catalogue().services) + 8
    base_scripts = [s.get("src") for s in Tags(client.get("/").get_data(as_text=True))["script"]]
    for page in pages:
        r = client.get(f"/bantuan/{page.slug}")
        assert r.status_code == 200, page.slug
        html = r.get_data(as_text=True)
        tags, text = Tags(html), text_of(html)
        assert [s.get("src") for s in tags["script"]] == base_scripts  # the guide adds no script
        assert text.count(str(page.title)) >= 2  # the <title> and the <h1>
        assert len(tags["h1"]) == 1
        for section in page.sections:
            for step in section.steps:
                assert " ".join(str(step.text).split()) in text, (page.slug, step.text)
        assert len(tags["ol"]) >= 1
        # One picture per step that names one: lazy, sized, described.
        images = [img for img in tags["img"] if img["src"].startswith("/static/guide/img/")]
        assert [img["src"] for img in images] == [f"/static/guide/img/{shot}.webp" for shot in page.shots], page.slug
        for img in images:
            assert img["loading"] == "lazy" and int(img["width"]) > 0 and int(img["height"]) > 0, img
            assert len(img["alt"]) > 15, img
        # One player per section, loaded only when played, and a link to download it.
        audios = tags["audio"]
        assert [a["src"] for a in audios] == [f"/static/guide/audio/{clip}.opus" for clip in page.clips]
        assert all("controls" in a and a["preload"] == "none" for a in audios)
        downloads = {a["href"] for a in tags["a"] if "download" in a}
        assert downloads >= {a["src"] for a in audios}


def test_pages_render_in_english_too(client, pages):
    with client.session_transaction() as session:
        session["lang"] = "en"
    for page in pages:
        r = client.get(f"/bantuan/{page.slug}")
        assert r.status_code == 200 and '<html lang="en">' in r.get_data(as_text=True)


def test_an_unknown_page_is_a_404(client):
    assert client.get("/bantuan/tidak-ada").status_code == 404


def test_service_pages_say_what_the_catalogue_says(client):
    for service in get_catalogue().services:
        text = text_of(client.get(f"/bantuan/{service_slug(service.code)}").get_data(as_text=True))
        assert service.description in text
        for variant in service.variants:
            assert variant.label in text and variant.description in text
            if variant.max_age is not None:
                assert f"sampai {variant.max_age} tahun" in text
            for requirement in variant.requirements:
                assert requirement.label in text and requirement.hint in text
            for note in variant.notes:
                assert note in text
        if service.reporting_deadline_days:
            assert f"Batas waktu pelaporan: {service.reporting_deadline_days} hari" in text
            assert service.deadline_note in text
        assert ("Gratis, tidak dipungut biaya." in text) == service.free
        assert f"Target selesai: {service.target_days} hari kerja" in text


def test_every_picture_exists_and_is_a_small_webp(pages):
    for page in pages:
        for shot in page.shots:
            path = media.image_path(shot)
            assert path.exists(), f"{path.name} is missing: run `make guide`"
            data = path.read_bytes()
            assert data[:4] == b"RIFF" and data[8:12] == b"WEBP", path.name
            assert len(data) < IMAGE_MAX_BYTES, (path.name, len(data))
            picture = media.picture(shot)
            assert picture.width <= 720 and picture.height > 0


def test_every_narration_exists_is_small_and_speaks_the_page_as_it_is_now(client, pages):
    for page in pages:
        spoken = build.page_narrations(client.get(f"/bantuan/{page.slug}").get_data(as_text=True))
        assert set(spoken) == set(page.clips), page.slug
        for clip, text in spoken.items():
            path = media.audio_path(clip)
            assert path.exists(), f"{path.name} is missing: run `make guide`"
            data = path.read_bytes()
            assert data[:4] == b"OggS" and b"OpusHead" in data[:200], path.name
            assert len(data) < AUDIO_MAX_BYTES, (path.name, len(data))
            assert media.opus_seconds(path) > 2
            assert media.spoken_digest(path) == media.text_digest(text), (
                f"{path.name} speaks an older text of /bantuan/{page.slug}: run `make guide` "
                "(or just `.venv/bin/python -m eopen.help.build audio`)")


def test_the_guide_folder_holds_only_what_pages_use(pages):
    shots = {shot for page in pages for shot in page.shots}
    clips = {clip for page in pages for clip in page.clips}
    assert {p.stem for p in media.IMG_DIR.iterdir()} == shots
    assert {p.stem for p in media.AUDIO_DIR.iterdir()} == clips


def test_narration_reads_the_visible_text_in_order(client):
    html = client.get("/bantuan/daftar").get_data(as_text=True)
    spoken = build.page_narrations(html)
    first = spoken["daftar-akun"].splitlines()
    assert first[0] == "Mendaftar akun."  # the title, then the intro; not the player's own words
    assert first[1].startswith("Untuk mengajukan permohonan, Anda perlu akun E-Open.")
    assert first[2] == "Langkah 1." and first[3].startswith("Buka halaman depan E-Open")
    assert not any(words in line for line in first
                   for words in ("Unduh rekaman", "Panduan untuk", "Juga di halaman ini", "Menambah anggota"))
    assert spoken["daftar-masuk"].startswith("Masuk lagi.\nLangkah 1.")


# --- the "Bantuan" link of every screen ------------------------------------------------------------------

def test_every_screen_has_a_guide_page(app, pages):
    slugs = set(page_slugs())
    sections = {page.slug: {section.id for section in page.sections} for page in pages}
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    assert links.NOT_PAGES <= endpoints, "an exception for a screen that no longer exists"
    for endpoint in sorted(endpoints - links.NOT_PAGES):
        target = links.target_for(endpoint)
        assert target is not None, f"{endpoint}: no guide page in eopen/help/links.py (or list it in NOT_PAGES)"
        assert target.slug == links.INDEX or target.slug in slugs, (endpoint, target)
        if target.anchor:
            assert target.anchor in sections[target.slug], (endpoint, target)
    for code in (service.code for service in get_catalogue().services):
        target = links.target_for("apply.data", code)
        assert target.slug in slugs and target.anchor in sections[target.slug]


def help_link(html: str) -> str:
    found = re.findall(r'<a href="([^"]*)"[^>]*>Bantuan</a>', html)
    assert len(found) == 1, found
    return found[0]


def test_the_menu_links_to_the_guide_page_of_the_screen(client, login, make_resident, make_staff, make_request):
    assert help_link(client.get("/").get_data(as_text=True)) == "/bantuan/"
    assert help_link(client.get("/daftar").get_data(as_text=True)) == "/bantuan/daftar"
    assert help_link(client.get("/bantuan/").get_data(as_text=True)) == "/bantuan/"

    resident = make_resident()
    login(resident)
    request_id = make_request(resident, service="kia", status="draft")
    from eopen.extensions import db
    from eopen.models import ServiceRequest
    with client.application.app_context():
        tracking_no = db.session.get(ServiceRequest, request_id).tracking_no
    assert help_link(client.get("/permohonan").get_data(as_text=True)) == "/bantuan/pantau-permohonan#status"
    r = client.get(f"/ajukan/{tracking_no}/untuk")
    assert r.status_code == 200 and help_link(r.get_data(as_text=True)) == "/bantuan/kia#cara"
    r = client.get(f"/ajukan/{tracking_no}/dokumen/kk")
    assert r.status_code == 200 and help_link(r.get_data(as_text=True)) == "/bantuan/unggah-dokumen"

    login(make_staff("operator", kecamatan_code="32.75.01"))
    r = client.get("/kantor/antrean")
    assert r.status_code == 200 and help_link(r.get_data(as_text=True)) == "/bantuan/antrean-operator"
