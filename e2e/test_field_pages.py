"""Jemput-antar in a real browser: a resident asks for a pickup, the RW's satgas sees it on the phone and
sets off; axe-clean on every page."""
import re
from datetime import timedelta

from playwright.sync_api import expect

KELURAHAN = "32.75.01.1001"  # the RW 1 the sign-up helper uses


def next_working_day():
    from eopen.services import sla
    day = sla.today_local() + timedelta(days=1)
    while not sla.is_working_day(day):
        day += timedelta(days=1)
    return day


def test_resident_asks_for_pickup_and_the_satgas_sets_off(phone, fresh_context, axe, sign_up, add_newborn,
                                                          apply_for_birth_certificate, new_resident, phone_photo,
                                                          staff_user, log_in, live_server):
    satgas = staff_user("satgas", "32.75.01", name="Satgas Bekasijaya Uji")
    with live_server.app.app_context():
        from sqlalchemy import select

        from eopen.extensions import db
        from eopen.models import RW, SatgasAssignment, User
        rw = db.session.scalar(select(RW).where(RW.kelurahan_code == KELURAHAN, RW.number == 1))
        satgas_id = db.session.scalar(select(User.id).where(User.username == satgas.username))
        db.session.execute(SatgasAssignment.__table__.delete().where(SatgasAssignment.rw_id == rw.id))
        db.session.add(SatgasAssignment(rw_id=rw.id, satgas_id=satgas_id, kind="primary"))
        db.session.commit()

    page = phone.new_page()
    resident = new_resident()
    sign_up(page, resident, check=False)
    child = add_newborn(page, resident, check=False)
    application = apply_for_birth_certificate(page, resident, child, phone_photo, check=False)
    page.get_by_role("button", name="Kirim permohonan").click()
    expect(page).to_have_url(re.compile(r"/terkirim$"))

    page.get_by_role("link", name="Minta dijemput/diantar Satgas Pamor").click()
    axe(page, "jemput-antar: new")
    page.get_by_label(re.compile(r"^Dijemput")).check()
    page.get_by_label("Tanggal kunjungan").fill(next_working_day().isoformat())
    page.get_by_label("Pagi 08.00–12.00").check()
    page.get_by_label(re.compile(r"^Catatan alamat")).fill("Rumah pagar hijau dekat musala")
    page.get_by_role("button", name="Kirim permintaan").click()
    expect(page.get_by_role("status").filter(has_text="terkirim ke Satgas Pamor")).to_be_visible()
    axe(page, "status page with a jemput-antar job")

    field = fresh_context("phone").new_page()
    log_in(field, satgas.username)
    expect(field).to_have_url(re.compile(r"/lapangan/$"))
    expect(field.get_by_role("link", name=f"Telepon {resident.name}").first).to_be_visible()
    axe(field, "field: jobs")
    field.get_by_role("link", name=re.compile(child)).first.click()
    axe(field, "field: job")
    field.get_by_role("button", name="Berangkat sekarang").click()
    expect(field.get_by_text(re.compile("dalam perjalanan", re.I)).first).to_be_visible()
    axe(field, "field: job on the way")
    assert application.tracking_no
