"""Training pages: the session calendar, a session (register, attendance, check-in code), my sessions.

`bp` lives here; calendar.py (calendar, sessions, registrations) and attendance.py (marking, the QR
check-in, the CSV) import it. Rules live in app/services/training/.
"""

from flask import Blueprint

bp = Blueprint("training", __name__, url_prefix="/training")
