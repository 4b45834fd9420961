"""The chain of custody in real browsers (issue 4): a resident asks for a pickup → the RW's satgas takes the
damaged KTP-el with the resident's code → brings it to the kecamatan desk, confirmed by the operator's desk
code → after the card is issued the satgas takes it at the desk and delivers it with the resident's (new)
code → the resident's status says it was received. JavaScript on and off; axe-clean on every page."""
import re
import time
from datetime import timedelta

from journeys import submitted_ktp_request
from playwright.sync_api import expect

KELURAHAN = "32.75.01.1001"  # the kelurahan and RW 1 the sign-up helper uses
KECAMATAN = "32.75.01"


def next_working_day():
    from eopen.services import sla
    day = sla.today_local() + timedelta(days=1)
    while not sla.is_working_day(day):
        day += timedelta(days=1)
    return day


def make_primary(live_server, username):
    from sqlalchemy import select

    from eopen.extensions import db
    from eopen.models import RW, SatgasAssignment, User
    with live_server.app.app_context():
        rw = db.session.scalar(select(RW).where(RW.kelurahan_code == KELURAHAN, RW.number == 1))
        satgas = db.session.scalar(select(User).where(User.username == username))
        satgas.kecamatan_code = KECAMATAN
        db.session.execute(SatgasAssignment.__table__.delete().where(SatgasAssignment.rw_id == rw.id))
        db.session.add(SatgasAssignment(rw_id=rw.id, satgas_id=satgas.id, kind="primary"))
        db.session.commit()


def issue_card(live_server, tracking_no, operator_username, kasi_username):
    """The office's part (tested in the back-office e2e): claim, approve, Kasi verifies, SIAK, issued."""
    from sqlalchemy import select

    from eopen.extensions import db
    from eopen.models import ServiceRequest, User
    from eopen.services import fulfilment, lifecycle
    with live_server.app.app_context():
        req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == tracking_no))
        operator = db.session.scalar(select(User).where(User.username == operator_username))
        kasi = db.session.scalar(select(User).where(User.username == kasi_username))
        lifecycle.perform(req, "claim", operator)
        lifecycle.perform(req, "approve", operator)
        lifecycle.perform(req, "verify", kasi)
        fulfilment.after_decision(req)
        db.session.commit()
        request_id = req.id
    # The live server's worker hands it to SIAK (the local adapter) and issues it within a round or two.
    deadline = time.monotonic() + 15
    while True:
        with live_server.app.app_context():
            status = db.session.get(ServiceRequest, request_id).status
        if status == "issued" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == "issued"


def ask(page, kind_label: str):
    page.get_by_role("link", name="Minta dijemput/diantar Satgas Pamor").click()
    page.get_by_label(re.compile(rf"^{kind_label}")).check()
    page.get_by_label("Tanggal kunjungan").fill(next_working_day().isoformat())
    page.get_by_label("Pagi 08.00–12.00").check()
    page.get_by_role("button", name="Kirim permintaan").click()
    expect(page.locator("#kode-serah-terima")).to_be_visible()
    return page.locator("#kode-serah-terima .code-big").inner_text().replace(" ", "")


def desk_code(page) -> str:
    page.goto("/kantor/serah-terima")
    return page.locator(".code-big").inner_text().replace(" ", "")


def test_pickup_desk_and_delivery_with_codes(phone, phone_js, fresh_context, axe, sign_up, new_resident,
                                            staff_user, log_in, live_server):
    satgas = staff_user("satgas", KECAMATAN)  # names with a serial: the js and nojs runs share a database
    operator = staff_user("operator", KECAMATAN)
    kasi = staff_user("kasi")
    make_primary(live_server, satgas.username)
    resident = new_resident("Sri Rahayu")

    page = phone.new_page()
    sign_up(page, resident, check=False)
    tracking = submitted_ktp_request(live_server, resident.nik)
    page.goto(f"/permohonan/{tracking}")
    code = ask(page, "Dijemput")
    axe(page, "status page with a handover code")

    # The satgas at the door takes the damaged card, confirmed by the resident's code.
    field = fresh_context("phone", js=phone_js).new_page()
    log_in(field, satgas.username)
    field.get_by_role("link", name=re.compile(r"^Jemput: Sri Rahayu")).click()
    field.get_by_role("button", name="Berangkat sekarang").click()
    field.get_by_role("link", name="Terima dokumen dari warga").click()
    axe(field, "field: pickup handover")
    field.get_by_label("KTP-el yang rusak").check()
    field.get_by_label("Kode dari warga").fill("000000" if code != "000000" else "111111")
    field.get_by_role("button", name="Simpan serah terima").click()
    expect(field.get_by_role("link", name=re.compile("Kode serah terima salah"))).to_be_visible()
    axe(field, "field: pickup handover with a wrong code")
    field.get_by_label("KTP-el yang rusak").check()
    field.get_by_label("Kode dari warga").fill(code)
    field.get_by_role("button", name="Simpan serah terima").click()
    expect(field.get_by_text("Serah terima tercatat: 1 barang diterima dari warga.")).to_be_visible()
    page.reload()
    expect(page.get_by_text(f"KTP-el yang rusak — dibawa Satgas Pamor {satgas.name}")).to_be_visible()

    # At the kecamatan desk: the operator shows the desk code, the satgas types it.
    desk = fresh_context("desktop", js=phone_js).new_page()
    log_in(desk, operator.username)
    code_in = desk_code(desk)
    axe(desk, "back office: desk code")
    field.goto("/lapangan/")
    field.get_by_role("link", name="Serah terima di kantor kecamatan").click()
    axe(field, "field: desk")
    bring = field.get_by_role("region", name="Serahkan dokumen warga ke kantor")
    bring.get_by_label(re.compile("KTP-el yang rusak")).check()
    bring.get_by_label("Petugas meja yang menunjukkan kode").select_option(label=operator.name)
    bring.get_by_label("Kode meja dari petugas").fill(code_in)
    bring.get_by_role("button", name="Serahkan ke kantor").click()
    expect(field.get_by_text("1 barang diserahkan ke kantor kecamatan.")).to_be_visible()
    desk.reload()
    expect(desk.get_by_role("region", name="Disimpan di kantor")).to_contain_text("KTP-el yang rusak")

    # The card is made; the resident asks for delivery and gets a new code.
    issue_card(live_server, tracking, operator.username, kasi.username)
    page.reload()
    second_code = ask(page, "Diantar")
    assert second_code != code

    # The satgas takes the card at the desk (a new desk code: the first one was used) and delivers it.
    code_out = desk_code(desk)
    assert code_out != code_in
    field.goto("/lapangan/kantor")
    take = field.get_by_role("region", name="Ambil kartu atau dokumen untuk diantar")
    take.get_by_label(re.compile(tracking)).check()
    take.get_by_label("Petugas meja yang menunjukkan kode").select_option(label=operator.name)
    take.get_by_label("Kode meja dari petugas").fill(code_out)
    take.get_by_role("button", name="Ambil untuk diantar").click()
    expect(field.get_by_text("1 kartu/dokumen dibawa untuk diantar.")).to_be_visible()
    field.goto("/lapangan/")
    field.get_by_role("link", name=re.compile(r"^Antar: Sri Rahayu")).click()
    axe(field, "field: delivery job")
    field.get_by_role("link", name="Serahkan kepada warga").click()
    axe(field, "field: delivery handover")
    field.get_by_label("Kode dari warga").fill(second_code)
    field.get_by_role("button", name="Simpan serah terima").click()
    expect(field.get_by_text(re.compile(r"Serah terima tercatat: \d barang diterima warga."))).to_be_visible()

    page.reload()
    expect(page.get_by_text("Sudah diterima").first).to_be_visible()
    expect(page.get_by_text("Kartu KTP Elektronik (KTP-el) — ada pada Anda")).to_be_visible()
    axe(page, "status page: delivered")


def card_with_the_satgas(live_server, tracking_no, satgas_username, operator_username, kasi_username) -> int:
    """Up to the door (the steps above, through the services): issued, a delivery job, the card taken at
    the desk with the operator's code. Returns the delivery job's id."""
    from sqlalchemy import select

    from eopen.extensions import db
    from eopen.models import ServiceRequest, User, utcnow
    from eopen.services import custody, fieldjobs
    from field import handovers
    issue_card(live_server, tracking_no, operator_username, kasi_username)
    with live_server.app.app_context():
        req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == tracking_no))
        satgas = db.session.scalar(select(User).where(User.username == satgas_username))
        operator = db.session.scalar(select(User).where(User.username == operator_username))
        job = fieldjobs.request_job(req, req.applicant, "delivery", next_working_day(), "08-12", None, None)
        code = custody.desk_code(operator).code
        handovers.collect_from_office(satgas, [job.id], operator.id, code, utcnow())
        db.session.commit()
        return job.id


def delivery_state(live_server, tracking_no):
    from sqlalchemy import func, select

    from eopen.extensions import db
    from eopen.models import FieldAction, Handover, ServiceRequest
    with live_server.app.app_context():
        req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.tracking_no == tracking_no))
        to_resident = db.session.scalar(select(func.count()).select_from(Handover).where(
            Handover.request_id == req.id, Handover.to_type == "resident"))
        accepted = db.session.scalar(select(func.count()).select_from(FieldAction).where(
            FieldAction.action == "handover", FieldAction.outcome == "accepted"))
        return req.status, to_resident, accepted


def test_delivery_confirmed_offline_is_queued_and_arrives_once(fresh_context, axe, sign_up, new_resident,
                                                              staff_user, log_in, live_server):
    satgas = staff_user("satgas", KECAMATAN)
    operator = staff_user("operator", KECAMATAN)
    kasi = staff_user("kasi")
    make_primary(live_server, satgas.username)
    resident = new_resident("Wati Luring")
    page = fresh_context("phone").new_page()
    sign_up(page, resident, check=False)
    tracking = submitted_ktp_request(live_server, resident.nik)
    job_id = card_with_the_satgas(live_server, tracking, satgas.username, operator.username, kasi.username)
    page.goto(f"/permohonan/{tracking}")
    code = page.locator("#kode-serah-terima .code-big").inner_text().replace(" ", "")
    _status, _handovers, accepted_before = delivery_state(live_server, tracking)

    field_context = fresh_context("phone")
    field = field_context.new_page()
    log_in(field, satgas.username)
    field.goto(f"/lapangan/tugas/{job_id}")
    field.get_by_role("link", name="Serahkan kepada warga").click()
    field.get_by_label("Kode dari warga").fill(code)
    field_context.set_offline(True)  # the signal drops at the door
    field.get_by_role("button", name="Simpan serah terima").click()
    expect(field.get_by_text("1 tindakan menunggu dikirim")).to_be_visible()
    axe(field, "field: a delivery waiting on the phone")
    assert delivery_state(live_server, tracking) == ("out_for_delivery", 0, accepted_before)

    field_context.set_offline(False)
    expect(field.get_by_text("Terkirim: 1 tindakan.")).to_be_visible()
    expect(field.get_by_text("1 tindakan menunggu dikirim")).to_have_count(0)
    assert delivery_state(live_server, tracking) == ("delivered", 1, accepted_before + 1)
    field.reload()  # nothing is sent twice
    assert delivery_state(live_server, tracking) == ("delivered", 1, accepted_before + 1)
    page.reload()
    expect(page.get_by_text("Sudah diterima").first).to_be_visible()
