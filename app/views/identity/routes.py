"""The identity blueprint's route modules: importing this attaches their routes to `bp`."""

from app.views.identity import bp

__all__ = ["bp"]
