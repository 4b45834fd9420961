"""Checks of the numbers residents type: NIK, No. KK and mobile phone numbers.

Plain functions: no app, request or database needed. Every message is Indonesian, wrapped for
translation, and tells the resident how to fix the input. Errors block; warnings only inform.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from flask_babel import gettext as _
from flask_babel import ngettext

from . import regions

_SEPARATORS = re.compile(r"[\s.\-]")            # "3275 0112.8001-0001" -> 16 digits
_PHONE_SEPARATORS = re.compile(r"[\s.\-()/]")
_DIGITS = re.compile(r"[0-9]+")                 # ASCII only: str.isdigit() accepts "²" and "٣"
_MOBILE = re.compile(r"8[0-9]{8,11}")           # national significant number after +62


@dataclass
class IdCheck:
    value: str                  # normalised 16 digits ("" if not 16 digits)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    birth_date: date | None = None  # implied by a NIK (None for a KK or an unusable date)
    sex: str | None = None          # "L"/"P" implied by a NIK

    @property
    def ok(self) -> bool:
        return not self.errors


class InvalidPhone(ValueError):
    """str(exc) is a translated message for the resident, with an example of the expected format."""


def check_nik(value: str, *, birth_date: date | None = None, sex: str | None = None,
              today: date | None = None) -> IdCheck:
    """Check a NIK; `birth_date` and `sex` ("L"/"P") as typed by the resident, if any."""
    if sex not in (None, "L", "P"):
        raise ValueError(f"sex must be 'L' or 'P', not {sex!r}")
    check = _check_number(value, "nik", today or date.today(), typed_birth=birth_date)
    if birth_date is not None and check.birth_date is not None and birth_date != check.birth_date:
        check.warnings.append(_(
            "Menurut NIK ini, tanggal lahirnya %(nik_date)s, tetapi Anda mengisi %(typed)s. "
            "Samakan tanggal lahir dengan KTP-el atau Kartu Keluarga, atau periksa kembali NIK "
            "yang Anda ketik.",
            nik_date=_dmy(check.birth_date), typed=_dmy(birth_date)))
    if sex is not None and check.sex is not None and sex != check.sex:
        if check.sex == "P":
            message = _(
                "Menurut NIK ini, pemiliknya perempuan (pada NIK perempuan, tanggal lahir ditambah "
                "40), tetapi Anda memilih laki-laki. Periksa kembali jenis kelamin yang Anda pilih, "
                "atau NIK yang Anda ketik.")
        else:
            message = _(
                "Menurut NIK ini, pemiliknya laki-laki, tetapi Anda memilih perempuan. Pada NIK "
                "perempuan, tanggal lahir ditambah 40 (lahir tanggal 5 tertulis 45). Periksa "
                "kembali jenis kelamin yang Anda pilih, atau NIK yang Anda ketik.")
        check.warnings.append(message)
    return check


def check_kk(value: str, *, today: date | None = None) -> IdCheck:
    """Check a No. KK (family card number): its date is the recording date, no +40 rule."""
    return _check_number(value, "kk", today or date.today())


def normalise_phone(value: str) -> str:
    """An Indonesian mobile number as E.164 ("+6281234567890"), or InvalidPhone."""
    example = _("Contoh: 0812 3456 7890.")
    raw = _PHONE_SEPARATORS.sub("", value or "")
    if not raw:
        raise InvalidPhone(_("Isi nomor HP Anda.") + " " + example)
    if raw.startswith("+") and not raw.startswith("+62"):
        raise InvalidPhone(_("Hanya nomor HP Indonesia (+62) yang dapat dipakai.") + " " + example)
    digits = raw.removeprefix("+")
    if not _DIGITS.fullmatch(digits):
        raise InvalidPhone(_("Nomor HP hanya boleh berisi angka.") + " " + example)
    if digits.startswith("62"):
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        national = digits
    if not _MOBILE.fullmatch(national):
        raise InvalidPhone(_("Nomor HP harus nomor seluler Indonesia: diawali 08 dan terdiri dari "
                             "10 sampai 13 angka.") + " " + example)
    return "+62" + national


def _check_number(value: str, kind: Literal["nik", "kk"], today: date, *,
                  typed_birth: date | None = None) -> IdCheck:
    """The rules a NIK and a No. KK share: PPKKCC DDMMYY SSSS."""
    if kind == "nik":
        label = _("NIK")
        fix = _("Periksa kembali NIK pada KTP-el atau Kartu Keluarga Anda.")
    else:
        label = _("No. KK")
        fix = _("Periksa kembali No. KK di bagian atas Kartu Keluarga Anda.")

    digits = _SEPARATORS.sub("", value or "")
    if not digits:
        return IdCheck("", [_("Isi %(label)s Anda (16 angka).", label=label) + " " + fix])
    if not _DIGITS.fullmatch(digits):
        return IdCheck("", [_(
            "%(label)s hanya boleh berisi angka. Pastikan tidak ada huruf, misalnya huruf O "
            "yang seharusnya angka 0.", label=label) + " " + fix])
    if len(digits) != 16:
        return IdCheck("", [ngettext("%(label)s harus 16 angka. Anda mengetik %(num)d angka.",
                                     "%(label)s harus 16 angka. Anda mengetik %(num)d angka.",
                                     len(digits), label=label) + " " + fix])

    check = IdCheck(digits)
    _check_region(check, label, fix)

    day: int | None = int(digits[6:8])
    if kind == "nik" and 41 <= day <= 71:
        check.sex, day = "P", day - 40
    elif 1 <= day <= 31:
        check.sex = "L" if kind == "nik" else None
    elif kind == "nik":
        check.errors.append(_(
            "Angka ke-7 dan ke-8 NIK (%(dd)s) tidak mungkin benar. Untuk laki-laki isinya "
            "tanggal lahir (01 sampai 31); untuk perempuan tanggal lahir ditambah 40 "
            "(41 sampai 71).",
            dd=digits[6:8]) + " " + fix)
        day = None
    else:
        check.errors.append(_("Angka ke-7 dan ke-8 No. KK (%(dd)s) harus tanggal, 01 sampai 31.",
                              dd=digits[6:8]) + " " + fix)
        day = None
    if day is not None:
        found = _encoded_date(check, day, label, fix, today, typed_birth)
        if kind == "nik":
            check.birth_date = found

    if digits[12:] == "0000":
        check.errors.append(_("Empat angka terakhir %(label)s tidak boleh 0000.", label=label)
                            + " " + fix)
    return check


def _check_region(check: IdCheck, label: str, fix: str) -> None:
    d = check.value
    province, kabupaten, kecamatan = d[:2], f"{d[:2]}.{d[2:4]}", f"{d[:2]}.{d[2:4]}.{d[4:6]}"
    if not regions.province_exists(province):
        check.errors.append(_("Dua angka pertama %(label)s (%(code)s) bukan kode provinsi di "
                              "Indonesia.", label=label, code=province) + " " + fix)
    elif not regions.kabupaten_exists(kabupaten):
        check.warnings.append(_(
            "Kode kabupaten/kota %(code)s pada %(label)s tidak ada dalam daftar wilayah terbaru. "
            "Ini bisa terjadi pada nomor lama jika daerahnya sudah dimekarkan atau berganti kode. "
            "Pastikan empat angka pertama sama dengan kartu Anda; jika sudah sama, Anda boleh "
            "melanjutkan.", code=kabupaten, label=label))
    elif not regions.kecamatan_exists(kecamatan):
        check.warnings.append(_(
            "Kode kecamatan %(code)s pada %(label)s tidak ada dalam daftar wilayah terbaru. "
            "Ini bisa terjadi pada nomor lama jika kecamatannya sudah dimekarkan atau berganti "
            "nama. Pastikan enam angka pertama sama dengan kartu Anda; jika sudah sama, Anda boleh "
            "melanjutkan.", code=kecamatan, label=label))


def _encoded_date(check: IdCheck, day: int, label: str, fix: str, today: date,
                  typed: date | None) -> date | None:
    """The DDMMYY date (day already without +40), or None after adding an error."""
    month, yy = int(check.value[8:10]), int(check.value[10:12])
    if not 1 <= month <= 12:
        check.errors.append(_("Angka ke-9 dan ke-10 %(label)s (%(mm)s) harus bulan, 01 sampai 12.",
                              label=label, mm=check.value[8:10]) + " " + fix)
        return None
    if typed is not None and (typed.day, typed.month, typed.year % 100) == (day, month, yy):
        year = typed.year  # the typed birth date settles the century (people aged 100 or more)
    else:
        year = 2000 + yy if 2000 + yy <= today.year else 1900 + yy
    shown = f"{day:02d}-{month:02d}-{year}"
    try:
        found = date(year, month, day)
    except ValueError:
        check.errors.append(_("Tanggal %(date)s pada %(label)s tidak ada di kalender.",
                              date=shown, label=label) + " " + fix)
        return None
    if found > today:
        check.errors.append(_("Tanggal %(date)s pada %(label)s belum terjadi.",
                              date=shown, label=label) + " " + fix)
        return None
    return found


def _dmy(d: date) -> str:
    return f"{d.day:02d}-{d.month:02d}-{d.year}"
