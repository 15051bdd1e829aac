"""The certification lifecycle: catalog, enrollments and completions, issuing exactly once, revoking,
reading and verifying certificates, CSV import, dashboard figures, reminders and expiries."""
