"""The domain: one package per domain (accounts, lifecycle, documents, messaging, sharing, analytics,
integrations) and the shared modules every domain uses (audit, events, errors, fields, recovery,
health, csv_export). Plain functions; no request, no page templates.

Services flush; the request (or job) boundary commits once. docs/architecture.md has the floor plan.
"""
