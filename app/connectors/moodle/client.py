"""Moodle / IOMAD web-service client: calls, PHP-style parameters, HTTP-200 error bodies in plain words.

No database here: :func:`fetch_changes` returns plain dataclasses (:class:`SyncBatch`) that the
caller turns into Laurel courses, users and completions. Facts about the web services (call shape,
HTTP-200 error bodies, return shapes) come from Moodle's and IOMAD's externallib sources.

Cost model: completion is one call per (course, user), so a full sync of 200 courses x 500 users is
100,000 calls. The planner only asks for pairs whose completion can have changed: users whose
``lastcourseaccess`` is at or after the previous cursor (minus a safety overlap). Completions set by a
teacher without the learner visiting the course do not move ``lastcourseaccess``: run a full sync
(``since=None``) now and then (e.g. weekly) to catch those.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from app import strict_json
from app.connectors.http import make_session

ENDPOINT_PATH = "/webservice/rest/server.php"
DEFAULT_TIMEOUT = 30.0
DEFAULT_PAGE_SIZE = 100
# Re-check users whose last course access lies up to this long before the cursor. Covers Moodle's
# throttled lastaccess writes (once a minute), completion aggregated later by cron (every few minutes
# by default), and clock differences. Re-reporting a completion is harmless: consumers are idempotent.
DEFAULT_OVERLAP = 3600

REQUIRED_FUNCTIONS: tuple[str, ...] = (
    "core_webservice_get_site_info",
    "core_course_get_courses_by_field",
    "core_enrol_get_enrolled_users",
    "core_completion_get_course_completion_status",
)
# core_course_get_courses_by_field is preferred (it carries the category name and skips courses the
# token cannot see); a token that has these two instead works too.
COURSE_FALLBACK_FUNCTIONS: tuple[str, ...] = ("core_course_get_courses", "core_course_get_categories")
IOMAD_FUNCTIONS: tuple[str, ...] = (
    "block_iomad_company_admin_get_company_courses",
    "block_iomad_company_admin_get_departments",
    "block_iomad_company_admin_get_department_users",
)
# Per-pair answers of the completion function that mean "no completion here", not a failure.
NO_COMPLETION_CODES = frozenset({"nocriteriaset", "usernotenroled", "notenroled"})
# Errors that concern one course only: the rest of the run goes on, that course is retried next time.
COURSE_LEVEL_CODES = frozenset(
    {"nopermissions", "errorcoursecontextnotvalid", "cannotviewreport", "invalidrecord", "requireloginerror"}
)
USER_FIELDS = "id,username,firstname,lastname,email,department,lastcourseaccess"


# --------------------------------------------------------------------------- errors


class MoodleError(Exception):
    """A failed web-service call: Moodle's own error body, or an HTTP / network / format problem.

    ``errorcode`` is Moodle's code (``invalidtoken``, ``accessexception`` ...) or one of ours
    (``connection``, ``timeout``, ``http``, ``redirect``, ``invalidresponse``, ``missingfunctions``,
    ``nocompany``). ``plain_message`` says it in words an admin can act on; ``str()`` gives the same.
    """

    def __init__(self, errorcode: str, message: str, *, function: str | None = None,
                 debuginfo: str | None = None, exception: str | None = None) -> None:
        super().__init__(message)
        self.errorcode = errorcode
        self.message = message
        self.function = function
        self.debuginfo = debuginfo
        self.exception = exception

    @property
    def plain_message(self) -> str:
        fn = self.function or "this function"
        code = self.errorcode
        if code == "invalidtoken":
            return "The token is invalid or was deleted."
        if code == "accessexception":
            return (f"The token's service does not allow {fn} "
                    "(or the token expired / IP not allowed).")
        if code == "nopermissions":
            return f"Missing capability: {_capability_from(self.message, self.debuginfo)} (needed by {fn})."
        if code == "invalidparameter":
            return f"Moodle rejected the parameters of {fn}: {self.debuginfo or self.message}"
        if code == "invalidrecord" and self.function and "external_functions" in self.message:
            return f"The site does not know {fn}: is the plugin installed and Moodle recent enough?"
        if code == "enablewsdescription":
            return "Web services are disabled on the site (Site administration > Advanced features)."
        if code == "cannotviewreport":
            return "The token's user may not view completion reports (capability report/completion:view)."
        if code == "errorcoursecontextnotvalid":
            return f"The token's user cannot access a course: {self.message}"
        if code == "nocriteriaset":
            return "The course has no completion criteria."
        if code in ("usernotenroled", "notenroled"):
            return "The user is not enrolled (as a learner) in the course."
        if code in _OWN_CODES:
            return self.message  # our own codes are already worded for people
        return f"Moodle said: {self.message} ({code})."

    def __str__(self) -> str:
        return self.plain_message


_OWN_CODES = frozenset(
    {"connection", "timeout", "http", "redirect", "invalidresponse", "missingfunctions", "nocompany"}
)


def _capability_from(message: str, debuginfo: str | None) -> str:
    # required_capability_exception prints the capability's display name in parentheses; with
    # debugging on, debuginfo carries its id (e.g. moodle/course:viewparticipants).
    name = message[message.rfind("(") + 1:message.rfind(")")] if "(" in message else message
    return f"{name} [{debuginfo}]" if debuginfo else name


# --------------------------------------------------------------------------- client


def encode_params(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Flatten nested dicts/lists into PHP-style form fields: ``options[0][name]=limitfrom``.

    Booleans become 1/0 (PHP's idea of true/false), None values are left out, and an empty list sends
    nothing, which Moodle reads as "use the default".
    """
    out: list[tuple[str, str]] = []

    def walk(name: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(f"{name}[{key}]", item)
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                walk(f"{name}[{index}]", item)
        elif isinstance(value, bool):
            out.append((name, "1" if value else "0"))
        elif value is not None:
            out.append((name, str(value)))

    for key, value in params.items():
        walk(key, value)
    return out


@dataclass(frozen=True)
class CompletionStatus:
    """One (course, user) answer: complete or not and when (latest criterion time, UTC)."""

    completed: bool
    completed_at: datetime | None
    reason: str | None = None  # set when Moodle said "no completion here" (e.g. nocriteriaset)


class MoodleClient:
    """Calls a Moodle site's REST web services with one token.

    ``session`` is injectable so the caller can pass Laurel's SSRF-safe session; a session we create
    ourselves (policy-checked too; ``allow_private`` for tests) is closed by :meth:`close` (or the
    ``with`` block). ``calls`` counts calls per function.
    """

    def __init__(self, site_url: str, token: str, *, session: requests.Session | None = None,
                 timeout: float = DEFAULT_TIMEOUT, allow_private: bool = False) -> None:
        self.site_url = site_url.rstrip("/")
        self.endpoint = self.site_url + ENDPOINT_PATH
        self.token = token
        self.timeout = timeout
        self._owns_session = session is None
        # Without a session of the caller's, ours still follows the outgoing-address policy
        # (app.connectors.egress): a plain requests.Session() would reach any address.
        self.session = session or make_session(allow_private, timeout=timeout)
        self.calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()  # completion calls run on several threads (sync.CONCURRENCY)
        self.server_time: int | None = None  # from the last response's Date header
        self._site_info: dict[str, Any] | None = None

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> MoodleClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport --------------------------------------------------------------------------

    def call(self, function: str, **params: Any) -> Any:
        """Call ``function`` and return its decoded JSON; raise MoodleError on any kind of failure."""
        data = [("wstoken", self.token), ("wsfunction", function), ("moodlewsrestformat", "json"),
                *encode_params(params)]
        with self._calls_lock:
            self.calls[function] += 1
        response = self._post(function, data)
        self._note_server_time(response)
        body = self._decode(function, response)
        if isinstance(body, dict) and "exception" in body and "errorcode" in body:
            raise MoodleError(str(body["errorcode"]), str(body.get("message", "")), function=function,
                              debuginfo=body.get("debuginfo"), exception=str(body["exception"]))
        return body

    def _post(self, function: str, data: list[tuple[str, str]]) -> requests.Response:
        try:
            # Redirects are not followed: a POST turned into a GET elsewhere would lose the token.
            response = self.session.post(self.endpoint, data=data, timeout=self.timeout,
                                         allow_redirects=False)
        except requests.Timeout:
            raise MoodleError("timeout", f"The Moodle site did not answer within {self.timeout:g} seconds.",
                              function=function) from None
        except requests.ConnectionError as exc:
            raise MoodleError("connection", f"Cannot connect to {self.site_url}: {_short(exc)}",
                              function=function) from None
        except requests.RequestException as exc:
            raise MoodleError("connection", f"Request to {self.site_url} failed: {_short(exc)}",
                              function=function) from None
        if 300 <= response.status_code < 400:
            target = response.headers.get("Location", "?")
            raise MoodleError("redirect", f"The site redirects to {target}; use that address as the "
                              "site URL.", function=function)
        if response.status_code != 200:
            hint = {404: " (is the site URL right?)", 403: " (is the REST protocol enabled?)"}
            raise MoodleError("http", f"The site answered HTTP {response.status_code} at {self.endpoint}"
                              f"{hint.get(response.status_code, '')}.", function=function)
        return response

    def _decode(self, function: str, response: requests.Response) -> Any:
        try:
            return strict_json.loads(response.content)  # a hostile site's deep nesting: refused, no recursion
        except ValueError:
            start = response.text[:80].strip().replace("\n", " ")
            raise MoodleError("invalidresponse", "The site did not answer with JSON; is this the Moodle "
                              f"site's address? It starts with: {start!r}", function=function) from None

    def _note_server_time(self, response: requests.Response) -> None:
        # No usable Date header: server_time keeps its value and callers fall back to our own clock.
        with contextlib.suppress(KeyError, TypeError, ValueError, IndexError):
            self.server_time = int(parsedate_to_datetime(response.headers["Date"]).timestamp())

    # -- site -------------------------------------------------------------------------------

    def site_info(self) -> dict[str, Any]:
        """core_webservice_get_site_info (always calls; the answer is kept for :meth:`functions`)."""
        self._site_info = self.call("core_webservice_get_site_info")
        return self._site_info

    def functions(self) -> set[str]:
        """Names of the functions the token's service allows (from site info, fetched once)."""
        info = self._site_info or self.site_info()
        return {f["name"] for f in info.get("functions", [])}

    def missing_functions(self, required: Iterable[str] = REQUIRED_FUNCTIONS, *,
                          iomad: bool = False) -> list[str]:
        """Which needed functions the token lacks ([] when all is well).

        ``iomad=True`` adds the IOMAD functions (needed only with a company filter).
        """
        have = self.functions()
        needed = list(required) + (list(IOMAD_FUNCTIONS) if iomad else [])
        missing = [name for name in needed if name not in have]
        if "core_course_get_courses_by_field" in missing and have.issuperset(COURSE_FALLBACK_FUNCTIONS):
            missing.remove("core_course_get_courses_by_field")
        return missing

    # -- catalogue --------------------------------------------------------------------------

    def courses(self) -> list[dict[str, Any]]:
        """Every course the token can see, without the front page; each has ``categoryname``."""
        if "core_course_get_courses_by_field" in self.functions():
            records = self.call("core_course_get_courses_by_field")["courses"]
        else:
            records = self.call("core_course_get_courses")
            names = {c["id"]: c["name"] for c in self.categories()}
            for record in records:
                record.setdefault("categoryname", names.get(record.get("categoryid"), ""))
        site_id = (self._site_info or {}).get("siteid", 1)
        return [c for c in records if c["id"] != site_id and c.get("format") != "site"]

    def categories(self) -> list[dict[str, Any]]:
        return self.call("core_course_get_categories")

    def enrolled_users(self, course_id: int, page_size: int = DEFAULT_PAGE_SIZE,
                       userfields: str | None = USER_FIELDS) -> Iterator[dict[str, Any]]:
        """Yield the course's enrolled users, fetched ``page_size`` at a time (limitfrom/limitnumber).

        Pages are ordered by user id so offsets stay stable; a user seen twice (enrolments changed
        between pages) is yielded once.
        """
        seen: set[int] = set()
        offset = 0
        while True:
            options = [{"name": "limitfrom", "value": offset}, {"name": "limitnumber", "value": page_size},
                       {"name": "sortby", "value": "id"}, {"name": "sortdirection", "value": "ASC"}]
            if userfields:
                options.append({"name": "userfields", "value": userfields})
            page = self.call("core_enrol_get_enrolled_users", courseid=course_id, options=options)
            for user in page:
                if user["id"] not in seen:
                    seen.add(user["id"])
                    yield user
            if len(page) < page_size:
                return
            offset += page_size

    def completion(self, course_id: int, user_id: int) -> CompletionStatus:
        """Completion of one user in one course; completion time = latest criterion ``timecompleted``.

        Moodle has no overall completion time. "No criteria set" and "not enrolled" come back as
        not completed (with ``reason``), not as errors.
        """
        try:
            body = self.call("core_completion_get_course_completion_status", courseid=course_id,
                             userid=user_id)
        except MoodleError as exc:
            if exc.errorcode in NO_COMPLETION_CODES:
                return CompletionStatus(False, None, exc.errorcode)
            raise
        status = body["completionstatus"]
        if not status.get("completed"):
            return CompletionStatus(False, None)
        times = [c["timecompleted"] for c in status.get("completions", [])
                 if c.get("complete") and c.get("timecompleted")]
        return CompletionStatus(True, _utc(max(times)) if times else None)

    # -- IOMAD --------------------------------------------------------------------------------

    def company_courses(self, company_id: int, *, include_shared: bool = True) -> list[dict[str, Any]]:
        """Courses assigned to an IOMAD company (plus shared courses unless told otherwise)."""
        body = self.call("block_iomad_company_admin_get_company_courses",
                         criteria=[{"companyid": company_id, "shared": include_shared}])
        return [course for company in body.get("companies", []) if company.get("id") == company_id
                for course in company.get("courses", [])]

    def departments(self, company_id: int | None = None) -> list[dict[str, Any]]:
        """IOMAD departments, optionally of one company.

        Filtered here rather than with ``criteria``: older IOMAD releases declare a different parameter
        for this function and would reject the criteria as unexpected keys.
        """
        departments = self.call("block_iomad_company_admin_get_departments").get("departments", [])
        if company_id is None:
            return departments
        return [d for d in departments if d.get("company") == company_id]

    def department_users(self, department_ids: Iterable[int]) -> list[dict[str, Any]]:
        ids = list(department_ids)
        if not ids:
            return []  # an empty list would mean "no filter" to some IOMAD versions
        return self.call("block_iomad_company_admin_get_department_users", departmentids=ids).get("users", [])


def _utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(int(timestamp), tz=UTC)


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:197] + "..."
