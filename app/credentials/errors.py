"""The engine's one error type."""


class CredentialError(Exception):
    """Malformed input or a failed check; its message is safe to show to a verifier."""
