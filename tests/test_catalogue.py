"""The service catalogue: the packaged data's integrity, the loader's strictness, the Babel extractor."""
from __future__ import annotations

import io

import pytest
from babel.messages.extract import extract

from eopen.services.catalogue import (
    CATALOGUE_PATH, DEFAULT_MAX_LENGTH, FIELD_TYPES, MODES, VERIFICATION_STEPS, Catalogue, CatalogueError,
    extract_catalogue, get_catalogue, load,
)

SERVICES = ("ktp_el", "kk", "akta_kelahiran", "akta_kematian", "kia")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load()


def all_variants(catalogue):
    return [(service, variant) for service in catalogue for variant in service.variants]


# --- the packaged catalogue ------------------------------------------------------------------

def test_the_five_services_in_file_order(catalogue):
    assert [s.code for s in catalogue] == list(SERVICES)
    assert len(catalogue) == 5 and "kk" in catalogue and "paspor" not in catalogue
    assert catalogue.service("kia").code == "kia"
    with pytest.raises(KeyError):
        catalogue.service("paspor")


def test_get_catalogue_is_cached_and_matches_the_file(catalogue):
    assert get_catalogue() is get_catalogue()
    assert get_catalogue() == catalogue


def test_every_service_has_variants_and_texts(catalogue):
    for service in catalogue:
        assert service.variants, service.code
        assert service.label and service.summary and service.description
        assert "\n" not in service.summary
        assert service.legal_basis
        assert any("Nomor 96 Tahun 2018" in item for item in service.legal_basis), service.code
        for variant in service.variants:
            assert variant.label and variant.description
            assert variant.requirements, (service.code, variant.code)
        with pytest.raises(KeyError):
            service.variant("tidak_ada")


def test_codes_unique_within_each_variant(catalogue):
    for service, variant in all_variants(catalogue):
        codes = [r.code for r in variant.requirements]
        names = [f.name for f in variant.fields]
        assert len(codes) == len(set(codes)), (service.code, variant.code)
        assert len(names) == len(set(names)), (service.code, variant.code)
        for field in variant.fields:
            assert field.name.isidentifier()
            assert field.type in FIELD_TYPES
            if field.type == "select":
                values = [c.value for c in field.choices]
                assert values and len(values) == len(set(values))


def test_requirements_well_formed(catalogue):
    for service, variant in all_variants(catalogue):
        for requirement in variant.requirements:
            assert requirement.mode in MODES
            assert requirement.label and requirement.hint
            if requirement.sptjm_allowed:
                assert requirement.sptjm_text.startswith("Saya menyatakan dengan sebenar-benarnya")
                assert "sanksi hukum" in requirement.sptjm_text
            else:
                assert requirement.sptjm_text is None


def test_akta_kelahiran_requirements_exactly(catalogue):
    variant = catalogue.service("akta_kelahiran").variant("kelahiran")
    assert [(r.code, r.mode) for r in variant.requirements] == [
        ("surat_keterangan_lahir", "sptjm"),
        ("bukti_perkawinan", "sptjm"),
        ("kk", "mandatory"),
    ]
    assert variant.requirement("surat_keterangan_lahir").sptjm_allowed
    assert not variant.requirement("kk").sptjm_allowed and not variant.requirement("kk").optional
    assert variant.max_age is None and variant.min_age is None
    with pytest.raises(KeyError):
        variant.requirement("ktp_el")


def test_akta_kelahiran_fields(catalogue):
    fields = {f.name: f for f in catalogue.service("akta_kelahiran").variant("kelahiran").fields}
    assert set(fields) >= {"tempat_lahir", "jam_lahir", "jenis_kelahiran", "kelahiran_ke", "penolong_kelahiran",
                           "berat_bayi_kg", "panjang_bayi_cm", "nama_ayah", "nik_ayah", "nama_ibu", "nik_ibu"}
    assert fields["jam_lahir"].type == "time" and not fields["jam_lahir"].required
    assert fields["nik_ayah"].type == "nik" and not fields["nik_ayah"].required
    assert fields["nik_ibu"].type == "nik" and fields["nik_ibu"].required
    assert {c.value for c in fields["penolong_kelahiran"].choices} == {"dokter", "bidan", "dukun", "lainnya"}
    assert "tunggal" in {c.value for c in fields["jenis_kelahiran"].choices}
    assert fields["kelahiran_ke"].type == "number" and fields["kelahiran_ke"].min == 1
    assert not fields["berat_bayi_kg"].required and not fields["panjang_bayi_cm"].required
    assert fields["tempat_lahir"].max_length == 60
    assert fields["nama_ayah"].max_length == DEFAULT_MAX_LENGTH


def test_akta_kematian(catalogue):
    variant = catalogue.service("akta_kematian").variant("kematian")
    assert [(r.code, r.mode) for r in variant.requirements] == [
        ("surat_keterangan_kematian", "sptjm"), ("kk", "mandatory"), ("ktp_el_almarhum", "optional")]
    types = {f.name: f.type for f in variant.fields}
    assert types["tanggal_kematian"] == "date" and types["sebab_kematian"] == "select"
    assert {"tempat_kematian", "nama_pelapor", "hubungan_pelapor"} <= set(types)


def test_reporting_deadlines(catalogue):
    assert catalogue.service("akta_kelahiran").reporting_deadline_days == 60
    assert catalogue.service("akta_kematian").reporting_deadline_days == 30
    for service in catalogue:
        if service.reporting_deadline_days is None:
            assert service.deadline_note is None
        else:
            assert service.deadline_note and "tetap" in service.deadline_note
            assert "denda" not in service.deadline_note.lower()  # fines are regional; never stated here


def test_every_service_is_free(catalogue):
    assert all(service.free is True for service in catalogue)


def test_outputs(catalogue):
    assert {s.code: s.output for s in catalogue} == {
        "ktp_el": "card", "kia": "card", "kk": "document", "akta_kelahiran": "document", "akta_kematian": "document"}


def test_target_days(catalogue):
    for service in catalogue:
        assert isinstance(service.target_days, int) and service.target_days >= 1


def test_verification_steps_valid_and_ordered(catalogue):
    for service in catalogue:
        positions = [VERIFICATION_STEPS.index(step) for step in service.verification_steps]
        assert positions == sorted(set(positions)), service.code
    assert catalogue.service("kia").verification_steps == ()
    assert catalogue.service("akta_kelahiran").verification_steps[:2] == ("kasi", "kabid")


def test_variants_asked_for(catalogue):
    expected = {
        "ktp_el": {"rekam_baru", "hilang", "rusak", "perubahan_data", "pindah_datang"},
        "kk": {"baru", "perubahan", "hilang_rusak", "pisah"},
        "akta_kelahiran": {"kelahiran"},
        "akta_kematian": {"kematian"},
        "kia": {"kurang_5", "5_keatas"},
    }
    for code, variants in expected.items():
        assert {v.code for v in catalogue.service(code).variants} >= variants, code


def test_ktp_el_variant_requirements(catalogue):
    ktp = catalogue.service("ktp_el")
    assert "status_kawin" in {f.name for f in ktp.variant("rekam_baru").fields}
    assert {"kk", "surat_kehilangan_polisi"} <= {r.code for r in ktp.variant("hilang").requirements}
    assert ktp.variant("rusak").requirement("ktp_el_rusak").mode == "mandatory"
    assert ktp.variant("pindah_datang").requirement("skpwni").mode == "mandatory"


def test_kia_age_bands_cover_0_to_16_without_overlap(catalogue):
    bands = sorted((v.min_age or 0, v.max_age) for v in catalogue.service("kia").variants)
    assert bands[0][0] == 0
    assert bands[-1][1] == 16
    for (_, high), (low, _) in zip(bands, bands[1:]):
        assert low == high + 1
    kia = catalogue.service("kia")
    for age in range(17):
        assert sum(v.fits_age(age) for v in kia.variants) == 1, age
    assert not any(v.fits_age(17) for v in kia.variants)
    assert "pas_foto" in {r.code for r in kia.variant("5_keatas").requirements}
    assert "pas_foto" not in {r.code for r in kia.variant("kurang_5").requirements}


def test_no_cover_letter_from_rt_rw(catalogue):
    # Perpres 96/2018 ended "surat pengantar" from RT/RW, kelurahan and kecamatan.
    for _, variant in all_variants(catalogue):
        for requirement in variant.requirements:
            assert "pengantar" not in requirement.label.lower()


# --- the loader's strictness -----------------------------------------------------------------

MINIMAL = '''
[[services]]
code = "kk"
label = "Kartu Keluarga"
summary = "Ringkasan."
description = """
Deskripsi yang
panjang.
"""
output = "document"
verification_steps = ["kasi"]
legal_basis = ["Perpres 96/2018"]
free = true

  [[services.variants]]
  code = "baru"
  label = "KK baru"
  description = "Deskripsi."

    [[services.variants.requirements]]
    code = "kk"
    label = "KK"
    hint = "Foto KK."
    mode = "mandatory"

    [[services.variants.fields]]
    name = "alamat"
    label = "Alamat"
    type = "text"
'''

VARIANT_2 = '''
  [[services.variants]]
  code = "baru"
  label = "Lagi"
  description = "Lagi."
'''

REQUIREMENT_2 = '''
    [[services.variants.requirements]]
    code = "kk"
    label = "KK lagi"
    hint = "Foto."
    mode = "optional"
'''


def write(tmp_path, text):
    path = tmp_path / "services.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_catalogue_and_defaults(tmp_path):
    catalogue = load(write(tmp_path, MINIMAL))
    service = catalogue.service("kk")
    assert service.target_days == 1
    assert service.description == "Deskripsi yang panjang."
    assert service.reporting_deadline_days is None and service.deadline_note is None
    field = service.variant("baru").fields[0]
    assert field.required is True and field.max_length == DEFAULT_MAX_LENGTH and field.hint is None


def test_packaged_path_is_the_default():
    assert load(CATALOGUE_PATH) == load()


@pytest.mark.parametrize("change, expected", [
    pytest.param(("free = true", "free = true\ncolour = \"merah\""),
                 ["service 'kk'", "unknown key 'colour'"], id="unknown-service-key"),
    pytest.param(('hint = "Foto KK."', 'hint = "Foto KK."\nwajib = true'),
                 ["requirement 'kk'", "unknown key 'wajib'"], id="unknown-requirement-key"),
    pytest.param(('label = "KK"\n', ""),
                 ["variant 'baru' > requirement 'kk'", "missing 'label'"], id="missing-label"),
    pytest.param(('label = "Kartu Keluarga"\n', ""), ["service 'kk'", "missing 'label'"], id="service-no-label"),
    pytest.param(('mode = "mandatory"', 'mode = "wajib"'),
                 ["requirement 'kk'", "unknown mode 'wajib'", "mandatory, optional, sptjm"], id="unknown-mode"),
    pytest.param(('type = "text"', 'type = "email"'),
                 ["field 'alamat'", "unknown type 'email'"], id="unknown-type"),
    pytest.param(('output = "document"', 'output = "pdf"'), ["service 'kk'", "unknown output 'pdf'"],
                 id="unknown-output"),
    pytest.param(('["kasi"]', '["kasi", "lurah"]'), ["unknown verification step 'lurah'"], id="unknown-step"),
    pytest.param(('["kasi"]', '["kabid", "kasi"]'), ["service 'kk'", "out of order"], id="steps-out-of-order"),
    pytest.param(('["kasi"]', '["kasi", "kasi"]'), ["out of order or repeated"], id="steps-repeated"),
    pytest.param(("", VARIANT_2), ["service 'kk'", "duplicate variant code 'baru'"], id="duplicate-variant"),
    pytest.param(('    [[services.variants.fields]]', REQUIREMENT_2 + '    [[services.variants.fields]]'),
                 ["variant 'baru'", "duplicate requirement code 'kk'"], id="duplicate-requirement"),
    pytest.param(('type = "text"', 'type = "select"'),
                 ["field 'alamat'", "needs 'choices'"], id="select-without-choices"),
    pytest.param(('type = "text"', 'type = "text"\nchoices = [{ value = "a", label = "A" }]'),
                 ["field 'alamat'", "'choices' given"], id="choices-on-text"),
    pytest.param(('mode = "mandatory"', 'mode = "sptjm"'),
                 ["requirement 'kk'", "needs an 'sptjm_text'"], id="sptjm-without-text"),
    pytest.param(('mode = "mandatory"', 'mode = "mandatory"\nsptjm_text = "Saya menyatakan."'),
                 ["requirement 'kk'", "'sptjm_text' given"], id="text-without-sptjm"),
    pytest.param(('name = "alamat"', 'name = "alamat-rumah"'), ["field #1", "invalid name 'alamat-rumah'"],
                 id="bad-field-name"),
    pytest.param(('name = "alamat"', 'name = "class"'), ["Python keyword"], id="keyword-field-name"),
    pytest.param(('code = "baru"', 'code = "Baru KK"'), ["variant #1", "invalid code 'Baru KK'"], id="bad-code"),
    pytest.param(('code = "baru"', 'code = "baru"\nmin_age = 10\nmax_age = 4'),
                 ["variant 'baru'", "'min_age' 10 is above 'max_age' 4"], id="ages-inverted"),
    pytest.param(("free = true", "free = true\nreporting_deadline_days = 60"),
                 ["service 'kk'", "'deadline_note'"], id="deadline-without-note"),
    pytest.param(("free = true", "free = true\ntarget_days = 0"), ["'target_days'", "at least 1"],
                 id="target-days-zero"),
    pytest.param(("free = true", 'free = "ya"'), ["'free' must be true or false"], id="free-not-bool"),
    pytest.param(('summary = "Ringkasan."', 'summary = """Baris satu.\nBaris dua."""'),
                 ["'summary' must be a single line"], id="summary-two-lines"),
    pytest.param(('type = "text"', 'type = "date"\nmax_length = 10'), ["'max_length' applies"],
                 id="max-length-on-date"),
    pytest.param(('type = "text"', 'type = "number"\nmin = 5\nmax = 1'), ["'min' 5 is above 'max' 1"],
                 id="min-above-max"),
    pytest.param(('legal_basis = ["Perpres 96/2018"]', "legal_basis = []"), ["'legal_basis'"], id="no-legal-basis"),
    pytest.param(('code = "kk"\nlabel = "Kartu', 'label = "Kartu'), ["service #1", "missing 'code'"],
                 id="service-without-code"),
    pytest.param(('output = "document"', 'output = "document'), ["not valid TOML"], id="invalid-toml"),
])
def test_malformed_catalogue_raises_helpful_error(tmp_path, change, expected):
    old, new = change
    if old:
        assert old in MINIMAL
        text = MINIMAL.replace(old, new, 1)
    else:
        text = MINIMAL + new
    with pytest.raises(CatalogueError) as info:
        load(write(tmp_path, text))
    message = str(info.value)
    assert message.startswith("services.toml:")
    for part in expected:
        assert part in message


def test_duplicate_service_codes(tmp_path):
    second = MINIMAL.replace('label = "Kartu Keluarga"', 'label = "Lagi"')
    with pytest.raises(CatalogueError, match="duplicate service code 'kk'"):
        load(write(tmp_path, MINIMAL + second))


def test_unknown_top_level_key(tmp_path):
    with pytest.raises(CatalogueError, match="unknown key 'versi'"):
        load(write(tmp_path, 'versi = 2\n' + MINIMAL))


def test_select_choice_errors_name_the_choice(tmp_path):
    text = MINIMAL.replace('type = "text"', 'type = "select"\nchoices = [{ value = "a", label = "A" }, { value = "b" }]')
    with pytest.raises(CatalogueError, match=r"field 'alamat' > choice #2: missing 'label'"):
        load(write(tmp_path, text))


# --- the Babel extractor ---------------------------------------------------------------------

def test_extractor_yields_catalogue_strings(catalogue):
    with CATALOGUE_PATH.open("rb") as fileobj:
        results = list(extract_catalogue(fileobj, {}, [], {}))
    messages = {message for _, _, message, _ in results}
    assert all(funcname is None and comments == [] for _, funcname, _, comments in results)

    kelahiran = catalogue.service("akta_kelahiran").variant("kelahiran")
    expected = {s.label for s in catalogue} | {s.summary for s in catalogue} | {s.description for s in catalogue}
    expected |= {s.deadline_note for s in catalogue if s.deadline_note}
    for _, variant in all_variants(catalogue):
        expected |= {variant.label, variant.description, *variant.notes}
        for requirement in variant.requirements:
            expected |= {requirement.label, requirement.hint}
            if requirement.sptjm_text:
                expected.add(requirement.sptjm_text)
        for field in variant.fields:
            expected |= {field.label, *(c.label for c in field.choices)}
            if field.hint:
                expected.add(field.hint)
    assert expected <= messages
    assert kelahiran.requirement("bukti_perkawinan").sptjm_text in messages
    # Codes and the regulations' titles are not msgids.
    assert "akta_kelahiran" not in messages
    assert not any(message.startswith("Peraturan Presiden") for message in messages)


def test_extractor_line_numbers_point_at_the_text():
    lines = CATALOGUE_PATH.read_text(encoding="utf-8").splitlines()
    with CATALOGUE_PATH.open("rb") as fileobj:
        results = list(extract_catalogue(fileobj, {}, [], {}))
    for lineno, _, message, _ in results:
        assert message.split()[0] in lines[lineno - 1], (lineno, message)


def test_extractor_through_babel():
    source = MINIMAL.replace('type = "text"', 'type = "select"\nchoices = [{ value = "a", label = "Pilihan A" }]')
    found = list(extract(extract_catalogue, io.BytesIO(source.encode("utf-8"))))
    messages = [message for _, message, _, _ in found]
    assert messages == ["Kartu Keluarga", "Ringkasan.", "Deskripsi yang panjang.", "KK baru", "Deskripsi.",
                        "KK", "Foto KK.", "Alamat", "Pilihan A"]
    assert found[0][0] == source.splitlines().index('label = "Kartu Keluarga"') + 1
