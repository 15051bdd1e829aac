"""The one exception of the credential engine."""


class CredentialError(Exception):
    """Malformed input or a failed check. The message is safe to show to the person verifying."""


CHANGED = "the signature does not match: the credential was changed after signing"
