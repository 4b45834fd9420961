"""The service catalogue: what residents can apply for, read from ``eopen/catalogue/services.toml``.

The catalogue is data. ``load()`` turns the TOML into frozen dataclasses and is strict: anything it
does not understand raises ``CatalogueError`` naming the service, variant and entry at fault, so a
typo in the file stops the app at start-up instead of surfacing as a half-rendered form.

Labels, hints and texts stay the raw Indonesian msgids; templates translate them with gettext at
render time. ``extract_catalogue`` is the Babel extractor that feeds those msgids to the
translation files (see ``babel.cfg``). Nothing here needs Flask.
"""
from __future__ import annotations

import functools
import keyword
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CATALOGUE_PATH = Path(__file__).resolve().parent.parent / "catalogue" / "services.toml"

OUTPUTS = ("card", "document")
VERIFICATION_STEPS = ("kasi", "kabid", "kadis")  # the order requests climb the chain
MODES = ("mandatory", "optional", "sptjm")
FIELD_TYPES = ("text", "textarea", "date", "time", "number", "select", "nik")
TEXT_TYPES = ("text", "textarea")
DEFAULT_MAX_LENGTH = 120
DEFAULT_TARGET_DAYS = 1
CODE_MAX_LENGTH = 32  # ServiceRequest.variant_code / service_code are String(32)

_CODE = re.compile(r"[a-z0-9][a-z0-9_]*\Z")
_FIELD_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")

# Keys whose string values are translation msgids ("notes" holds a list of them; choice labels
# are "label" keys inside the choices' tables).
_TRANSLATABLE_KEYS = frozenset({"label", "summary", "description", "hint", "deadline_note", "sptjm_text",
                                "original"})
_TRANSLATABLE_LIST_KEYS = frozenset({"notes"})


class CatalogueError(ValueError):
    """The catalogue file is malformed. The message names the file and the entry at fault."""


# --- the model -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class FieldSpec:
    """A question on a variant's form; the answer is stored under ``name`` in the request data."""
    name: str
    label: str
    type: str
    required: bool = True
    hint: str | None = None
    choices: tuple[Choice, ...] = ()
    max_length: int | None = None  # text/textarea only
    min: int | float | None = None  # number only
    max: int | float | None = None  # number only


@dataclass(frozen=True)
class Requirement:
    """A document the applicant uploads, or (mode "sptjm") may replace by affirming ``sptjm_text``."""
    code: str
    label: str
    hint: str
    mode: str
    sptjm_text: str | None = None
    # What a Satgas Pamor takes at the door when the paper itself is handed in, where the label names a
    # photo (e.g. "KTP-el yang rusak" for "Foto KTP-el yang rusak"); None: "Asli: <label>".
    original: str | None = None

    @property
    def mandatory(self) -> bool:
        return self.mode == "mandatory"

    @property
    def optional(self) -> bool:
        return self.mode == "optional"

    @property
    def sptjm_allowed(self) -> bool:
        return self.mode == "sptjm"


@dataclass(frozen=True)
class Variant:
    code: str
    label: str
    description: str
    requirements: tuple[Requirement, ...] = ()
    fields: tuple[FieldSpec, ...] = ()
    min_age: int | None = None  # completed years of the person the request is for, inclusive
    max_age: int | None = None
    notes: tuple[str, ...] = ()

    def requirement(self, code: str) -> Requirement:
        for requirement in self.requirements:
            if requirement.code == code:
                return requirement
        raise KeyError(f"variant {self.code!r} has no requirement {code!r}")

    def fits_age(self, age: int) -> bool:
        """Whether a person of ``age`` completed years may be the subject of this variant."""
        return (self.min_age is None or age >= self.min_age) and (self.max_age is None or age <= self.max_age)


@dataclass(frozen=True)
class Service:
    code: str
    label: str
    summary: str
    description: str
    output: str  # "card" or "document"
    target_days: int  # working days
    verification_steps: tuple[str, ...]
    reporting_deadline_days: int | None
    deadline_note: str | None
    legal_basis: tuple[str, ...]
    free: bool
    variants: tuple[Variant, ...]

    def variant(self, code: str) -> Variant:
        for variant in self.variants:
            if variant.code == code:
                return variant
        raise KeyError(f"service {self.code!r} has no variant {code!r}")


@dataclass(frozen=True)
class Catalogue:
    services: tuple[Service, ...]

    def service(self, code: str) -> Service:
        for service in self.services:
            if service.code == code:
                return service
        raise KeyError(f"no service {code!r} in the catalogue")

    def __iter__(self) -> Iterator[Service]:
        return iter(self.services)

    def __len__(self) -> int:
        return len(self.services)

    def __contains__(self, code: object) -> bool:
        return any(service.code == code for service in self.services)


# --- loading ---------------------------------------------------------------------------------

def clean_text(text: str) -> str:
    """Collapse runs of whitespace (incl. the line breaks of TOML multi-line strings) to one space."""
    return " ".join(text.split())


def load(path: str | Path | None = None) -> Catalogue:
    """Read and validate a catalogue file (the packaged one by default)."""
    path = Path(path) if path is not None else CATALOGUE_PATH
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{path.name}: not valid TOML: {exc}") from exc
    return _Loader(path.name).catalogue(data)


@functools.cache
def get_catalogue() -> Catalogue:
    """The packaged catalogue, loaded once per process."""
    return load()


class _Loader:
    def __init__(self, filename: str):
        self.filename = filename

    def fail(self, where: str, problem: str) -> CatalogueError:
        return CatalogueError(f"{self.filename}: {where}: {problem}" if where else f"{self.filename}: {problem}")

    # generic checks

    def table(self, raw: Any, where: str, allowed: set[str], required: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(raw, dict):
            raise self.fail(where, "expected a table")
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise self.fail(where, f"unknown key {', '.join(map(repr, unknown))} "
                                   f"(allowed: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in raw:
                raise self.fail(where, f"missing {key!r}")
        return raw

    def text(self, raw: Mapping[str, Any], key: str, where: str, *, required: bool = True,
             one_line: bool = False) -> str | None:
        if key not in raw:
            if required:
                raise self.fail(where, f"missing {key!r}")
            return None
        value = raw[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"{key!r} must be a non-empty string")
        if one_line and "\n" in value.strip():
            raise self.fail(where, f"{key!r} must be a single line")
        return clean_text(value)

    def integer(self, raw: Mapping[str, Any], key: str, where: str, *, minimum: int,
                default: int | None = None) -> int | None:
        value = raw.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(where, f"{key!r} must be a whole number of at least {minimum}, not {value!r}")
        return value

    def number(self, raw: Mapping[str, Any], key: str, where: str) -> int | float | None:
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise self.fail(where, f"{key!r} must be a number, not {value!r}")
        return value

    def boolean(self, raw: Mapping[str, Any], key: str, where: str, *, default: bool | None = None) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(where, f"{key!r} must be true or false, not {value!r}")
        return value

    def array(self, raw: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> list[Any]:
        if key not in raw:
            if required:
                raise self.fail(where, f"missing {key!r}")
            return []
        value = raw[key]
        if not isinstance(value, list):
            raise self.fail(where, f"{key!r} must be a list")
        return value

    def code(self, raw: Any, key: str, kind: str, index: int, parent: str, pattern: re.Pattern[str]) -> tuple[str, str]:
        """Return (code, where) for an entry, naming it by position until its code is known good."""
        provisional = f"{parent}{kind} #{index + 1}"
        if not isinstance(raw, dict):
            raise self.fail(provisional, "expected a table")
        value = raw.get(key)
        if value is None:
            raise self.fail(provisional, f"missing {key!r}")
        if not isinstance(value, str) or not pattern.match(value) or len(value) > CODE_MAX_LENGTH:
            raise self.fail(provisional, f"invalid {key} {value!r} (lower-case letters, digits and "
                                         f"underscores, at most {CODE_MAX_LENGTH} characters)")
        if kind == "field" and keyword.iskeyword(value):
            raise self.fail(provisional, f"invalid {key} {value!r}: a Python keyword")
        return value, f"{parent}{kind} {value!r}"

    def unique(self, codes: list[str], kind: str, where: str) -> None:
        seen: set[str] = set()
        for code in codes:
            if code in seen:
                raise self.fail(where, f"duplicate {kind} {code!r}")
            seen.add(code)

    # the levels

    def catalogue(self, data: Mapping[str, Any]) -> Catalogue:
        self.table(data, "", {"services"}, ("services",))
        raw_services = self.array(data, "services", "", required=True)
        if not raw_services:
            raise self.fail("", "no services")
        services = tuple(self.service(raw, i) for i, raw in enumerate(raw_services))
        self.unique([s.code for s in services], "service code", "services")
        return Catalogue(services)

    def service(self, raw: Any, index: int) -> Service:
        code, where = self.code(raw, "code", "service", index, "", _CODE)
        self.table(raw, where, {"code", "label", "summary", "description", "output", "target_days",
                                "verification_steps", "reporting_deadline_days", "deadline_note",
                                "legal_basis", "free", "variants"},
                   ("label", "summary", "description", "output", "verification_steps", "legal_basis",
                    "free", "variants"))
        output = raw["output"]
        if output not in OUTPUTS:
            raise self.fail(where, f"unknown output {output!r} (expected one of: {', '.join(OUTPUTS)})")

        steps = self.array(raw, "verification_steps", where)
        for step in steps:
            if step not in VERIFICATION_STEPS:
                raise self.fail(where, f"unknown verification step {step!r} "
                                       f"(expected some of, in order: {', '.join(VERIFICATION_STEPS)})")
        positions = [VERIFICATION_STEPS.index(step) for step in steps]
        if any(b <= a for a, b in zip(positions, positions[1:])):
            raise self.fail(where, f"verification steps {steps} out of order or repeated "
                                   f"(the chain is {' -> '.join(VERIFICATION_STEPS)})")

        deadline = self.integer(raw, "reporting_deadline_days", where, minimum=1)
        note = self.text(raw, "deadline_note", where, required=False)
        if (deadline is None) != (note is None):
            raise self.fail(where, "'reporting_deadline_days' and 'deadline_note' go together: "
                                   "give both (what happens after the deadline, in plain words) or neither")

        legal_basis = self.array(raw, "legal_basis", where)
        if not legal_basis or not all(isinstance(item, str) and item.strip() for item in legal_basis):
            raise self.fail(where, "'legal_basis' must be a non-empty list of non-empty strings")

        raw_variants = self.array(raw, "variants", where)
        if not raw_variants:
            raise self.fail(where, "no variants")
        variants = tuple(self.variant(item, i, where) for i, item in enumerate(raw_variants))
        self.unique([v.code for v in variants], "variant code", where)

        return Service(
            code=code,
            label=self.text(raw, "label", where),
            summary=self.text(raw, "summary", where, one_line=True),
            description=self.text(raw, "description", where),
            output=output,
            target_days=self.integer(raw, "target_days", where, minimum=1, default=DEFAULT_TARGET_DAYS),
            verification_steps=tuple(steps),
            reporting_deadline_days=deadline,
            deadline_note=note,
            legal_basis=tuple(clean_text(item) for item in legal_basis),
            free=self.boolean(raw, "free", where),
            variants=variants,
        )

    def variant(self, raw: Any, index: int, parent: str) -> Variant:
        code, where = self.code(raw, "code", "variant", index, f"{parent} > ", _CODE)
        self.table(raw, where, {"code", "label", "description", "min_age", "max_age", "notes",
                                "requirements", "fields"}, ("label", "description"))
        min_age = self.integer(raw, "min_age", where, minimum=0)
        max_age = self.integer(raw, "max_age", where, minimum=0)
        if min_age is not None and max_age is not None and min_age > max_age:
            raise self.fail(where, f"'min_age' {min_age} is above 'max_age' {max_age}")
        notes = self.array(raw, "notes", where)
        if not all(isinstance(note, str) and note.strip() for note in notes):
            raise self.fail(where, "'notes' must be a list of non-empty strings")

        requirements = tuple(self.requirement(item, i, where)
                             for i, item in enumerate(self.array(raw, "requirements", where)))
        self.unique([r.code for r in requirements], "requirement code", where)
        fields = tuple(self.field(item, i, where) for i, item in enumerate(self.array(raw, "fields", where)))
        self.unique([f.name for f in fields], "field name", where)

        return Variant(
            code=code,
            label=self.text(raw, "label", where),
            description=self.text(raw, "description", where),
            requirements=requirements,
            fields=fields,
            min_age=min_age,
            max_age=max_age,
            notes=tuple(clean_text(note) for note in notes),
        )

    def requirement(self, raw: Any, index: int, parent: str) -> Requirement:
        code, where = self.code(raw, "code", "requirement", index, f"{parent} > ", _CODE)
        self.table(raw, where, {"code", "label", "hint", "mode", "sptjm_text", "original"}, ("label", "hint", "mode"))
        mode = raw["mode"]
        if mode not in MODES:
            raise self.fail(where, f"unknown mode {mode!r} (expected one of: {', '.join(MODES)})")
        sptjm_text = self.text(raw, "sptjm_text", where, required=False)
        if mode == "sptjm" and sptjm_text is None:
            raise self.fail(where, "mode 'sptjm' needs an 'sptjm_text': the declaration the applicant affirms")
        if mode != "sptjm" and sptjm_text is not None:
            raise self.fail(where, f"'sptjm_text' given but mode is {mode!r}, not 'sptjm'")
        return Requirement(code=code, label=self.text(raw, "label", where), hint=self.text(raw, "hint", where),
                           mode=mode, sptjm_text=sptjm_text, original=self.text(raw, "original", where, required=False))

    def field(self, raw: Any, index: int, parent: str) -> FieldSpec:
        name, where = self.code(raw, "name", "field", index, f"{parent} > ", _FIELD_NAME)
        self.table(raw, where, {"name", "label", "type", "required", "hint", "choices", "max_length",
                                "min", "max"}, ("label", "type"))
        type_ = raw["type"]
        if type_ not in FIELD_TYPES:
            raise self.fail(where, f"unknown type {type_!r} (expected one of: {', '.join(FIELD_TYPES)})")

        raw_choices = self.array(raw, "choices", where)
        if type_ == "select" and not raw_choices:
            raise self.fail(where, "a 'select' field needs 'choices'")
        if type_ != "select" and "choices" in raw:
            raise self.fail(where, f"'choices' given but type is {type_!r}, not 'select'")
        choices = tuple(self.choice(item, i, where) for i, item in enumerate(raw_choices))
        self.unique([c.value for c in choices], "choice value", where)

        if type_ not in TEXT_TYPES and "max_length" in raw:
            raise self.fail(where, f"'max_length' applies to text and textarea fields, not {type_!r}")
        max_length = self.integer(raw, "max_length", where, minimum=1,
                                  default=DEFAULT_MAX_LENGTH if type_ in TEXT_TYPES else None)

        if type_ != "number" and ("min" in raw or "max" in raw):
            raise self.fail(where, f"'min'/'max' apply to number fields, not {type_!r}")
        low, high = self.number(raw, "min", where), self.number(raw, "max", where)
        if low is not None and high is not None and low > high:
            raise self.fail(where, f"'min' {low} is above 'max' {high}")

        return FieldSpec(name=name, label=self.text(raw, "label", where), type=type_,
                         required=self.boolean(raw, "required", where, default=True),
                         hint=self.text(raw, "hint", where, required=False), choices=choices,
                         max_length=max_length, min=low, max=high)

    def choice(self, raw: Any, index: int, parent: str) -> Choice:
        where = f"{parent} > choice #{index + 1}"
        self.table(raw, where, {"value", "label"}, ("value", "label"))
        value = raw["value"]
        if not isinstance(value, str) or not _CODE.match(value):
            raise self.fail(where, f"invalid value {value!r} (lower-case letters, digits and underscores)")
        return Choice(value=value, label=self.text(raw, "label", f"{parent} > choice {value!r}"))


# --- Babel extractor -------------------------------------------------------------------------

def extract_catalogue(fileobj, keywords, comment_tags, options):
    """Babel extraction method for the catalogue TOML (registered in ``babel.cfg``).

    Yields ``(lineno, None, message, [])`` for every label, summary, description, hint,
    deadline_note, sptjm_text, note and choice label, in file order, as ``load()`` will return
    them (whitespace collapsed). Line numbers are found by searching the source for the start of
    each message, so they are approximate for strings with escapes.
    """
    source = fileobj.read()
    if isinstance(source, bytes):
        source = source.decode((options or {}).get("encoding", "utf-8"))
    locate = _LineFinder(source)
    for message in _messages(tomllib.loads(source)):
        yield locate(message), None, message, []


def _messages(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():  # tomllib keeps the file's order
            if key in _TRANSLATABLE_KEYS and isinstance(value, str) and value.strip():
                yield clean_text(value)
            elif key in _TRANSLATABLE_LIST_KEYS and isinstance(value, list):
                yield from (clean_text(item) for item in value if isinstance(item, str) and item.strip())
            else:
                yield from _messages(value)
    elif isinstance(node, list):
        for item in node:
            yield from _messages(item)


class _LineFinder:
    """Find the line of each message, searching forward from the previous one."""

    def __init__(self, source: str):
        self.source = source
        self.position = 0
        self.line = 1

    def __call__(self, message: str) -> int:
        words = message.split()[:6]
        # An opening quote (basic or multi-line), then the first words, however the source wraps them.
        pattern = re.compile(r'"(?:"")?\s*(' + r"\s+".join(re.escape(word) for word in words) + ")")
        match = pattern.search(self.source, self.position) or pattern.search(self.source)
        if match:
            self.position = match.end()
            self.line = self.source.count("\n", 0, match.start(1)) + 1
        return self.line
