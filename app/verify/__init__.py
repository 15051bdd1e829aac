"""Public certificate verification pages (no login)."""
