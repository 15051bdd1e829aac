"""One form for every integration template; each template shows only its own fields (TYPE_FIELDS)."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import Length, Optional

from app.connectors.oauth2 import AUTH_TYPES
from app.services.integrations.registry import EVENT_TYPES, SECRET_FIELDS
from app.services.integrations.settings import AUTH_FIELDS
from app.web.inputs import Form

try:  # WTForms 3.3 deprecates (value, label) tuples, and filterwarnings = error makes that fatal
    from wtforms import SelectChoice
except ImportError:  # older WTForms

    def SelectChoice(value, label):  # noqa: N802 - mirrors the WTForms class
        return (value, label)


# Where files are read from or written to: a folder, or an S3 bucket with its credentials.
LOCATION_FIELDS = ("location", "folder", "bucket", "prefix", "region", "endpoint_url", "access_key_id",
                   "secret_access_key")
TYPE_FIELDS: dict[str, tuple[str, ...]] = {
    "generic_webhook": (
        "name",
        "url",
        "event_types",
        "condition_certification_id",
        "condition_department",
        "auth_type",
        "header_name",
        "api_key",
        "token",
        "username",
        "password",
        "token_url",
        "client_id",
        "client_secret",
        "scope",
    ),
    "slack": ("name", "webhook_url", "event_types", "condition_certification_id", "condition_department"),
    "teams": ("name", "webhook_url", "event_types", "condition_certification_id", "condition_department"),
    "discord": ("name", "webhook_url", "event_types", "condition_certification_id", "condition_department"),
    "moodle": ("name", "site_url", "moodle_token", "company_id", "create_users", "sync_every_minutes"),
    "incoming": ("name", "signature_scheme", "create_users"),
    "sql": ("name", "database_url", "query", "sync_every_minutes"),
    "file_drop": ("name", *LOCATION_FIELDS, "settle_seconds", "sync_every_minutes"),
    "pdf_export": ("name", *LOCATION_FIELDS),
}
S3_ONLY = "Only for an S3 bucket."
AUTH_LABELS = {
    "none": "None",
    "api_key": "API key header",
    "bearer": "Bearer token",
    "basic": "Basic (user + password)",
    "oauth2": "OAuth2 client credentials",
}


# Fields that only matter for one value of another field: static/js/show-for.js hides the others (all
# stay visible without JavaScript) and the service ignores what belongs to a type not chosen.
SHOW_FOR: dict[str, str] = {
    **{name: f"auth_type:{auth}" for auth, names in AUTH_FIELDS.items() for name in names},
    "folder": "location:folder",
    **{name: "location:s3" for name in ("bucket", "prefix", "region", "endpoint_url", "access_key_id",
                                        "secret_access_key")},
}


def event_groups(types=EVENT_TYPES) -> list[tuple[str, list[str]]]:
    """Event types grouped by the object before the dot: [("certificate", [...]), ("enrollment", ...)]."""
    groups: dict[str, list[str]] = {}
    for event_type in types:
        groups.setdefault(event_type.split(".", 1)[0], []).append(event_type)
    return list(groups.items())


def _choices(pairs):
    return [SelectChoice(value, label) for value, label in pairs]


class IntegrationForm(Form):
    show_for = SHOW_FOR  # name -> "field:value" (templates/integrations/form.html)
    event_groups = staticmethod(event_groups)

    name = StringField("Name", validators=[Length(max=120)])
    url = URLField("Endpoint URL", validators=[Optional(), Length(max=2000)])
    webhook_url = PasswordField("Slack incoming webhook URL", validators=[Optional(), Length(max=2000)])
    event_types = SelectMultipleField("Events", choices=_choices((t, t) for t in EVENT_TYPES))
    condition_certification_id = SelectField("Only for certification", choices=[], validate_choice=False)
    condition_department = StringField("Only for department", validators=[Optional(), Length(max=120)])
    auth_type = SelectField(
        "Authentication", choices=_choices((a, AUTH_LABELS[a]) for a in AUTH_TYPES), validate_choice=False
    )  # the service validates; other templates do not send it
    header_name = StringField("API key header name", validators=[Optional(), Length(max=100)])
    api_key = PasswordField("API key", validators=[Optional(), Length(max=2000)])
    token = PasswordField("Bearer token", validators=[Optional(), Length(max=4000)])
    username = StringField("User name", validators=[Optional(), Length(max=200)])
    password = PasswordField("Password", validators=[Optional(), Length(max=2000)])
    token_url = URLField("OAuth2 token URL", validators=[Optional(), Length(max=2000)])
    client_id = StringField("OAuth2 client id", validators=[Optional(), Length(max=500)])
    client_secret = PasswordField("OAuth2 client secret", validators=[Optional(), Length(max=2000)])
    scope = StringField("OAuth2 scope", validators=[Optional(), Length(max=500)])
    site_url = URLField("Moodle site URL", validators=[Optional(), Length(max=2000)])
    moodle_token = PasswordField("Web service token", validators=[Optional(), Length(max=200)])
    company_id = StringField("IOMAD company id (optional)", validators=[Optional(), Length(max=20)])
    create_users = BooleanField("Create learners Laurel does not know yet", default=True)
    signature_scheme = SelectField(
        "Signature",
        choices=_choices((("standard", "Standard Webhooks"), ("github", "GitHub-style X-Hub-Signature-256"))),
        validate_choice=False,
    )
    database_url = PasswordField("Database URL (read-only user)", validators=[Optional(), Length(max=2000)])
    query = TextAreaField("Query", validators=[Optional(), Length(max=5000)])
    location = SelectField(
        "Location",
        choices=_choices((("folder", "A folder on the Laurel server"), ("s3", "An S3 bucket"))),
        validate_choice=False,
    )
    folder = StringField(
        "Folder", validators=[Optional(), Length(max=1000)], description="Only for a folder: its full path."
    )
    bucket = StringField("Bucket", validators=[Optional(), Length(max=63)], description=S3_ONLY)
    prefix = StringField(
        "Prefix (folder in the bucket, e.g. laurel/incoming/)",
        validators=[Optional(), Length(max=500)],
        description=S3_ONLY,
    )
    region = StringField("Region", validators=[Optional(), Length(max=40)], description=S3_ONLY)
    endpoint_url = URLField(
        "Endpoint URL (MinIO, Ceph ...; empty for AWS)",
        validators=[Optional(), Length(max=2000)],
        description=S3_ONLY,
    )
    access_key_id = PasswordField(
        "Access key id", validators=[Optional(), Length(max=200)], description=S3_ONLY
    )
    secret_access_key = PasswordField(
        "Secret access key", validators=[Optional(), Length(max=200)], description=S3_ONLY
    )
    settle_seconds = StringField(
        "Wait until a file is unchanged for (seconds)", default="5", validators=[Optional(), Length(max=6)]
    )
    sync_every_minutes = StringField(
        "Sync every (minutes, empty = on demand)", validators=[Optional(), Length(max=6)]
    )

    def service_fields(self, kind: str) -> dict:
        """The submitted values of this template's fields, as the service expects them."""
        fields = {}
        for name in TYPE_FIELDS[kind]:
            value = getattr(self, name).data
            if name in SECRET_FIELDS and not value:
                continue  # blank secret: keep what is stored
            fields[name] = value if value is not None else ""
        return fields

    def fill(self, integration) -> None:
        """Prefill from a stored integration (never secrets)."""
        config = integration.config or {}
        for name in TYPE_FIELDS[integration.type]:
            if name in SECRET_FIELDS:
                continue
            value = config[name] if name in config else getattr(integration, name, None)
            if value is None:
                continue
            if name in ("condition_certification_id", "sync_every_minutes"):
                value = str(value)
            getattr(self, name).data = value


class ReplayForm(Form):
    since = StringField("Failed since (UTC, e.g. 2026-03-01T00:00)", validators=[Length(max=40)])
