"""The one error the credential engine raises."""


class CredentialError(Exception):
    """Malformed input or a failed check; its message is safe to show to a verifier."""
