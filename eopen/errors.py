"""Error pages: clear words in the user's language, never a stack trace."""
from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        message = _("Formulir ini sudah kedaluwarsa atau tidak lengkap. Muat ulang halaman lalu kirim lagi.")
        return render_template("errors/error.html", code=400, title=_("Formulir kedaluwarsa"),
                               message=message), 400

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error):
        message = _("Berkas terlalu besar. Ukuran maksimum 15 MB per berkas. "
                    "Kembali, lalu pilih foto atau PDF yang lebih kecil.")
        return render_template("errors/error.html", code=413, title=_("Berkas terlalu besar"),
                               message=message, back=request.referrer), 413

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        titles = {
            400: _("Permintaan tidak valid"),
            403: _("Akses ditolak"),
            404: _("Halaman tidak ditemukan"),
            405: _("Cara akses tidak diizinkan"),
            422: _("Data belum benar"),
            429: _("Terlalu banyak permintaan"),
        }
        messages = {
            404: _("Halaman yang Anda cari tidak ada atau Anda tidak berhak membukanya. "
                   "Periksa alamatnya, atau kembali ke beranda."),
            403: _("Anda tidak berhak membuka halaman ini."),
        }
        code = error.code or 500
        return render_template("errors/error.html", code=code,
                               title=titles.get(code, _("Terjadi kesalahan")),
                               message=messages.get(code, _("Permintaan tidak dapat diproses.")),
                               ), code

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        if app.testing and not app.config.get("EOPEN_FRIENDLY_500"):
            raise error  # tests see the real exception
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return render_template("errors/error.html", code=500, title=_("Terjadi kesalahan di server"),
                               message=_("Maaf, terjadi kesalahan di pihak kami. Data yang sudah Anda "
                                         "simpan tidak hilang. Coba lagi beberapa saat lagi.")), 500
