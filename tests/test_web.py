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
