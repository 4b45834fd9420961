"""Forms of the back office (kantor)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, SearchField, SelectField, TextAreaField
from wtforms.validators import Length, Optional

from ..forms import Form, options
from ..services.review import DUE_FILTERS, NOTE_MAX, RETURN_REASONS

DUE_LABELS = {"": _l("Semua"), "overdue": _l("Terlambat"), "today": _l("Jatuh tempo hari ini")}


class QueueFilterForm(Form):
    """The queue's filters, read from the query string (GET: no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Cari nomor permohonan, NIK atau nama"), validators=[Optional(), Length(max=120)],
                    render_kw={"autocomplete": "off"})
    service = SelectField(_l("Layanan"), validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()])
    kelurahan = SelectField(_l("Kelurahan"), validators=[Optional()])
    due = SelectField(_l("Jatuh tempo"), choices=options((key, DUE_LABELS[key]) for key in ("", *DUE_FILTERS)),
                      validators=[Optional()])


class ActionForm(Form):
    """A button that changes something (claim, release, approve): just the CSRF token."""


class DocumentReviewForm(Form):
    """The verdict on one document. Built with prefix="d<doc id>" so many fit on one page."""
    verdict = RadioField(_l("Penilaian"), choices=options([("accepted", _l("Terima")),
                                                           ("returned", _l("Kembalikan"))]),
                         validators=[Optional()])
    reason = SelectField(_l("Alasan dikembalikan"),
                         choices=options([("", _l("Pilih alasan")), *RETURN_REASONS.items()]),
                         validators=[Optional()])
    note = TextAreaField(_l("Catatan untuk warga"), validators=[Optional(), Length(max=NOTE_MAX)],
                         render_kw={"rows": 2})


class DecisionForm(Form):
    """POST decision=approve|return|reject with an optional note; each decision has its own form on the page."""
    decision = HiddenField()
    note = TextAreaField(validators=[Optional(), Length(max=NOTE_MAX)], render_kw={"rows": 3})


class ReturnForm(DecisionForm):
    # Same field name ("note") as the other decision forms, but its own id on the page.
    note = TextAreaField(_l("Catatan umum untuk warga"), id="return-note",
                         validators=[Optional(), Length(max=NOTE_MAX)], render_kw={"rows": 3})


class RejectForm(DecisionForm):
    note = TextAreaField(_l("Alasan penolakan"), id="reject-note",
                         validators=[Optional(), Length(max=NOTE_MAX)], render_kw={"rows": 3})


class ApproveForm(DecisionForm):
    note = TextAreaField(_l("Catatan untuk verifikator"), id="approve-note",
                         validators=[Optional(), Length(max=NOTE_MAX)], render_kw={"rows": 2})


DECISION_FORMS = {"approve": ApproveForm, "return": ReturnForm, "reject": RejectForm}
