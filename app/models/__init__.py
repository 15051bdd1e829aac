"""Tables only, one module per aggregate. Importing this package registers them all."""

from app.models.audit import AuditEvent
from app.models.notification import OutboxEmail
from app.models.user import ROLES, ApiToken, User

__all__ = ["ROLES", "ApiToken", "AuditEvent", "OutboxEmail", "User"]
