"""Integrations: the registry of configured integrations and their settings, outgoing webhooks,
incoming hooks, sync runs (Moodle, SQL, CSV drop), and the PDF export. Transport lives in app/connectors."""
