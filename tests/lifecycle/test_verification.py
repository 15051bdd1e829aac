"""Verification lookups: by code, by serial + surname; the public data shape."""

from __future__ import annotations

import pytest
import time_machine

from app.extensions import db
from app.services.lifecycle import enrollment, revocation, verification
from tests.lifecycle.conftest import at


@pytest.fixture
def held(first_aid, make_user):
    cert, fa101, fa102 = first_aid
    holder = make_user("learner", email="ines@example.com", name="Inês van der Berg")
    with time_machine.travel(at(2026, 1, 10), tick=False):
        enrollment.record_completion(holder, fa101, score=80, completed_at=at(2026, 1, 5), actor="test")
        [issued] = enrollment.record_completion(holder, fa102, score=90, completed_at=at(2026, 1, 6),
                                                actor="test")
    db.session.commit()
    return issued


def test_lookup_by_code(held):
    assert verification.lookup(held.code) == held
    assert verification.lookup("nope") is None
    assert verification.lookup("") is None
    assert verification.lookup("x" * 5000) is None


@pytest.mark.parametrize(("moment", "status"), [(at(2026, 6, 1), "valid"), (at(2027, 11, 1), "expiring"),
                                                (at(2028, 2, 1), "expired")])
def test_public_data_per_status(held, moment, status):
    data = verification.verification_data(held, now=moment)
    assert data["status"] == status
    assert data["holder"] == "Inês van der Berg" and data["certification"] == "First Aid Level 2"
    assert data["issuer"] == "Laurel Academy" and data["serial"] == held.serial
    assert data["issued_at"].startswith("2026-01-10T00:00:00") and data["expires_at"].startswith("2028-01-10")
    assert data["revoked_at"] is None and data["revoke_reason"] is None
    assert data["chain"] == [{"serial": held.serial, "issued_at": data["issued_at"], "status": status,
                              "code": held.code}]
    assert "holder_email" not in str(data) and "ines@example.com" not in str(data)  # no personal email


def test_revoked_shows_reason_and_date(held, admin):
    revocation.revoke(held, "Identity could not be confirmed", actor=admin)
    data = verification.verification_data(held)
    assert data["status"] == "revoked" and data["revoke_reason"] == "Identity could not be confirmed"
    assert data["revoked_at"] is not None


def test_snapshot_is_frozen(held):
    held.user.name = "Ines Berg"
    db.session.commit()
    assert verification.verification_data(held)["holder"] == "Inês van der Berg"


def test_find_by_serial_and_surname(held):
    assert verification.find_by_serial_and_surname(held.serial, "Berg") == held
    assert verification.find_by_serial_and_surname(held.serial.lower(), " BERG ") == held
    assert verification.find_by_serial_and_surname(held.serial, "van der Berg") is None
    assert verification.find_by_serial_and_surname(held.serial, "Smith") is None
    assert verification.find_by_serial_and_surname(held.serial, "") is None
    assert verification.find_by_serial_and_surname("LAU-1999-000001", "Berg") is None
