"""A Moodle / IOMAD web-service simulator: a real HTTP server on loopback.

It serves ``POST /webservice/rest/server.php`` the way Moodle does (see
/work/shared/reference/moodle-ws.md): form fields ``wstoken``, ``wsfunction``,
``moodlewsrestformat`` and PHP-style array parameters; errors come back with HTTP 200 and a JSON body
``{"exception", "errorcode", "message"}``. Checks happen in Moodle's order: token, function known,
function allowed for the token's service, parameters, capabilities, then the function's own errors.

Tests build the data set programmatically on a :class:`MoodleSite`, start a :class:`MoodleSimulator`
(context manager, port 0) and point the client at ``sim.url``. Every call is counted per function
(``site.calls``) and its raw form fields recorded (``site.requests``), so tests can prove what was sent
and that an incremental sync asks less. Data may be changed between syncs (``complete``, ``touch``).
"""

from __future__ import annotations

import json
import random
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

ENDPOINT = "/webservice/rest/server.php"
SITE_ID = 1

IOMAD_FUNCTIONS = frozenset(
    {
        "block_iomad_company_admin_get_companies",
        "block_iomad_company_admin_get_company_courses",
        "block_iomad_company_admin_get_department_users",
        "block_iomad_company_admin_get_departments",
    }
)
CORE_FUNCTIONS = frozenset(
    {
        "core_webservice_get_site_info",
        "core_course_get_courses",
        "core_course_get_courses_by_field",
        "core_course_get_categories",
        "core_enrol_get_enrolled_users",
        "core_completion_get_course_completion_status",
        # Used by the compliance auto-enrolment (app/services/integrations/moodle.py enrol_learner).
        "core_user_get_users_by_field",
        "enrol_manual_enrol_users",
    }
)
ALL_FUNCTIONS = CORE_FUNCTIONS | IOMAD_FUNCTIONS

# Capability each function checks after validating its parameters (None: no check modelled).
REQUIRED_CAPABILITY: dict[str, str | None] = {
    "core_webservice_get_site_info": None,
    "core_course_get_courses": "moodle/course:view",
    "core_course_get_courses_by_field": None,  # skips courses it cannot see instead of failing
    "core_course_get_categories": None,
    "core_enrol_get_enrolled_users": "moodle/course:viewparticipants",
    "core_completion_get_course_completion_status": "report/completion:view",
    "core_user_get_users_by_field": "moodle/user:viewdetails",
    "enrol_manual_enrol_users": "enrol/manual:enrol",
    "block_iomad_company_admin_get_companies": "block/iomad_company_admin:company_view",
    "block_iomad_company_admin_get_company_courses": "block/iomad_company_admin:viewcourses",
    "block_iomad_company_admin_get_department_users": "block/iomad_company_admin:edit_users",
    "block_iomad_company_admin_get_departments": "block/iomad_company_admin:edit_all_departments",
}
# What get_capability_string() prints inside "Sorry, but you do not currently have permissions ... (X)".
CAPABILITY_NAMES = {
    "moodle/course:view": "View courses without participation",
    "moodle/course:viewparticipants": "View participants",
    "report/completion:view": "View course completion report",
    "moodle/user:viewdetails": "View user profiles",
    "enrol/manual:enrol": "Enrol users",
    "block/iomad_company_admin:company_view": "View company",
    "block/iomad_company_admin:viewcourses": "View company courses",
    "block/iomad_company_admin:edit_users": "Edit users",
    "block/iomad_company_admin:edit_all_departments": "Edit all departments",
}
# Moodle's default for enrolled users when no userfields option is sent.
DEFAULT_USER_FIELDS = (
    "id", "username", "firstname", "lastname", "fullname", "email", "department", "institution",
    "idnumber", "firstaccess", "lastaccess", "lastcourseaccess", "roles", "groups", "enrolledcourses",
)


# --------------------------------------------------------------------------- data set


@dataclass
class Category:
    id: int
    name: str
    parent: int = 0
    idnumber: str = ""
    description: str = ""
    visible: int = 1
    sortorder: int = 0


@dataclass
class Course:
    id: int
    shortname: str
    fullname: str
    categoryid: int
    summary: str = ""
    visible: int = 1
    idnumber: str = ""
    format: str = "topics"
    enablecompletion: int = 1
    startdate: int = 0
    enddate: int = 0
    timecreated: int = 0
    timemodified: int = 0
    # Completion criteria titles; empty -> the completion function throws nocriteriaset.
    criteria: list[str] = field(default_factory=lambda: ["Activity completion"])
    aggregation: int = 1  # 1 all, 2 any
    # False models a course whose context the token's user cannot access.
    accessible: bool = True


@dataclass
class User:
    id: int
    username: str
    firstname: str
    lastname: str
    email: str
    department: str = ""
    institution: str = ""
    idnumber: str = ""
    firstaccess: int = 0
    lastaccess: int = 0
    # Email hidden from the token's user (maildisplay + no moodle/site:viewuseridentity): field omitted.
    hide_email: bool = False


@dataclass
class Enrolment:
    course_id: int
    user_id: int
    lastcourseaccess: int = 0
    role: str = "student"  # only students are "tracked" for completion (gradebookroles)
    # criterion title -> timecompleted
    completed: dict[str, int] = field(default_factory=dict)


@dataclass
class Company:
    id: int
    name: str
    shortname: str
    code: str = ""
    city: str = ""
    country: str = ""
    parentid: int = 0
    suspended: int = 0
    course_ids: set[int] = field(default_factory=set)


@dataclass
class Department:
    id: int
    name: str
    shortname: str
    company: int
    parent: int = 0


@dataclass
class Token:
    token: str
    functions: frozenset[str] | None = None  # None: every function the site has
    missing_capabilities: frozenset[str] = frozenset()
    userid: int = 2


@dataclass
class RecordedRequest:
    function: str
    fields: list[tuple[str, str]]


class SimError(Exception):
    """Raised inside the simulator; rendered as Moodle's HTTP-200 JSON error body."""

    def __init__(self, errorcode: str, message: str, exception: str = "moodle_exception",
                 debuginfo: str | None = None) -> None:
        super().__init__(message)
        self.body: dict[str, Any] = {"exception": exception, "errorcode": errorcode, "message": message}
        if debuginfo is not None:
            self.body["debuginfo"] = debuginfo


def _invalid_parameter(debuginfo: str) -> SimError:
    return SimError("invalidparameter", "Invalid parameter value detected",
                    "invalid_parameter_exception", debuginfo)


def _missing_record(table: str) -> SimError:
    return SimError("invalidrecord", f"Can't find data record in database table {table}.",
                    "dml_missing_record_exception")


class MoodleSite:
    """The in-memory data set plus call accounting. Build it, then serve it with MoodleSimulator."""

    def __init__(self, *, sitename: str = "Simulated Moodle", release: str = "4.5.1 (Build: 20241111)",
                 clock: Callable[[], float] = time.time, debug: bool = False) -> None:
        self.sitename = sitename
        self.release = release
        self.clock = clock
        self.debug = debug  # Moodle only adds debuginfo to error bodies when debugging is on
        self.categories: dict[int, Category] = {}
        self.courses: dict[int, Course] = {
            SITE_ID: Course(SITE_ID, "sim", sitename, 0, format="site", criteria=[], enablecompletion=0)
        }
        self.users: dict[int, User] = {}
        self.enrolments: dict[tuple[int, int], Enrolment] = {}
        self.companies: dict[int, Company] = {}
        self.departments: dict[int, Department] = {}
        self.user_departments: dict[int, int] = {}  # user id -> IOMAD department id
        self.shared_course_ids: set[int] = set()  # IOMAD courses shared with every company
        self.tokens: dict[str, Token] = {}
        self.calls: Counter[str] = Counter()
        self.requests: list[RecordedRequest] = []
        self.lock = threading.RLock()
        self._ids: Counter[str] = Counter({"user": 2})  # ids 1-2 are guest and admin in Moodle

    def _next_id(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    # -- building -------------------------------------------------------------------------

    def add_token(self, token: str, functions: Iterable[str] | None = None,
                  missing_capabilities: Iterable[str] = ()) -> Token:
        """A token whose service allows ``functions`` (None: all) and whose user lacks some capabilities."""
        allowed = None if functions is None else frozenset(functions)
        tok = Token(token, allowed, frozenset(missing_capabilities))
        self.tokens[token] = tok
        return tok

    def add_category(self, name: str, parent: int = 0) -> Category:
        cat = Category(self._next_id("category"), name, parent, sortorder=len(self.categories) + 1)
        self.categories[cat.id] = cat
        return cat

    def add_course(self, shortname: str, fullname: str | None = None, category: Category | int | None = None,
                   **fields: Any) -> Course:
        catid = category.id if isinstance(category, Category) else category
        if catid is None:
            catid = next(iter(self.categories), None) or self.add_category("Miscellaneous").id
        now = int(self.clock())
        course = Course(self._next_id("course") + SITE_ID, shortname, fullname or shortname, catid,
                        timecreated=now, timemodified=now, **fields)
        self.courses[course.id] = course
        return course

    def add_user(self, firstname: str, lastname: str, email: str | None = None, **fields: Any) -> User:
        uid = self._next_id("user")
        username = fields.pop("username", f"{firstname}.{lastname}.{uid}".lower())
        user = User(uid, username, firstname, lastname, email or f"{username}@example.org", **fields)
        self.users[user.id] = user
        return user

    def enrol(self, course: Course | int, user: User | int, *, lastcourseaccess: int = 0,
              role: str = "student") -> Enrolment:
        key = (_id(course), _id(user))
        enrolment = Enrolment(key[0], key[1], lastcourseaccess, role)
        self.enrolments[key] = enrolment
        return enrolment

    def unenrol(self, course: Course | int, user: User | int) -> None:
        self.enrolments.pop((_id(course), _id(user)), None)

    def touch(self, course: Course | int, user: User | int, at: int | None = None) -> None:
        """The user visits the course: lastcourseaccess moves forward."""
        enrolment = self.enrolments[(_id(course), _id(user))]
        enrolment.lastcourseaccess = int(self.clock()) if at is None else at

    def complete(self, course: Course | int, user: User | int, at: int | None = None, *,
                 criterion: str | None = None, touch: bool = True) -> None:
        """Mark one criterion (or every open criterion) complete at ``at``; by default the user was there."""
        at = int(self.clock()) if at is None else at
        enrolment = self.enrolments[(_id(course), _id(user))]
        titles = [criterion] if criterion else self.courses[_id(course)].criteria
        for title in titles:
            enrolment.completed.setdefault(title, at)
        if touch:
            enrolment.lastcourseaccess = max(enrolment.lastcourseaccess, at)

    def add_company(self, name: str, shortname: str | None = None, **fields: Any) -> Company:
        shortname = shortname or name.lower().replace(" ", "")
        company = Company(self._next_id("company"), name, shortname, **fields)
        self.companies[company.id] = company
        return company

    def add_department(self, company: Company | int, name: str, parent: int = 0) -> Department:
        shortname = name.lower().replace(" ", "")
        dept = Department(self._next_id("department"), name, shortname, _id(company), parent)
        self.departments[dept.id] = dept
        return dept

    def assign_user(self, user: User | int, department: Department | int) -> None:
        self.user_departments[_id(user)] = _id(department)

    def assign_course(self, company: Company | int, course: Course | int) -> None:
        self.companies[_id(company)].course_ids.add(_id(course))

    def reset_counts(self) -> None:
        with self.lock:
            self.calls.clear()
            self.requests.clear()

    # -- dispatch -------------------------------------------------------------------------

    def handle(self, fields: list[tuple[str, str]]) -> Any:
        """Answer one web-service request (already split into form fields); returns the JSON value."""
        form = dict(fields)
        with self.lock:
            token = self.tokens.get(form.get("wstoken", ""))
            if token is None:
                raise SimError("invalidtoken", "Invalid token - token not found")
            function = form.get("wsfunction", "")
            self.calls[function] += 1
            self.requests.append(RecordedRequest(function, fields))
            handler = getattr(self, f"_fn_{function}", None)
            if function not in ALL_FUNCTIONS or handler is None:
                raise _missing_record("external_functions")
            if token.functions is not None and function not in token.functions:
                raise SimError("accessexception", "Access control exception", "webservice_access_exception",
                               self._debug(f"Access to the function {function}() is not allowed. There could "
                                           "be multiple reasons for this: 1. The service linked to the user "
                                           "token does not contain the function. ..."))
            params = parse_php_params((k, v) for k, v in fields if k not in
                                      ("wstoken", "wsfunction", "moodlewsrestformat"))
            return handler(token, params)

    def _debug(self, text: str) -> str | None:
        return text if self.debug else None

    def _require(self, token: Token, function: str) -> None:
        capability = REQUIRED_CAPABILITY.get(function)
        if capability and capability in token.missing_capabilities:
            raise SimError("nopermissions",
                           "Sorry, but you do not currently have permissions to do that "
                           f"({CAPABILITY_NAMES.get(capability, capability)}).",
                           "required_capability_exception", self._debug(capability))

    def _course(self, course_id: int) -> Course:
        course = self.courses.get(course_id)
        if course is None:
            raise _missing_record("course")
        if not course.accessible:
            raise SimError("errorcoursecontextnotvalid",
                           f"You cannot execute functions in the course context (course id:{course_id}). "
                           "The error message was: Course or activity not accessible.")
        return course

    # -- core functions -------------------------------------------------------------------

    def _fn_core_webservice_get_site_info(self, token: Token, params: dict[str, Any]) -> dict[str, Any]:
        _only_keys(params, {"serviceshortnames"})
        allowed = ALL_FUNCTIONS if token.functions is None else token.functions & ALL_FUNCTIONS
        admin = {"username": "wsuser", "firstname": "Web", "lastname": "Service"}
        return {
            "sitename": self.sitename, **admin, "fullname": "Web Service", "lang": "en",
            "userid": token.userid, "siteurl": "http://moodle.invalid", "userpictureurl": "",
            "functions": [{"name": name, "version": "2024100700"} for name in sorted(allowed)],
            "downloadfiles": 0, "uploadfiles": 0, "release": self.release, "version": "2024100701",
            "mobilecssurl": "", "advancedfeatures": [], "usercanmanageownfiles": True,
            "userquota": 0, "usermaxuploadfilesize": -1, "userhomepage": 1, "siteid": SITE_ID,
            "sitecalendartype": "gregorian", "usercalendartype": "gregorian", "theme": "boost",
        }

    def _course_record(self, course: Course) -> dict[str, Any]:
        return {
            "id": course.id, "shortname": course.shortname, "categoryid": course.categoryid,
            "categorysortorder": 10000, "fullname": course.fullname, "displayname": course.fullname,
            "idnumber": course.idnumber, "summary": course.summary, "summaryformat": 1,
            "format": course.format, "showgrades": 1, "newsitems": 5, "startdate": course.startdate,
            "enddate": course.enddate, "numsections": 4, "maxbytes": 0, "showreports": 0,
            "visible": course.visible, "groupmode": 0, "groupmodeforce": 0, "defaultgroupingid": 0,
            "timecreated": course.timecreated, "timemodified": course.timemodified,
            "enablecompletion": course.enablecompletion, "completionnotify": 0, "lang": "",
            "forcetheme": "", "courseformatoptions": [],
        }

    def _fn_core_course_get_courses(self, token: Token, params: dict[str, Any]) -> list[dict[str, Any]]:
        _only_keys(params, {"options"})
        options = params.get("options", {})
        _expect(isinstance(options, dict), "options: expected an object")
        _only_keys(options, {"ids"}, "options")
        ids = [_int(v, "options][ids") for v in _as_list(options.get("ids", []), "options][ids")]
        self._require(token, "core_course_get_courses")
        # One inaccessible course fails the whole call, as in Moodle.
        courses = [self._course(cid) for cid in ids] if ids else [
            self._course(cid) for cid in sorted(self.courses)]
        return [self._course_record(c) for c in courses]

    def _fn_core_course_get_courses_by_field(self, token: Token, params: dict[str, Any]) -> dict[str, Any]:
        _only_keys(params, {"field", "value"})
        fld, value = params.get("field", ""), str(params.get("value", ""))
        _expect(fld in ("", "id", "ids", "shortname", "idnumber", "category"), f"field: unknown {fld!r}")
        _expect(fld == "" or value != "", "value: required when field is set")
        matches = {
            "": lambda c: True,
            "id": lambda c: c.id == _int(value, "value"),
            "ids": lambda c: c.id in {_int(v, "value") for v in value.split(",")},
            "shortname": lambda c: c.shortname == value,
            "idnumber": lambda c: c.idnumber == value,
            "category": lambda c: c.categoryid == _int(value, "value"),
        }[fld]
        records = []
        for course in sorted(self.courses.values(), key=lambda c: c.id):
            if not matches(course) or not course.accessible:
                continue  # this function silently skips what the user cannot see
            record = self._course_record(course)
            cat = self.categories.get(course.categoryid)
            record["categoryname"] = cat.name if cat else ""
            records.append(record)
        return {"courses": records, "warnings": []}

    def _fn_core_course_get_categories(self, token: Token, params: dict[str, Any]) -> list[dict[str, Any]]:
        _only_keys(params, {"criteria", "addsubcategories"})
        cats = list(self.categories.values())
        for i, crit in enumerate(_as_list(params.get("criteria", []), "criteria")):
            _expect(isinstance(crit, dict), f"criteria][{i}: expected an object")
            _only_keys(crit, {"key", "value"}, f"criteria][{i}")
            key, value = crit.get("key"), crit.get("value", "")
            if key == "id":
                cats = [c for c in cats if c.id == _int(value, "criteria value")]
            elif key == "ids":
                wanted = {_int(v, "criteria value") for v in str(value).split(",")}
                cats = [c for c in cats if c.id in wanted]
            elif key == "name":
                cats = [c for c in cats if c.name == value]
            elif key == "parent":
                cats = [c for c in cats if c.parent == _int(value, "criteria value")]
        return [
            {"id": c.id, "name": c.name, "idnumber": c.idnumber, "description": c.description,
             "descriptionformat": 1, "parent": c.parent, "sortorder": c.sortorder,
             "coursecount": sum(1 for x in self.courses.values() if x.categoryid == c.id),
             "visible": c.visible, "visibleold": c.visible, "timemodified": 0, "depth": 1,
             "path": f"/{c.id}", "theme": ""}
            for c in sorted(cats, key=lambda c: c.sortorder)
        ]

    def _fn_core_enrol_get_enrolled_users(self, token: Token, params: dict[str, Any]) -> list[dict[str, Any]]:
        _only_keys(params, {"courseid", "options"})
        _expect("courseid" in params, "courseid: missing required key")
        course = self._course(_int(params["courseid"], "courseid"))
        opts = self._enrol_options(_as_list(params.get("options", []), "options"))
        self._require(token, "core_enrol_get_enrolled_users")
        users = [self.users[e.user_id] for e in self.enrolments.values() if e.course_id == course.id]
        sortby = opts.get("sortby", "id")
        _expect(sortby in ("id", "firstname", "lastname", "siteorder"), f"sortby: invalid {sortby!r}")
        reverse = str(opts.get("sortdirection", "ASC")).upper() == "DESC"
        key = "id" if sortby == "siteorder" else sortby
        users.sort(key=lambda u: (getattr(u, key), u.id), reverse=reverse)
        start = _int(opts.get("limitfrom", 0), "limitfrom")
        limit = _int(opts.get("limitnumber", 0), "limitnumber")  # 0 means "all", as in Moodle
        users = users[start:start + limit] if limit > 0 else users[start:]
        fields = opts.get("userfields")
        wanted = set(DEFAULT_USER_FIELDS)
        if fields is not None:
            wanted = {f.strip() for f in str(fields).split(",")} | {"id"}
        return [self._user_record(u, course, wanted) for u in users]

    @staticmethod
    def _enrol_options(options: list[Any]) -> dict[str, str]:
        known = {"withcapability", "groupid", "onlyactive", "onlysuspended", "userfields", "limitfrom",
                 "limitnumber", "sortby", "sortdirection"}
        out: dict[str, str] = {}
        for i, opt in enumerate(options):
            _expect(isinstance(opt, dict), f"options][{i}: expected an object")
            _only_keys(opt, {"name", "value"}, f"options][{i}")
            _expect("name" in opt and "value" in opt, f"options][{i}: name and value are required")
            if opt["name"] in known:  # Moodle ignores option names it does not know
                out[opt["name"]] = opt["value"]
        return out

    def _user_record(self, user: User, course: Course, wanted: set[str]) -> dict[str, Any]:
        enrolment = self.enrolments[(course.id, user.id)]
        record: dict[str, Any] = {
            "id": user.id, "username": user.username, "firstname": user.firstname,
            "lastname": user.lastname, "fullname": f"{user.firstname} {user.lastname}",
            "email": user.email, "department": user.department, "institution": user.institution,
            "idnumber": user.idnumber, "firstaccess": user.firstaccess,
            "lastaccess": max(user.lastaccess, enrolment.lastcourseaccess),
            "lastcourseaccess": enrolment.lastcourseaccess,
            "roles": [{"roleid": 5 if enrolment.role == "student" else 3, "name": "",
                       "shortname": enrolment.role, "sortorder": 0}],
            "groups": [], "enrolledcourses": [{"id": course.id, "fullname": course.fullname,
                                               "shortname": course.shortname}],
        }
        if user.hide_email:
            del record["email"]
        return {k: v for k, v in record.items() if k in wanted}

    def _fn_core_user_get_users_by_field(self, token: Token, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Moodle: the users whose `field` (id, idnumber, username or email) is one of `values`."""
        field = str(params.get("field", ""))
        if field not in ("id", "idnumber", "username", "email"):
            raise _invalid_parameter("Invalid parameter value detected (field)")
        wanted = {str(v).lower() for v in _as_list(params.get("values", []), "values")}
        self._require(token, "core_user_get_users_by_field")
        return [{"id": u.id, "username": u.username, "firstname": u.firstname, "lastname": u.lastname,
                 "fullname": f"{u.firstname} {u.lastname}", "email": u.email}
                for u in self.users.values() if str(getattr(u, field)).lower() in wanted]

    def _fn_enrol_manual_enrol_users(self, token: Token, params: dict[str, Any]) -> None:
        """Moodle: enrol each {roleid, userid, courseid} with the course's manual method; returns null."""
        self._require(token, "enrol_manual_enrol_users")
        for item in _as_list(params.get("enrolments", []), "enrolments"):
            course = self._course(int(item["courseid"]))
            user_id = int(item["userid"])
            if user_id not in self.users:
                raise _missing_record("user")
            role = "student" if int(item.get("roleid", 5)) == 5 else "teacher"
            self.enrol(course, user_id, role=role)
        return None

    def _fn_core_completion_get_course_completion_status(self, token: Token,
                                                         params: dict[str, Any]) -> dict[str, Any]:
        _only_keys(params, {"courseid", "userid"})
        _expect("courseid" in params and "userid" in params, "courseid and userid are required")
        course = self._course(_int(params["courseid"], "courseid"))
        user_id = _int(params["userid"], "userid")
        if user_id not in self.users:
            raise _missing_record("user")
        if "report/completion:view" in token.missing_capabilities:
            raise SimError("cannotviewreport", "You cannot view this report")
        enrolment = self.enrolments.get((course.id, user_id))
        if enrolment is None or enrolment.role != "student":
            raise SimError("usernotenroled", "User is not enrolled in this course")
        if not course.criteria or not course.enablecompletion:
            raise SimError("nocriteriaset", "No criteria set for this course")
        completions = []
        for title in course.criteria:
            done = enrolment.completed.get(title)
            completions.append({
                "type": 4, "title": title, "status": "Yes" if done else "No", "complete": done is not None,
                "timecompleted": done,
                "details": {"type": "Activity completion", "criteria": title,
                            "requirement": "Marking yourself complete", "status": ""},
            })
        states = [c["complete"] for c in completions]
        completed = all(states) if course.aggregation == 1 else any(states)
        return {"completionstatus": {"completed": completed, "aggregation": course.aggregation,
                                     "completions": completions}, "warnings": []}

    # -- IOMAD ----------------------------------------------------------------------------

    def _fn_block_iomad_company_admin_get_companies(self, token: Token,
                                                    params: dict[str, Any]) -> dict[str, Any]:
        _only_keys(params, {"criteria"})
        companies = list(self.companies.values())
        for crit in _as_list(params.get("criteria", []), "criteria"):
            _expect(isinstance(crit, dict) and set(crit) <= {"key", "value"}, "criteria: expect {key, value}")
            if crit.get("key") == "id":
                companies = [c for c in companies if c.id == _int(crit.get("value"), "criteria value")]
            elif crit.get("key") == "shortname":
                companies = [c for c in companies if c.shortname == crit.get("value")]
        self._require(token, "block_iomad_company_admin_get_companies")
        return {"companies": [
            {"id": c.id, "name": c.name, "shortname": c.shortname, "code": c.code, "city": c.city,
             "country": c.country, "parentid": c.parentid, "suspended": c.suspended}
            for c in companies], "warnings": []}

    def _fn_block_iomad_company_admin_get_company_courses(self, token: Token,
                                                          params: dict[str, Any]) -> dict[str, Any]:
        _only_keys(params, {"criteria"})
        crits = _as_list(params.get("criteria", []), "criteria")
        self._require(token, "block_iomad_company_admin_get_company_courses")
        result = []
        for i, crit in enumerate(crits):
            _expect(isinstance(crit, dict), f"criteria][{i}: expected an object")
            _only_keys(crit, {"companyid", "shared"}, f"criteria][{i}")
            company = self.companies.get(_int(crit.get("companyid"), "companyid"))
            if company is None:
                continue
            ids = set(company.course_ids)
            if _int(crit.get("shared", 0), "shared"):
                ids |= self.shared_course_ids
            courses = [self.courses[cid] for cid in sorted(ids) if cid in self.courses]
            result.append({"id": company.id, "name": company.name, "courses": [
                {"id": c.id, "fullname": c.fullname, "shortname": c.shortname} for c in courses]})
        return {"companies": result}

    def _fn_block_iomad_company_admin_get_departments(self, token: Token,
                                                      params: dict[str, Any]) -> dict[str, Any]:
        _only_keys(params, {"criteria"})
        depts = list(self.departments.values())
        for crit in _as_list(params.get("criteria", []), "criteria"):
            _expect(isinstance(crit, dict) and set(crit) <= {"key", "value"}, "criteria: expect {key, value}")
            key = crit.get("key")
            if key in ("id", "company", "parent"):
                depts = [d for d in depts if getattr(d, key) == _int(crit.get("value"), "criteria value")]
        self._require(token, "block_iomad_company_admin_get_departments")
        return {"departments": [
            {"id": d.id, "name": d.name, "shortname": d.shortname, "company": d.company, "parent": d.parent}
            for d in sorted(depts, key=lambda d: d.id)], "warnings": []}

    def _fn_block_iomad_company_admin_get_department_users(self, token: Token,
                                                           params: dict[str, Any]) -> dict[str, Any]:
        _only_keys(params, {"departmentids"})
        ids = _as_list(params.get("departmentids", []), "departmentids")
        wanted = {_int(v, "departmentids") for v in ids}
        self._require(token, "block_iomad_company_admin_get_department_users")
        users = []
        for uid, dept_id in sorted(self.user_departments.items()):
            if dept_id in wanted:
                user = self.users[uid]
                users.append({"id": uid, "firstname": user.firstname, "lastname": user.lastname,
                              "email": user.email, "companyid": self.departments[dept_id].company,
                              "departmentid": dept_id})
        return {"users": users, "warnings": []}


# --------------------------------------------------------------------------- parameter helpers


def _id(obj: Any) -> int:
    return obj if isinstance(obj, int) else obj.id


def _expect(condition: bool, debuginfo: str) -> None:
    if not condition:
        raise _invalid_parameter(debuginfo)


def _only_keys(params: dict[str, Any], allowed: set[str], where: str = "") -> None:
    # Moodle's validate_parameters rejects keys the function does not declare.
    extra = set(params) - allowed
    _expect(not extra, f"{where}: Unexpected keys ({', '.join(sorted(extra))}) detected in parameter array.")


def _int(value: Any, name: str) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise _invalid_parameter(f"{name} => Invalid parameter value detected: {value!r} is not an integer")


def _as_list(value: Any, name: str) -> list[Any]:
    if isinstance(value, list):
        return value
    if value in ("", None):
        return []
    raise _invalid_parameter(f"{name} => Only arrays accepted. The bad value is: '{value}'")


_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def parse_php_params(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Decode ``a[0][b]=x`` form fields into nested dicts and lists, as PHP's $_POST would."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if not match:
            raise _invalid_parameter(f"malformed parameter name {key!r}")
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for part in parts[:-1]:
            child = node.setdefault(part or str(len(node)), {})
            if not isinstance(child, dict):
                raise _invalid_parameter(f"{key}: a scalar and an array under the same name")
            node = child
        node[parts[-1] or str(len(node))] = value
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


# --------------------------------------------------------------------------- HTTP server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the benchmark makes thousands of calls
    server_version = "Apache"
    timeout = 30  # drop idle keep-alive connections eventually
    site: MoodleSite  # set on the per-server subclass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without NODELAY, Nagle + delayed ACK on a keep-alive
        # connection stall every call by ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # keep test output clean

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header follows the site's clock: clients may use it as the server's "now".
        return formatdate(self.site.clock() if timestamp is None else timestamp, usegmt=True)

    def do_GET(self) -> None:
        self._send(404, b"Not found", "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8")
        path, _, query = self.path.partition("?")
        if path != ENDPOINT:
            self._send(404, b"<html><body>404 Not Found</body></html>", "text/html")
            return
        # Moodle reads parameters from both the query string and the POST body.
        fields = parse_qsl(query, keep_blank_values=True) + parse_qsl(body, keep_blank_values=True)
        try:
            result: Any = self.site.handle(fields)
        except SimError as exc:
            result = exc.body
        if dict(fields).get("moodlewsrestformat") != "json":
            # The default format is XML; a client that forgets the format gets XML, as from Moodle.
            self._send(200, b'<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE></RESPONSE>\n',
                       "application/xml; charset=utf-8")
            return
        self._send(200, json.dumps(result).encode(), "application/json; charset=utf-8")

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class MoodleSimulator:
    """Serve a MoodleSite over HTTP on 127.0.0.1 (random port) for the life of a ``with`` block."""

    def __init__(self, site: MoodleSite | None = None) -> None:
        self.site = site or MoodleSite()
        handler = type("BoundHandler", (_Handler,), {"site": self.site})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        # A short poll interval keeps shutdown (once per test) quick.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="moodle-sim", daemon=True)
        self._stopped = False

    @property
    def url(self) -> str:
        """The site URL a client is configured with (no trailing slash)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def endpoint(self) -> str:
        return self.url + ENDPOINT

    def start(self) -> MoodleSimulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopped or not self._thread.is_alive():
            self._server.server_close()
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MoodleSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- data sets


def small_site(*, clock: Callable[[], float] = time.time) -> MoodleSite:
    """A tiny, readable site: 2 categories, 3 courses, 5 learners, one IOMAD company with 2 departments.

    Every access and completion lies at least a week in the past, so a sync that runs "now" and then
    again sees nothing new unless the test changes something. Tokens: ``full`` (everything),
    ``coreonly`` (no IOMAD), ``nocompletion`` (completion function missing).
    """
    site = MoodleSite(clock=clock)
    now = int(clock())
    day = 86400
    safety = site.add_category("Safety")
    it = site.add_category("IT")
    fire = site.add_course("FIRE101", "Fire safety", safety, summary="<p>Evacuation drills</p>",
                           criteria=["Quiz passed", "Video watched"])
    gdpr = site.add_course("GDPR", "Data protection", it)
    intro = site.add_course("INTRO", "Welcome tour", it, criteria=[])  # no completion criteria
    names = [("Ada", "Lovelace"), ("Alan", "Turing"), ("Grace", "Hopper"), ("Edsger", "Dijkstra"),
             ("Barbara", "Liskov")]
    users = [site.add_user(first, last, department="Ops" if i % 2 else "R&D") for i, (first, last)
             in enumerate(names)]
    for i, user in enumerate(users):
        for course in (fire, gdpr, intro):
            site.enrol(course, user, lastcourseaccess=now - (10 + i) * day)
    teacher = site.add_user("Terry", "Teacher")
    site.enrol(fire, teacher, lastcourseaccess=now - 9 * day, role="editingteacher")
    site.complete(fire, users[0], now - 20 * day, criterion="Quiz passed", touch=False)
    site.complete(fire, users[0], now - 15 * day, criterion="Video watched", touch=False)
    site.complete(gdpr, users[1], now - 12 * day, touch=False)
    acme = site.add_company("Acme Corp", "acme")
    other = site.add_company("Other Ltd", "other")
    top = site.add_department(acme, "Acme")
    sales = site.add_department(acme, "Sales", parent=top.id)
    site.add_department(other, "Other")
    site.assign_user(users[0], top)
    site.assign_user(users[1], sales)
    site.assign_user(users[2], site.add_department(other, "Other sales").id)
    site.assign_course(acme, fire)
    site.assign_course(acme, gdpr)
    site.assign_course(other, gdpr)
    site.add_token("full")
    site.add_token("coreonly", CORE_FUNCTIONS)
    site.add_token("nocompletion", CORE_FUNCTIONS - {"core_completion_get_course_completion_status"})
    return site


def big_site(courses: int = 100, users: int = 200, *, seed: int = 0, completed_share: float = 0.3,
             clock: Callable[[], float] = time.time) -> MoodleSite:
    """A benchmark-sized site: every user enrolled in every course (``courses * users`` pairs).

    About ``completed_share`` of the pairs are complete; all activity lies 2-90 days in the past, so a
    second sync right after the first has nothing to ask. Token ``full`` allows everything.
    """
    rng = random.Random(seed)
    site = MoodleSite(sitename="Big simulated Moodle", clock=clock)
    now = int(clock())
    day = 86400
    cats = [site.add_category(f"Category {i + 1}") for i in range(max(1, courses // 10))]
    course_list = [site.add_course(f"C{i + 1:03d}", f"Course {i + 1}", cats[i % len(cats)],
                                   criteria=["Activity completion", "Final quiz"]) for i in range(courses)]
    user_list = [site.add_user(f"User{i + 1}", f"Learner{i + 1}", department=f"Dept {i % 7}")
                 for i in range(users)]
    for course in course_list:
        for user in user_list:
            last = now - rng.randint(2 * day, 90 * day)
            site.enrol(course, user, lastcourseaccess=last)
            if rng.random() < completed_share:
                site.complete(course, user, last - rng.randint(0, day), touch=False)
    site.add_token("full")
    return site
