"""Jobs and live announcements wait for the outermost commit. A SAVEPOINT that fails (one bad row of an
import or a sync) takes back only what was added inside it; the work of the rows before it still goes
out with their commit. A rollback of the whole transaction drops everything."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from app import live
from app.extensions import db
from app.models import Course
from app.queue import PENDING_JOBS, enqueue_after_commit


def _pending():
    jobs = [job.args[0] for job in db.session.info.get(PENDING_JOBS, [])]
    announced = [entry[0] for entry in db.session.info.get("laurel_live_pending", [])]
    return jobs, announced


def _failing_savepoint(job: str, topic: str) -> None:
    with pytest.raises(IntegrityError), db.session.begin_nested():
        enqueue_after_commit(db.session, "app.tasks.mail.send", job)
        live.announce(db.session, topic)
        db.session.add(Course(code=None, title=None))  # NOT NULL: the savepoint fails
        db.session.flush()


def test_a_failed_savepoint_keeps_the_work_added_before_it():
    enqueue_after_commit(db.session, "app.tasks.mail.send", "before")
    live.announce(db.session, "tiles")
    _failing_savepoint("inside", "bell")
    assert _pending() == (["before"], ["tiles"])


def test_a_released_savepoint_keeps_its_work_and_a_later_failure_does_not_take_it():
    with db.session.begin_nested():
        enqueue_after_commit(db.session, "app.tasks.mail.send", "first row")
        live.announce(db.session, "certificates")
    _failing_savepoint("second row", "bell")
    with db.session.begin_nested(), db.session.begin_nested():
        enqueue_after_commit(db.session, "app.tasks.mail.send", "third row")
    assert _pending() == (["first row", "third row"], ["certificates"])


def test_a_rollback_of_the_whole_transaction_drops_everything():
    enqueue_after_commit(db.session, "app.tasks.mail.send", "before")
    with db.session.begin_nested():
        live.announce(db.session, "tiles")
    db.session.rollback()
    assert _pending() == ([], [])
    db.session.add(Course(code="FA-1", title="First aid"))
    db.session.flush()
    enqueue_after_commit(db.session, "app.tasks.mail.send", "next transaction")
    db.session.close()  # ends the transaction without a commit, as a request that failed does
    assert _pending() == ([], [])


def test_announcements_merge_into_one_message_per_topic():
    merged = live._merged([("bell", False, (1,)), ("bell", False, (2,)), ("tiles", True, ()),
                           ("bell", True, ())])
    assert merged == {"bell": live.Audience(True, frozenset({1, 2})),
                      "tiles": live.Audience(True, frozenset())}
