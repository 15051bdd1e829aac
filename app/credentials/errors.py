"""The one exception of the credential engine."""


class CredentialError(Exception):
    """Malformed input or a failed check. The message is safe to show to the person verifying."""
