"""Account forms. Field names are part of the contract (the login form posts `email`, `password`)."""

from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from app.web.inputs import Form


class LoginForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128)])
    remember = BooleanField("Keep me logged in on this device")


class ForgotPasswordForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])


class SetPasswordForm(Form):
    password = PasswordField("New password", validators=[DataRequired(), Length(min=8, max=128)])
    confirm = PasswordField("Repeat the new password",
                            validators=[DataRequired(), EqualTo("password", message="The passwords differ.")])


class ProfileForm(Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    reminder_emails = BooleanField("Email me reminders before my certificates expire")


class ChangePasswordForm(SetPasswordForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])


class TokenForm(Form):
    name = StringField("Token name", validators=[DataRequired(), Length(max=100)])


class SecondFactorForm(Form):
    code = StringField("Code", validators=[DataRequired(), Length(max=64)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True})
    remember_device = BooleanField("Remember this device")


class TotpConfirmForm(Form):
    code = StringField("Code from the app", validators=[DataRequired(), Length(max=64)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class TotpDisableForm(Form):
    proof = PasswordField("A current code, or your password", validators=[DataRequired(), Length(max=128)])
