"""The API blueprint and what every endpoint shares: access, parameters, bodies, pagination, errors.

Each view is declared with `@endpoint(...)`, which both enforces (who may call it, the query parameters,
the JSON body, loading the item by id) and documents (app/api/openapi.py reads `view.operation`). What is
enforced is therefore what is documented.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial, wraps
from typing import TypeVar
from urllib.parse import urlencode

from flask import Blueprint, abort, g, jsonify, request
from flask_login import current_user
from sqlalchemy import Select, func, select
from werkzeug.exceptions import BadRequest

from app.api.schemas import BODIES, MAX_ID
from app.api.validation import check_body, coerce_query
from app.extensions import csrf, db
from app.models import User
from app.services.accounts import scope
from app.services.errors import NotAllowed, ValidationError
from app.services.fields import check_fields
from app.services.numbers import MAX_PAGE
from app.web.auth import SAFE_METHODS
from app.web.errors import problem

bp = Blueprint("api", __name__, url_prefix="/api/v1")
T = TypeVar("T")

# "staff": staff-side readers (admins, staff, managers); "manager": who changes people's enrollments and
# certificates (admins, managers). Managers and staff without the "reads everything" grant see only the
# people of their departments (app/services/accounts/scope.py): other records are 404.
ACCESS = {"public": None, "login": ("admin", "staff", "manager", "learner"),
          "staff": ("admin", "staff", "manager"), "manager": ("admin", "manager"), "admin": ("admin",)}


@dataclass(frozen=True)
class Param:
    """A query parameter: its schema both validates the request and goes into the OpenAPI document."""

    name: str
    schema: dict
    description: str = ""
    default: object = None


PAGE = Param("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
             "Page number, from 1.", 1)
PER_PAGE = Param("per_page", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                 "Items per page (at most 200).", 50)


@dataclass(frozen=True)
class Operation:
    summary: str
    access: str  # "public" | "login" | "staff" | "admin"
    tag: str
    response: str | None = None  # component schema name; None: no body (204)
    status: int = 200
    params: tuple[Param, ...] = ()
    body: str | None = None  # a name in schemas.BODIES
    paginated: bool = False
    load: type | None = None  # the model the `id` path argument names (404 when unknown)
    own: str | None = None  # learners see only items whose attribute `own` is their id (else 404)
    errors: tuple[int, ...] = ()  # further problem statuses the endpoint answers (409 ...)
    path_schemas: dict | None = None  # schemas of non-integer path arguments (documentation)
    # A non-JSON success body (e.g. "application/pdf"), documented as binary; several media types: one of
    # them per request (a JSON-LD one documented as an object, the others as text).
    media: str | tuple[str, ...] | None = None
    # A body read raw by the view (not JSON-checked by `read_body`): {media type: schema}, documented as is.
    raw_bodies: dict | None = None
    # Changes nothing and needs nobody (POST /verify): no CSRF check, as a forged request could do nothing
    # a visitor could not do themselves.
    stateless: bool = False
    description: str = ""
    all_params: tuple[Param, ...] = field(init=False)

    def __post_init__(self) -> None:
        extra = (PAGE, PER_PAGE) if self.paginated else ()
        object.__setattr__(self, "all_params", tuple(self.params) + extra)


def endpoint(summary: str, *, access: str, tag: str, **options) -> Callable:
    """Declare (and enforce) an API operation; see `Operation` for the options."""
    operation = Operation(summary, access, tag, **options)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            refusal = _refusal(operation.access)
            if refusal is not None:
                return refusal
            if request.method not in SAFE_METHODS and not g.get("via_token") and not operation.stateless:
                csrf.protect()  # a browser session writing: after the 401/403 check, so those come first
            if operation.load is not None:
                kwargs["item"] = _load(operation.load, kwargs.pop("id"), operation.own)
            if operation.all_params:
                kwargs["query"] = parse_query(operation.all_params)
            if operation.body:
                kwargs["body"] = read_body(BODIES[operation.body])
            return view(*args, **kwargs)

        wrapped.operation = operation
        wrapped.csrf_exempt = True  # checked in `wrapped` instead, once we know who is asking
        return wrapped

    return decorator


def _refusal(access: str):
    roles = ACCESS[access]
    if roles is None:
        return None
    if not current_user.is_authenticated:
        return problem(401, "Send 'Authorization: Bearer <token>' (create a token on your profile page).")
    if current_user.role not in roles:
        return problem(403, "Your role may not do this.")
    return None


def actor():
    """The signed-in user (the token's user for API calls), for services' `actor=`."""
    return current_user._get_current_object()


def is_learner() -> bool:
    return current_user.is_authenticated and not current_user.is_staff


def _load(model: type, item_id: int, own: str | None):
    item = db.session.get(model, item_id) if 0 < item_id <= MAX_ID else None
    if item is not None and getattr(item, "deleted_at", None) is not None:
        item = None  # soft-deleted (integrations): kept as history, gone for the API
    if item is None or (own and is_learner() and getattr(item, own) != current_user.id) \
            or not _in_scope(item):
        # Someone else's record is "not found" for a learner (or out of a manager's departments): its
        # existence is not theirs to know.
        abort(404, f"No {model.__name__.lower()} with id {item_id}.")
    return item


def _in_scope(item: object) -> bool:
    """A record about a person (the user, or a row with `user`) must be in a staff-side viewer's scope."""
    if not current_user.is_authenticated or not current_user.is_staff:
        return True
    person = item if isinstance(item, User) else getattr(item, "user", None) if hasattr(item, "user_id") \
        else None
    return person is None or scope.can_see_user(actor(), person)


def viewer():
    """For list queries' `viewer=`: whose rows the caller may see (app/services/accounts/scope.py)."""
    return actor() if current_user.is_authenticated else None


def parse_query(params: Iterable[Param]) -> dict:
    """The declared query parameters, typed and checked; ValidationError {param: message} when bad."""
    params = tuple(params)
    checks = {param.name: partial(coerce_query, schema=param.schema) for param in params}
    values, errors = check_fields(request.args, checks)
    if errors:
        raise ValidationError(errors)
    return {param.name: values.get(param.name, param.default) for param in params}


def read_body(schema: dict) -> dict:
    """The JSON object sent, checked against `schema`. An empty body is {} (PATCH nothing, reinstate)."""
    # A form body was already parsed (and its stream consumed) by the app-wide NUL check: look at the form
    # too, or "code=X" sent as a form would pass for an empty body (422 instead of 415).
    sent = request.content_length or request.form or request.files or request.get_data(cache=True)
    if not sent:
        return check_body({}, schema)
    if not request.is_json:
        abort(415, "Send the body as JSON with 'Content-Type: application/json'.")
    try:
        data = request.get_json()  # app.strict_json: deep nesting, duplicate keys, NaN are refused too
    except BadRequest as exc:
        abort(400, exc.description)
    return check_body(data, schema)


def scoped_user_id(requested: int | None) -> int | None:
    """Learners only ever list their own records, whatever user_id they ask for."""
    if is_learner():
        return current_user.id if requested in (None, current_user.id) else -1
    return requested


def paginate(stmt: Select, query: dict, serialise: Callable[[object], dict]):
    """A page of `stmt` as {items, page, per_page, total, next}, with a Link header (RFC 8288)."""
    page, per_page = query["page"], query["per_page"]
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique().all()
    return page_of([serialise(row) for row in rows], total, query)


def page_of(items: list[dict], total: int, query: dict):
    """The page answer for items a statement already read and counted (see `paginate`)."""
    page, per_page = query["page"], query["per_page"]
    last = max(1, -(-total // per_page))
    next_url = _page_url(page + 1) if page < last else None
    response = jsonify({"items": items, "page": page, "per_page": per_page,
                        "total": total, "next": next_url})
    links = {"first": _page_url(1), "last": _page_url(last)}
    if next_url:
        links["next"] = next_url
    if 1 < page <= last + 1:
        links["prev"] = _page_url(min(page - 1, last))
    response.headers["Link"] = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items())
    return response


def _page_url(page: int) -> str:
    args = request.args.to_dict()
    args["page"] = str(page)
    return f"{request.base_url}?{urlencode(args)}"


def created(data: dict, location: str):
    response = jsonify(data)
    response.status_code = 201
    response.headers["Location"] = location
    return response


def committed(answer: T) -> T:
    """The request boundary: services flush, the API commits once per successful write. The answer is
    built first (it is the argument), so a database lost right after the commit cannot turn a saved
    change into a 500 (app/web/transactions.py)."""
    db.session.commit()
    return answer


@bp.errorhandler(ValidationError)
def _invalid(exc: ValidationError):
    db.session.rollback()  # nothing half-done survives a refusal
    return problem(422, "Some values are not valid: see errors.", errors=exc.errors)


@bp.errorhandler(NotAllowed)
def _not_allowed(exc: NotAllowed):
    db.session.rollback()
    return problem(409, str(exc))


@bp.after_request
def _headers(response):
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="Laurel API"'
    response.headers.setdefault("Cache-Control", "no-store")
    return response
