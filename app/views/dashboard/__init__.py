"""Each role's home page, and the health endpoint.

`bp` lives here; the route modules import it. The app factory imports the route modules
(routes) and registers `bp`.
"""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)
