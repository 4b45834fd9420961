"""The bell, the notification list and the preferences page in a browser, JavaScript on and off, axe-clean."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_bell_list_and_preferences(live_server, fresh_context, staff_user, log_in, axe, js):
    from eopen.extensions import db
    from eopen.models import User
    from eopen.services import notify

    operator = staff_user("operator", "32.75.01")
    with live_server.app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == operator.username))
        user.email = f"{operator.username}@contoh.id"
        user.phone = None
        for i in range(3):
            notify.notify(user, "halo_resident_reply", params={"subject": f"Pertanyaan warga {i}"})
        db.session.commit()

    page = fresh_context("phone", js=js).new_page()
    log_in(page, operator.username, operator.password)
    menu = page.get_by_role("navigation", name="Menu utama")
    bell = menu.get_by_role("link", name="Notifikasi (3) belum dibaca")
    expect(bell).to_be_visible()
    bell.click()
    expect(page.get_by_role("heading", name="Notifikasi", level=1)).to_be_visible()
    expect(page.get_by_role("heading", level=2)).to_have_count(3)
    axe(page, "notifications")

    page.get_by_role("button", name="Tandai semua sudah dibaca").click()
    expect(page.get_by_text("Semua pemberitahuan ditandai sudah dibaca.")).to_be_visible()
    expect(menu.get_by_role("link", name="Notifikasi", exact=True)).to_be_visible()

    page.get_by_role("link", name="Atur pemberitahuan lewat email, SMS, atau WhatsApp").click()
    expect(page.get_by_role("heading", name="Pengaturan pemberitahuan", level=1)).to_be_visible()
    email = page.get_by_label("Email")
    expect(email).to_be_checked()
    expect(page.get_by_text("SMS dan WhatsApp tidak tersedia")).to_be_visible()
    axe(page, "notification preferences")
    email.uncheck()
    page.get_by_role("button", name="Simpan pilihan").click()
    expect(page.get_by_text("Pilihan pemberitahuan disimpan.")).to_be_visible()
    expect(page.get_by_label("Email")).not_to_be_checked()
    with live_server.app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == operator.username))
        assert notify.preferences(user) == {"email": False, "sms": False, "whatsapp": False}
