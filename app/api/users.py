"""/api/v1/users and /api/v1/me: people. Staff read everyone (with the "reads everything" grant; else, like
managers, the people of their departments), learners only themselves; admins write."""

from __future__ import annotations

from flask import url_for

from app.api.base import Param, actor, bp, committed, created, endpoint, paginate, viewer
from app.api.schemas import text
from app.models import ROLES, User
from app.services.accounts import users
from app.services.errors import ValidationError

TAG = "Users"
FILTERS = (
    Param("role", {"type": "string", "enum": list(ROLES)}, "Only this role."),
    Param("department", text(120), "Only this department and the departments below it (its name)."),
    Param("q", text(200), "Search in name and email (case-insensitive)."),
)


@bp.get("/me")
@endpoint("The signed-in user (the token's owner)", access="login", tag=TAG, response="User")
def me():
    return _user(actor())


@bp.get("/users")
@endpoint("List users", access="staff", tag=TAG, response="User", paginated=True, params=FILTERS)
def list_users(query: dict):
    stmt = users.user_query(query["q"] or "", query["role"] or "", query["department"] or "", viewer=viewer())
    return paginate(stmt, query, _user)


@bp.post("/users")
@endpoint("Create a user", access="admin", tag=TAG, response="User", status=201, body="UserCreate",
          description="`role` defaults to learner. With `invite: true` the person is mailed a link to "
                      "choose a password.")
def create_user(body: dict):
    user = users.create_user(body["email"], body["name"], body.get("role", "learner"),
                             body.get("department"), actor=actor(),
                             reads_everything=body.get("reads_everything", False))
    if body.get("job_title"):
        user.job_title = users.clean_job_title(body["job_title"])
    if body.get("invite"):
        users.send_invite(user, actor=actor())
    return committed(created(_user(user), url_for("api.get_user", id=user.id)))


@bp.get("/users/<id:id>")
@endpoint("Get a user", access="login", tag=TAG, response="User", load=User, own="id",
          description="Learners may read only their own record (others: 404).")
def get_user(item: User):
    return _user(item)


@bp.patch("/users/<id:id>")
@endpoint("Update a user", access="admin", tag=TAG, response="User", load=User, body="UserUpdate",
          errors=(409,),
          description="Partial update. There is no DELETE: `active: false` deactivates the account (its "
                      "sessions and API tokens stop working). Removing the last active admin is refused "
                      "(409).")
def update_user(item: User, body: dict):
    if "name" in body and not body["name"].strip():
        raise ValidationError({"name": "Enter the person's name."})
    department = body.get("department")
    users.update_user(item, actor=actor(), role=body.get("role"), active=body.get("active"),
                      name=body.get("name"), reads_everything=body.get("reads_everything"),
                      department=(department or "") if "department" in body else None,
                      job_title=(body["job_title"] or "") if "job_title" in body else None)
    return committed(_user(item))


def _user(user: User) -> dict:
    # The API adds the staff grant to the public shape (webhooks keep users.user_data as it is).
    return {**users.user_data(user), "reads_everything": user.reads_everything, "job_title": user.job_title}
