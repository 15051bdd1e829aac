"""Admin pages: people, the audit trail and the mail log.

`bp` lives here; the route modules import it. The app factory imports the route modules
(routes) and registers `bp`.
"""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
