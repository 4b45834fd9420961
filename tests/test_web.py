"""Response headers for uploaded files."""
from flask import Response

from eopen.web import uploaded_file_headers


def test_uploaded_images_are_sandboxed_pdfs_may_be_framed_by_our_pages(app):
    with app.test_request_context():
        image = uploaded_file_headers(Response(b"x", mimetype="image/jpeg"))
        pdf = uploaded_file_headers(Response(b"%PDF-", mimetype="application/pdf"))
    for response in (image, pdf):
        assert response.headers["Cache-Control"] == "private, no-store"
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    assert "sandbox" in image.headers["Content-Security-Policy"]
    assert "sandbox" not in pdf.headers["Content-Security-Policy"]  # Chromium's PDF viewer needs that


def test_an_xhr_upload_is_told_where_to_go_instead_of_redirected(client, make_resident, login, app):
    """upload.js follows X-Eopen-Location itself, so the next page (and its flash) loads once."""
    login(make_resident())
    r = client.post("/ajukan/", data={"service": "kia", "client_token": "t-xhr"}, headers={"X-Eopen-Upload": "1"})
    assert r.status_code == 204 and r.headers["X-Eopen-Location"].startswith("/ajukan/")
    r = client.post("/ajukan/", data={"service": "kia", "client_token": "t-xhr"})
    assert r.status_code == 303  # without the header: the plain redirect
