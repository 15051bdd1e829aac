"""The integrations console (admin); the incoming webhook endpoint has its own blueprint in hooks.py.

`bp` lives here; the route modules import it. The app factory imports the route modules
(console) and registers `bp`.
"""

from flask import Blueprint

bp = Blueprint("integrations", __name__, url_prefix="/integrations")
