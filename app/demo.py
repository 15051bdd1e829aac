"""Demo data for `make run`: an organisation with people in a few departments.

Seeded once: if the demo admin exists, nothing happens. Later capabilities extend `seed()`.
"""

from __future__ import annotations

from app.services import accounts

DEMO_PASSWORD = "laurel-demo"  # printed by `make run`; demo data only, never a default for real accounts
LOGINS = [
    ("admin", "admin@example.com", DEMO_PASSWORD),
    ("staff", "staff@example.com", DEMO_PASSWORD),
    ("learner", "learner@example.com", DEMO_PASSWORD),
]

PEOPLE = [
    ("admin@example.com", "Ada Okafor", "admin", "Administration"),
    ("staff@example.com", "Sam Whitfield", "staff", "Nursing"),
    ("trainer@example.com", "Priya Raman", "staff", "Engineering"),
    ("learner@example.com", "Lena Fischer", "learner", "Nursing"),
    ("jonas.berg@example.com", "Jonas Berg", "learner", "Nursing"),
    ("maria.garcia@example.com", "María García", "learner", "Nursing"),
    ("chen.wei@example.com", "Chen Wei", "learner", "Engineering"),
    ("amir.haddad@example.com", "Amir Haddad", "learner", "Engineering"),
    ("olga.ivanova@example.com", "Olga Ivanova", "learner", "Engineering"),
    ("kwame.mensah@example.com", "Kwame Mensah", "learner", "Operations"),
    ("sofia.rossi@example.com", "Sofia Rossi", "learner", "Operations"),
    ("yuki.tanaka@example.com", "Yuki Tanaka", "learner", "Operations"),
    ("noa.levi@example.com", "Noa Levi", "learner", "Teaching"),
    ("eleni.pappas@example.com", "Eleni Pappas", "learner", "Teaching"),
]


def seed() -> bool:
    """Create the demo data unless it is there already. Returns True when it created it."""
    if accounts.find_by_email(PEOPLE[0][0]) is not None:
        return False
    for email, name, role, department in PEOPLE:
        accounts.create_user(email, name, role, department, actor="seed", password=DEMO_PASSWORD)
    return True
