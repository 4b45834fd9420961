"""A small demo data set: a few RWs/RTs per kelurahan and one account per role.

Idempotent: running it again adds nothing. Passwords are random per installation, kept in
instance/demo_accounts.json (never in the repository) so they can be printed again.
"""
from __future__ import annotations

import io
import json
import os
import secrets
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from ..extensions import db
from ..models import RT, RW, Household, Person, Region, ServiceRequest, User

RWS_PER_KELURAHAN = 3
RTS_PER_RW = 3
DEMO_KECAMATAN = "32.75.01"        # Bekasi Timur
DEMO_KELURAHAN = "32.75.01.1001"   # Bekasijaya

# One account per role. Residents log in with NIK or phone, everybody else with a username.
STAFF = [
    ("institution", "rsud.bekasi", "RSUD dr. Chasbullah Abdulmadjid", None, "perangkat_daerah"),
    ("satgas", "satgas.bekasijaya", "Satgas Pamor Bekasijaya", DEMO_KECAMATAN, None),
    ("operator", "operator.bekasitimur", "Operator Kec. Bekasi Timur", DEMO_KECAMATAN, None),
    ("penyelia", "penyelia.bekasitimur", "Penyelia Kec. Bekasi Timur", DEMO_KECAMATAN, None),
    ("kasi", "kasi", "Kepala Seksi", None, None),
    ("kabid", "kabid", "Kepala Bidang", None, None),
    ("kadis", "kadis", "Kepala Dinas", None, None),
    ("admin", "admin", "Administrator", None, None),
]
RESIDENT = {"nik": "3275011505900001", "name": "Budi Santoso", "birth": date(1990, 5, 15), "sex": "L",
            "phone": "+6281234567801", "no_kk": "3275011001150003", "street": "Jl. Cut Meutia No. 12"}
SPOUSE = {"nik": "3275015708920002", "name": "Siti Rahmawati", "birth": date(1992, 8, 17), "sex": "P"}


def ensure_rws() -> int:
    """A few RWs and RTs in every Kota Bekasi kelurahan (admins manage the real ones later)."""
    kelurahan = db.session.scalars(select(Region.code).where(Region.level == "kelurahan")).all()
    existing = {(k, n) for k, n in db.session.execute(select(RW.kelurahan_code, RW.number))}
    added = 0
    for code in kelurahan:
        for number in range(1, RWS_PER_KELURAHAN + 1):
            if (code, number) in existing:
                continue
            rw = RW(kelurahan_code=code, number=number)
            rw.rts = [RT(number=n) for n in range(1, RTS_PER_RW + 1)]
            db.session.add(rw)
            added += 1
    db.session.flush()
    return added


def _passwords(instance_path: str) -> dict[str, str]:
    path = Path(instance_path) / "demo_accounts.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _save_passwords(instance_path: str, passwords: dict[str, str]) -> None:
    path = Path(instance_path) / "demo_accounts.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(passwords, indent=1))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _password(passwords: dict[str, str], key: str) -> tuple[str, bool]:
    if key in passwords:
        return passwords[key], False
    passwords[key] = "demo-" + secrets.token_urlsafe(6)
    return passwords[key], True


def load_demo(instance_path: str) -> list[dict]:
    ensure_rws()
    passwords = _passwords(instance_path)
    changed = False
    accounts = []

    rw = db.session.scalar(select(RW).where(RW.kelurahan_code == DEMO_KELURAHAN, RW.number == 1))
    household = db.session.scalar(select(Household).where(Household.no_kk == RESIDENT["no_kk"]))
    if household is None:
        household = Household(no_kk=RESIDENT["no_kk"], kelurahan_code=DEMO_KELURAHAN, rw=rw, rt=rw.rts[1],
                              street=RESIDENT["street"])
        db.session.add(household)
    for data, relation in ((RESIDENT, "kepala_keluarga"), (SPOUSE, "istri")):
        if db.session.scalar(select(Person).where(Person.nik == data["nik"])) is None:
            db.session.add(Person(nik=data["nik"], full_name=data["name"], birth_date=data["birth"],
                                  sex=data["sex"], relation=relation, household=household))
    db.session.flush()

    head = db.session.scalar(select(Person).where(Person.nik == RESIDENT["nik"]))
    password, new = _password(passwords, "resident")
    user = db.session.scalar(select(User).where(User.person_id == head.id))
    if user is None or new:
        user = user or User(role="resident", person=head, phone=RESIDENT["phone"], display_name=head.full_name)
        user.set_password(password)
        db.session.add(user)
        changed = True
    accounts.append({"role": "resident", "login": RESIDENT["nik"], "password": password, "name": head.full_name})

    for role, username, name, kecamatan, kind in STAFF:
        password, new = _password(passwords, role)
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None or new:
            user = user or User(role=role, username=username, display_name=name, kecamatan_code=kecamatan,
                                institution_kind=kind)
            user.set_password(password)
            db.session.add(user)
            changed = True
        accounts.append({"role": role, "login": username, "password": password, "name": name})
    db.session.flush()
    _demo_request(db.session.scalar(select(User).where(User.person_id == head.id)))
    _demo_field(rw)
    load_demo_faq()
    if changed:
        _save_passwords(instance_path, passwords)
    return accounts


DEMO_TOKEN = "demo-akta-kelahiran-1"
DEMO_PICKUP_TOKEN = "demo-jemput-1"


def _demo_field(rw: RW) -> None:
    """The demo satgas covers the demo resident's RW, and the demo request has a pickup job, so the field
    mode has work on a fresh install. Leaves an RW alone once an admin has given it a primary satgas."""
    from . import fieldjobs, satgas, sla
    satgas_user = db.session.scalar(select(User).where(User.username == "satgas.bekasijaya"))
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    if satgas.assignment(rw, "primary") is None:
        satgas.assign(rw, satgas_user, "primary", admin)
    req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.client_token == DEMO_TOKEN))
    if req is None or req.status != "submitted" or fieldjobs.jobs_for(req):
        return
    day = fieldjobs.earliest_date()
    while not sla.is_working_day(day):
        day += timedelta(days=1)
    fieldjobs.request_job(req, req.applicant, "pickup", day, "08-12", "Rumah cat hijau, sebelah warung.",
                          DEMO_PICKUP_TOKEN)


def _document_photo(title: str) -> bytes:
    """A plain generated page standing in for a photographed document."""
    from PIL import Image, ImageDraw
    page = Image.new("RGB", (1240, 1754), "white")
    draw = ImageDraw.Draw(page)
    draw.text((80, 80), title.upper(), fill="black", font_size=48)
    for line in range(12):
        draw.text((80, 220 + line * 60), f"Contoh isi dokumen, baris {line + 1}.", fill="black", font_size=32)
    buffer = io.BytesIO()
    page.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _demo_request(resident: User) -> None:
    """One submitted Akta Kelahiran request, so the back office has work on a fresh install."""
    from flask import current_app

    from . import accounts, applications, uploads
    if db.session.scalar(select(ServiceRequest.id).where(ServiceRequest.client_token == DEMO_TOKEN)):
        return
    child, _ = accounts.add_member(resident.household, full_name="Putri Santoso", nik=None,
                                   birth_date=date.today() - timedelta(days=20), sex="P", relation="anak")
    req = applications.create_draft(resident, "akta_kelahiran", DEMO_TOKEN)
    applications.set_subject_member(req, resident, child.id)
    applications.set_data(req, {"tempat_lahir": "Bekasi", "jam_lahir": "07:45", "jenis_kelahiran": "tunggal",
                                "kelahiran_ke": "1", "penolong_kelahiran": "bidan", "berat_bayi_kg": "3.1",
                                "panjang_bayi_cm": "49", "nama_ayah": RESIDENT["name"], "nik_ayah": RESIDENT["nik"],
                                "nama_ibu": SPOUSE["name"], "nik_ibu": SPOUSE["nik"], "_saved": "1"})
    root = current_app.config["UPLOAD_FOLDER"]
    for requirement in applications.variant_of(req).requirements:
        normalised = uploads.normalise_upload(_document_photo(requirement.label))
        applications.attach_file(req, requirement, normalised, f"{requirement.code}.jpg", resident, root)
    applications.submit(req, resident)


# Halo Pamor FAQ entries for a fresh install: (category, question, answer, keywords).
DEMO_FAQ = [
    ("ktp_el", "Apakah KTP-el harus diperpanjang?",
     "Tidak. KTP-el berlaku seumur hidup. Anda hanya perlu mengajukan KTP-el baru bila kartu hilang atau rusak, "
     "data Anda berubah (misalnya status perkawinan, alamat, atau pekerjaan), atau Anda pindah ke Kota Bekasi.",
     "ektp berlaku masa perpanjang kedaluwarsa seumur hidup"),
    ("ktp_el", "KTP-el saya hilang atau rusak. Bagaimana menggantinya?",
     "Ajukan permohonan KTP-el, lalu pilih \"KTP-el hilang\" atau \"KTP-el rusak\". Untuk kartu yang hilang, "
     "laporkan dulu ke kantor polisi dan lampirkan surat keterangan kehilangannya; untuk kartu yang rusak, foto "
     "kartunya. Kartu yang rusak diserahkan kepada petugas saat Anda menerima KTP-el yang baru.",
     "ektp hilang rusak patah ganti baru cetak ulang kehilangan"),
    ("ktp_el", "Berapa lama KTP-el selesai dan berapa biayanya?",
     "Semua layanan Disdukcapil Kota Bekasi gratis. Target kami satu hari kerja sejak permohonan lengkap diterima. "
     "Perkembangan permohonan dapat Anda lihat di halaman \"Permohonan saya\".",
     "ektp lama jadi selesai biaya bayar gratis berapa hari"),
    ("kk", "Bayi saya sudah lahir. Apakah KK harus diubah?",
     "Ya. Ajukan akta kelahiran bayi terlebih dahulu. Setelah akta terbit, ajukan Kartu Keluarga dan pilih "
     "\"Perubahan anggota atau data keluarga\" untuk menambahkan anak ke KK.",
     "kartu keluarga tambah anggota anak bayi lahir ubah perubahan"),
    ("akta", "Apa syarat akta kelahiran?",
     "Surat keterangan lahir dari rumah sakit, puskesmas, atau bidan; Kartu Keluarga; dan buku nikah atau akta "
     "perkawinan orang tua. Bila surat keterangan lahir tidak ada, Anda dapat mengisi Surat Pernyataan Tanggung "
     "Jawab Mutlak (SPTJM) sebagai gantinya.",
     "akta kelahiran lahir bayi syarat surat keterangan sptjm"),
    ("kia", "Siapa yang perlu membuat KIA?",
     "Kartu Identitas Anak (KIA) untuk anak yang belum berusia 17 tahun dan belum kawin. KIA untuk anak di bawah "
     "5 tahun tidak memakai foto; untuk anak 5 tahun ke atas memakai pas foto. Permohonan diajukan oleh orang tua "
     "yang tercantum dalam satu KK dengan anak.",
     "kartu identitas anak kia foto usia umur"),
    ("jemput_antar", "Bisakah dokumen saya dijemput atau diantar ke rumah?",
     "Bisa. Buka permohonan Anda, lalu pilih \"Minta dijemput/diantar Satgas Pamor\". Satgas Pamor RW Anda datang "
     "pada hari kerja dan waktu yang Anda pilih. Tunjukkan kode serah terima yang tampil di halaman permohonan "
     "saat dokumen diserahkan.",
     "jemput antar satgas pamor rumah kirim ambil kurir"),
    ("aplikasi", "Bagaimana melihat perkembangan permohonan saya?",
     "Masuk ke E-Open, lalu buka \"Permohonan saya\". Setiap permohonan menunjukkan statusnya, target selesai, "
     "dan riwayat pemeriksaannya. Anda juga mendapat notifikasi bila ada perubahan atau petugas meminta "
     "perbaikan.",
     "status perkembangan cek lacak permohonan sampai mana nomor"),
]


def load_demo_faq() -> int:
    """A few FAQ entries for Halo Pamor (idempotent: an entry with the same question is left alone, even
    when an admin has changed or deactivated it). Returns how many were added."""
    from ..models import FaqEntry
    existing = set(db.session.scalars(select(FaqEntry.question)))
    added = 0
    for position, (category, question, answer, keywords) in enumerate(DEMO_FAQ):
        if question in existing:
            continue
        db.session.add(FaqEntry(category=category, question=question, answer=answer, keywords=keywords,
                                position=position * 10, active=True))
        added += 1
    db.session.flush()
    return added
