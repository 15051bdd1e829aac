"""Certificate documents on the web: the template designer, PDF downloads, regenerate, ZIP exports.

`bp` lives here; the route modules import it. The app factory imports the route modules
(designer, pdfs) and registers `bp`.
"""

from flask import Blueprint

bp = Blueprint("documents", __name__)
