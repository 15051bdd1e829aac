"""Accounts pages: login, logout, password reset, invitations and the profile page (with API tokens).

`bp` lives here; the route modules import it. The app factory imports the route modules
(routes) and registers `bp`.
"""

from flask import Blueprint

bp = Blueprint("accounts", __name__)
