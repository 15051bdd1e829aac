"""Messaging pages: the notification bell and inbox, and the admin email previews.

`bp` lives here; the route modules import it. The app factory imports the route modules
(inbox, previews) and registers `bp`.
"""

from flask import Blueprint

bp = Blueprint("messaging", __name__)
