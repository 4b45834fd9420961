"""Halo Pamor: routing, scope, replies, escalation after one working day (a controlled clock), auto-close,
FAQ suggestions (htmx block and the no-JS interstitial), double submit, closing and rating."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from eopen.extensions import db
from eopen.models import (RW, FaqEntry, HaloMessage, HaloThread, HolidayOverride, Notification, SatgasAssignment,
                          User, utcnow)
from eopen.services import demo, halo, sla

KEC, KEL = "32.75.01", "32.75.01.1001"
FAR_KEC = "32.75.02"
# Friday 14 Feb 2025, 15:00 in Bekasi (UTC+7) = 08:00 UTC; the next Monday is 17 Feb.
FRIDAY_15 = datetime(2025, 2, 14, 8, 0)
MONDAY_15 = datetime(2025, 2, 17, 8, 0)


@pytest.fixture
def world(app, make_resident, make_staff):
    """A resident of RW 1 (Bekasijaya), the RW's primary and backup satgas, a satgas of RW 2, the
    kecamatan's operator and two penyelia, staff of another kecamatan, another resident, an admin."""
    ids = {
        "resident": make_resident(name="Rina Warga"),
        "other_resident": make_resident(name="Tetangga Lain"),
        "primary": make_staff("satgas", KEC, username="satgas.utama"),
        "backup": make_staff("satgas", KEC, username="satgas.cadangan"),
        "rw2_satgas": make_staff("satgas", KEC, username="satgas.rw2"),
        "operator": make_staff("operator", KEC),
        "penyelia": make_staff("penyelia", KEC),
        "penyelia_2": make_staff("penyelia", KEC),
        "operator_far": make_staff("operator", FAR_KEC),
        "penyelia_far": make_staff("penyelia", FAR_KEC),
        "admin": make_staff("admin"),
    }
    with app.app_context():
        rw1 = db.session.scalar(select(RW).where(RW.kelurahan_code == KEL, RW.number == 1))
        rw2 = db.session.scalar(select(RW).where(RW.kelurahan_code == KEL, RW.number == 2))
        db.session.add_all([SatgasAssignment(rw_id=rw1.id, satgas_id=ids["primary"], kind="primary"),
                            SatgasAssignment(rw_id=rw1.id, satgas_id=ids["backup"], kind="backup"),
                            SatgasAssignment(rw_id=rw2.id, satgas_id=ids["rw2_satgas"], kind="primary")])
        db.session.get(User, ids["primary"]).display_name = "Satgas Utama"
        db.session.commit()
        ids["rw1"] = rw1.id
    return ids


def user(user_id) -> User:
    return db.session.get(User, user_id)


def open_(resident_id, now=None, subject="KTP-el belum jadi", body="Sudah seminggu KTP-el saya belum jadi.",
          **kwargs) -> HaloThread:
    kwargs.setdefault("kind", "complaint")
    kwargs.setdefault("category", "ktp_el")
    return halo.open_thread(user(resident_id), subject=subject, body=body, now=now, **kwargs)


def notes(kind=None, user_id=None) -> list[Notification]:
    stmt = select(Notification).order_by(Notification.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    if user_id:
        stmt = stmt.where(Notification.user_id == user_id)
    return list(db.session.scalars(stmt))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- routing -------------------------------------------------------------------------------------

def test_thread_goes_to_the_primary_satgas_of_the_residents_rw(app, world):
    with app.app_context():
        thread = open_(world["resident"])
        db.session.commit()
        assert thread.rw_id == world["rw1"] and thread.kecamatan_code == KEC and thread.status == "open"
        assert [m.body for m in thread.messages] == ["Sudah seminggu KTP-el saya belum jadi."]
        new = notes("halo_new")
        assert [(n.user_id, n.thread_id, n.params) for n in new] == [
            (world["primary"], thread.id, {"subject": "KTP-el belum jadi"})]


@pytest.mark.parametrize("flag", ["available", "active"])
def test_thread_goes_to_the_backup_when_the_primary_cannot_take_it(app, world, flag):
    with app.app_context():
        setattr(user(world["primary"]), flag, False)
        db.session.flush()
        open_(world["resident"])
        assert [n.user_id for n in notes("halo_new")] == [world["backup"]]


def test_thread_goes_to_the_penyelia_when_the_rw_has_no_satgas(app, world):
    with app.app_context():
        db.session.execute(SatgasAssignment.__table__.delete().where(SatgasAssignment.rw_id == world["rw1"]))
        user(world["penyelia_2"]).active = False
        db.session.flush()
        open_(world["resident"])
        assert [n.user_id for n in notes("halo_new")] == [world["penyelia"]]


# --- scope ---------------------------------------------------------------------------------------

def test_who_sees_a_thread(app, world):
    with app.app_context():
        thread = open_(world["resident"])
        db.session.commit()
        seeing = {name for name, uid in world.items() if name != "rw1" and halo.can_view(user(uid), thread)}
        assert seeing == {"resident", "primary", "backup", "operator", "penyelia", "penyelia_2"}


def test_pages_outside_scope_are_not_found(app, world, client, login):
    with app.app_context():
        thread_id = open_(world["resident"]).id
        db.session.commit()
    for name in ("rw2_satgas", "operator_far", "penyelia_far"):
        login(world[name])
        assert client.get(f"/halo/kantor/{thread_id}").status_code == 404, name
        assert client.post(f"/halo/kantor/{thread_id}/balas", data={"body": "Halo"}).status_code == 404, name
        assert "KTP-el belum jadi" not in client.get("/halo/kantor/").get_data(as_text=True), name
    login(world["other_resident"])
    assert client.get(f"/halo/{thread_id}").status_code == 404
    assert client.post(f"/halo/{thread_id}/balas", data={"body": "Halo"}).status_code == 404
    assert "KTP-el belum jadi" not in client.get("/halo/").get_data(as_text=True)
    login(world["resident"])
    assert client.get("/halo/kantor/").status_code == 403  # a staff page
    assert client.get(f"/halo/kantor/{thread_id}").status_code == 403
    login(world["admin"])
    assert client.get("/halo/kantor/").status_code == 403
    with app.app_context():
        assert count(HaloMessage) == 1  # nothing was posted by anybody out of scope
    for name in ("primary", "backup", "operator", "penyelia"):
        login(world[name])
        page = client.get("/halo/kantor/").get_data(as_text=True)
        assert "KTP-el belum jadi" in page, name
        assert client.get(f"/halo/kantor/{thread_id}").status_code == 200, name
        # Notifications link to /halo/<id>: staff in scope are sent on to their page of the thread.
        response = client.get(f"/halo/{thread_id}")
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/halo/kantor/{thread_id}")
    login(world["rw2_satgas"])
    assert client.get(f"/halo/{thread_id}").status_code == 404


def test_a_resident_links_only_their_own_requests(app, world, make_request):
    mine = make_request(world["resident"], status="submitted")
    draft = make_request(world["resident"], status="draft")
    theirs = make_request(world["other_resident"], status="submitted")
    with app.app_context():
        from eopen.models import ServiceRequest
        db.session.get(ServiceRequest, mine).submitted_at = datetime(2025, 2, 1)
        db.session.get(ServiceRequest, theirs).submitted_at = datetime(2025, 2, 1)
        db.session.flush()
        assert [r.id for r in halo.linkable_requests(user(world["resident"]))] == [mine]
        for bad in (theirs, draft):
            with pytest.raises(halo.HaloError) as error:
                open_(world["resident"], request_id=bad)
            assert error.value.field == "request_id"
        assert open_(world["resident"], request_id=mine).request_id == mine


# --- replies -------------------------------------------------------------------------------------

def test_replies_move_the_status_and_tell_the_other_side(app, world):
    with app.app_context():
        thread = open_(world["resident"], now=FRIDAY_15)
        answer_at = FRIDAY_15 + timedelta(hours=2)
        halo.reply(thread, user(world["primary"]), "KTP-el Anda sudah dicetak, bisa diambil besok.", now=answer_at)
        assert thread.status == "answered"
        assert thread.first_answer_at == answer_at and thread.last_answer_at == answer_at
        assert [(n.user_id, n.params) for n in notes("halo_reply")] == [
            (world["resident"], {"subject": "KTP-el belum jadi", "by": "Satgas Utama"})]

        halo.reply(thread, user(world["resident"]), "Bisa diantar?", now=answer_at + timedelta(hours=1))
        assert thread.status == "open"  # a staff answer is owed again
        assert [n.user_id for n in notes("halo_resident_reply")] == [world["primary"]]  # who answered, not the backup

        later = answer_at + timedelta(hours=3)
        halo.reply(thread, user(world["operator"]), "Bisa, Satgas akan menghubungi Anda.", now=later)
        assert thread.status == "answered" and thread.first_answer_at == answer_at and thread.last_answer_at == later
        db.session.commit()
        assert [m.author_id for m in thread.messages] == [world["resident"], world["primary"], world["resident"],
                                                          world["operator"]]


def test_staff_reply_through_the_page(app, world, client, login):
    with app.app_context():
        thread_id = open_(world["resident"]).id
        db.session.commit()
    login(world["backup"])
    response = client.post(f"/halo/kantor/{thread_id}/balas", data={"body": "", "client_token": "t1"})
    assert response.status_code == 422 and "Galat" in response.get_data(as_text=True)
    response = client.post(f"/halo/kantor/{thread_id}/balas", data={"body": "Sudah kami cek.", "client_token": "t1"})
    assert response.status_code == 303
    client.post(f"/halo/kantor/{thread_id}/balas", data={"body": "Sudah kami cek.", "client_token": "t1"})
    with app.app_context():
        thread = db.session.get(HaloThread, thread_id)
        assert thread.status == "answered"
        assert [m.body for m in thread.messages][1:] == ["Sudah kami cek."]  # the double tap posted once
        assert len(notes("halo_reply")) == 1
    login(world["resident"])
    page = client.get(f"/halo/{thread_id}").get_data(as_text=True)
    assert "Sudah kami cek." in page and "Sudah dijawab" in page


def test_nobody_writes_to_a_closed_thread(app, world):
    with app.app_context():
        thread = open_(world["resident"])
        halo.close(thread, user(world["resident"]))
        for who in ("resident", "primary"):
            with pytest.raises(halo.HaloError):
                halo.reply(thread, user(world[who]), "Masih ada?")
        assert len(thread.messages) == 1


# --- escalation and auto-close (a controlled clock) ----------------------------------------------

def test_escalates_exactly_one_working_day_later_and_once(app, world):
    with app.app_context():
        assert FRIDAY_15.weekday() == 4 and sla.is_working_day(date(2025, 2, 14)) \
            and sla.is_working_day(date(2025, 2, 17))
        thread = open_(world["resident"], now=FRIDAY_15)
        db.session.commit()
        assert halo.answer_due(thread.created_at) == MONDAY_15
        for now in (FRIDAY_15 + timedelta(days=1), FRIDAY_15 + timedelta(days=2), MONDAY_15 - timedelta(seconds=1)):
            assert halo.tick(now).escalated == []
            assert thread.escalated_at is None and not halo.is_overdue(thread, now)
        result = halo.tick(MONDAY_15)
        db.session.commit()
        assert result.escalated == [thread.id]
        assert thread.escalated_at == MONDAY_15 and halo.is_overdue(thread, MONDAY_15)
        assert sorted(n.user_id for n in notes("halo_escalated")) == sorted([world["penyelia"], world["penyelia_2"]])
        assert halo.tick(MONDAY_15 + timedelta(days=1)).escalated == []
        assert len(notes("halo_escalated")) == 2  # once only
        rows = halo.staff_threads(user(world["primary"]), MONDAY_15)
        assert [(r.thread.id, r.overdue, r.age) for r in rows] == [(thread.id, True, "1 hari kerja")]
        assert [r.thread.id for r in halo.escalations(user(world["penyelia"]), MONDAY_15)] == [thread.id]
        assert halo.escalations(user(world["penyelia_far"]), MONDAY_15) == []


def test_a_holiday_does_not_count(app, world):
    with app.app_context():
        db.session.add(HolidayOverride(day=date(2025, 2, 17), is_holiday=True, name="Libur uji"))
        db.session.flush()
        thread = open_(world["resident"], now=FRIDAY_15)
        assert halo.tick(MONDAY_15).escalated == []
        assert halo.tick(MONDAY_15 + timedelta(days=1) - timedelta(minutes=1)).escalated == []
        assert halo.tick(MONDAY_15 + timedelta(days=1)).escalated == [thread.id]


def test_an_answered_thread_is_not_escalated(app, world):
    with app.app_context():
        thread = open_(world["resident"], now=FRIDAY_15)
        halo.reply(thread, user(world["operator"]), "Sedang kami periksa.", now=FRIDAY_15 + timedelta(hours=1))
        halo.reply(thread, user(world["resident"]), "Terima kasih, ditunggu.", now=FRIDAY_15 + timedelta(hours=2))
        assert thread.status == "open"
        assert halo.tick(MONDAY_15 + timedelta(days=2)).escalated == []
        assert notes("halo_escalated") == []


def test_answered_threads_close_themselves_after_quiet_days(app, world):
    app.config["HALO_AUTO_CLOSE_DAYS"] = 3
    with app.app_context():
        quiet = open_(world["resident"], now=FRIDAY_15)
        halo.reply(quiet, user(world["primary"]), "Sudah bisa diambil.", now=FRIDAY_15)
        talking = open_(world["resident"], now=FRIDAY_15, subject="Lain", client_token="x2")
        halo.reply(talking, user(world["primary"]), "Jawaban.", now=FRIDAY_15)
        halo.reply(talking, user(world["resident"]), "Masih belum jelas.", now=FRIDAY_15 + timedelta(days=1))
        waiting = open_(world["resident"], now=FRIDAY_15, subject="Belum dijawab", client_token="x3")
        db.session.commit()
        assert halo.tick(FRIDAY_15 + timedelta(days=3) - timedelta(seconds=1)).closed == []
        result = halo.tick(FRIDAY_15 + timedelta(days=3))
        db.session.commit()
        assert result.closed == [quiet.id]
        assert (quiet.status, quiet.closed_by, quiet.closed_at) == ("closed", "auto", FRIDAY_15 + timedelta(days=3))
        assert talking.status == "open" and waiting.status == "open"
        assert halo.status_words(quiet) == "Selesai (ditutup otomatis)"


def test_age_in_words(app):
    with app.app_context():
        assert halo.age_words(FRIDAY_15, FRIDAY_15 + timedelta(minutes=5)) == "5 menit"
        assert halo.age_words(FRIDAY_15, FRIDAY_15 + timedelta(hours=3)) == "3 jam"
        assert halo.age_words(FRIDAY_15, FRIDAY_15 + timedelta(days=2)) == "48 jam"  # a weekend: no working day
        assert halo.age_words(FRIDAY_15, MONDAY_15 + timedelta(days=1)) == "2 hari kerja"


def test_overdue_is_said_in_words_on_the_staff_pages(app, world, client, login):
    with app.app_context():
        thread_id = open_(world["resident"], now=utcnow() - timedelta(days=10)).id
        halo.tick(utcnow())
        db.session.commit()
    login(world["primary"])
    assert "Terlambat: belum dijawab lebih dari satu hari kerja" in client.get("/halo/kantor/").get_data(as_text=True)
    login(world["penyelia"])
    page = client.get("/halo/kantor/eskalasi").get_data(as_text=True)
    assert f"/halo/kantor/{thread_id}" in page and "Sudah diteruskan ke penyelia" in page
    login(world["operator"])
    assert client.get("/halo/kantor/eskalasi").status_code == 403


# --- FAQ suggestions -----------------------------------------------------------------------------

@pytest.fixture
def faq(app):
    with app.app_context():
        entries = [
            FaqEntry(category="ktp_el", question="Berapa lama KTP-el selesai?", answer="Satu hari kerja.",
                     keywords="ektp lama jadi selesai", position=1),
            FaqEntry(category="ktp_el", question="KTP-el saya hilang, bagaimana?", answer="Lapor polisi dulu.",
                     keywords="ektp hilang rusak ganti", position=2),
            FaqEntry(category="akta", question="Apa syarat akta kelahiran?", answer="Surat keterangan lahir.",
                     keywords="lahir bayi syarat", position=3),
            FaqEntry(category="kk", question="Bagaimana mengubah KK setelah bayi lahir?", answer="Ajukan perubahan.",
                     keywords="kartu keluarga bayi lahir", position=4),
            FaqEntry(category="ktp_el", question="KTP-el jadi berapa lama? (lama)", answer="Tidak dipakai.",
                     keywords="ektp lama jadi", active=False),
        ]
        db.session.add_all(entries)
        db.session.commit()
        return {e.question: e.id for e in entries}


def test_words_are_normalised_and_stop_words_dropped(app):
    assert halo.words("Bagaimana cara mengurus KTP-el saya yang HILANG?") == ["mengurus", "ktp", "hilang"]
    assert halo.words("e-KTP / eKTP") == ["ktp", "ktp"]
    assert halo.words("Aktanya belum jadi, kenapa ya?") == ["akta", "jadi"]
    assert halo.words("Saya mau tanya dong") == []
    assert halo.words("Café") == ["cafe"]


def test_suggestions_rank_by_shared_words(app, faq):
    with app.app_context():
        found = halo.suggest("Sudah lama KTP-el saya belum jadi")
        assert [e.question for e in found][:1] == ["Berapa lama KTP-el selesai?"]
        assert "KTP-el jadi berapa lama? (lama)" not in [e.question for e in found]  # inactive
        # Two words needed when the text has two or more: "bayi lahir" matches both entries about births;
        # the chosen category wins a tie.
        assert [e.question for e in halo.suggest("bayi saya lahir", "kk")] == [
            "Bagaimana mengubah KK setelah bayi lahir?", "Apa syarat akta kelahiran?"]
        assert [e.question for e in halo.suggest("bayi saya lahir", "akta")] == [
            "Apa syarat akta kelahiran?", "Bagaimana mengubah KK setelah bayi lahir?"]
        assert halo.suggest("pindah rumah ke Jakarta") == []
        assert halo.suggest("hilang") and halo.suggest("") == []
        assert len(halo.suggest("ktp el ektp lama jadi hilang syarat bayi lahir kartu keluarga")) == 3


def test_suggestions_block_for_htmx_and_full_page_without(app, world, faq, client, login):
    login(world["resident"])
    url = "/halo/baru/saran?subject=KTP-el+hilang&body=kemarin+hilang+di+pasar&category=ktp_el"
    block = client.get(url, headers={"HX-Request": "true", "HX-Target": "faq-suggestions"})
    text = block.get_data(as_text=True)
    assert block.status_code == 200 and "<html" not in text and "<form" not in text
    assert "KTP-el saya hilang, bagaimana?" in text
    assert f'name="seen" value="{faq["KTP-el saya hilang, bagaimana?"]}' in text
    full = client.get(url).get_data(as_text=True)
    assert "<html" in full and 'value="KTP-el hilang"' in full and "KTP-el saya hilang, bagaimana?" in full
    empty = client.get("/halo/baru/saran?subject=pindah+domisili", headers={"HX-Request": "true",
                                                                            "HX-Target": "faq-suggestions"})
    assert "Mungkin ini jawabannya" not in empty.get_data(as_text=True)
    login(world["primary"])
    assert client.get(url).status_code == 404  # residents only


def form_data(**overrides):
    data = {"kind": "question", "category": "ktp_el", "request_id": "", "subject": "KTP-el hilang",
            "body": "KTP-el saya hilang di pasar, bagaimana menggantinya?", "client_token": "tok-1"}
    data.update(overrides)
    return data


def test_no_js_interstitial_before_posting(app, world, faq, client, login):
    login(world["resident"])
    response = client.post("/halo/baru", data=form_data())
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Mungkin ini jawabannya" in page and "Lapor polisi dulu." in page
    assert "Tetap kirim" in page and "Pertanyaan saya terjawab" in page
    with app.app_context():
        assert count(HaloThread) == 0
    # The hidden inputs carry everything on.
    carried = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    assert carried["subject"] == "KTP-el hilang" and carried["client_token"] == "tok-1"

    response = client.post("/halo/baru", data=form_data(action="answered"))
    assert response.status_code == 303 and response.headers["Location"].endswith("/halo/")
    with app.app_context():
        assert count(HaloThread) == 0 and notes() == []

    response = client.post("/halo/baru", data=form_data(action="send"))
    assert response.status_code == 303
    with app.app_context():
        thread = db.session.scalar(select(HaloThread))
        assert response.headers["Location"].endswith(f"/halo/{thread.id}")
        assert thread.subject == "KTP-el hilang" and thread.kind == "question"


def test_posts_at_once_when_nothing_matches_or_all_were_seen(app, world, faq, client, login):
    login(world["resident"])
    response = client.post("/halo/baru", data=form_data(subject="Pindah domisili", body="Ke Jakarta", client_token="a"))
    assert response.status_code == 303
    seen = ",".join(str(i) for i in faq.values())
    response = client.post("/halo/baru", data=form_data(client_token="b", seen=seen))
    assert response.status_code == 303  # the suggestions were shown while typing
    with app.app_context():
        assert count(HaloThread) == 2


def test_double_submit_makes_one_thread(app, world, client, login):
    login(world["resident"])
    data = form_data(subject="Pindah domisili", body="Ke Jakarta", client_token="same")
    first = client.post("/halo/baru", data=data)
    second = client.post("/halo/baru", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        assert count(HaloThread) == 1 and count(HaloMessage) == 1 and len(notes("halo_new")) == 1


def test_invalid_new_thread_is_422_with_inputs_kept(app, world, client, login):
    login(world["resident"])
    response = client.post("/halo/baru", data=form_data(kind="", category="zzz", subject="Tetap di sini", body=""))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Galat:" in page and 'href="#kind"' in page and 'href="#body"' in page
    assert 'value="Tetap di sini"' in page
    response = client.post("/halo/baru", data=form_data(request_id="abc"))
    assert response.status_code == 422
    with app.app_context():
        assert count(HaloThread) == 0


# --- closing and rating --------------------------------------------------------------------------

@pytest.mark.parametrize("rating", ["0", "6", "7", "abc", "-1"])
def test_rating_must_be_1_to_5(app, world, client, login, rating):
    with app.app_context():
        thread_id = open_(world["resident"]).id
        db.session.commit()
    login(world["resident"])
    response = client.post(f"/halo/{thread_id}/tutup", data={"rating": rating})
    assert response.status_code == 422 and "Galat:" in response.get_data(as_text=True)
    with app.app_context():
        thread = db.session.get(HaloThread, thread_id)
        assert thread.status == "open" and thread.rating is None
        with pytest.raises(halo.HaloError):
            halo.close(thread, user(world["resident"]), 6)


def test_close_with_rating_or_rate_afterwards(app, world, client, login):
    with app.app_context():
        first = open_(world["resident"], client_token="c1").id
        second = open_(world["resident"], client_token="c2").id
        db.session.commit()
    login(world["resident"])
    assert client.post(f"/halo/{first}/tutup", data={"rating": "5"}).status_code == 303
    assert client.post(f"/halo/{second}/tutup", data={}).status_code == 303
    page = client.get(f"/halo/{second}").get_data(as_text=True)
    assert "Beri penilaian" in page and "Kirim balasan" not in page
    assert client.post(f"/halo/{second}/tutup", data={}).status_code == 422  # rating form sent empty
    assert client.post(f"/halo/{second}/tutup", data={"rating": "2"}).status_code == 303
    with app.app_context():
        one, two = db.session.get(HaloThread, first), db.session.get(HaloThread, second)
        assert (one.status, one.closed_by, one.rating) == ("closed", "resident", 5)
        assert (two.status, two.closed_by, two.rating) == ("closed", "resident", 2)


def test_only_the_resident_closes(app, world, client, login):
    with app.app_context():
        thread_id = open_(world["resident"]).id
        db.session.commit()
        thread = db.session.get(HaloThread, thread_id)
        for who in ("other_resident", "primary", "penyelia"):
            with pytest.raises(halo.HaloError):
                halo.close(thread, user(world[who]))
    for who in ("other_resident", "primary", "operator"):
        login(world[who])
        assert client.post(f"/halo/{thread_id}/tutup", data={"rating": "1"}).status_code == 404, who
    with app.app_context():
        assert db.session.get(HaloThread, thread_id).status == "open"


# --- admin FAQ and demo data ---------------------------------------------------------------------

def test_admin_edits_the_faq(app, world, client, login):
    login(world["admin"])
    assert client.get("/admin/faq").status_code == 200
    bad = client.post("/admin/faq/baru", data={"category": "ktp_el", "question": "", "answer": "x"})
    assert bad.status_code == 422 and 'href="#question"' in bad.get_data(as_text=True)
    response = client.post("/admin/faq/baru", data={"category": "kia", "question": "Apa itu KIA?",
                                                    "answer": "Kartu identitas anak.", "keywords": "kia, anak"})
    assert response.status_code == 303
    with app.app_context():
        entry = db.session.scalar(select(FaqEntry))
        assert (entry.category, entry.keywords, entry.active) == ("kia", "kia anak", True)
        entry_id = entry.id
    assert "Apa itu KIA?" in client.get(f"/admin/faq/{entry_id}").get_data(as_text=True)
    assert client.post(f"/admin/faq/{entry_id}", data={"category": "kia", "question": "Apa itu KIA?",
                                                       "answer": "Kartu Identitas Anak.", "position": "3"}
                       ).status_code == 303
    assert client.post(f"/admin/faq/{entry_id}/aktif", data={"active": "0"}).status_code == 303
    with app.app_context():
        entry = db.session.get(FaqEntry, entry_id)
        assert (entry.answer, entry.position, entry.active) == ("Kartu Identitas Anak.", 3, False)
        assert halo.suggest("apa itu kia") == []
    assert client.post(f"/admin/faq/{entry_id}/aktif", data={"active": "x"}).status_code == 422
    assert client.get("/admin/faq/999999").status_code == 404
    login(world["operator"])
    assert client.get("/admin/faq").status_code == 403


def test_demo_faq_is_idempotent(app):
    with app.app_context():
        added = demo.load_demo_faq()
        assert added == len(demo.DEMO_FAQ) >= 5
        assert demo.load_demo_faq() == 0
        assert count(FaqEntry) == added
        assert halo.suggest("KTP-el saya hilang")
