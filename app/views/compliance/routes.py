from app.views.compliance import bp, matrix, requirements  # noqa: F401
