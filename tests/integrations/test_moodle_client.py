"""The Moodle connector against a real HTTP Moodle simulator (no Flask, no database)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

try:
    from tests.support import moodle_simulator as simulator
except ModuleNotFoundError:  # run without the repo root on sys.path (no conftest, no tests/__init__.py)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.support import moodle_simulator as simulator

from app.connectors.moodle import (
    IOMAD_FUNCTIONS,
    CompletionStatus,
    MoodleClient,
    MoodleError,
    encode_params,
    fetch_changes,
)

NOW = 1_790_000_000  # a fixed "now" for the simulated site, in unix time
DAY = 86400
COMPLETION = "core_completion_get_course_completion_status"


class Clock:
    """The simulated site's clock; tests move it forward between syncs."""

    def __init__(self, now: int = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return float(self.now)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def site(clock: Clock) -> simulator.MoodleSite:
    return simulator.small_site(clock=clock)


@pytest.fixture
def sim(site: simulator.MoodleSite) -> Iterator[simulator.MoodleSimulator]:
    with simulator.MoodleSimulator(site) as running:
        yield running


@pytest.fixture
def connect(sim: simulator.MoodleSimulator) -> Iterator[Callable[..., MoodleClient]]:
    clients: list[MoodleClient] = []

    def make(token: str = "full", **kwargs: Any) -> MoodleClient:  # noqa: S107 - a test token
        client = MoodleClient(sim.url, token, allow_private=True, **kwargs)  # the simulator is on loopback
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def _ts(dt: datetime) -> int:
    return int(dt.timestamp())


# --------------------------------------------------------------------------- site info and errors


def test_site_info_lists_the_tokens_functions(connect: Callable[..., MoodleClient]) -> None:
    info = connect("coreonly").site_info()
    names = {f["name"] for f in info["functions"]}
    assert info["sitename"] == "Simulated Moodle"
    assert "core_enrol_get_enrolled_users" in names
    assert not names & set(IOMAD_FUNCTIONS)


def test_missing_functions(connect: Callable[..., MoodleClient], site: simulator.MoodleSite) -> None:
    assert connect("full").missing_functions(iomad=True) == []
    assert connect("coreonly").missing_functions() == []
    assert connect("coreonly").missing_functions(iomad=True) == list(IOMAD_FUNCTIONS)
    assert connect("nocompletion").missing_functions() == [COMPLETION]
    # get_courses + get_categories stand in for get_courses_by_field.
    site.add_token("legacy", simulator.CORE_FUNCTIONS - {"core_course_get_courses_by_field"})
    site.add_token("bare", {"core_webservice_get_site_info"})
    assert connect("legacy").missing_functions() == []
    assert "core_course_get_courses_by_field" in connect("bare").missing_functions()


def test_invalid_token_is_said_plainly(connect: Callable[..., MoodleClient]) -> None:
    with pytest.raises(MoodleError) as caught:
        connect("no-such-token").site_info()
    assert caught.value.errorcode == "invalidtoken"
    assert caught.value.plain_message == "The token is invalid or was deleted."
    assert str(caught.value) == caught.value.plain_message


def test_function_not_allowed_names_the_function(connect: Callable[..., MoodleClient]) -> None:
    with pytest.raises(MoodleError) as caught:
        connect("coreonly").departments()
    err = caught.value
    assert err.errorcode == "accessexception"
    assert err.plain_message == ("The token's service does not allow "
                                 "block_iomad_company_admin_get_departments "
                                 "(or the token expired / IP not allowed).")


def test_missing_capability_is_named(connect: Callable[..., MoodleClient],
                                     site: simulator.MoodleSite) -> None:
    site.add_token("noparticipants", missing_capabilities={"moodle/course:viewparticipants"})
    with pytest.raises(MoodleError) as caught:
        list(connect("noparticipants").enrolled_users(2))
    assert caught.value.errorcode == "nopermissions"
    assert caught.value.plain_message.startswith("Missing capability: View participants")


def test_invalid_parameter_and_unknown_function(connect: Callable[..., MoodleClient]) -> None:
    client = connect()
    with pytest.raises(MoodleError) as caught:
        client.call("core_enrol_get_enrolled_users", courseid="abc")
    assert caught.value.errorcode == "invalidparameter"
    assert "core_enrol_get_enrolled_users" in caught.value.plain_message
    with pytest.raises(MoodleError) as caught:
        client.call("local_nothing_here")
    assert caught.value.errorcode == "invalidrecord"
    assert "does not know local_nothing_here" in caught.value.plain_message


class CannedAdapter(requests.adapters.BaseAdapter):
    """Answers every request with one canned response (or raises), to reach the transport paths."""

    def __init__(self, status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None,
                 exc: Exception | None = None) -> None:
        super().__init__()
        self.status, self.body, self.headers, self.exc = status, body, headers or {}, exc
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        if self.exc:
            raise self.exc
        response = requests.Response()
        response.status_code = self.status
        response._content = self.body
        response.headers.update(self.headers)
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


def _session(adapter: CannedAdapter) -> requests.Session:
    session = requests.Session()
    session.mount("https://", adapter)
    return session


@pytest.mark.parametrize(
    ("adapter", "code", "words"),
    [
        (CannedAdapter(200, b"<html>Login page</html>"), "invalidresponse", "did not answer with JSON"),
        (CannedAdapter(404, b"nope"), "http", "HTTP 404"),
        (CannedAdapter(303, b"", {"Location": "https://lms.example.org/"}), "redirect", "lms.example.org"),
        (CannedAdapter(exc=requests.ConnectTimeout("slow")), "timeout", "within 5 seconds"),
        (CannedAdapter(exc=requests.ConnectionError("refused")), "connection", "Cannot connect"),
    ],
)
def test_transport_failures_become_moodle_errors(adapter: CannedAdapter, code: str, words: str) -> None:
    with _session(adapter) as session:
        client = MoodleClient("https://lms.example.org/", "t", session=session, timeout=5)
        with pytest.raises(MoodleError) as caught:
            client.site_info()
        client.close()  # an injected session belongs to the caller: still usable afterwards
        assert session.adapters["https://"] is adapter
    assert caught.value.errorcode == code
    assert words in caught.value.plain_message
    assert adapter.sent[0].url == "https://lms.example.org/webservice/rest/server.php"


def test_unreachable_site(sim: simulator.MoodleSimulator) -> None:
    url = sim.url
    sim.stop()
    client = MoodleClient(url, "full", timeout=5, allow_private=True)
    with client, pytest.raises(MoodleError) as caught:
        client.site_info()
    assert caught.value.errorcode == "connection"


# --------------------------------------------------------------------------- encoding and reads


def test_php_style_encoding() -> None:
    fields = encode_params({
        "options": [{"name": "limitfrom", "value": 0}, {"name": "onlyactive", "value": True}],
        "criteria": {"ids": [5, 7]},
        "departmentids": [3],
        "skip": None,
        "empty": [],
    })
    assert fields == [
        ("options[0][name]", "limitfrom"), ("options[0][value]", "0"),
        ("options[1][name]", "onlyactive"), ("options[1][value]", "1"),
        ("criteria[ids][0]", "5"), ("criteria[ids][1]", "7"),
        ("departmentids[0]", "3"),
    ]
    assert simulator.parse_php_params(fields)["criteria"] == {"ids": ["5", "7"]}


def test_requests_carry_json_format_and_php_arrays(connect: Callable[..., MoodleClient],
                                                   site: simulator.MoodleSite) -> None:
    list(connect().enrolled_users(2, page_size=50))
    sent = site.requests[-1]
    assert sent.function == "core_enrol_get_enrolled_users"
    assert ("moodlewsrestformat", "json") in sent.fields
    assert ("courseid", "2") in sent.fields
    assert ("options[0][name]", "limitfrom") in sent.fields and ("options[0][value]", "0") in sent.fields
    assert ("options[1][name]", "limitnumber") in sent.fields and ("options[1][value]", "50") in sent.fields


def test_courses_skip_the_front_page(connect: Callable[..., MoodleClient],
                                     site: simulator.MoodleSite) -> None:
    by_field = connect().courses()
    assert [c["shortname"] for c in by_field] == ["FIRE101", "GDPR", "INTRO"]
    assert by_field[0]["categoryname"] == "Safety"
    # A token without get_courses_by_field goes through get_courses (which returns the front page).
    site.add_token("legacy", simulator.CORE_FUNCTIONS - {"core_course_get_courses_by_field"})
    legacy = connect("legacy").courses()
    assert [(c["shortname"], c["categoryname"]) for c in legacy] == [
        ("FIRE101", "Safety"), ("GDPR", "IT"), ("INTRO", "IT")]
    assert site.calls["core_course_get_courses"] == 1


def test_enrolled_users_are_paged(connect: Callable[..., MoodleClient], site: simulator.MoodleSite) -> None:
    enrolled = {uid for (cid, uid) in site.enrolments if cid == 2}
    assert len(enrolled) == 6
    users = list(connect().enrolled_users(2, page_size=4))
    assert [u["id"] for u in users] == sorted(enrolled)
    assert site.calls["core_enrol_get_enrolled_users"] == 2  # 4 + 2: a short page ends the walk
    site.reset_counts()
    assert len(list(connect().enrolled_users(2, page_size=2))) == 6
    starts = [dict(r.fields)["options[0][value]"] for r in site.requests]
    assert starts == ["0", "2", "4", "6"]  # 3 full pages, then an empty one
    assert set(users[0]) == {"id", "username", "firstname", "lastname", "email", "department",
                             "lastcourseaccess"}


def test_completion_time_is_the_latest_criterion(connect: Callable[..., MoodleClient]) -> None:
    status = connect().completion(2, 3)  # Ada in FIRE101: quiz 20 days ago, video 15 days ago
    assert status == CompletionStatus(True, datetime.fromtimestamp(NOW - 15 * DAY, tz=UTC))
    assert connect().completion(2, 4) == CompletionStatus(False, None)


def test_no_criteria_and_not_enrolled_mean_no_completion(connect: Callable[..., MoodleClient]) -> None:
    client = connect()
    assert client.completion(4, 3) == CompletionStatus(False, None, "nocriteriaset")
    assert client.completion(2, 8) == CompletionStatus(False, None, "usernotenroled")  # the teacher


# --------------------------------------------------------------------------- sync planner


def test_first_sync_reads_everything(connect: Callable[..., MoodleClient],
                                     site: simulator.MoodleSite) -> None:
    batch = fetch_changes(connect(), None)
    assert [c.shortname for c in batch.courses] == ["FIRE101", "GDPR", "INTRO"]
    assert batch.courses[0].category_name == "Safety" and batch.courses[0].summary
    assert {(c.course_id, c.user_email) for c in batch.completions} == {
        (2, "ada.lovelace.3@example.org"), (3, "alan.turing.4@example.org")}
    ada = next(c for c in batch.completions if c.user_id == 3)
    assert ada.completed_at == datetime.fromtimestamp(NOW - 15 * DAY, tz=UTC)
    assert len(batch.users) == 6 and batch.users[0].department == "R&D"
    assert batch.cursor == NOW and batch.course_cursors == {2: NOW, 3: NOW, 4: NOW}
    assert batch.issues == [] and batch.stats["completion_nocriteriaset"] == 5
    assert site.calls[COMPLETION] == 16  # 6 + 5 + 5 enrolments, nocriteriaset did not stop the run


def test_second_sync_with_nothing_changed(connect: Callable[..., MoodleClient], site: simulator.MoodleSite,
                                          clock: Clock) -> None:
    client = connect()
    first = fetch_changes(client, None)
    site.reset_counts()
    clock.now += 6 * 3600
    second = fetch_changes(client, first.cursor)
    assert not second.has_changes
    assert second.completions == [] and second.users == []
    assert site.calls[COMPLETION] == 0
    assert second.cursor == NOW + 6 * 3600


def test_incremental_sync_asks_far_fewer_completion_calls(clock: Clock) -> None:
    site = simulator.big_site(courses=10, users=30, clock=clock)
    with simulator.MoodleSimulator(site) as sim, MoodleClient(sim.url, "full", allow_private=True) as client:
        first = fetch_changes(client, None, page_size=25)
        assert site.calls[COMPLETION] == 300
        assert 0 < len(first.completions) < 300
        site.reset_counts()
        clock.now += DAY
        done = {(c.course_id, c.user_id) for c in first.completions}
        pair = next(key for key in sorted(site.enrolments) if key not in done)
        site.complete(*pair)  # one learner finishes one course
        second = fetch_changes(client, first.cursor, page_size=25)
    assert site.calls[COMPLETION] == 1
    assert [(c.course_id, c.user_id) for c in second.completions] == [pair]
    assert second.completions[0].completed_at == datetime.fromtimestamp(clock.now, tz=UTC)


def test_change_between_syncs_is_picked_up(connect: Callable[..., MoodleClient], site: simulator.MoodleSite,
                                          clock: Clock) -> None:
    client = connect()
    first = fetch_changes(client, None)
    clock.now += DAY
    site.touch(2, 4)  # Alan looks at FIRE101 but does not finish: asked, nothing reported
    # Grace finished GDPR shortly before the last sync, but cron aggregated it afterwards: the overlap
    # window still catches her.
    site.complete(3, 5, first.cursor - 120)
    site.reset_counts()
    second = fetch_changes(client, first.cursor)
    assert site.calls[COMPLETION] == 2
    assert [(c.course_id, c.user_email) for c in second.completions] == [(3, "grace.hopper.5@example.org")]
    assert [u.id for u in second.users] == [4, 5]
    # With no overlap the late aggregation is missed: that is what the overlap is for.
    site.reset_counts()
    assert fetch_changes(client, first.cursor, overlap=0).completions == []


def test_per_course_cursors_scan_new_courses_in_full(connect: Callable[..., MoodleClient],
                                                     site: simulator.MoodleSite, clock: Clock) -> None:
    client = connect()
    first = fetch_changes(client, None)
    clock.now += DAY
    new = site.add_course("NEW", "New course", 1)
    learner = site.users[6]
    site.enrol(new, learner, lastcourseaccess=NOW - 30 * DAY)
    site.complete(new, learner, NOW - 30 * DAY, touch=False)  # e.g. restored from a backup
    site.reset_counts()
    second = fetch_changes(client, first.course_cursors)
    assert [(c.course_id, c.user_id) for c in second.completions] == [(new.id, 6)]
    assert site.calls[COMPLETION] == 1
    assert second.course_cursors[new.id] == clock.now


def test_course_level_failure_keeps_the_cursor(connect: Callable[..., MoodleClient],
                                               site: simulator.MoodleSite) -> None:
    site.add_token("noreport", missing_capabilities={"report/completion:view"})
    batch = fetch_changes(connect("noreport"), NOW - 30 * DAY)
    assert {i.course_id for i in batch.issues} == {2, 3, 4}
    assert "report/completion:view" in batch.issues[0].message
    assert batch.cursor == NOW - 30 * DAY
    assert set(batch.course_cursors.values()) == {NOW - 30 * DAY}


def test_run_level_failures_raise(connect: Callable[..., MoodleClient]) -> None:
    with pytest.raises(MoodleError) as caught:
        fetch_changes(connect("nocompletion"), None)
    assert caught.value.errorcode == "missingfunctions"
    assert COMPLETION in caught.value.plain_message
    with pytest.raises(MoodleError, match="invalid or was deleted"):
        fetch_changes(connect("wrong"), None)


def test_hidden_email_is_a_warning_not_a_call(connect: Callable[..., MoodleClient],
                                              site: simulator.MoodleSite) -> None:
    site.users[4].hide_email = True
    batch = fetch_changes(connect(), None)
    assert site.calls[COMPLETION] == 13  # Alan's three enrolments are skipped
    assert all(c.user_id != 4 for c in batch.completions)
    assert any("User 4" in w for w in batch.warnings)


def test_company_filter(connect: Callable[..., MoodleClient], site: simulator.MoodleSite) -> None:
    batch = fetch_changes(connect(), None, company_id=1)
    assert [c.shortname for c in batch.courses] == ["FIRE101", "GDPR"]
    assert [(u.email, u.department) for u in batch.users] == [
        ("ada.lovelace.3@example.org", "Acme"), ("alan.turing.4@example.org", "Sales")]
    assert {(c.course_id, c.user_id) for c in batch.completions} == {(2, 3), (3, 4)}
    assert site.calls[COMPLETION] == 4
    sent = {r.function: dict(r.fields) for r in site.requests}
    assert sent["block_iomad_company_admin_get_company_courses"]["criteria[0][companyid]"] == "1"
    assert sent["block_iomad_company_admin_get_department_users"]["departmentids[1]"] == "2"


def test_company_filter_needs_iomad_and_a_real_company(connect: Callable[..., MoodleClient]) -> None:
    with pytest.raises(MoodleError) as caught:
        fetch_changes(connect("coreonly"), None, company_id=1)
    assert caught.value.errorcode == "missingfunctions"
    assert "block_iomad_company_admin_get_departments" in caught.value.plain_message
    with pytest.raises(MoodleError, match="company 999 has no departments"):
        fetch_changes(connect(), None, company_id=999)


def test_concurrent_completion_calls_give_the_same_batch(clock: Clock) -> None:
    """Issue 16: completion calls run 8 at a time; the batch (order included) is the sequential one."""
    site = simulator.big_site(courses=6, users=40, clock=clock)
    with simulator.MoodleSimulator(site) as sim, MoodleClient(sim.url, "full", allow_private=True) as client:
        one_by_one = fetch_changes(client, None, page_size=25, concurrency=1)
        site.reset_counts()
        concurrent = fetch_changes(client, None, page_size=25, concurrency=8)
    assert site.calls[COMPLETION] == 240 and concurrent.stats["completion_calls"] == 240
    assert concurrent.completions == one_by_one.completions and concurrent.users == one_by_one.users
    assert concurrent.stats["api_calls"] == one_by_one.stats["api_calls"]
    assert 0 < len(concurrent.completions) < 240


def test_course_level_failure_with_concurrent_calls(connect: Callable[..., MoodleClient],
                                                    site: simulator.MoodleSite) -> None:
    site.add_token("noreport", missing_capabilities={"report/completion:view"})
    batch = fetch_changes(connect("noreport"), None, concurrency=8)
    assert {i.course_id for i in batch.issues} == {2, 3, 4} and batch.completions == []
    assert batch.cursor is None and batch.course_cursors == {}
