"""Past one machine: the Procfile's processes as two "hosts" on one database, one Redis, one S3 endpoint.

Host A runs `web` and `worker` (no render worker); host B runs `web`, `live` and `render`. Each host has
its own instance folder and ports and no shared local disk; they share SECRET_KEY (sessions work on any
host, no sticky sessions). A completion posted to host A issues a certificate whose PDF only host B can
render; the PDF then downloads from host A; a live stream open on host B hears the change made on A.
With local file storage, a second host is refused with a message that says what to do.
"""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from app.extensions import db
from app.services.accounts import tokens
from app.services.lifecycle import catalog
from tests.hardening.live import ROOT, start_web, stop
from tests.support import s3

SECRET_KEY = "one-secret-for-every-host-0123456789"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
USER_AGENT = "laurel-several-hosts"  # Flask-Login ties a session to its browser


def host_env(app, instance: Path, port: int, **extra: str) -> dict[str, str]:
    import os

    from app.queue import redis_url

    instance.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "LAUREL_INSTANCE_PATH": str(instance), "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": redis_url(),
            "BASE_URL": f"http://127.0.0.1:{port}", "PORT": str(port), "RATELIMIT_ENABLED": "false",
            "PYTHONUNBUFFERED": "1", "WORKER_HEARTBEAT_SECONDS": "1", **extra}


def start_rq(env: dict[str, str], queues: str, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--no-scheduler", "--queues", queues]
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=out, stderr=out)


def start_live(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads",
               "20", "--worker-class", "gthread", "--graceful-timeout", "3", "--log-level", "warning",
               "wsgi:app"]
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=out, stderr=out)


class StreamListener(threading.Thread):
    def __init__(self, port: int, cookie: str) -> None:
        super().__init__(daemon=True)
        self.port, self.cookie = port, cookie
        self.connected, self.heard = threading.Event(), threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.connected.is_set():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                conn.request("GET", "/live/stream", headers={"Cookie": self.cookie, "User-Agent": USER_AGENT})
                response = conn.getresponse()
            except OSError:
                time.sleep(0.3)  # the live process is still starting
                continue
            try:
                while line := response.fp.readline():
                    if line.startswith(b"retry:"):
                        self.connected.set()
                    elif line.strip() == b"event: certificates":
                        self.heard.set()
                        return
            finally:
                conn.close()


def log_in(base: str, email: str, password: str) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    token = CSRF_RE.search(session.get(f"{base}/login").text).group(1)
    answer = session.post(f"{base}/login", data={"email": email, "password": password, "csrf_token": token},
                          allow_redirects=False)
    assert answer.status_code == 302, answer.text[:500]
    return session


@pytest.fixture
def bucket_endpoint():
    with s3.moto_server() as endpoint:
        yield endpoint, s3.new_bucket(endpoint)


def test_two_hosts_share_work_through_the_database_redis_and_one_bucket(app, tmp_path, make_user,
                                                                        bucket_endpoint):
    from tests.conftest import PASSWORD

    endpoint, bucket = bucket_endpoint
    admin = make_user("admin", email="ops@example.com")
    learner = make_user("learner", email="lena@example.com")
    course = catalog.create_course({"code": "FS-1", "title": "Fire safety"}, actor="test")
    db.session.flush()
    catalog.create_certification({"name": "Fire Safety", "status": "active", "course_ids": [course.id],
                                  "validity_months": 12}, actor="test")
    _, secret = tokens.create_token(admin, "host A script")
    db.session.commit()

    shared = {"STORAGE_BACKEND": "s3", "S3_BUCKET": bucket, "S3_ENDPOINT_URL": endpoint,
              "S3_ACCESS_KEY_ID": s3.KEY_ID, "S3_SECRET_ACCESS_KEY": s3.SECRET, "S3_REGION": s3.REGION}
    port_a, port_b, live_b = s3.free_port(), s3.free_port(), s3.free_port()
    env_a = host_env(app, tmp_path / "host-a", port_a, **shared)
    env_b = host_env(app, tmp_path / "host-b", port_b, LIVE_PORT=str(live_b), **shared)
    log = tmp_path / "hosts.log"
    procs = []
    try:
        procs.append(start_web(env_a, port_a, log))
        procs.append(start_rq(env_a, "high,default,low", log))
        procs.append(start_web(env_b, port_b, log))
        procs.append(start_live(env_b, live_b, log))
        procs.append(start_rq(env_b, "render,render-bulk", log))

        # The learner signs in on host B (no sticky sessions: the cookie works on every host) and opens
        # the live stream there.
        on_b = log_in(f"http://127.0.0.1:{port_b}", learner.email, PASSWORD)
        listener = StreamListener(live_b, "; ".join(f"{c.name}={c.value}" for c in on_b.cookies))
        listener.start()
        assert listener.connected.wait(60), log.read_text(errors="replace")[-3000:]

        # A completion arrives on host A.
        api_a = requests.Session()
        api_a.headers["Authorization"] = f"Bearer {secret}"
        answer = api_a.post(f"http://127.0.0.1:{port_a}/api/v1/enrollments", timeout=30,
                            json={"user_id": learner.id, "course_id": course.id, "status": "completed",
                                  "score": 90})
        assert answer.status_code == 201, answer.text
        assert listener.heard.wait(10), "host B's stream did not hear the certificate issued on host A"

        certificates = api_a.get(f"http://127.0.0.1:{port_a}/api/v1/certificates", timeout=30).json()["items"]
        assert len(certificates) == 1
        cert_id = certificates[0]["id"]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            state = api_a.get(f"http://127.0.0.1:{port_a}/api/v1/certificates/{cert_id}", timeout=30).json()
            if state["pdf_status"] == "ready":
                break
            time.sleep(0.5)
        assert state["pdf_status"] == "ready", log.read_text(errors="replace")[-3000:]

        pdf = api_a.get(f"http://127.0.0.1:{port_a}/api/v1/certificates/{cert_id}/pdf", timeout=30)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.status_code
        # Rendered on B (the only render worker), stored in the bucket, nothing on either host's disk.
        assert s3.client(endpoint).list_objects_v2(Bucket=bucket)["KeyCount"] >= 1
        for host in ("host-a", "host-b"):
            assert not list((tmp_path / host).rglob("*.pdf")), f"{host} kept a PDF on its own disk"
    finally:
        for proc in reversed(procs):
            stop(proc)


def test_local_file_storage_on_a_second_host_is_refused_with_a_clear_message(app, tmp_path):
    port_a, port_b = s3.free_port(), s3.free_port()
    env_a = host_env(app, tmp_path / "host-a", port_a)
    env_b = host_env(app, tmp_path / "host-b", port_b)
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    procs = []
    try:
        procs.append(start_rq(env_a, "high,default,low", log_a))
        from app import liveness
        from app.queue import get_redis

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not liveness.read(get_redis()).places:
            time.sleep(0.3)
        assert liveness.read(get_redis()).places, log_a.read_text(errors="replace")[-2000:]

        second = start_rq(env_b, "render,render-bulk", log_b)
        procs.append(second)
        second.wait(60)
        text = log_b.read_text(errors="replace")
        assert second.returncode != 0
        assert "Local file storage cannot be shared between hosts" in text and "STORAGE_BACKEND=s3" in text

        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port_b}", "--workers", "1",
                   "--log-level", "warning", "wsgi:app"]
        with log_b.open("ab") as out:
            procs.append(subprocess.Popen(command, cwd=ROOT, env=env_b, start_new_session=True, stdout=out,
                                          stderr=out))
        refused = None
        deadline = time.monotonic() + 60
        while refused is None and time.monotonic() < deadline:
            try:
                refused = requests.get(f"http://127.0.0.1:{port_b}/login", timeout=30)
            except requests.ConnectionError:
                time.sleep(0.3)
        assert refused is not None and refused.status_code == 503, log_b.read_text(errors="replace")[-2000:]
        assert "Local file storage cannot be shared between hosts" in refused.text
    finally:
        for proc in reversed(procs):
            stop(proc)


def test_a_web_process_first_requests_on_many_threads_start_one_heartbeat(app):
    """gthread serves a process's first requests on several threads at once: each asks for the heartbeat
    (app/web/placement.py); exactly one thread is started and nobody gets an error (it was a 500)."""
    from app import liveness
    from app.queue import get_redis

    liveness.stop()
    client, barrier, started, errors = get_redis(), threading.Barrier(8), [], []

    def first_request() -> None:
        barrier.wait()
        try:
            started.append(liveness.start(client, "web.test.threads", 60, worker=False, place="here"))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    try:
        assert errors == [] and len({id(beat) for beat in started}) == 1
    finally:
        liveness.stop()
