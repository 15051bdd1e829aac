"""kill -9 of a real worker mid-render: the sweep recovers it and another worker finishes it once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Certificate, OutboxEmail
from app.models.template import CertificateTemplate
from app.tasks.sweep import recover_stuck_work
from tests.documents.conftest import stored_files

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
#: ~3 s to render: 500 copies of the name's characters, one paragraph each, over many pages.
SLOW_HTML = "<html><body>{% for c in holder_name * 500 %}<p>{{ c }} line</p>{% endfor %}</body></html>"


def worker_env(app, storage_root: Path, smtp_port: int) -> dict[str, str]:
    from app.queue import redis_url

    return {**os.environ, "LAUREL_INSTANCE_PATH": app.instance_path,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": redis_url(),
            "STORAGE_ROOT": str(storage_root), "BASE_URL": "http://localhost", "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port), "PYTHONUNBUFFERED": "1"}


def start_worker(env: dict[str, str], log: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--no-scheduler", *extra]
    # Own process group: SIGKILL reaches the worker and its forked work horse together.
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=out)


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def pdf_status(cert_id: int) -> str:
    db.session.expire_all()
    value = db.session.scalar(select(Certificate.pdf_status).where(Certificate.id == cert_id))
    db.session.commit()  # end the read transaction: the worker must be able to write
    return value


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_kill_9_mid_render_then_sweep_and_new_worker_finish_once(app, learner, certification, issue,
                                                                   fresh_storage, smtp_server, monkeypatch,
                                                                   tmp_path):
    template = CertificateTemplate(name="Slow", html=SLOW_HTML)
    db.session.add(template)
    db.session.flush()
    certification.template_id = template.id
    db.session.commit()
    cert = issue(learner)
    env = worker_env(app, fresh_storage, smtp_server.port)

    log = tmp_path / "workers.log"
    first = start_worker(env, log)
    try:
        wait_for(lambda: pdf_status(cert.id) == "rendering" or first.poll() is not None, 60,
                 "the render to start")
        assert first.poll() is None, tail(log)
        time.sleep(0.3)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert pdf_status(cert.id) == "rendering"
    assert stored_files(fresh_storage) == []

    monkeypatch.setitem(app.config, "PDF_STUCK_SECONDS", 0)
    assert recover_stuck_work()["pdf"] == 1
    assert pdf_status(cert.id) == "pending"

    second = start_worker(env, log, "--burst")
    try:
        assert second.wait(120) == 0, tail(log)
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)

    db.session.expire_all()
    cert = db.session.get(Certificate, cert.id)
    assert cert.pdf_status == "ready" and cert.pdf_attempts == 2 and cert.pdf_error is None
    assert [p.name for p in stored_files(fresh_storage)] == [f"{cert.serial}-v2.pdf"]
    ready_events = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                     .where(AuditEvent.action == "certificate.pdf_ready"))
    assert ready_events == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 1
    messages = smtp_server.wait_for(1)
    time.sleep(0.3)
    assert len(smtp_server.messages) == 1
    assert next(messages[0].iter_attachments()).get_filename() == f"{cert.serial}.pdf"
    # the sweep has nothing left to do
    monkeypatch.setitem(app.config, "PDF_PENDING_GRACE_SECONDS", 0)
    assert recover_stuck_work()["pdf"] == 0
