"""The English catalogue: complete, consistent with the source, and used when a resident picks English.

Indonesian is the source language (the msgids); English lives in eopen/translations/en/LC_MESSAGES/messages.po.
When a test here fails because of a new or changed string, run `make extract-messages`, translate the new
entries in the English .po (no "#, fuzzy" left behind), then `make translations`.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "eopen" / "translations"
POT = TRANSLATIONS / "messages.pot"
PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
BABEL_CFG = ROOT / "babel.cfg"

# The same keywords as `make extract-messages` (pybabel's defaults plus -k _l -k lazy_gettext).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}

# A %-style named placeholder such as %(name)s or %(num)d. Jinja's newstyle gettext and Flask-Babel
# format translations with the % operator, so these are the only % signs a message may contain.
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
FIX = "Run `make extract-messages`, translate the new entries in {po}, then `make translations`."


def _load(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def _messages(catalog):
    """The catalogue's real entries (not the header, not obsolete #~ entries)."""
    return [m for m in catalog if m.id]


def _singular(msgid) -> str:
    return msgid[0] if isinstance(msgid, (tuple, list)) else msgid


def _forms(value) -> tuple[str, ...]:
    if value is None:
        return ("",)
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _names(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def _bare_percent(text: str) -> bool:
    return "%" in PLACEHOLDER.sub("", text)


@pytest.fixture(scope="module")
def english():
    return _load(PO)


def _not_hidden(path: str) -> bool:
    """Like `make extract-messages` (--ignore-dirs='.*'): skip .venv, .git …, but NOT templates/_macros."""
    return not Path(path).name.startswith(".")


@pytest.fixture(scope="module")
def extracted() -> dict[str, tuple[tuple[str, ...], str]]:
    """Extract the messages from the source in-process, with babel.cfg's method map and extractors
    (including eopen.services.catalogue:extract_catalogue for services.toml), as `make extract-messages`
    does. Returns {msgid: (msgid and plural, "file:line" of its first use)}."""
    with BABEL_CFG.open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f, filename=str(BABEL_CFG))
    found: dict[str, tuple[tuple[str, ...], str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True,
            directory_filter=_not_hidden):
        forms = _forms(message)
        if not forms[0]:
            continue  # e.g. _(variable) in a template: nothing to translate
        found.setdefault(forms[0], (forms, f"{Path(filename).as_posix()}:{lineno}"))
    return found


def test_every_entry_is_translated_and_not_fuzzy(english):
    untranslated = [_singular(m.id) for m in _messages(english) if not all(s.strip() for s in _forms(m.string))]
    fuzzy = [_singular(m.id) for m in _messages(english) if m.fuzzy]
    assert not untranslated, f"{len(untranslated)} untranslated entries in {PO.relative_to(ROOT)}: {untranslated[:10]}"
    assert not fuzzy, f"Check and un-fuzzy these entries in {PO.relative_to(ROOT)}: {fuzzy[:10]}"


def test_placeholders_match(english):
    wrong = []
    for m in _messages(english):
        expected = set().union(*(_names(i) for i in _forms(m.id)))
        for translation in _forms(m.string):
            if translation and _names(translation) != expected:
                wrong.append(f"{_singular(m.id)!r}: expects {sorted(expected)}, translation has "
                             f"{sorted(_names(translation))}")
    assert not wrong, "Placeholders differ between msgid and msgstr:\n" + "\n".join(wrong)


def test_catalogue_is_up_to_date_with_the_source(extracted, english):
    template = _load(POT)
    in_po = {_singular(m.id): _forms(m.id) for m in _messages(english)}
    in_pot = {_singular(m.id): _forms(m.id) for m in _messages(template)}
    problems = []
    for msgid, (forms, where) in extracted.items():
        if msgid not in in_pot:
            problems.append(f"not in messages.pot: {msgid!r} ({where})")
        if msgid not in in_po:
            problems.append(f"not in the English .po: {msgid!r} ({where})")
        elif len(forms) > 1 and in_po[msgid] != forms:
            problems.append(f"plural form changed: {forms!r} ({where})")
    assert not problems, ("The translation catalogue is out of date with the source.\n"
                          + "\n".join(problems[:30]) + "\n" + FIX.format(po=PO.relative_to(ROOT)))


def test_extraction_covers_python_templates_and_service_catalogue(extracted):
    files = {where.rsplit(":", 1)[0] for _, where in extracted.values()}
    assert any(f.startswith("eopen/") and f.endswith(".py") for f in files)
    assert any(f.endswith(".html") for f in files)
    assert "eopen/catalogue/services.toml" in files


def test_no_bare_percent_signs(english):
    # Jinja's newstyle gettext always applies % formatting, so a lone "%" (e.g. "50%") breaks rendering.
    bad = [f"msgid {i!r}" for m in _messages(english) for i in _forms(m.id) if _bare_percent(i)]
    bad += [f"msgstr {s!r}" for m in _messages(english) for s in _forms(m.string) if s and _bare_percent(s)]
    assert not bad, "Write percentages without a bare %, or pass them as a placeholder:\n" + "\n".join(bad)


@pytest.fixture
def compiled_english():
    """Compile the English catalogue into place if the .mo (git-ignored build output) is missing or older
    than the .po, so this test does not depend on `make translations` having run."""
    if not MO.exists() or MO.stat().st_mtime < PO.stat().st_mtime:
        catalog = _load(PO)
        fd, tmp = tempfile.mkstemp(dir=MO.parent, prefix=".messages-", suffix=".mo")
        try:
            with os.fdopen(fd, "wb") as f:
                write_mo(f, catalog)
            os.chmod(tmp, 0o644)
            os.replace(tmp, MO)
        except BaseException:
            os.unlink(tmp)
            raise
    return MO


def test_login_page_in_english(client, compiled_english):
    response = client.post("/bahasa", data={"lang": "en", "next": "/masuk"})
    assert response.status_code == 303
    page = client.get("/masuk").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "<h1>Sign in</h1>" in page
    assert "<h1>Masuk</h1>" not in page
    assert ">Masuk<" not in page
