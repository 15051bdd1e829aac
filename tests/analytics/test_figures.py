"""Every analytics figure against the hand-counted world (tests/analytics/conftest.py), on SQLite and
PostgreSQL alike (the suite runs on whichever DATABASE_URL points to)."""

from __future__ import annotations

from datetime import date

import pytest

from app.services.analytics import figures
from app.services.analytics.figures import Filters
from app.services.analytics.filters import month_window, parse_filters
from app.services.errors import ValidationError
from tests.analytics.conftest import NOW

LAST_12 = ["2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12",
           "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]


def series(chart: dict, key: str | None = None) -> dict:
    dataset = chart["datasets"][0] if key is None else next(d for d in chart["datasets"] + chart["details"]
                                                            if d["key"] == key)
    return dict(zip(chart["labels"], dataset["data"], strict=True))


def chart(name: str, **filters) -> dict:
    return figures.chart(name, Filters(**filters), NOW)


def test_issued_per_month_last_12_months(world):
    data = chart("issued-per-month")
    assert data["labels"] == LAST_12
    # certificate 3 (2025-05) is older than 12 months; 7 was issued 2025-12-31 23:30 UTC
    assert data["datasets"][0]["data"] == [0, 0, 0, 0, 0, 1, 1, 1, 2, 0, 0, 2]


def test_by_certification(world):
    assert list(series(chart("by-certification")).items()) == [
        ("Data Protection", 3), ("First Aid", 3), ("Mixed", 2)]


def test_status_breakdown(world):
    assert series(chart("status")) == {"Valid": 3, "Expiring": 3, "Expired": 1, "Revoked": 1}


def test_by_department(world):
    assert list(series(chart("by-department")).items()) == [
        ("Nursing", 5), ("Engineering", 2), ("No department", 1)]


def test_by_category_counts_each_required_category(world):
    assert series(chart("by-category")) == {"Compliance": 5, "Safety": 3, "Uncategorised": 2}


def test_completion_rate_per_course(world):
    data = chart("completion-rate")
    assert data["labels"] == ["DP-110", "FA-101", "FA-102", "LD-300"]
    assert series(data) == {"DP-110": 100.0, "FA-101": 66.7, "FA-102": 100.0, "LD-300": 50.0}
    assert series(data, "completed") == {"DP-110": 3, "FA-101": 2, "FA-102": 2, "LD-300": 1}
    assert series(data, "enrolled") == {"DP-110": 3, "FA-101": 3, "FA-102": 2, "LD-300": 2}


def test_completion_by_department(world):
    data = chart("completion-by-department")
    assert series(data) == {"Nursing": 100.0, "Engineering": 50.0, "No department": 0.0}
    assert series(data, "enrolled") == {"Nursing": 7, "Engineering": 2, "No department": 1}


def test_engagement_per_month(world):
    data = chart("engagement")
    assert data["labels"] == LAST_12
    by_kind = {d["key"]: dict(zip(LAST_12, d["data"], strict=True)) for d in data["datasets"]}
    assert {k: {m: n for m, n in v.items() if n} for k, v in by_kind.items()} == {
        "view": {"2026-01": 5, "2026-02": 3}, "download": {"2026-01": 2}, "share": {"2026-03": 1},
        "linkedin": {"2026-06": 4}}


def test_top_performers(world):
    table = figures.table("top-performers", Filters(), NOW)
    assert [(r["name"], r["held"], r["average_score"]) for r in table["rows"]] == [
        ("Ann Archer", 3, 80.0), ("Ben Bose", 2, 81.7), ("Dan Dahl", 1, None)]
    # The cut-off keeps exactly the best `limit`.
    assert [r["name"] for r in figures.table("top-performers", Filters(), NOW, limit=2)["rows"]] == [
        "Ann Archer", "Ben Bose"]


def test_recent_completions(world):
    rows = figures.table("recent-completions", Filters(), NOW)["rows"]
    assert [(r["name"][:3], r["course_code"], r["completed_at"][:10]) for r in rows] == [
        ("Ann", "LD-300", "2026-06-05"), ("Cat", "DP-110", "2026-03-18"), ("Ann", "DP-110", "2026-03-10"),
        ("Ben", "FA-102", "2026-02-03"), ("Ben", "FA-101", "2026-02-01"), ("Ann", "FA-102", "2026-01-08"),
        ("Ann", "FA-101", "2026-01-05"), ("Ben", "DP-110", "2025-12-20")]
    assert rows[1]["score"] == 50.0 and rows[0]["score"] is None


def test_expiring_windows(world):
    table = figures.table("expiring", Filters(), NOW)
    assert table["summary"] == {"within": {"30": 1, "60": 1, "90": 1}, "total": 3}
    assert [(r["serial"], r["within_days"]) for r in table["rows"]] == [
        ("LAU-TEST-0002", 30), ("LAU-TEST-0006", 60), ("LAU-TEST-0007", 90)]


# -- filters --------------------------------------------------------------------------------------------

def test_department_filter(world):
    assert chart("issued-per-month", department="Nursing")["datasets"][0]["data"] == [
        0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1]
    assert series(chart("by-certification", department="Nursing")) == {
        "First Aid": 2, "Data Protection": 2, "Mixed": 1}
    assert series(chart("status", department="Nursing")) == {"Valid": 3, "Expiring": 2, "Expired": 0,
                                                             "Revoked": 0}
    engagement = chart("engagement", department="Nursing")
    assert {d["key"]: sum(d["data"]) for d in engagement["datasets"]} == {
        "view": 8, "download": 2, "share": 1, "linkedin": 0}
    assert series(chart("completion-rate", department="Nursing")) == {
        "DP-110": 100.0, "FA-101": 100.0, "FA-102": 100.0, "LD-300": 100.0}


def test_category_and_certification_filters(world):
    assert series(chart("by-certification", category="Safety")) == {"First Aid": 3}
    assert series(chart("by-category", category="Safety")) == {"Safety": 3}
    cert_b = world.certifications["Data Protection"].id
    assert series(chart("status", certification_id=cert_b)) == {"Valid": 1, "Expiring": 1, "Expired": 0,
                                                                "Revoked": 1}
    assert series(chart("completion-rate", certification_id=cert_b)) == {"DP-110": 100.0}
    table = figures.table("expiring", Filters(certification_id=cert_b), NOW)
    assert table["summary"]["within"] == {"30": 0, "60": 0, "90": 1}


def test_two_filters_together(world):
    data = chart("by-certification", department="Nursing", category="Compliance")
    assert series(data) == {"Data Protection": 2, "Mixed": 1}
    two = Filters(department="Nursing", category="Compliance")
    rows = figures.table("top-performers", two, NOW)["rows"]
    assert [(r["name"], r["held"], r["average_score"]) for r in rows] == [
        ("Ann Archer", 2, 70.0), ("Ben Bose", 1, 85.0)]


def test_date_range(world):
    f = dict(date_from=date(2026, 3, 1), date_to=date(2026, 6, 30))
    issued = chart("issued-per-month", **f)
    assert issued["labels"] == ["2026-03", "2026-04", "2026-05", "2026-06"]
    assert issued["datasets"][0]["data"] == [2, 0, 0, 2]
    assert series(chart("by-certification", **f)) == {"Data Protection": 2, "Mixed": 2}
    assert series(chart("status", **f)) == {"Valid": 2, "Expiring": 1, "Expired": 0, "Revoked": 1}
    completions = figures.table("recent-completions", Filters(**f), NOW)["rows"]
    assert [r["course_code"] for r in completions] == ["LD-300", "DP-110", "DP-110"]
    # the end date is inclusive: 2025-12-31 23:30 counts for a range ending that day
    assert sum(chart("issued-per-month", date_from=date(2025, 12, 31),
                     date_to=date(2025, 12, 31))["datasets"][0]["data"]) == 1


def test_figures_with_no_data(db_empty=None):
    assert figures.chart("status", Filters(), NOW)["datasets"][0]["data"] == [0, 0, 0, 0]
    assert figures.table("top-performers", Filters(), NOW)["rows"] == []
    assert figures.table("expiring", Filters(), NOW)["summary"]["total"] == 0


# -- parsing and months ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args, field", [
    ({"from": "2026-13-01"}, "from"), ({"to": "yesterday"}, "to"), ({"from": "1999-12-31"}, "from"),
    ({"from": "2026-05-02", "to": "2026-05-01"}, "to"), ({"certification": "abc"}, "certification"),
    ({"certification": "99999999999999999999"}, "certification"), ({"certification": "-1"}, "certification"),
    ({"certification": "424242"}, "certification"), ({"department": "x" * 121}, "department"),
    ({"category": "bad\x00value"}, "category"), ({"from": "+2026-01-01"}, "from"),
])
def test_bad_filters_are_rejected(world, args, field):
    with pytest.raises(ValidationError) as caught:
        parse_filters(args)
    assert field in caught.value.errors


def test_filters_round_trip(world):
    cert = world.certifications["Mixed"].id
    f = parse_filters({"from": "2026-01-01", "to": " 2026-02-01", "certification": str(cert),
                       "department": " Nursing ", "category": "", "unknown": "ignored"})
    assert f == Filters(date(2026, 1, 1), date(2026, 2, 1), cert, "Nursing", "")
    assert parse_filters(f.args()) == f


def test_month_window_caps_long_ranges():
    start, end, labels = month_window(Filters(date(2000, 1, 1), date(2100, 12, 31)), NOW)
    assert len(labels) == 120 and labels[-1] == "2100-12"
    _, _, labels = month_window(Filters(date_to=date(2026, 2, 10)), NOW)
    assert labels[0] == "2025-03" and labels[-1] == "2026-02"


def test_fold_tail_sums_the_rest():
    data = {"name": "by-certification", "labels": list("abcde"),
            "datasets": [{"key": "issued", "data": [5, 4, 3, 2, 1]}], "details": []}
    folded = figures.fold_tail(data, keep=2)
    assert folded["labels"] == ["a", "b", "Other (3)"] and folded["datasets"][0]["data"] == [5, 4, 6]
