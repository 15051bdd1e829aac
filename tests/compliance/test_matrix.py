"""The matrix figures of the hand-built fixture, asserted exactly (SQLite and PostgreSQL)."""

from __future__ import annotations

from app.services.compliance import matrix
from tests.compliance.conftest import NOW

EXPECTED = {
    ("Vera", "First Aid"): "valid", ("Eve", "First Aid"): "expiring", ("Xander", "First Aid"): "expired",
    ("Mia", "First Aid"): "missing", ("Otto", "First Aid"): "overdue", ("Olga", "First Aid"): "overdue",
    ("Ezra", "First Aid"): "exempt", ("Elias", "First Aid"): "overdue", ("Nora", "First Aid"): "valid",
    ("Nora", "Fire Safety"): "overdue", ("Finn", "Fire Safety"): "valid",
    ("Pia", "Safeguarding"): "valid", ("Rex", "Safeguarding"): "missing",
}


def _states(cells):
    return {(c.name, c.certification): c.state for c in cells}


def test_every_cell_has_its_state(world):
    cells, total = matrix.page(matrix.Filters(), NOW, None, 1, 100)
    assert _states(cells) == EXPECTED
    assert total == 13
    eve = next(c for c in cells if c.name == "Eve")
    assert eve.days_left == 29
    ezra = next(c for c in cells if c.name == "Ezra")
    assert ezra.exemption_reason == "Medical: cannot do CPR"
    mia = next(c for c in cells if c.name == "Mia")
    assert mia.due_at.date().isoformat() == "2026-06-19"
    xander = next(c for c in cells if c.name == "Xander")
    assert xander.due_at.date().isoformat() == "2026-06-19"  # 30 days after the lapse


def test_summary_totals_and_percentages(world):
    summary = matrix.summary(matrix.Filters(), NOW, None)
    assert summary.overall.counts == {"valid": 4, "expiring": 1, "expired": 1, "missing": 2, "overdue": 4,
                                      "exempt": 1}
    assert summary.overall.percent == 46.2
    by_cert = {t.name: (t.total, t.compliant, t.percent) for t in summary.certifications}
    assert by_cert == {"First Aid": (9, 4, 44.4), "Fire Safety": (2, 1, 50.0), "Safeguarding": (2, 1, 50.0)}
    by_dept = {t.name: (t.total, t.compliant, t.percent) for t in summary.departments}
    assert by_dept == {"Hospital": (4, 1, 25.0), "Nursing": (6, 3, 50.0), "Finance": (3, 2, 66.7)}


def test_several_requirements_for_one_certification_make_one_cell(world):
    from app.extensions import db
    from app.services.compliance import requirements
    from tests.compliance.conftest import at

    fa = world.certifications["First Aid"].id
    extra = [requirements.create({"certification_id": fa, "scope": "job_title", "job_title": "NURSE",
                                  "due_days": 5}, actor=world.admin),
             requirements.create({"certification_id": fa, "scope": "people",
                                  "user_ids": [world.people["Otto"].id, world.people["Mia"].id]},
                                 actor=world.admin)]
    for row in extra:
        row.created_at = at(2026, 1, 1)
    db.session.commit()
    cells, total = matrix.page(matrix.Filters(), NOW, None, 1, 100)
    states = _states(cells)
    assert total == 14  # one new cell: Finn (Finance, "nurse") now needs First Aid too
    assert states == {**EXPECTED, ("Finn", "First Aid"): "overdue"}  # due 5 days after 2026-01-01
    mia = next(c for c in cells if c.name == "Mia")
    assert mia.due_at.date().isoformat() == "2026-06-19"  # the named requirement has no due date
    summary = matrix.summary(matrix.Filters(), NOW, None)
    assert summary.overall.total == 14 and summary.overall.counts["overdue"] == 5


def test_the_summary_comes_from_the_cache_until_what_it_counts_changes(world, statements):
    """The organisation's summary reads every cell: it is kept under the "compliance" generation, which a
    commit changing people, certificates, requirements or exemptions moves on."""
    from app.extensions import db
    from app.services.compliance import requirements

    first = matrix.summary(matrix.Filters(), NOW, None)
    statements.clear()
    again = matrix.summary(matrix.Filters(), NOW, None)
    assert statements == [] and again.data() == first.data()

    rex, safeguarding = world.people["Rex"], world.certifications["Safeguarding"]
    requirements.exempt(rex, safeguarding, {"reason": "On leave"}, actor=world.admin)
    db.session.commit()
    after = matrix.summary(matrix.Filters(), NOW, None)
    assert after.overall.counts["exempt"] == first.overall.counts["exempt"] + 1
    assert after.overall.counts["missing"] == first.overall.counts["missing"] - 1
