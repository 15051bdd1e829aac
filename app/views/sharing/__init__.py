"""Sharing pages: the learner's "My certificates" with share controls, the public share page, LinkedIn.

`bp` lives here; the route modules import it. The app factory imports the route modules
(routes) and registers `bp`.
"""

from flask import Blueprint

bp = Blueprint("sharing", __name__)
