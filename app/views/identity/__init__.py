"""Identity pages: single sign-on (OIDC, SAML) login and callbacks, the Admin › Sign-in pages, SCIM.

`bp` lives here; the route modules import it. The app factory imports the route modules
(oidc, sign_in_admin, and the SAML and SCIM modules) and registers `bp`.
"""

from flask import Blueprint

bp = Blueprint("identity", __name__)
