"""The field mode's offline support on the server side of the page: the service worker's URL and the
queue's status element (the queue itself is exercised in a browser: e2e/test_offline_queue.py)."""
import re

from eopen.web import CSP


def test_service_worker_is_served_inside_the_field_scope(client):
    response = client.get("/lapangan/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    body = response.get_data(as_text=True)
    response.close()
    assert 'addEventListener("fetch"' in body and "eopen-field-pages" in body


def test_csp_lets_the_page_register_a_same_origin_worker():
    # No worker-src/child-src: workers fall back to script-src, which must allow our own scripts.
    assert "worker-src" not in CSP and "child-src" not in CSP
    assert "script-src 'self'" in CSP


def test_field_pages_carry_the_queue_and_its_texts(client, login, make_staff):
    satgas = make_staff("satgas")
    login(satgas)
    html = client.get("/lapangan/").get_data(as_text=True)
    assert re.search(r'<script src="/static/js/field-queue.js" defer></script>', html)
    box = re.search(r'<div class="fq" id="field-queue" hidden([^>]*)>', html)
    assert box, "the queue's status element is on the job list"
    attrs = box.group(1)
    assert f'data-user="{satgas}"' in attrs
    assert 'data-sw="/lapangan/sw.js"' in attrs and 'data-scope="/lapangan/"' in attrs
    assert 'data-logout="/keluar"' in attrs and 'data-login="/masuk"' in attrs
    assert 'data-msg-one="1 tindakan menunggu dikirim"' in attrs
    assert 'data-msg-many="{n} tindakan menunggu dikirim"' in attrs
    assert 'role="status"' in html


def test_pages_outside_the_field_mode_do_not_load_the_queue(client, login, make_resident):
    login(make_resident())
    html = client.get("/").get_data(as_text=True)
    assert "field-queue" not in html
