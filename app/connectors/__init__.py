"""Outgoing webhooks, incoming hooks, connectors, hardened HTTP and credential encryption."""
