"""The console's forms; Flask-WTF adds the CSRF token to each."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FloatField,
    HiddenField,
    PasswordField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

URL_HINT = "An absolute https:// address."


class ConsoleForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type hints
    """A console form: Flask-WTF adds the CSRF token."""


class LoginForm(ConsoleForm):
    """Email and password."""

    email = StringField("Email address", [InputRequired("Enter your email address."),
                                          Length(max=320)])
    password = PasswordField("Password", [InputRequired("Enter your password."),
                                          Length(max=1024)])
    code = StringField("Code from your authenticator app", [Optional(), Length(max=16)],
                       description="Only for accounts with two-factor sign-in: six digits.")
    next = HiddenField()


class SsoCodeForm(ConsoleForm):
    """The account's two-factor code, after the university's sign-in."""

    code = StringField("Code from your authenticator app",
                       [InputRequired("Enter the six-digit code."), Length(max=16)],
                       description="Six digits; the newest your app shows.")


class ActionForm(ConsoleForm):
    """A button that changes something: only the CSRF token."""


class PlatformForm(ConsoleForm):
    """A registration's details, the same as `lti-tool platform add` asks for."""

    name = StringField("Name", [Optional(), Length(max=200)],
                       description="How the console names it, e.g. \"Moodle at Uni A\". "
                                   "Left empty, the issuer's host is used.")
    issuer = StringField("Issuer (platform ID)", [InputRequired("Enter the issuer."),
                                                  Length(max=500)],
                         description="Moodle: the site's address. Blackboard: "
                                     "https://blackboard.com. Canvas: "
                                     "https://canvas.instructure.com.")
    client_id = StringField("Client ID", [InputRequired("Enter the client ID."),
                                          Length(max=500)])
    auth_login_url = StringField("Authentication request URL (OIDC auth endpoint)",
                                 [InputRequired("Enter the authentication request URL."),
                                  Length(max=1000)], description=URL_HINT)
    auth_token_url = StringField("Access token URL", [InputRequired("Enter the token URL."),
                                                      Length(max=1000)],
                                 description=URL_HINT)
    key_set_url = StringField("Public keyset URL", [InputRequired("Enter the keyset URL."),
                                                    Length(max=1000)], description=URL_HINT)
    auth_audience = StringField("Token audience", [Optional(), Length(max=1000)],
                                description="Only if the platform names one (Brightspace's "
                                            "OAuth2 audience). Otherwise leave empty.")
    auto_approve = BooleanField("Let new deployments in without approval")


class NewPlatformForm(PlatformForm):
    """A new registration, with its first deployments."""

    deployment_ids = TextAreaField("Deployment IDs", [Optional(), Length(max=20000)],
                                   description="One per line; they are approved at once. "
                                               "Deployments that are not listed wait for "
                                               "approval on their first launch.")


class DeploymentForm(ConsoleForm):
    """A deployment id to add under a registration."""

    deployment_id = StringField("Deployment ID", [InputRequired("Enter the deployment ID."),
                                                  Length(max=500)])
    name = StringField("Name", [Optional(), Length(max=200)],
                       description="e.g. the institution, for Blackboard.")
    pending = BooleanField("Record it as pending (approve later)")


class InviteForm(ConsoleForm):
    """A one-time Dynamic Registration link."""

    hours = FloatField("Valid for (hours)", [InputRequired("Enter how many hours."),
                                             NumberRange(min=0.1, max=720,
                                                         message="Between 0.1 and 720 hours.")],
                       default=24)
    note = StringField("Note", [Optional(), Length(max=500)],
                       description="What the link is for, e.g. the site you send it to.")
