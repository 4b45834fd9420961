"""Forms of the apply flow. The data form is built from the catalogue entry of the chosen variant."""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from ..forms import Form, LocalDateField, PersonFields, options, required
from ..services import identity


class ServiceForm(Form):
    service = RadioField(_l("Layanan apa yang Anda perlukan?"),
                         validators=[required(_l("Pilih salah satu layanan."))])
    client_token = HiddenField()


class VariantForm(Form):
    variant = RadioField(_l("Jenis permohonan"), validators=[required(_l("Pilih jenis permohonan."))])


class MemberChoiceForm(Form):
    person = RadioField(_l("Untuk siapa permohonan ini?"), coerce=int,
                        validators=[required(_l("Pilih untuk siapa permohonan ini."))])


class OtherPersonForm(PersonFields):
    kelurahan = SelectField(_l("Kelurahan tempat tinggal"),
                            validators=[required(_l("Pilih kelurahan tempat orang ini tinggal."))])


class UploadForm(Form):
    file = FileField(_l("Pilih foto atau PDF"))


class SptjmForm(Form):
    agree = BooleanField(_l("Saya menyatakan pernyataan di atas benar"),
                         validators=[InputRequired(message=_l("Centang pernyataan jika Anda setuju membuat SPTJM."))])


class SubmitForm(Form):
    pass


class AssistConfirmForm(Form):
    """The resident's consent to a request a satgas filled in: their code, or date of birth + NIK digits.

    ``way`` says which of the two forms on the page was sent; the rules live in custody.confirm_resident.
    """
    way = HiddenField()
    code = StringField(_l("Kode dari warga"), validators=[Optional(), Length(max=20)],
                       render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 20})
    birth_date = LocalDateField(_l("Tanggal lahir"), validators=[Optional()])
    nik_last4 = StringField(_l("4 angka terakhir NIK"), validators=[Optional(), Length(max=10)],
                            render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 10})


def _nik_validator(form, field):
    if field.data:
        check = identity.check_nik(field.data)
        if check.errors:
            raise ValidationError(check.errors[0])
        field.data = check.value


def data_form_class(fields):
    """A FlaskForm class with one input per FieldSpec of the catalogue."""
    attrs = {}
    for spec in fields:
        label = _(spec.label)
        message = _("Pilih: %(label)s.", label=label) if spec.type == "select" else _("Isi: %(label)s.", label=label)
        validators = [required(message)] if spec.required else [Optional()]
        kw = {"validators": validators, "description": _(spec.hint) if spec.hint else ""}
        if spec.type == "text":
            validators.append(Length(max=spec.max_length or 120))
            attrs[spec.name] = StringField(label, **kw)
        elif spec.type == "textarea":
            validators.append(Length(max=spec.max_length or 500))
            attrs[spec.name] = TextAreaField(label, **kw)
        elif spec.type == "date":
            attrs[spec.name] = LocalDateField(label, **kw)
        elif spec.type == "time":
            attrs[spec.name] = TimeField(label, **kw)
        elif spec.type == "number":
            validators.append(_number_in(spec.min, spec.max))
            attrs[spec.name] = StringField(label, render_kw={"inputmode": "decimal"}, **kw)
        elif spec.type == "select":
            choices = options([("", _("Pilih"))] + [(c.value, _(c.label)) for c in spec.choices])
            attrs[spec.name] = SelectField(label, choices=choices, **kw)
        elif spec.type == "nik":
            validators.append(_nik_validator)
            attrs[spec.name] = StringField(label, render_kw={"inputmode": "numeric", "maxlength": 24}, **kw)
        else:  # the catalogue loader rejects unknown types; this keeps a new type from slipping through
            raise ValueError(f"unknown field type {spec.type}")
    return type("DataForm", (Form,), attrs)


def _number_in(low, high):
    """Numbers as residents type them: "3", "3.2" or "3,2"."""
    def check(form, field):
        if not field.data:
            return
        try:
            value = float(str(field.data).replace(",", ".").strip())
        except ValueError:
            raise ValidationError(_("Isi dengan angka saja, misalnya 3,2.")) from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValidationError(_("Isi angka antara %(min)s dan %(max)s.", min=low, max=high))
        field.data = f"{value:g}"
    return check


def serialise(value) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "strftime"):
        return value.strftime("%H:%M")
    return str(value).strip()
