"""scim2-tester, the SCIM compliance checker, against a live Laurel: gunicorn in its own process on a free
loopback port, the test database and Redis, a directory's bearer token. Every check must pass (SUCCESS,
COMPLIANT or ACCEPTABLE); a check skipped by the checker itself is listed with the reason below.

The summary (passed / failed / skipped counts) is printed: `pytest -s tests/identity/test_scim_compliance.py`.
"""

from __future__ import annotations

from collections import Counter

import pytest

from app.extensions import db
from app.services.identity import scim_directories
from tests.hardening.live import stack_env, start_web, stop
from tests.support.s3 import free_port

httpx2 = pytest.importorskip("httpx2")
scim2_tester = pytest.importorskip("scim2_tester")

PASSING = {"SUCCESS", "COMPLIANT", "ACCEPTABLE"}
# Checks the checker skips on its own, and why that is right for Laurel: none.
TOLERATED_SKIPS: set[str] = set()


pytestmark = pytest.mark.slow  # a gunicorn process and some 400 requests: about 10 s


@pytest.fixture(scope="module")
def live_scim(app, smtp_server, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("scim-live") / "gunicorn.log"
    with app.app_context():
        env = stack_env(app, tmp_path_factory.mktemp("scim-files"), smtp_server.port,
                        BASE_URL=f"http://127.0.0.1:{port}")
    proc = start_web(env, port, log)
    try:
        yield f"http://127.0.0.1:{port}/scim/v2"
    finally:
        stop(proc)


def test_scim2_tester_passes_every_check(live_scim):
    from scim2_client.engines.httpx2 import SyncSCIMClient

    _, token = scim_directories.create_directory("Compliance", send_invitations=False, actor="test")
    db.session.commit()
    with httpx2.Client(base_url=live_scim, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        client = SyncSCIMClient(http)
        results = scim2_tester.check_server(client)

    statuses = Counter(r.status.name for r in results)
    passed = sum(statuses[s] for s in PASSING)
    failed = [r for r in results if r.status.name not in PASSING | {"SKIPPED"}]
    skipped = [r for r in results if r.status.name == "SKIPPED"]
    print(f"\nscim2-tester {_version()}: {passed} passed, {len(failed)} failed, {len(skipped)} skipped "
          f"(of {len(results)} checks)")
    for result in failed:
        print(f"  FAILED {result.resource_type or ''} {result.title}: {result.reason}")
    for result in skipped:
        print(f"  skipped {result.resource_type or ''} {result.title}: {result.reason}")
    assert not failed, "\n".join(f"{r.resource_type} {r.title}: {r.reason}" for r in failed)
    assert {r.title for r in skipped} <= TOLERATED_SKIPS
    # The checker reached both resource types and every kind of operation.
    assert {r.resource_type for r in results} >= {"User", "Group"}
    operations = {"crud:create", "crud:read", "crud:update", "crud:delete", "patch:add", "patch:remove",
                  "patch:replace"}
    assert {tag for r in results for tag in r.tags} >= operations


def _version() -> str:
    from importlib.metadata import version

    return version("scim2-tester")
