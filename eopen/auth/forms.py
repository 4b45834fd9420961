from flask_babel import lazy_gettext as _l
from wtforms import EmailField, IntegerField, PasswordField, RadioField, SelectField, StringField
from wtforms.validators import Email, EqualTo, Length, NumberRange, Optional

from ..forms import SEX_CHOICES, Form, LocalDateField, required


class SignupForm(Form):
    nik = StringField(_l("NIK"), validators=[required(_l("Isi NIK Anda (16 angka, ada di KTP-el atau KK)."))],
                      render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 24})
    no_kk = StringField(_l("Nomor Kartu Keluarga (No. KK)"),
                        validators=[required(_l("Isi nomor KK (16 angka di bagian atas Kartu Keluarga)."))],
                        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 24})
    full_name = StringField(_l("Nama lengkap"), validators=[
        required(_l("Isi nama lengkap seperti di KTP-el.")), Length(max=120)], render_kw={"autocomplete": "name"})
    birth_date = LocalDateField(_l("Tanggal lahir"), validators=[
        required(_l("Isi tanggal lahir, misalnya 17-08-1990."))], render_kw={"autocomplete": "bday"})
    sex = RadioField(_l("Jenis kelamin"), choices=SEX_CHOICES, validators=[required(_l("Pilih jenis kelamin."))])
    phone = StringField(_l("Nomor HP"), validators=[required(_l("Isi nomor HP, misalnya 0812 3456 7890."))],
                        render_kw={"inputmode": "tel", "autocomplete": "tel", "type": "tel"})
    email = EmailField(_l("Email"), validators=[
        Optional(), Email(message=_l("Alamat email belum benar, misalnya nama@contoh.id."))],
        render_kw={"autocomplete": "email"})
    kelurahan = SelectField(_l("Kelurahan"), validators=[required(_l("Pilih kelurahan tempat tinggal Anda."))])
    rw = IntegerField(_l("RW"), validators=[
        required(_l("Isi nomor RW, misalnya 3.")), NumberRange(1, 999, message=_l("Nomor RW antara 1 dan 999."))],
        render_kw={"inputmode": "numeric"})
    rt = IntegerField(_l("RT"), validators=[
        required(_l("Isi nomor RT, misalnya 5.")), NumberRange(1, 999, message=_l("Nomor RT antara 1 dan 999."))],
        render_kw={"inputmode": "numeric"})
    street = StringField(_l("Alamat jalan"), validators=[
        required(_l("Isi nama jalan dan nomor rumah.")), Length(max=200)],
        render_kw={"autocomplete": "street-address"})
    password = PasswordField(_l("Kata sandi"), validators=[
        required(_l("Buat kata sandi minimal 8 karakter.")),
        Length(min=8, message=_l("Kata sandi minimal 8 karakter."))], render_kw={"autocomplete": "new-password"})
    password_confirm = PasswordField(_l("Ulangi kata sandi"), validators=[
        required(_l("Ketik ulang kata sandi.")),
        EqualTo("password", message=_l("Kedua kata sandi tidak sama. Ketik ulang."))],
        render_kw={"autocomplete": "new-password"})


class LoginForm(Form):
    identifier = StringField(_l("NIK, nomor HP, atau nama pengguna"), validators=[
        required(_l("Isi NIK, nomor HP, atau nama pengguna."))], render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Kata sandi"), validators=[required(_l("Isi kata sandi."))],
                             render_kw={"autocomplete": "current-password"})
