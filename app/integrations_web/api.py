"""REST API for integrations (`/api/v1/integrations`): admins only; documented in ./openapi.py.

The operations live in app.services.integrations_api; this module only maps HTTP to them:
LookupError -> 404, ValidationError -> 422 with `errors`, NotAllowed -> 409.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, jsonify, request
from flask_login import current_user

from app.api.base import PAGE, Param, parse_query
from app.extensions import db
from app.services import integrations_api as ops
from app.services.errors import NotAllowed, ValidationError
from app.web.auth import admin_required
from app.web.errors import problem

bp = Blueprint("integrations_api", __name__, url_prefix="/api/v1/integrations")


def _answers(view):
    """Turn the service's exceptions into problem+json; commit when the operation succeeded."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        try:
            response = view(*args, **kwargs)
        except LookupError as exc:
            db.session.rollback()
            return problem(404, str(exc.args[0] if exc.args else "Not found."))
        except ValidationError as exc:
            db.session.rollback()
            return problem(422, "Some fields are not valid.", errors=exc.errors)
        except NotAllowed as exc:
            db.session.rollback()
            return problem(409, str(exc))
        db.session.commit()
        return response

    return admin_required(wrapped)


def _body() -> dict:
    if not request.is_json:
        raise ValidationError({"": "Send a JSON object with Content-Type: application/json."})
    data = request.get_json()  # 400 when app.strict_json refuses it (too deep, duplicate keys, NaN)
    if not isinstance(data, dict):
        raise ValidationError({"": "The body must be a JSON object."})
    return data


def _per_page(default: int) -> Param:
    return Param("per_page", {"type": "integer", "minimum": 1, "maximum": 100}, default=default)


# Module constants: app.api.validation compiles one validator per schema object.
LOG_PAGE, DELIVERY_PAGE = (PAGE, _per_page(50)), (PAGE, _per_page(25))


def _page_args(params: tuple[Param, Param]) -> dict:
    """page / per_page checked exactly like the other API lists (app.api.base), 422 when out of range."""
    query = parse_query(params)
    return {"page": query["page"], "per_page": query["per_page"]}


@bp.get("")
@_answers
def list_integrations():
    return jsonify(ops.list_integrations(request.args.get("type", ""), request.args.get("status", "")))


@bp.post("")
@_answers
def create_integration():
    return jsonify(ops.create_integration(_body(), actor=current_user)), 201


@bp.get("/health")
@_answers
def health():
    return jsonify(ops.health())


@bp.get("/<id:id>")
@_answers
def get_integration(id: int):  # noqa: A002 (the documented path parameter is {id})
    return jsonify(ops.get_integration(id))


@bp.patch("/<id:id>")
@_answers
def update_integration(id: int):  # noqa: A002
    return jsonify(ops.update_integration(id, _body(), actor=current_user))


@bp.delete("/<id:id>")
@_answers
def delete_integration(id: int):  # noqa: A002
    ops.delete_integration(id, actor=current_user)
    return "", 204


@bp.post("/<id:id>/test")
@_answers
def test_integration(id: int):  # noqa: A002
    return jsonify(ops.test(id, actor=current_user))


@bp.post("/<id:id>/activate")
@_answers
def activate(id: int):  # noqa: A002
    return jsonify(ops.activate(id, actor=current_user))


@bp.post("/<id:id>/deactivate")
@_answers
def deactivate(id: int):  # noqa: A002
    return jsonify(ops.deactivate(id, actor=current_user))


@bp.get("/<id:id>/logs")
@_answers
def logs(id: int):  # noqa: A002
    return jsonify(ops.logs(id, level=request.args.get("level", ""), **_page_args(LOG_PAGE)))


@bp.get("/<id:id>/deliveries")
@_answers
def deliveries(id: int):  # noqa: A002
    return jsonify(ops.deliveries(id, status=request.args.get("status", ""), **_page_args(DELIVERY_PAGE)))
