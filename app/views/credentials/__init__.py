"""Credential pages: the issuer profile and DID document, Open Badges credentials, status lists,
badges, and the admin's signing keys.

`bp` lives here (no URL prefix: the public addresses are /issuer, /.well-known/did.json, /credentials/...);
the route modules import it and the app factory lists them in VIEW_MODULES.
"""

from flask import Blueprint

bp = Blueprint("credentials", __name__)
