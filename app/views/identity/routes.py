"""The identity blueprint's route modules: importing this attaches their routes to `bp`."""

from app.views.identity import bp, oidc, saml, sign_in_admin  # noqa: F401  (routes)

__all__ = ["bp"]
