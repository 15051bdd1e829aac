"""The Analytics page, its lazy figures and CSV exports.

`bp` lives here; the route modules import it. The app factory imports the route modules
(routes) and registers `bp`.
"""

from flask import Blueprint

bp = Blueprint("analytics", __name__, url_prefix="/analytics")
