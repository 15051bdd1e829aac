"""Training: a course's scheduled sessions, registrations with a waitlist, invitations and attendance.

sessions.py (create, change, cancel; the calendar), registrations.py (register, cancel, the waitlist moving
up), invitations.py (iCalendar invitations by mail, the 24-hour reminders), attendance.py (marking,
QR check-in tokens, completing the enrollment), checks.py (field validation shared by form and API).
"""
