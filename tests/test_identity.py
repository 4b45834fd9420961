"""NIK, No. KK and phone checks (eopen/services/identity.py) and the region lookups they use."""
from __future__ import annotations

from datetime import date

import pytest

from eopen.services import regions
from eopen.services.identity import InvalidPhone, check_kk, check_nik, normalise_phone

TODAY = date(2025, 6, 1)
BEKASI_TIMUR = "327501"  # 32.75.01, Kota Bekasi


def nik(ddmmyy: str, serial: str = "0001", region: str = BEKASI_TIMUR) -> str:
    return region + ddmmyy + serial


# --- regions -------------------------------------------------------------------------------------

def test_region_lookups():
    assert regions.province_exists("32")
    assert not regions.province_exists("99")
    assert regions.kabupaten_exists("32.75")
    assert regions.kabupaten_exists("32.16")  # Kabupaten Bekasi
    assert not regions.kabupaten_exists("32.99")
    assert regions.kecamatan_exists("32.75.01")
    assert not regions.kecamatan_exists("32.75.99")
    assert regions.kecamatan_name("32.75.01") == "Bekasi Timur"
    assert regions.kecamatan_name("32.75.12") == "Pondokmelati"
    assert regions.kecamatan_name("32.75.99") is None


# --- NIK -----------------------------------------------------------------------------------------

def test_valid_male_nik():
    check = check_nik(nik("120390"), today=TODAY)
    assert check.ok and check.warnings == []
    assert check.value == "3275011203900001"
    assert check.birth_date == date(1990, 3, 12)
    assert check.sex == "L"


def test_valid_female_nik_has_day_plus_40():
    check = check_nik(nik("520390"), today=TODAY)
    assert check.ok and check.warnings == []
    assert check.birth_date == date(1990, 3, 12)
    assert check.sex == "P"


@pytest.mark.parametrize("ddmmyy, born", [
    ("290200", date(2000, 2, 29)),   # 2000 is a leap year
    ("290296", date(1996, 2, 29)),
    ("690296", date(1996, 2, 29)),   # a woman
])
def test_29_february_in_leap_years(ddmmyy, born):
    check = check_nik(nik(ddmmyy), today=TODAY)
    assert check.ok
    assert check.birth_date == born


@pytest.mark.parametrize("ddmmyy", ["290201", "290299", "690223", "310290", "310490"])
def test_dates_missing_from_the_calendar(ddmmyy):
    check = check_nik(nik(ddmmyy), today=TODAY)
    assert not check.ok
    assert check.birth_date is None
    assert "tidak ada di kalender" in check.errors[0]


@pytest.mark.parametrize("dd", ["00", "32", "40", "72", "99"])
def test_impossible_day(dd):
    check = check_nik(nik(dd + "0390"), today=TODAY)
    assert not check.ok
    assert check.sex is None and check.birth_date is None
    assert len(check.errors) == 1
    assert f"({dd})" in check.errors[0]
    assert "ditambah 40" in check.errors[0]
    assert "Periksa kembali NIK" in check.errors[0]


@pytest.mark.parametrize("mm", ["00", "13"])
def test_impossible_month(mm):
    check = check_nik(nik("12" + mm + "90"), today=TODAY)
    assert not check.ok
    assert "bulan" in check.errors[0] and f"({mm})" in check.errors[0]


def test_serial_0000_is_an_error():
    check = check_nik(nik("120390", serial="0000"), today=TODAY)
    assert not check.ok
    assert "0000" in check.errors[0]
    assert check.value == "3275011203900000"


@pytest.mark.parametrize("typed", ["32750112O3900001", "3275011203900OO1", "NIK3275011203900001",
                                   "3275011203900001x", "32750112０3900001"])
def test_letters_and_other_characters(typed):
    check = check_nik(typed, today=TODAY)
    assert not check.ok
    assert check.value == ""
    assert "hanya boleh berisi angka" in check.errors[0]
    assert "Periksa kembali NIK pada KTP-el atau Kartu Keluarga Anda." in check.errors[0]


@pytest.mark.parametrize("typed, n", [("327501120390001", 15), ("32750112039000011", 17),
                                      ("3275", 4)])
def test_wrong_length(typed, n):
    check = check_nik(typed, today=TODAY)
    assert not check.ok
    assert check.value == ""
    assert check.errors == [
        f"NIK harus 16 angka. Anda mengetik {n} angka. "
        "Periksa kembali NIK pada KTP-el atau Kartu Keluarga Anda."]


@pytest.mark.parametrize("typed", ["", "   ", None])
def test_empty(typed):
    check = check_nik(typed, today=TODAY)
    assert not check.ok and check.value == ""
    assert "Isi NIK" in check.errors[0]


@pytest.mark.parametrize("typed", ["3275 0112 0390 0001", "3275-0112-0390-0001",
                                   " 3275.01.120390.0001 ", "327501 120390 0001\t"])
def test_spaces_dots_and_dashes_are_removed(typed):
    check = check_nik(typed, today=TODAY)
    assert check.ok
    assert check.value == "3275011203900001"


def test_unknown_province_is_an_error():
    check = check_nik(nik("120390", region="997501"), today=TODAY)
    assert not check.ok
    assert "(99)" in check.errors[0] and "provinsi" in check.errors[0]
    assert check.birth_date == date(1990, 3, 12)  # the rest is still checked


def test_errors_accumulate():
    check = check_nik(nik("320390", serial="0000", region="997501"), today=TODAY)
    assert len(check.errors) == 3  # province, day, serial


def test_unknown_kecamatan_is_only_a_warning():
    check = check_nik(nik("120390", region="327599"), today=TODAY)
    assert check.ok
    assert check.value == "3275991203900001"
    assert len(check.warnings) == 1
    assert "32.75.99" in check.warnings[0] and "boleh melanjutkan" in check.warnings[0]


def test_unknown_kabupaten_is_only_a_warning():
    check = check_nik(nik("120390", region="329901"), today=TODAY)
    assert check.ok
    assert len(check.warnings) == 1
    assert "32.99" in check.warnings[0]


def test_kecamatan_elsewhere_in_indonesia_is_fine():
    check = check_nik(nik("120390", region="110101"), today=TODAY)  # Bakongan, Aceh Selatan
    assert check.ok and check.warnings == []


def test_sex_mismatch_is_a_warning():
    woman = check_nik(nik("520390"), sex="L", today=TODAY)
    assert woman.ok and woman.sex == "P"
    assert len(woman.warnings) == 1
    assert "perempuan" in woman.warnings[0] and "jenis kelamin" in woman.warnings[0]

    man = check_nik(nik("120390"), sex="P", today=TODAY)
    assert man.ok and man.sex == "L"
    assert "laki-laki" in man.warnings[0] and "ditambah 40" in man.warnings[0]

    assert check_nik(nik("520390"), sex="P", today=TODAY).warnings == []


def test_unknown_sex_code_is_a_programming_error():
    with pytest.raises(ValueError):
        check_nik(nik("120390"), sex="W", today=TODAY)


def test_birth_date_mismatch_is_a_warning():
    check = check_nik(nik("120390"), birth_date=date(1990, 3, 21), today=TODAY)
    assert check.ok
    assert check.birth_date == date(1990, 3, 12)
    assert check.warnings == [
        "Menurut NIK ini, tanggal lahirnya 12-03-1990, tetapi Anda mengisi 21-03-1990. "
        "Samakan tanggal lahir dengan KTP-el atau Kartu Keluarga, atau periksa kembali NIK "
        "yang Anda ketik."]
    assert check_nik(nik("120390"), birth_date=date(1990, 3, 12), today=TODAY).warnings == []


def test_both_mismatches_give_two_warnings():
    check = check_nik(nik("120390"), birth_date=date(1991, 3, 12), sex="P", today=TODAY)
    assert check.ok and len(check.warnings) == 2


def test_future_birth_date_is_an_error():
    check = check_nik(nik("151225"), today=TODAY)  # 15-12-2025, after 1 June 2025
    assert not check.ok
    assert "15-12-2025" in check.errors[0] and "belum terjadi" in check.errors[0]
    assert check.birth_date is None


@pytest.mark.parametrize("ddmmyy, born", [
    ("010125", date(2025, 1, 1)),    # 2025 is not after today's year
    ("010600", date(2000, 6, 1)),
    ("010626", date(1926, 6, 1)),    # 2026 would be in the future
    ("311299", date(1999, 12, 31)),
])
def test_century_choice(ddmmyy, born):
    check = check_nik(nik(ddmmyy), today=TODAY)
    assert check.ok
    assert check.birth_date == born


def test_century_follows_the_calendar_year_of_today():
    assert check_nik(nik("010126"), today=date(2026, 1, 1)).birth_date == date(2026, 1, 1)
    assert check_nik(nik("010126"), today=date(2025, 12, 31)).birth_date == date(1926, 1, 1)


def test_typed_birth_date_settles_the_century_for_people_aged_100_or_more():
    check = check_nik(nik("050520"), birth_date=date(1920, 5, 5), today=TODAY)
    assert check.ok and check.warnings == []
    assert check.birth_date == date(1920, 5, 5)
    # born 15 Dec 1925: alone, "25" reads as 2025 and the date is still to come
    assert not check_nik(nik("151225"), today=TODAY).ok
    assert check_nik(nik("151225"), birth_date=date(1925, 12, 15), today=TODAY).ok


def test_today_defaults_to_the_real_date():
    assert check_nik(nik("120390")).ok


# --- No. KK --------------------------------------------------------------------------------------

def test_valid_kk():
    check = check_kk("3275 0115 0615 0001", today=TODAY)
    assert check.ok and check.warnings == []
    assert check.value == "3275011506150001"
    assert check.sex is None and check.birth_date is None


def test_kk_has_no_plus_40_rule():
    check = check_kk("3275014506150001", today=TODAY)
    assert not check.ok
    assert "No. KK" in check.errors[0] and "(45)" in check.errors[0]
    assert "Kartu Keluarga" in check.errors[0]


@pytest.mark.parametrize("typed", ["3275013102150001",    # 31 February
                                   "3275011513150001",    # month 13
                                   "3275011506150000",    # serial 0000
                                   "3275011512250001",    # 15-12-2025, still to come
                                   "9975011506150001",    # no province 99
                                   "3275011506150O01",    # a letter O
                                   "327501150615001"])    # 15 digits
def test_invalid_kk(typed):
    check = check_kk(typed, today=TODAY)
    assert not check.ok
    assert "No. KK" in check.errors[0]


def test_kk_unknown_kecamatan_is_only_a_warning():
    check = check_kk("3275991506150001", today=TODAY)
    assert check.ok
    assert len(check.warnings) == 1 and "32.75.99" in check.warnings[0]


# --- phone ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["0812-3456-7890", "0812 3456 7890", "081234567890",
                                   "6281234567890", "+62 812 3456 7890", "+62-812-3456-7890",
                                   "81234567890", " (0812) 3456.7890 "])
def test_phone_normalised_to_e164(typed):
    assert normalise_phone(typed) == "+6281234567890"


@pytest.mark.parametrize("typed, expected", [
    ("0812345678", "+62812345678"),          # 9 digits after +62, the shortest
    ("0812345678901", "+62812345678901"),    # 12 digits after +62, the longest
    ("+6285712345678", "+6285712345678"),
])
def test_phone_lengths(typed, expected):
    assert normalise_phone(typed) == expected


@pytest.mark.parametrize("typed", [
    "", "   ",
    "081234567",            # 8 digits after +62: too short
    "08123456789012",       # 13 digits: too long
    "021-8888-1234",        # a landline in Jakarta
    "+1 555 123 4567",      # not Indonesian
    "0812 3456 789O",       # a letter O
    "0812+34567890",
    "62",
    "6221888812345",
])
def test_phone_rejected_with_an_example(typed):
    with pytest.raises(InvalidPhone) as excinfo:
        normalise_phone(typed)
    assert isinstance(excinfo.value, ValueError)
    assert "Contoh: 0812 3456 7890" in str(excinfo.value)
