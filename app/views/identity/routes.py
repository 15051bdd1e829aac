"""The identity blueprint's route modules: importing this attaches their routes to `bp`."""

from app.views.identity import (
    bp,
    saml,  # noqa: F401  (routes)
)

__all__ = ["bp"]
