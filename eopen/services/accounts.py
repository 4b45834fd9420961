"""Sign-up, log-in and households: the rules about who a resident is."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import RT, RW, Household, Person, User, utcnow
from . import identity

MIN_PASSWORD = 8


class AccountError(Exception):
    """Input that cannot be accepted: `errors` maps form fields to the message to show there."""

    def __init__(self, field: str, message: str, errors: dict[str, str] | None = None):
        super().__init__(message)
        self.field = field
        self.message = message
        self.errors = errors or {field: message}

    @classmethod
    def collect(cls, errors: dict[str, str]) -> "AccountError":
        field, message = next(iter(errors.items()))
        return cls(field, message, errors)


@dataclass
class SignupData:
    nik: str
    no_kk: str
    full_name: str
    birth_date: date
    sex: str
    phone: str
    email: str | None
    kelurahan_code: str
    rw: int
    rt: int
    street: str
    password: str


def find_rw_rt(kelurahan_code: str, rw_number: int, rt_number: int) -> tuple[RW, RT]:
    rw = db.session.scalar(select(RW).where(RW.kelurahan_code == kelurahan_code, RW.number == rw_number))
    if rw is None:
        raise AccountError("rw", _("RW %(rw)s tidak terdaftar di kelurahan ini. Periksa nomor RW pada KK Anda.",
                                   rw=rw_number))
    rt = db.session.scalar(select(RT).where(RT.rw_id == rw.id, RT.number == rt_number))
    if rt is None:
        raise AccountError("rt", _("RT %(rt)s tidak terdaftar di RW %(rw)s. Periksa nomor RT pada KK Anda.",
                                   rt=rt_number, rw=rw_number))
    return rw, rt


def check_new_nik(nik: str, *, birth_date: date | None, sex: str | None, household: Household | None = None
                  ) -> tuple[str, list[str], Person | None]:
    """Validate a NIK that is about to be registered. Returns (normalised, warnings, existing person).

    The existing person is returned only when it may be claimed: it is in `household` and has no account.
    """
    check = identity.check_nik(nik, birth_date=birth_date, sex=sex)
    if check.errors:
        raise AccountError("nik", check.errors[0])
    person = db.session.scalar(select(Person).where(Person.nik == check.value))
    if person is not None:
        has_account = db.session.scalar(select(User.id).where(User.person_id == person.id)) is not None
        if has_account or household is None or person.household_id != household.id:
            raise AccountError("nik", _("NIK ini sudah terdaftar. Jika ini NIK Anda, masuk dengan NIK tersebut "
                                        "atau hubungi Halo Pamor."))
    return check.value, check.warnings, person


def register_resident(data: SignupData) -> tuple[User, list[str]]:
    """Create the account, joining the household of the KK if it is already known.

    Every field is checked before anything is refused, so the resident sees all problems at once.
    The same sign-up sent twice (a double tap, a retry on a flaky network) returns the account made
    the first time instead of refusing the NIK as taken.
    """
    replayed = _replayed_signup(data)
    if replayed is not None:
        return replayed, []
    errors: dict[str, str] = {}
    kk = identity.check_kk(data.no_kk)
    if kk.errors:
        errors["no_kk"] = kk.errors[0]
    household = None if kk.errors else db.session.scalar(select(Household).where(Household.no_kk == kk.value))
    nik, warnings, person = "", [], None
    try:
        nik, warnings, person = check_new_nik(data.nik, birth_date=data.birth_date, sex=data.sex,
                                              household=household)
    except AccountError as error:
        errors.update(error.errors)
    phone = None
    try:
        phone = identity.normalise_phone(data.phone)
    except identity.InvalidPhone as error:
        errors["phone"] = str(error)
    if phone and db.session.scalar(select(User.id).where(User.phone == phone)) is not None:
        errors["phone"] = _("Nomor HP ini sudah dipakai akun lain. Pakai nomor lain atau masuk dengan nomor ini.")
    if len(data.password) < MIN_PASSWORD:
        errors["password"] = _("Kata sandi minimal %(n)d karakter.", n=MIN_PASSWORD)
    rw = rt = None
    if household is None:
        try:
            rw, rt = find_rw_rt(data.kelurahan_code, data.rw, data.rt)
        except AccountError as error:
            errors.update(error.errors)
    if errors:
        raise AccountError.collect(errors)

    warnings = kk.warnings + warnings
    try:
        # Nothing is written before the savepoint: the same sign-up twice at once, the unique NIK/KK decides.
        with db.session.no_autoflush, db.session.begin_nested():
            if household is None:
                household = Household(no_kk=kk.value, kelurahan_code=data.kelurahan_code, rw=rw, rt=rt,
                                      street=data.street.strip())
                db.session.add(household)
            else:
                warnings.append(_("KK ini sudah terdaftar: Anda bergabung dengan keluarga tersebut, dengan alamat "
                                  "yang tercatat di sana."))
            if person is None:
                person = Person(nik=nik, full_name=data.full_name.strip(), birth_date=data.birth_date, sex=data.sex,
                                relation="kepala_keluarga" if not household.members else "lainnya",
                                household=household)
                db.session.add(person)
            user = User(role="resident", person=person, phone=phone, email=(data.email or None),
                        display_name=person.full_name)
            user.set_password(data.password)
            db.session.add(user)
            db.session.flush()
    except IntegrityError:
        replayed = _replayed_signup(data)
        if replayed is None:
            raise
        return replayed, []
    return user, warnings


REPLAY_WINDOW = timedelta(minutes=15)


def _replayed_signup(data: SignupData) -> User | None:
    nik = "".join(ch for ch in data.nik if ch.isdigit())
    user = db.session.scalar(select(User).join(User.person).where(Person.nik == nik))
    if user is None or utcnow() - user.created_at > REPLAY_WINDOW or not user.check_password(data.password):
        return None
    return user


def add_member(household: Household, *, full_name: str, nik: str | None, birth_date: date, sex: str,
               relation: str) -> tuple[Person, list[str]]:
    # Take the household's row lock first (a no-op update), so that the same form sent twice at once
    # is judged one after the other and the second finds the member the first one added.
    db.session.execute(update(Household).where(Household.id == household.id).values(no_kk=Household.no_kk)
                       .execution_options(synchronize_session=False))
    members = db.session.scalars(select(Person).where(Person.household_id == household.id,
                                                      Person.birth_date == birth_date))
    same = next((p for p in members if p.full_name.casefold() == full_name.strip().casefold()), None)
    if same is not None:  # sent twice: a family has no two members with one name and birth date
        return same, []
    warnings: list[str] = []
    value = None
    if nik and nik.strip():
        value, warnings, existing = check_new_nik(nik, birth_date=birth_date, sex=sex)
    if birth_date > date.today():
        raise AccountError("birth_date", _("Tanggal lahir tidak boleh di masa depan."))
    person = Person(nik=value, full_name=full_name.strip(), birth_date=birth_date, sex=sex, relation=relation,
                    household=household)
    db.session.add(person)
    db.session.flush()
    return person, warnings


def find_login(identifier: str) -> User | None:
    """A user by NIK, phone number (any Indonesian format) or username."""
    text = identifier.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) == 16 and len(digits) >= len(text.replace(" ", "").replace("-", "").replace(".", "")):
        return db.session.scalar(select(User).join(User.person).where(Person.nik == digits))
    if text.startswith(("+", "0", "62", "8")) and digits:
        try:
            phone = identity.normalise_phone(text)
        except identity.InvalidPhone:
            phone = None
        if phone:
            user = db.session.scalar(select(User).where(User.phone == phone))
            if user:
                return user
    return db.session.scalar(select(User).where(User.username == text.lower()))


def authenticate(identifier: str, password: str) -> User | None:
    user = find_login(identifier)
    if user is None or not user.active or not user.check_password(password):
        return None
    return user
