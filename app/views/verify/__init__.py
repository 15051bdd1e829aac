"""Public certificate verification pages.

`bp` lives here; the route modules import it. The app factory imports the route modules
(routes) and registers `bp`.
"""

from flask import Blueprint

bp = Blueprint("verify", __name__, url_prefix="/verify")
