"""Accounts: people, roles, passwords, invitations and resets (users.py), personal API tokens (tokens.py)."""
