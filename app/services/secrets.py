"""The application's key ring for secrets at rest (integration credentials, signing keys).

One SecretBox per app: INTEGRATIONS_ENCRYPTION_KEYS (first encrypts, all decrypt), else a key derived
from SECRET_KEY. Every domain that stores a secret or a private key encrypts it with this box.
"""

from __future__ import annotations

from flask import current_app

from app.connectors.crypto import SecretBox, box_from_config


def secret_box() -> SecretBox:
    """The app's SecretBox (INTEGRATIONS_ENCRYPTION_KEYS, else a key derived from SECRET_KEY)."""
    box = current_app.extensions.get("laurel_secret_box")
    if box is None:
        box = box_from_config(
            current_app.config.get("INTEGRATIONS_ENCRYPTION_KEYS"), current_app.config["SECRET_KEY"]
        )
        current_app.extensions["laurel_secret_box"] = box
    return box
